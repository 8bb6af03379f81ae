"""The people and places the workflows are about: patients, households, their demographics and the practice's
own fields; sites and providers; staff users with their roles, tokens and passwords."""
