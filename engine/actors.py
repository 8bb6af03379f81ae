"""Who acts: every change traces to one named user or system, with a role and the kind of actor a workflow names."""

from __future__ import annotations

from dataclasses import dataclass

from definitions.model import Actor as ActorKind


@dataclass(frozen=True, slots=True)
class ActorRef:
    """The one named user (or system) an action traces to. `sites`: the sites a staff user works at, who sees and
    acts only there (`engine.people.walls`); None: every site (and always for systems and integrations)."""

    id: str
    role: str
    kind: ActorKind
    sites: frozenset[str] | None = None


SYSTEM_ACTOR = ActorRef("system", "system", ActorKind.SYSTEM)
# The viewer of a read meant to see every site: the server's own (a command on the host, a benchmark). Walled reads
# take their viewer with no default (engine.people.walls), so a caller says this, or whose read it is, or fails mypy.
EVERY_SITE = ActorRef("every-site", "system", ActorKind.SYSTEM)
PORTAL_ACTOR = ActorRef("portal", "portal", ActorKind.PORTAL)


def acting_as(kind: ActorKind) -> ActorRef:
    """The actor a workflow means by `by: <kind>` when no named user stands behind it (the clock, the portal)."""
    return ActorRef(kind.value, kind.value, kind)
