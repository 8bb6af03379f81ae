"""Read models for staff: an enrollment as the engine judges it, a patient with households and enrollments, and
the worklists of what needs a person today. They read; they never write."""
