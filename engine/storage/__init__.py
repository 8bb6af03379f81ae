"""Storage adapters: SQLAlchemy Core tables, migrations, and the queries the engine's hot path runs."""
