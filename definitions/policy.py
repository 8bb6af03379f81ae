"""Policy warnings: choices that validate but that a compliance reviewer should see.

NIST SP 800-63A (enrollment and identity proofing) bounds how long an enrollment code may live by how it
travels: 24 hours when sent to an email address (or similar electronic channel), 10 days when sent by post.
A PIN or link that lives longer than the channel carrying it allows gets a warning; so do staff-set passwords
and links that grant access from an email alone.
"""

from __future__ import annotations

from dataclasses import replace

from definitions.durations import Duration, parse_duration
from definitions.errors import Position, Problem, Severity
from definitions.model import Acknowledgement, Carries, Channel, Message, WorkflowDefinition

NIST_ELECTRONIC = parse_duration("24h")
NIST_POSTAL = parse_duration("10d")
_CHANNEL_CAP = {Channel.EMAIL: NIST_ELECTRONIC, Channel.SECURE_MESSAGE: NIST_ELECTRONIC, Channel.LETTER: NIST_POSTAL}
_CHANNEL_WORDS = {Channel.EMAIL: "by email", Channel.SECURE_MESSAGE: "by secure message", Channel.LETTER: "by letter"}
_ISSUERS = {"issue_pin": Carries.PIN, "issue_link": Carries.LINK}


def warnings(d: WorkflowDefinition) -> list[Problem]:
    found: list[Problem] = []
    for transition in d.transitions:
        for call in transition.effects:
            carried = _ISSUERS.get(call.name)
            lifetime = call.param("lifetime")
            if carried is not None and isinstance(lifetime, Duration):
                sent_here = {str(c.param("message")) for c in transition.effects if c.param("message")}
                carriers = [m for m in d.messages if m.carries is carried and m.id in sent_here] or [
                    m for m in d.messages if m.carries is carried]
                found += _lifetime(call.position, carried, lifetime, carriers)
            if call.name == "set_temporary_password":
                found.append(Problem(call.position, "staff-set password: an audited exception; the password is "
                                                    "hashed, the reason recorded, and the patient must change it "
                                                    "at first login", Severity.WARNING, "staff-set-password"))
    for message in d.messages:
        if message.carries is Carries.LINK and message.channel is Channel.EMAIL:
            found.append(Problem(message.position, f"email-only access link: message '{message.id}' sends a link "
                                                   "that grants access with no further check; confirm the address "
                                                   "is correct and personal to the patient", Severity.WARNING,
                                 "email-only-link"))
    return found


def acknowledge(found: list[Problem], acknowledged: tuple[Acknowledgement, ...]) -> list[Problem]:
    """Each warning the workflow acknowledges, listed as acknowledged with its reason; an acknowledgement that
    matches no warning is itself a warning (the practice accepts nothing there: remove it)."""
    reasons = {a.code: a.reason for a in acknowledged}
    result = [replace(p, severity=Severity.ACKNOWLEDGED, message=f"{p.message}; the practice's reason: "
                                                                 f"{reasons[p.code]}")
              if p.code in reasons else p for p in found]
    met = {p.code for p in found}
    result += [Problem(a.position, f"acknowledged warning '{a.code}' does not occur in this workflow: remove the "
                                   "acknowledgement", Severity.WARNING) for a in acknowledged if a.code not in met]
    return result


def _lifetime(position: Position, carried: Carries, lifetime: Duration, carriers: list[Message]) -> list[Problem]:
    found: list[Problem] = []
    for message in carriers:
        cap = _CHANNEL_CAP[message.channel]
        if lifetime.seconds > cap.seconds:
            found.append(Problem(position, (
                f"{carried.value.upper() if carried is Carries.PIN else 'link'} lifetime {lifetime} is longer than "
                f"NIST SP 800-63A's guidance of {cap} for an enrollment code sent "
                f"{_CHANNEL_WORDS[message.channel]} (message '{message.id}')"), Severity.WARNING, "lifetime"))
    return found
