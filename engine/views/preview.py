"""Preview a workflow's message as a patient would receive it: the published version's template, the site's real
fields, a real patient or household (or a sample one), and placeholders where the PIN or link will go.

It composes exactly as the engine does when it sends (`engine.messaging.composing`), so a preview that would be
held says so, with the same reason: a designer sees "the site's phone number is empty" before any patient would
have read "Call us at .". Writes nothing; no secret exists to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection

from definitions.durations import Duration
from definitions.model import Channel, Subject, WorkflowDefinition
from engine.errors import InvalidInput
from engine.messaging.composing import MessageFacts, MessageRenderer, compose
from engine.messaging.sealing import filled
from engine.people.subjects import Household, Patient, load_household, load_patient, load_site
from engine.versions.catalog import WorkflowCatalog

PIN_PLACEHOLDER = "[PIN]"
LINK_PLACEHOLDER = "[one-time link]"
_ISSUERS = {"issue_pin": "pin", "issue_link": "link"}


@dataclass(frozen=True, slots=True)
class PreviewMessage:
    message_id: str
    site_id: str
    workflow_id: str | None = None  # None: the one workflow that has a message of this id
    version: int | None = None  # None: the newest published version
    patient_id: str | None = None
    household_id: str | None = None  # neither: a sample patient (or household, for a guardian's message)


@dataclass(frozen=True, slots=True)
class MessagePreview:
    workflow_id: str
    version: int
    message_id: str
    template: str
    channel: str
    recipient: str | None  # the address an email would go to; None for a letter or a sample person
    sample_person: bool
    subject: str | None
    body: str | None
    html: str | None
    held: str | None  # why the engine would hold it instead of sending it
    site_uses_workflow: bool = True  # False: nothing starts for this workflow at the site, so it is never sent


def _sample_child(site_id: str, ident: str, given: str) -> Patient:
    return Patient(id=ident, site_id=site_id, given_name=given, family_name="Sample", name_is_placeholder=False,
                   birth_date=date(2018, 6, 1), birth_sex=None, zip=None, email=None, email_confirmed_personal=False,
                   cell_phone=None, pcp_id=None, responsible_provider_id=None, portal_access_enabled=False,
                   portal_account_id=None)


def _sample_household(site_id: str) -> Household:
    return Household(id="sample-household", site_id=site_id, guardian_given_name="Jordan",
                     guardian_family_name="Sample", guardian_email="jordan.sample@example.org",
                     guardian_email_confirmed_personal=True, portal_account_id=None,
                     children=(_sample_child(site_id, "sample-1", "Alex"), _sample_child(site_id, "sample-2", "Sam")))


def _lifetime(definition: WorkflowDefinition, message_id: str, kind: str) -> Duration | None:
    """The lifetime of what the transition sending this message issues, as the engine's `expires_on` is: the PIN
    or link the message carries, else any the step issues."""
    found: list[tuple[bool, Duration]] = []
    for transition in definition.transitions:
        calls = transition.effects
        if any(c.param("message") == message_id for c in calls):
            found += [(_ISSUERS[c.name] == kind, lifetime) for c in calls
                      if c.name in _ISSUERS and isinstance(lifetime := c.param("lifetime"), Duration)]
    return max(found, key=lambda f: f[0])[1] if found else None


def _definition(catalog: WorkflowCatalog, query: PreviewMessage) -> WorkflowDefinition:
    if query.workflow_id is not None:
        return (catalog.latest(query.workflow_id) if query.version is None
                else catalog.get(query.workflow_id, query.version))
    versions = (map(catalog.latest, catalog.ids()) if query.version is None
                else (d for d in catalog.all() if d.version == query.version))
    having = [d.id for d in versions if any(m.id == query.message_id for m in d.messages)]
    if len(having) == 1:
        return _definition(catalog, PreviewMessage(query.message_id, query.site_id, having[0], query.version))
    if having:
        raise InvalidInput("workflow", f"the message '{query.message_id}' is in {len(having)} workflows: "
                                       f"{', '.join(having)}; name one")
    which = "" if query.version is None else f" in version {query.version}"
    raise InvalidInput("message", f"no published workflow has a message '{query.message_id}'{which}")


def preview_message(conn: Connection, renderer: MessageRenderer, catalog: WorkflowCatalog, query: PreviewMessage,
                    today: date) -> MessagePreview:
    definition = _definition(catalog, query)
    try:
        message = definition.message(query.message_id)
    except KeyError:
        known = ", ".join(m.id for m in definition.messages) or "none"
        raise InvalidInput("message", f"workflow '{definition.id}' v{definition.version} has no message "
                                      f"'{query.message_id}'; its messages: {known}") from None
    if query.patient_id and query.household_id:
        raise InvalidInput("patient", "preview for a patient or for a household, not both")
    for_household = definition.subject is Subject.HOUSEHOLD
    if (query.patient_id and for_household) or (query.household_id and not for_household):
        which = "household" if for_household else "patient"
        raise InvalidInput(which, f"workflow '{definition.id}' is about a {which}: preview it for a {which}")
    site = load_site(conn, query.site_id)
    sample = not (query.patient_id or query.household_id)
    household = load_household(conn, query.household_id) if query.household_id else (
        _sample_household(site.id) if sample and for_household else None)
    patient = load_patient(conn, query.patient_id) if query.patient_id else (
        _sample_child(site.id, "sample-patient", "Alex") if household is None else None)
    people = household.children if household else (patient,) if patient else ()
    for person in (*people, household):
        if person is not None and person.site_id != site.id:
            raise InvalidInput("site", f"'{person.id}' is at site '{person.site_id}', not '{site.id}'")
    kind = message.carries.value
    lifetime = _lifetime(definition, message.id, kind)
    letter = message.channel is Channel.LETTER
    facts = MessageFacts(
        site=site, patient=patient, household=household, children=people if household else (),
        pins=[(p, PIN_PLACEHOLDER) for p in (people if letter else people[:1])] if kind == "pin" else (),
        link=f"{site.portal_url.rstrip('/')}/access/{LINK_PLACEHOLDER}" if kind == "link" else None,
        expires_on=today + timedelta(seconds=lifetime.seconds) if lifetime else None)
    composed = compose(renderer, definition, message, facts)
    rendered, secrets = composed.rendered, composed.secrets

    email = household.guardian_email if household else patient.email if patient else None
    return MessagePreview(
        workflow_id=definition.id, version=definition.version, message_id=message.id, template=message.template,
        channel=message.channel.value, recipient=email if message.channel is Channel.EMAIL and not sample else None,
        sample_person=sample,
        subject=filled(rendered.subject, secrets) if rendered and rendered.subject is not None else None,
        body=filled(rendered.body, secrets) if rendered else None,
        html=filled(rendered.html, secrets, escape=True) if rendered and rendered.html is not None else None,
        held=composed.held, site_uses_workflow=site.uses(definition.id))
