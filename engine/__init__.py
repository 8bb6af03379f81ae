"""The runtime: enrollments, FSM execution, guards and effects, clock, timers, credentials, messaging, audit.

Built on the workflow language in `definitions`; it never imports `api`.
"""
