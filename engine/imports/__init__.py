"""Importing patients and guardians in batches: from a CSV file or a FHIR R4 Bundle, each rejected row named."""
