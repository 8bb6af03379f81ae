"""The runtime, one folder per concept: the front door (`front_door`) over the enrollment commands
(`enrollments`), the state machine and its judgement (`fsm`), and their collaborators (`people`, `audit`,
`messaging`, `timers`, `calendars`, `credentials`) over `storage`. The map: docs/architecture.md.

Built on the workflow language in `definitions`; it never imports `api`.
"""
