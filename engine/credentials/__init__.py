"""Credentials, made and kept as DESIGN.md's security rules require: PINs and access-link tokens for patients,
and the slow hash that keeps PINs and passwords. A secret is shown once and stored only hashed."""
