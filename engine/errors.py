"""Runtime errors: what the engine raises when it refuses or cannot do what was asked.

They descend from `RuntimeFailure` (itself under `PortalFlowError`), apart from the authoring errors of the
workflow language. Messages are written for staff and never carry a PIN, token or password.
"""

from __future__ import annotations

from definitions.errors import RuntimeFailure


class NotFound(RuntimeFailure):
    def __init__(self, what: str, ident: str) -> None:
        self.what, self.ident = what, ident
        super().__init__(f"no {what} '{ident}'")


class Conflict(RuntimeFailure):
    """Someone else changed the enrollment first; nothing was written."""

    def __init__(self, enrollment_id: str, expected: int, current: int, state: str, status: str) -> None:
        self.enrollment_id, self.expected, self.current, self.state = enrollment_id, expected, current, state
        self.status = status
        super().__init__(f"enrollment {enrollment_id} changed meanwhile: it is now '{status}' ({state}, version "
                         f"{current}); you acted on version {expected}")


class NotAllowed(RuntimeFailure):
    """The trigger does not apply here, or not for this actor."""


class Refused(RuntimeFailure):
    """Guards or step inputs said no; `reasons` lists every one, in words staff understand."""

    def __init__(self, reasons: tuple[str, ...]) -> None:
        self.reasons = reasons
        super().__init__("refused: " + "; ".join(reasons))


class EffectFailed(RuntimeFailure):
    """An effect could not complete; the whole transition was rolled back."""


class CredentialRefused(RuntimeFailure):
    """A PIN or link was not accepted. `why` (for the history and tests, never the caller) is one of: wrong,
    expired, locked, used, unknown, not_now (right, but the enrollment is elsewhere), refused (a guard said no)."""

    def __init__(self, why: str, message: str) -> None:
        self.why = why
        super().__init__(message)


class AuthenticationFailed(RuntimeFailure):
    """A token, or a user name and password, was not accepted; the words never say whether the user exists."""


class InvalidInput(RuntimeFailure):
    """A value sent to the engine is malformed; `field` names it. Nothing was written."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class AlreadyExists(RuntimeFailure):
    """Something with this id exists already; it was left as it is and nothing was written."""

    def __init__(self, what: str, ident: str) -> None:
        self.what, self.ident = what, ident
        super().__init__(f"{what} '{ident}' already exists")
