"""Published workflow versions: kept in the database with their source and templates, loaded from there so a
running enrollment keeps its version whatever the designers' folder holds now; the folder checked against them."""
