"""The codes of the policy warnings, by which a workflow acknowledges one (`acknowledged: [{warning: CODE,
reason: ...}]`). Names only: the warnings themselves are `definitions.policy`."""

from __future__ import annotations

CODES = {
    "lifetime": "a PIN or link lives longer than NIST SP 800-63A's guidance for the channel carrying it",
    "staff-set-password": "staff may set a patient's password by hand",
    "email-only-link": "a link grants access from an email alone",
}
