"""Each kind of authoring mistake is reported as `path:line:col: message`, at the exact place it was made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from definitions import DefinitionInvalid, Severity, check_paths, load_workflow

BASE = """\
id: wf
version: 1
title: Demo procedure
source: handout.txt
subject: patient
initial: waiting
states:
  waiting:
    status: Waiting
    description: Nothing sent yet.
  invited:
    status: Invited
    description: An invite went out.
  done:
    status: Done
    description: Finished.
    final: true
transitions:
  - trigger: invite
    from: waiting
    to: invited
    guards:
      - email_on_file
    effects:
      - send_message: {message: hello}
  - trigger: finish
    from: invited
    to: done
    by: system
timers:
  nudge:
    in: invited
    after: 7d
    fire: finish
    late: fire
messages:
  hello:
    template: hello
    channel: email
    to: patient
    carries: nothing
"""

Write = Callable[[str], Path]


def findings(write: Write, text: str) -> list[str]:
    """Every problem as `line:col: message` (the path is the temporary file's and checked separately)."""
    path = write(text)
    (result,) = check_paths([path])
    rendered = [str(p) for p in result.outcome.problems]
    assert all(line.startswith(f"{path}:") for line in rendered)
    return [line[len(str(path)) + 1:] for line in rendered]


def mutate(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_the_base_workflow_is_clean(write_workflow: Write) -> None:
    assert findings(write_workflow, BASE) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param("    final: true", "    finale: true",
                     "17:5: unknown key 'finale' in state 'done'; allowed keys: status, description, final",
                     id="unknown key lists the allowed keys"),
        pytest.param("title: Demo procedure", "title: Demo procedure\ncolour: blue",
                     "4:1: unknown key 'colour' in the workflow; allowed keys: id, version, title, source, "
                     "description, subject, initial, states, transitions, timers, limits, messages, acknowledged",
                     id="unknown top-level key"),
        pytest.param("    to: invited", "    to: invitd",
                     "21:9: unknown state 'invitd' in 'to' of transition 'invite' (#1); did you mean 'invited'?",
                     id="unknown state in to"),
        pytest.param("initial: waiting", "initial: wating",
                     "6:10: unknown state 'wating' in initial; did you mean 'waiting'?",
                     id="unknown initial state"),
        pytest.param("    in: invited", "    in: sent",
                     "32:9: unknown state 'sent' in 'in' of timer 'nudge'; states: done, invited, waiting",
                     id="unknown state in a timer"),
        pytest.param("    after: 7d", "    after: 7 days",
                     "33:12: 'after' of timer 'nudge': bad duration '7 days': write a whole number and a unit, "
                     "e.g. 30d, 12h, 90m or 1h30m (units: w d h m s)",
                     id="bad duration"),
        pytest.param("      - email_on_file", "      - email_on_fil",
                     "23:9: unknown guard 'email_on_fil' in guards of transition 'invite' (#1); "
                     "did you mean 'email_on_file'?",
                     id="unknown guard"),
        pytest.param("      - send_message: {message: hello}", "      - send_mesage: {message: hello}",
                     "25:9: unknown effect 'send_mesage' in effects of transition 'invite' (#1); "
                     "did you mean 'send_message'?",
                     id="unknown effect"),
        pytest.param("    template: hello", "    template: helo",
                     "38:15: unknown template 'helo' in message 'hello': no file templates/helo.j2; "
                     "did you mean 'hello'?",
                     id="unknown template"),
        pytest.param("{message: hello}", "{message: goodbye}",
                     "25:33: parameter 'message' of effect 'send_message': no message 'goodbye' in this workflow "
                     "(defined: hello)",
                     id="bad parameter value"),
        pytest.param("{message: hello}", "{message: hello, urgent: true}",
                     "25:40: unknown parameter 'urgent' for effect 'send_message'; allowed parameters: message",
                     id="unknown parameter name"),
        pytest.param("      - send_message: {message: hello}", "      - send_message",
                     "25:9: effect 'send_message' is missing required parameter 'message'",
                     id="missing parameter"),
        pytest.param("      - email_on_file", "      - {pin_age_at_least: {age: soon}}",
                     "23:34: parameter 'age' of guard 'pin_age_at_least': bad duration 'soon': write a whole "
                     "number and a unit, e.g. 30d, 12h, 90m or 1h30m (units: w d h m s)",
                     id="bad duration parameter"),
        pytest.param("    final: true", "    final: yes",
                     "17:12: final of state 'done' must be true or false, got 'yes' "
                     "('yes', 'no', 'on' and 'off' are not booleans here)",
                     id="yes is never silently a boolean"),
        pytest.param("    status: Invited\n", "",
                     "12:5: state 'invited' is missing required key 'status'",
                     id="missing required key"),
        pytest.param("    to: invited", "    to: invited\n    to: done",
                     "22:5: duplicate key 'to' (first given at line 21)",
                     id="duplicate key"),
        pytest.param("    by: system", "    by: robot",
                     "29:9: 'by' of transition 'finish' (#2) must be one of staff, portal, system, integration, "
                     "got 'robot'",
                     id="bad choice"),
    ],
)
def test_a_mistake_is_reported_at_its_exact_line_and_column(
    write_workflow: Write, old: str, new: str, expected: str
) -> None:
    assert expected in findings(write_workflow, mutate(old, new))


def test_malformed_yaml_is_reported_where_the_parser_stopped(write_workflow: Write) -> None:
    found = findings(write_workflow, mutate("    from: waiting", "    from: [waiting"))
    assert len(found) == 1
    assert found[0] == ("21:7: malformed YAML: expected ',' or ']', but got ':' (while parsing a flow "
                        "sequence that starts at line 20, column 11)")


def test_a_tab_indent_is_malformed_yaml_with_its_position(write_workflow: Write) -> None:
    found = findings(write_workflow, mutate("    description: Finished.", "\tdescription: Finished."))
    assert len(found) == 1
    assert found[0].startswith("16:1: malformed YAML: ")


def test_an_empty_file_says_so(write_workflow: Write) -> None:
    assert findings(write_workflow, "# nothing yet\n") == [
        "1:1: the file is empty: a workflow needs id, version, states, ..."
    ]


def test_an_unreachable_state_is_named_at_its_definition(write_workflow: Write) -> None:
    text = mutate("    final: true\n", "    final: true\n  orphan:\n    status: Orphan\n"
                  "    description: Never reached.\n    final: true\n")
    assert findings(write_workflow, text) == [
        "18:3: state 'orphan' is unreachable: no chain of transitions leads to it from the initial state 'waiting'"
    ]


def test_a_non_final_state_without_a_way_out_is_a_dead_end(write_workflow: Write) -> None:
    assert "14:3: state 'done' is a dead end: it is not final and no transition leaves it" in findings(
        write_workflow, mutate("    final: true", "    final: false"))


def test_two_transitions_on_one_trigger_from_one_state_need_distinguishing_guards(write_workflow: Write) -> None:
    twin = "  - trigger: invite\n    from: waiting\n    to: done\n    guards: [email_on_file]\n"
    found = findings(write_workflow, mutate("  - trigger: finish\n", twin + "  - trigger: finish\n"))
    assert found == [
        "26:5: transition 'invite' from state 'waiting' cannot be told apart from the one at line 19: give them "
        "distinguishing guards (e.g. a guard on one and the same guard under 'unless' on the other)"
    ]


def test_a_guard_under_unless_distinguishes_two_transitions(write_workflow: Write) -> None:
    twin = "  - trigger: invite\n    from: waiting\n    to: done\n    unless: [email_on_file]\n"
    assert findings(write_workflow, mutate("  - trigger: finish\n", twin + "  - trigger: finish\n")) == []


def test_a_timer_must_fire_a_trigger_that_leaves_its_state(write_workflow: Write) -> None:
    assert "34:11: timer 'nudge' fires 'invite' but no transition on 'invite' leaves state 'invited'" in findings(
        write_workflow, mutate("    fire: finish", "    fire: invite"))


def test_a_timer_may_only_fire_a_system_transition(write_workflow: Write) -> None:
    assert findings(write_workflow, mutate("    by: system\n", "")) == [
        "30:3: timer 'nudge' fires 'finish', but that transition is by staff: timers fire only transitions by system"
    ]


def test_a_guard_reserved_for_the_portal_is_refused_on_a_staff_transition(write_workflow: Write) -> None:
    assert findings(write_workflow, mutate("      - email_on_file", "      - pin_and_birth_date_match")) == [
        "23:9: guard 'pin_and_birth_date_match' is only for transitions by portal; transition 'invite' is by staff"
    ]


def test_an_effect_that_needs_an_input_needs_a_step_asking_for_it(write_workflow: Write) -> None:
    assert findings(write_workflow, mutate("      - send_message: {message: hello}",
                                           "      - send_message: {message: hello}\n      - set_username")) == [
        "26:9: effect 'set_username' needs a step in transition 'invite' asking for a username input"
    ]


def test_household_effects_are_refused_on_a_patient_workflow(write_workflow: Write) -> None:
    found = findings(write_workflow, mutate(
        "      - send_message: {message: hello}",
        "      - send_message: {message: hello}\n      - issue_pin: {lifetime: 1d, for: selected_children}"))
    assert found == [
        "26:9: 'issue_pin(lifetime=1d, for=selected_children, do_not_send=none)' works on a household's children, "
        "but this workflow's subject is a patient"
    ]


def test_an_input_rule_must_fit_the_input_type(write_workflow: Write) -> None:
    step = ("    steps:\n      - id: route\n        instruction: Leave Route-to empty.\n"
            "        input: {type: provider, rule: must_be_empty}\n")
    assert findings(write_workflow, mutate("    guards:\n      - email_on_file\n",
                                           "    guards:\n      - email_on_file\n" + step)) == [
        "27:39: rule 'must_be_empty' applies to text inputs, but the input of step 'route' of transition 'invite' "
        "is provider"
    ]


def test_every_error_in_a_file_is_listed_not_only_the_first(write_workflow: Write) -> None:
    text = mutate("    to: invited", "    to: invitd").replace("    after: 7d", "    after: 7 days")
    found = findings(write_workflow, text)
    assert [f.split(": ")[0] for f in found] == ["21:9", "33:12"]


def test_a_long_pin_sent_by_email_is_a_warning_that_does_not_fail_validation(write_workflow: Write) -> None:
    text = mutate("    carries: nothing", "    carries: pin").replace(
        "      - send_message: {message: hello}",
        "      - issue_pin: {lifetime: 30d}\n      - send_message: {message: hello}")
    path = write_workflow(text)
    (result,) = check_paths([path])
    assert result.outcome.definition is not None
    assert [(p.severity, p.position.line) for p in result.outcome.problems] == [(Severity.WARNING, 25)]
    assert "NIST SP 800-63A's guidance of 24h for an enrollment code sent by email" in str(result.outcome.problems[0])


def test_load_workflow_raises_with_every_problem_in_the_message(write_workflow: Write) -> None:
    path = write_workflow(mutate("    to: invited", "    to: invitd"))
    with pytest.raises(DefinitionInvalid) as caught:
        load_workflow(path)
    assert f"{path}:21:9: unknown state 'invitd'" in str(caught.value)


def test_a_limit_counting_nothing_is_an_error_not_a_silent_drop(write_workflow: Write) -> None:
    text = BASE + "limits:\n  notices:\n    counts: []\n    max: 4\n    within: 30d\n    per: patient\n"
    assert "44:13: counts of limit 'notices' must name at least one message" in findings(write_workflow, text)


def test_a_source_outside_the_workflows_folder_is_refused(write_workflow: Write) -> None:
    assert findings(write_workflow, mutate("source: handout.txt", "source: /etc/hostname")) == [
        "4:9: source '/etc/hostname' must be a path inside the workflows folder, such as handouts/NAME.txt"
    ]


def test_a_staff_set_password_needs_a_required_reason(write_workflow: Write) -> None:
    steps = ("    steps:\n      - id: password\n        instruction: Type a temporary password.\n"
             "        input: {type: password, rule: strong_password}\n")
    text = mutate("    guards:\n      - email_on_file\n", "    guards:\n      - email_on_file\n" + steps).replace(
        "      - send_message: {message: hello}", "      - send_message: {message: hello}\n"
        "      - set_temporary_password")
    found = findings(write_workflow, text)
    assert "19:5: transition 'invite' sets a staff-chosen password, an audited exception: it needs " \
           "'reason: required'" in found


def test_transitions_by_different_actors_on_one_trigger_are_told_apart_by_who_fires_them(
    write_workflow: Write,
) -> None:
    twin = "  - trigger: invite\n    from: waiting\n    to: done\n    by: portal\n    guards: [link_token_valid]\n"
    assert findings(write_workflow, mutate("  - trigger: finish\n", twin + "  - trigger: finish\n")) == []


def test_a_message_to_the_guardian_is_refused_in_a_patient_workflow(write_workflow: Write) -> None:
    assert findings(write_workflow, mutate("    to: patient", "    to: guardian")) == [
        "37:3: message 'hello' goes to the guardian, but this workflow's subject is a patient"
    ]


def test_a_file_named_differently_from_its_id_gets_a_warning(write_workflow: Write) -> None:
    assert findings(write_workflow, BASE.replace("id: wf", "id: other")) == [
        "1:1: warning: file name 'wf.yaml' does not match id 'other': name it other.yaml"
    ]


def test_folded_text_reads_as_plain_text_without_the_yaml_parsers_fold_marks() -> None:
    results = check_paths([Path(__file__).resolve().parents[2] / "workflows"])
    texts = [t.description or "" for r in results for t in r.outcome.definition.transitions]  # type: ignore[union-attr]
    texts += [s.instruction for r in results for t in r.outcome.definition.transitions for s in t.steps]  # type: ignore[union-attr]
    assert texts
    assert all("\a" not in text for text in texts)


def test_a_portal_or_integration_transition_no_operation_can_fire_is_an_error_at_its_line(
        write_workflow: Write) -> None:
    poke = "  - trigger: poke\n    from: invited\n    to: done\n    by: portal\n"
    (found,) = findings(write_workflow, mutate("  - trigger: finish\n", poke + "  - trigger: finish\n"))
    assert found.startswith("26:5: transition 'poke' is done by portal, but no portal operation can fire it: it "
                            "needs guard pin_and_birth_date_match or guard link_token_valid or trigger "
                            "first_login_password_changed or trigger self_service_requested")
    listened = "  - trigger: new_encounter\n    from: invited\n    to: done\n    by: integration\n"
    assert findings(write_workflow, mutate("  - trigger: finish\n", listened + "  - trigger: finish\n")) == []


LINK_BY_EMAIL = mutate("    carries: nothing", "    carries: link").replace(
    "      - send_message: {message: hello}", "      - issue_link: {purpose: invitation, lifetime: 24h}\n"
                                             "      - send_message: {message: hello}")


def test_an_acknowledged_policy_warning_is_listed_as_accepted_with_its_reason(write_workflow: Write) -> None:
    assert findings(write_workflow, LINK_BY_EMAIL) == [
        "38:3: warning: email-only access link: message 'hello' sends a link that grants access with no further "
        "check; confirm the address is correct and personal to the patient"]
    accepted = LINK_BY_EMAIL + "acknowledged:\n  - warning: email-only-link\n    reason: The handout's own procedure.\n"
    path = write_workflow(accepted)
    (result,) = check_paths([path])
    assert result.outcome.definition is not None
    assert (result.outcome.warnings, len(result.outcome.acknowledged)) == ((), 1)
    assert str(result.outcome.acknowledged[0]).endswith(
        ": acknowledged: email-only access link: message 'hello' sends a link that grants access with no further "
        "check; confirm the address is correct and personal to the patient; the practice's reason: The handout's "
        "own procedure.")


def test_an_acknowledgement_must_name_a_known_warning_with_a_reason_and_one_that_occurs(
        write_workflow: Write) -> None:
    unknown = BASE + "acknowledged:\n  - warning: pin-too-long\n    reason: Why not.\n"
    assert findings(write_workflow, unknown) == [
        "43:14: unknown policy warning 'pin-too-long' in acknowledged[0]; codes: email-only-link, lifetime, "
        "staff-set-password"]
    no_reason = BASE + "acknowledged:\n  - warning: lifetime\n"
    assert findings(write_workflow, no_reason) == ["43:5: acknowledged[0] is missing required key 'reason'"]
    stale = BASE + "acknowledged:\n  - warning: lifetime\n    reason: The handout says 30 days.\n"
    assert findings(write_workflow, stale) == [
        "43:5: warning: acknowledged warning 'lifetime' does not occur in this workflow: remove the acknowledgement"]
