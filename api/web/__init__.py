"""The web pages: server-rendered HTML from the same app as the API, for staff, auditors, designers and admins.

Pages call the engine's front door exactly as the API's routes do, so every rule, refusal and audit entry is the
same. Templates have an environment of their own (`api.web.templating`), never the designers' sandbox; every
asset is vendored under `static/` and served by the app, so nothing is fetched from another host.
"""
