"""The engine's front door: every operation the API, the CLI and the pages need, each owning its transaction.

`engine.front_door.flow.PortalFlow` carries the enrollment commands and, hung on it, one small service per area
(`people`, `practice`, `users`, `histories`, `worklists`, `imports`). Callers parse, call one method and map the
answer; they open no transaction and never see SQL.
"""
