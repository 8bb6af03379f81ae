"""Every rule the five enrollment procedures carry is present in its workflow, and every quote cited is real.

DESIGN.md ("The procedures and the rules they carry") lists the rules each handout imposes. The table below has
one row per rule, the rule's own words as the row id, and asserts on the loaded model which element carries it.
The workflow files cite their source above each such element as `# handout: "..."` (a verbatim piece of the
handout) or `# design: "..."` (a verbatim piece of the product rules, pasted below); a test keeps those honest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from jinja2 import Environment, meta

from definitions import WorkflowDefinition, load_workflow
from definitions.model import Actor, Call, Carries, Channel, InputType, ReasonPolicy, Step, Subject, Transition

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
HANDOUTS = WORKFLOWS / "handouts"
TEMPLATES = WORKFLOWS / "templates"

REGENERATE = "nextgen-regenerate-expired-pin"
EASY_BUTTON = "op-generate-pin-easy-button"
SIBLINGS = "intellichart-pins-for-siblings"
PXP_INVITES = "nextgen-pxp-portal-invites"
ONBOARDING = "portal-invitation-reset-onboarding"
PROCEDURES = (REGENERATE, EASY_BUTTON, SIBLINGS, PXP_INVITES, ONBOARDING)

# The product rules, copied word for word from DESIGN.md: the procedure list, plus the lines of "Who uses it"
# and "Security and privacy rules" that workflow comments cite as `# design: "..."`.
PRODUCT_RULES = """
- **Patients and guardians**, indirectly: they register with a PIN and date of birth, follow invite links, add
  another child to one account.
1. `nextgen-regenerate-expired-pin.txt` — email must be on file; a PIN 30 days old or more must be regenerated;
   provider set to the PCP, or in a specialist office the responsible provider; the new PIN expires in 30 days;
   the generated document is not routed to anyone (Route-to empty), signed, and staff decline becoming its
   responsible provider; no PIN welcome letter any more — an Email Enrollment Notification goes by secure message.
2. `op-generate-pin-easy-button.txt` — the acting user must be linked to a staff record; one patient or siblings
   from the family contacts or from an appointment (same steps); children can be left out; patients with an
   unofficial name (Baby Boy, Baby Girl) get their given name first; Register puts each selected patient in
   Pending Registration; a printout carries PIN(s) and portal URL; no welcome email on this path; the patient
   becomes Registered when the parent completes registration with the PIN.
3. `intellichart-pins-for-siblings.txt` — one guardian account for all siblings: the first child's PIN goes by
   welcome email, the others are marked "do not send PIN" and printed; the parent adds the others with
   "add another child" or later with date of birth + PIN.
4. `nextgen-pxp-portal-invites.txt` — auto invites (only after go-live) on chart added, a change to a required
   field, new encounter, new appointment; manual "Enroll Now"; required fields first name, last name, DOB, birth
   sex, zip, email; re-sent until activation, at most 4 times in 30 days; auto invites only in opening hours.
5. `portal-invitation-reset-onboarding.txt` — portal access enabled before anything is sent; invitation/reset
   email from the chart or from an onboarding list of all patients with a colour per status (red: access not
   enabled); patients with a chart may also set up or reset their account themselves from the portal's login
   screen when their chart meets the conditions (the handout is cut off before listing them); the link grants
   access with no further check, so the address must be confirmed correct and personal; staff may set a unique
   username and a password by hand and hand them over in person.
- Invite/reset links: 256-bit single-use tokens stored as SHA-256, with an expiry; built from a configured
  base URL, never from the request's Host header; no answer reveals whether an account exists.
- Staff-set passwords are an audited exception with a reason, stored hashed, and must be changed at first login.
"""

TEMPLATE_CONTEXT = {"practice", "portal_url", "patient", "guardian", "pin", "pins", "link", "expires_on"}
QUOTE = re.compile(r'^\s*#\s*(handout|design):\s*"(.*)"\s*$')


def normalised(text: str) -> str:
    return " ".join(text.split())


@cache
def workflow(name: str) -> WorkflowDefinition:
    return load_workflow(WORKFLOWS / f"{name}.yaml")


# ----- small readers over the model ----------------------------------------------------------------------------


def transitions(d: WorkflowDefinition, trigger: str) -> list[Transition]:
    found = [t for t in d.transitions if t.trigger == trigger]
    assert found, f"{d.id} has no transition on '{trigger}'"
    return found


def only(d: WorkflowDefinition, trigger: str, source: str, dest: str | None = None) -> Transition:
    found = [t for t in transitions(d, trigger) if source in t.sources and (dest is None or t.dest == dest)]
    assert len(found) == 1, f"{d.id}: expected one '{trigger}' from {source} to {dest}, found {len(found)}"
    return found[0]


def guard_names(t: Transition) -> set[str]:
    return {g.name for g in t.guards}


def call(calls: tuple[Call, ...], name: str) -> Call:
    found = [c for c in calls if c.name == name]
    assert len(found) == 1, f"expected one '{name}' in {[str(c) for c in calls]}"
    return found[0]


def sent_messages(t: Transition) -> set[str]:
    return {str(c.param("message")) for c in t.effects if c.name in ("send_message", "print_pin_letter")}


def step_with(t: Transition, input_type: InputType) -> Step:
    found = [s for s in t.steps if s.input is not None and s.input.type is input_type]
    assert found, f"transition '{t.trigger}' has no step asking for a {input_type.value} input"
    return found[0]


def rule_of(step: Step) -> Call:
    rule = step.input.rule if step.input is not None else None
    assert rule is not None, f"step '{step.id}' has no rule"
    return rule


def duration_text(value: object) -> str:
    return str(value)


def template_variables(name: str) -> set[str]:
    source = (TEMPLATES / f"{name}.j2").read_text(encoding="utf-8")
    return set(meta.find_undeclared_variables(Environment().parse(source)))


def staff_pin_issuers(d: WorkflowDefinition) -> list[Transition]:
    return [t for t in d.transitions if t.by is Actor.STAFF and any(c.name == "issue_pin" for c in t.effects)]


def senders(d: WorkflowDefinition) -> list[Transition]:
    return [t for t in d.transitions if sent_messages(t)]


# ----- 1. NextGen: regenerating an expired PIN ------------------------------------------------------------------


def regenerations(d: WorkflowDefinition) -> list[Transition]:
    return transitions(d, "regenerate_pin")


def email_must_be_on_file(d: WorkflowDefinition) -> None:
    for t in [*regenerations(d), *transitions(d, "generate_pin")]:
        assert "email_on_file" in guard_names(t)


def pin_30_days_old_must_be_regenerated(d: WorkflowDefinition) -> None:
    timer = d.timer("pin_expiry")
    assert (timer.state, duration_text(timer.after), timer.fire) == ("pending_registration", "30d", "expire_pin")
    assert only(d, "expire_pin", "pending_registration").dest == "pin_expired"
    assert only(d, "regenerate_pin", "pin_expired").dest == "pending_registration"
    early = only(d, "regenerate_pin", "pending_registration")
    assert duration_text(call(early.guards, "pin_age_at_least").param("age")) == "30d"


def provider_is_pcp_or_responsible(d: WorkflowDefinition) -> None:
    for t in regenerations(d):
        assert rule_of(step_with(t, InputType.PROVIDER)).name == "pcp_or_responsible_provider"


def new_pin_expires_in_30_days(d: WorkflowDefinition) -> None:
    for t in regenerations(d):
        assert [c.name for c in t.effects][:2] == ["revoke_pin", "issue_pin"]
        assert duration_text(call(t.effects, "issue_pin").param("lifetime")) == "30d"
    assert duration_text(d.timer("pin_expiry").after) == "30d"


def document_not_routed(d: WorkflowDefinition) -> None:
    for t in regenerations(d):
        assert rule_of(step_with(t, InputType.TEXT)).name == "must_be_empty"


def document_signed(d: WorkflowDefinition) -> None:
    for t in regenerations(d):
        ids = [s.id for s in t.steps]
        assert "sign_document" in ids
        # handout order: provider, Regenerate, End Update, Route to, Sign Document, decline the prompt
        order = ["set_provider", "regenerate", "close_and_end_update", "route_to", "sign_document",
                 "decline_responsible_provider"]
        assert [i for i in ids if i in order] == order


def staff_decline_responsible_provider(d: WorkflowDefinition) -> None:
    for t in regenerations(d):
        rule = rule_of(step_with(t, InputType.YES_NO))
        assert (rule.name, rule.param("value")) == ("must_equal", "no")


def no_pin_welcome_letter(d: WorkflowDefinition) -> None:
    assert all(m.channel is not Channel.LETTER for m in d.messages)
    assert not any(c.name == "print_pin_letter" for t in d.transitions for c in t.effects)


def enrollment_notification_by_secure_message(d: WorkflowDefinition) -> None:
    notification = d.message("enrollment_notification")
    assert (notification.channel, notification.carries) == (Channel.SECURE_MESSAGE, Carries.PIN)
    for t in regenerations(d):
        assert sent_messages(t) == {"enrollment_notification"}


# ----- 2. OP Easy Button ----------------------------------------------------------------------------------------


def acting_user_linked_to_staff_record(d: WorkflowDefinition) -> None:
    for t in staff_pin_issuers(d):
        assert "actor_linked_to_staff_record" in guard_names(t)


def family_contacts_or_appointment_same_steps(d: WorkflowDefinition) -> None:
    assert d.subject is Subject.HOUSEHOLD
    register = only(d, "register", "not_registered")
    choice = step_with(register, InputType.CHOICE)
    assert choice.input is not None
    assert set(choice.input.options) == {"family_contacts", "appointment"}
    for t in staff_pin_issuers(d):
        assert t.steps == register.steps


def children_can_be_left_out(d: WorkflowDefinition) -> None:
    for t in staff_pin_issuers(d):
        assert "children_selected" in guard_names(t)
        rule = rule_of(step_with(t, InputType.CHILDREN))
        assert (rule.name, rule.param("count")) == ("at_least", 1)
        assert call(t.effects, "issue_pin").param("for") == "selected_children"


def unofficial_name_replaced_first(d: WorkflowDefinition) -> None:
    for t in staff_pin_issuers(d):
        assert "name_not_placeholder" in guard_names(t)


def register_puts_selected_in_pending(d: WorkflowDefinition) -> None:
    register = only(d, "register", "not_registered")
    assert register.dest == "pending_registration"
    assert d.state("pending_registration").status == "Pending Registration"
    assert call(register.effects, "issue_pin").param("for") == "selected_children"


def printout_carries_pins_and_url(d: WorkflowDefinition) -> None:
    for t in staff_pin_issuers(d):
        letter = call(t.effects, "print_pin_letter")
        message = d.message(str(letter.param("message")))
        assert (message.channel, message.carries) == (Channel.LETTER, Carries.PIN)
        assert {"pins", "portal_url"} <= template_variables(message.template)


def no_welcome_email_on_easy_button(d: WorkflowDefinition) -> None:
    assert all(m.channel is Channel.LETTER for m in d.messages)
    assert not any(c.name == "send_message" for t in d.transitions for c in t.effects)


def registered_when_parent_completes(d: WorkflowDefinition) -> None:
    done = only(d, "register_with_pin", "pending_registration", "registered")
    assert done.by is Actor.PORTAL
    assert guard_names(done) == {"pin_and_birth_date_match", "last_pending_child"}
    assert [c.name for c in done.effects] == ["redeem_pin"]
    assert d.state("registered").status == "Registered"
    assert d.state("registered").final


# ----- 3. IntelliChart: PINs for siblings ----------------------------------------------------------------------


def one_guardian_account(d: WorkflowDefinition) -> None:
    assert d.subject is Subject.HOUSEHOLD
    creations = transitions(d, "guardian_creates_account")
    assert {s for t in creations for s in t.sources} == {"pending_registration"}
    portal_after_account = {t.trigger for t in d.transitions_from("partially_registered") if t.by is Actor.PORTAL}
    assert portal_after_account == {"add_another_child"}
    for t in [*creations, *transitions(d, "add_another_child")]:
        assert [c.name for c in t.effects] == ["redeem_pin"]


def first_child_pin_by_welcome_email(d: WorkflowDefinition) -> None:
    first = only(d, "generate_sibling_pins", "not_registered")
    assert call(first.effects, "issue_pin").param("do_not_send") == "all_but_first"
    welcome = d.message(str(call(first.effects, "send_message").param("message")))
    assert (welcome.channel, welcome.to.value, welcome.carries) == (Channel.EMAIL, "guardian", Carries.PIN)
    assert "email_on_file" in guard_names(first)


def others_do_not_send_and_printed(d: WorkflowDefinition) -> None:
    for t in staff_pin_issuers(d):
        assert call(t.effects, "issue_pin").param("do_not_send") in ("all_but_first", "all")
        letter = call(t.effects, "print_pin_letter")
        assert letter.param("children") == "do_not_send"
        assert d.message(str(letter.param("message"))).channel is Channel.LETTER


def parent_adds_another_child(d: WorkflowDefinition) -> None:
    adds = transitions(d, "add_another_child")
    assert all(t.by is Actor.PORTAL and t.sources == ("partially_registered",) for t in adds)
    assert {t.dest for t in adds} == {"registered", "partially_registered"}


def later_with_birth_date_and_pin(d: WorkflowDefinition) -> None:
    for t in transitions(d, "add_another_child"):
        assert "pin_and_birth_date_match" in guard_names(t)
    later = only(d, "add_another_child", "partially_registered", "partially_registered")
    assert [g.name for g in later.unless] == ["last_pending_child"]


# ----- 4. NextGen PxP: portal invites ---------------------------------------------------------------------------

AUTO_TRIGGERS = ("chart_added", "demographics_changed", "new_encounter", "new_appointment")


def auto_invites(d: WorkflowDefinition) -> list[Transition]:
    return [t for trigger in AUTO_TRIGGERS for t in transitions(d, trigger)]


def invites_sent(d: WorkflowDefinition) -> list[Transition]:
    return [t for t in [*auto_invites(d), *transitions(d, "enroll_now"), *transitions(d, "resend_invite")]
            if sent_messages(t)]


def auto_invites_only_after_go_live(d: WorkflowDefinition) -> None:
    for t in auto_invites(d):
        assert "site_live" in guard_names(t)


def auto_invite_events(d: WorkflowDefinition) -> None:
    for t in auto_invites(d):
        assert t.by is Actor.INTEGRATION
        assert t.dest == "invited"
        assert set(t.sources) == {"not_invited", "invited"}
        assert sent_messages(t) == {"auto_invite"}


def manual_enroll_now(d: WorkflowDefinition) -> None:
    enroll = only(d, "enroll_now", "not_invited")
    assert enroll.by is Actor.STAFF
    assert enroll.dest == "invited"
    assert sent_messages(enroll) == {"manual_invite"}
    where = step_with(enroll, InputType.CHOICE)
    assert where.input is not None
    assert set(where.input.options) == {"patient_right_click_menu", "chart_banner"}


def required_demographic_fields(d: WorkflowDefinition) -> None:
    all_six = {"first_name", "last_name", "birth_date", "birth_sex", "zip", "email"}
    for t in [*auto_invites(d), *transitions(d, "enroll_now")]:
        fields = call(t.guards, "required_demographics").param("fields")
        assert fields is None or (isinstance(fields, tuple) and set(fields) == all_six)  # left out: all six


def resent_until_activation(d: WorkflowDefinition) -> None:
    timer = d.timer("resend_invite")
    assert (timer.state, timer.fire) == ("invited", "resend_invite")
    resend, hold = transitions(d, "resend_invite")
    assert (resend.by, resend.sources, resend.dest) == (Actor.SYSTEM, ("invited",), "invited")
    assert sent_messages(resend) == {"auto_invite"}
    # At the limit the re-send is held, not dropped: staying in 'invited' arms the timer again.
    assert (hold.by, hold.sources, hold.dest, hold.effects) == (Actor.SYSTEM, ("invited",), "invited", ())
    assert [c.name for c in hold.unless] == ["within_limit"]
    activated = only(d, "account_activated", "invited")
    assert d.state(activated.dest).final


def at_most_4_in_30_days(d: WorkflowDefinition) -> None:
    limit = d.limit("invites")
    assert (limit.max, duration_text(limit.within)) == (4, "30d")
    assert set(limit.counts) == {m.id for m in d.messages}
    for t in invites_sent(d):
        assert call(t.guards, "within_limit").param("limit") == "invites"


def auto_invites_in_opening_hours(d: WorkflowDefinition) -> None:
    assert d.message("auto_invite").opening_hours
    assert d.timer("resend_invite").opening_hours


# ----- 5. Invitation / reset and the Onboarding Tool -----------------------------------------------------------


def access_enabled_before_sending(d: WorkflowDefinition) -> None:
    assert d.initial == "access_disabled"
    assert {t.trigger for t in d.transitions_from("access_disabled") if not sent_messages(t)} == {
        "enable_portal_access"}
    assert [c.name for c in only(d, "enable_portal_access", "access_disabled").effects] == ["enable_portal_access"]
    for t in [*senders(d), *transitions(d, "set_credentials_manually")]:
        assert "portal_access_enabled" in guard_names(t)


def from_chart_or_onboarding_list(d: WorkflowDefinition) -> None:
    for t in [*transitions(d, "send_invitation"), *transitions(d, "enable_portal_access")]:
        where = step_with(t, InputType.CHOICE)
        assert where.input is not None
        assert set(where.input.options) == {"chart_edit_information", "onboarding_tool"}


def red_means_access_not_enabled(d: WorkflowDefinition) -> None:
    disabled = d.state("access_disabled")
    assert disabled.status == "Access Not Enabled"
    assert "red" in disabled.description.lower()


def address_confirmed_correct_and_personal(d: WorkflowDefinition) -> None:
    for t in transitions(d, "send_invitation"):
        assert {"email_on_file", "email_confirmed_personal"} <= guard_names(t)
        assert step_with(t, InputType.CONFIRMATION).id == "confirm_email_personal"
        link = call(t.effects, "issue_link")
        assert (link.param("purpose"), duration_text(link.param("lifetime"))) == ("invitation_or_reset", "24h")
    assert d.timer("link_expiry").state == "invited"


def staff_set_username_and_password(d: WorkflowDefinition) -> None:
    manual = transitions(d, "set_credentials_manually")
    for t in manual:
        assert t.by is Actor.STAFF
        assert t.reason is ReasonPolicy.REQUIRED
        assert "username_valid_and_unique" in guard_names(t)
        assert rule_of(step_with(t, InputType.USERNAME)).name == "valid_unique_username"
        assert rule_of(step_with(t, InputType.PASSWORD)).name == "strong_password"
        hand_over = step_with(t, InputType.CHOICE)
        assert hand_over.input is not None
        assert "in_person" in hand_over.input.options
        assert [c.name for c in t.effects] == ["set_username", "set_temporary_password"]
    assert all(m.carries is not Carries.CREDENTIALS for m in d.messages)  # handed over, never sent
    first_login = only(d, "first_login_password_changed", "credentials_set_by_staff")
    assert first_login.by is Actor.PORTAL
    assert ([c.name for c in first_login.guards], [c.name for c in first_login.effects]) == (
        ["temporary_password_set"], ["clear_temporary_password"])  # the must-change flag is cleared only here


def set_up_or_reset_from_the_login_screen(d: WorkflowDefinition) -> None:
    (request,) = transitions(d, "self_service_requested")
    assert (request.by, request.dest) == (Actor.PORTAL, "invited")
    assert set(request.sources) == {"access_disabled", "access_enabled", "invited", "credentials_set_by_staff"}
    assert guard_names(request) == {"portal_access_enabled", "email_on_file", "email_confirmed_personal"}
    assert sent_messages(request) == {"invitation_reset_email"}
    assert d.message("invitation_reset_email").carries is Carries.LINK


RULES: list[tuple[str, str, Callable[[WorkflowDefinition], None]]] = [
    (REGENERATE, "email must be on file", email_must_be_on_file),
    (REGENERATE, "a PIN 30 days old or more must be regenerated", pin_30_days_old_must_be_regenerated),
    (REGENERATE, "provider set to the PCP, or in a specialist office the responsible provider",
     provider_is_pcp_or_responsible),
    (REGENERATE, "the new PIN expires in 30 days", new_pin_expires_in_30_days),
    (REGENERATE, "the generated document is not routed to anyone (Route-to empty)", document_not_routed),
    (REGENERATE, "signed", document_signed),
    (REGENERATE, "staff decline becoming its responsible provider", staff_decline_responsible_provider),
    (REGENERATE, "no PIN welcome letter any more", no_pin_welcome_letter),
    (REGENERATE, "an Email Enrollment Notification goes by secure message", enrollment_notification_by_secure_message),
    (EASY_BUTTON, "the acting user must be linked to a staff record", acting_user_linked_to_staff_record),
    (EASY_BUTTON, "one patient or siblings from the family contacts or from an appointment (same steps)",
     family_contacts_or_appointment_same_steps),
    (EASY_BUTTON, "children can be left out", children_can_be_left_out),
    (EASY_BUTTON, "patients with an unofficial name (Baby Boy, Baby Girl) get their given name first",
     unofficial_name_replaced_first),
    (EASY_BUTTON, "Register puts each selected patient in Pending Registration", register_puts_selected_in_pending),
    (EASY_BUTTON, "a printout carries PIN(s) and portal URL", printout_carries_pins_and_url),
    (EASY_BUTTON, "no welcome email on this path", no_welcome_email_on_easy_button),
    (EASY_BUTTON, "the patient becomes Registered when the parent completes registration with the PIN",
     registered_when_parent_completes),
    (SIBLINGS, "one guardian account for all siblings", one_guardian_account),
    (SIBLINGS, "the first child's PIN goes by welcome email", first_child_pin_by_welcome_email),
    (SIBLINGS, 'the others are marked "do not send PIN" and printed', others_do_not_send_and_printed),
    (SIBLINGS, 'the parent adds the others with "add another child"', parent_adds_another_child),
    (SIBLINGS, "or later with date of birth + PIN", later_with_birth_date_and_pin),
    (PXP_INVITES, "auto invites (only after go-live)", auto_invites_only_after_go_live),
    (PXP_INVITES, "on chart added, a change to a required field, new encounter, new appointment", auto_invite_events),
    (PXP_INVITES, 'manual "Enroll Now"', manual_enroll_now),
    (PXP_INVITES, "required fields first name, last name, DOB, birth sex, zip, email", required_demographic_fields),
    (PXP_INVITES, "re-sent until activation", resent_until_activation),
    (PXP_INVITES, "at most 4 times in 30 days", at_most_4_in_30_days),
    (PXP_INVITES, "auto invites only in opening hours", auto_invites_in_opening_hours),
    (ONBOARDING, "portal access enabled before anything is sent", access_enabled_before_sending),
    (ONBOARDING, "invitation/reset email from the chart or from an onboarding list of all patients",
     from_chart_or_onboarding_list),
    (ONBOARDING, "with a colour per status (red: access not enabled)", red_means_access_not_enabled),
    (ONBOARDING, "patients with a chart may also set up or reset their account themselves from the portal's login "
                 "screen when their chart meets the conditions", set_up_or_reset_from_the_login_screen),
    (ONBOARDING, "the link grants access with no further check, so the address must be confirmed correct and personal",
     address_confirmed_correct_and_personal),
    (ONBOARDING, "staff may set a unique username and a password by hand and hand them over in person",
     staff_set_username_and_password),
]


@pytest.mark.parametrize(("procedure", "check"), [pytest.param(p, c, id=rule) for p, rule, c in RULES])
def test_each_procedure_rule_is_carried_by_its_workflow(
    procedure: str, check: Callable[[WorkflowDefinition], None]
) -> None:
    check(workflow(procedure))


def rules_of(procedure: str) -> str:
    """The product rules listed for one procedure: its numbered item, up to the next item."""
    found = re.search(rf"`{re.escape(procedure)}\.txt` — (.*?)(?=\n\d\. `|\n- |\Z)", PRODUCT_RULES, re.DOTALL)
    assert found, f"{procedure} is not in the product rules"
    return normalised(found.group(1))


def test_every_rule_in_the_table_is_quoted_from_its_procedure_in_the_product_rules() -> None:
    for procedure, rule, _ in RULES:
        assert normalised(rule) in rules_of(procedure), rule


def test_every_procedure_has_rows_in_the_table() -> None:
    assert {procedure for procedure, _, _ in RULES} == set(PROCEDURES)


# ----- the files themselves -------------------------------------------------------------------------------------


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_each_workflow_is_named_after_its_file_and_cites_its_handout(procedure: str) -> None:
    d = workflow(procedure)
    assert (d.id, d.source) == (procedure, f"handouts/{procedure}.txt")
    assert all(state.status and state.description for state in d.states)


def quotes_in(procedure: str) -> list[tuple[int, str, str]]:
    lines = (WORKFLOWS / f"{procedure}.yaml").read_text(encoding="utf-8").splitlines()
    return [(n, m.group(1), m.group(2)) for n, line in enumerate(lines, 1) if (m := QUOTE.match(line))]


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_every_handout_quote_is_verbatim(procedure: str) -> None:
    handout = normalised((HANDOUTS / f"{procedure}.txt").read_text(encoding="utf-8"))
    quotes = [(n, q) for n, kind, q in quotes_in(procedure) if kind == "handout"]
    assert quotes, f"{procedure} cites nothing from its handout"
    wrong = [(n, q) for n, q in quotes if normalised(q) not in handout]
    assert not wrong, f"not verbatim in handouts/{procedure}.txt: {wrong}"


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_every_design_quote_is_verbatim(procedure: str) -> None:
    rules = normalised(PRODUCT_RULES)
    wrong = [(n, q) for n, kind, q in quotes_in(procedure) if kind == "design" and normalised(q) not in rules]
    assert not wrong, f"not verbatim in the product rules: {wrong}"


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_every_quote_sits_directly_above_an_element(procedure: str) -> None:
    lines = (WORKFLOWS / f"{procedure}.yaml").read_text(encoding="utf-8").splitlines()
    for n, _, quote in quotes_in(procedure):
        following = next((line for line in lines[n:] if not line.lstrip().startswith("#")), "")
        assert following.strip(), f"line {n}: quote '{quote}' is not directly above an element"


def test_templates_use_only_the_documented_context() -> None:
    templates = sorted(TEMPLATES.glob("*.j2"))
    assert templates
    for template in templates:
        unknown = template_variables(template.stem) - TEMPLATE_CONTEXT
        assert not unknown, f"{template.name} uses {unknown}"


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_each_message_template_prints_the_secret_it_carries(procedure: str) -> None:
    for message in workflow(procedure).messages:
        used = template_variables(message.template)
        source = (TEMPLATES / f"{message.template}.j2").read_text(encoding="utf-8")
        assert ("block subject" in source) is (message.channel is not Channel.LETTER), message.id
        if message.carries is Carries.PIN:
            expected = "pins" if message.channel is Channel.LETTER else "pin"
            assert expected in used, f"{message.template} must print {expected}"
        if message.carries is Carries.LINK:
            assert "link" in used, f"{message.template} must print the link"
        if message.channel is Channel.LETTER:
            assert "portal_url" in used, f"{message.template} must print the portal URL"
