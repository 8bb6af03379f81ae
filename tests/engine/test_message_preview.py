"""A designer previews a message as the engine would write it now: the published template, the site's real fields,
a real or sample person, placeholders where the PIN or link go, or the reason it would be held."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from engine.actors import EVERY_SITE
from engine.errors import InvalidInput, NotFound
from engine.storage.tables import patients, sites
from engine.views.preview import LINK_PLACEHOLDER, PIN_PLACEHOLDER, PreviewMessage

PXP = "nextgen-pxp-portal-invites"
ROOT = Path(__file__).resolve().parents[2]


def test_a_sample_preview_prints_the_sites_fields_and_a_placeholder_where_the_link_goes(flow: Any) -> None:
    shown = flow.preview(PreviewMessage("manual_invite", "main"), viewer=EVERY_SITE)
    assert (shown.workflow_id, shown.version, shown.channel, shown.template) == (PXP, 2, "email",
                                                                                "pxp_portal_invitation")
    assert (shown.sample_person, shown.recipient, shown.held, shown.html) == (True, None, None, None)
    assert shown.subject == "You are invited to the Maple Family Practice patient portal"
    assert shown.body.startswith("Dear Alex Sample,")
    assert f"https://portal.example.test/access/{LINK_PLACEHOLDER}\n" in shown.body
    assert "please call us at (617) 555-0100." in shown.body


def test_a_preview_for_a_real_patient_uses_their_name_and_address(flow: Any) -> None:
    shown = flow.preview(PreviewMessage("enrollment_notification", "main", patient_id="p-jane"), viewer=EVERY_SITE)
    assert (shown.sample_person, shown.channel, shown.recipient) == (False, "secure_message", None)
    assert shown.body.startswith("Dear Jane Doe,")
    assert f"Your PIN: {PIN_PLACEHOLDER}\n" in shown.body
    assert "This PIN expires on 2026-04-01." in shown.body  # the workflow's 30 days from the fake clock's today
    invite = flow.preview(PreviewMessage("manual_invite", "main", PXP, patient_id="p-jane"), viewer=EVERY_SITE)
    assert invite.recipient == "jane@example.test"


def test_a_letter_preview_lists_each_child_of_a_real_household(flow: Any) -> None:
    shown = flow.preview(PreviewMessage("pin_printout", "main", household_id="h-lee"), viewer=EVERY_SITE)
    assert (shown.channel, shown.subject) == ("letter", None)
    assert "Dear Kim Lee," in shown.body
    assert f"    Ava Lee: PIN {PIN_PLACEHOLDER}\n" in shown.body


def test_a_preview_says_the_message_would_be_held_when_the_site_has_no_phone(flow: Any) -> None:
    with flow.db.begin() as conn:
        conn.execute(update(sites).values(phone=""))
    shown = flow.preview(PreviewMessage("manual_invite", "main", PXP), viewer=EVERY_SITE)
    assert (shown.subject, shown.body) == (None, None)
    assert shown.held is not None
    assert shown.held.startswith("held: the site's phone number is empty (template pxp_portal_invitation.j2, line 15")


def test_a_preview_says_when_the_site_does_not_use_the_workflow_and_finds_older_versions(flow: Any) -> None:
    with flow.db.begin() as conn:
        conn.execute(update(sites).values(workflows=["nextgen-regenerate-expired-pin"]))
    assert flow.preview(PreviewMessage("manual_invite", "main", PXP), viewer=EVERY_SITE).site_uses_workflow is False
    assert flow.preview(PreviewMessage("enrollment_notification", "main"), viewer=EVERY_SITE).site_uses_workflow is True
    assert flow.preview(PreviewMessage("manual_invite", "main", version=2), viewer=EVERY_SITE).workflow_id == PXP


def test_a_placeholder_name_would_hold_the_message(flow: Any) -> None:
    with flow.db.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == "p-jane").values(name_is_placeholder=True))
    shown = flow.preview(PreviewMessage("manual_invite", "main", PXP, patient_id="p-jane"), viewer=EVERY_SITE)
    assert shown.held is not None
    assert "the patient's name 'Jane Doe' is still a placeholder" in shown.held


@pytest.mark.parametrize(("query", "error", "words"), [
    (PreviewMessage("no_such_message", "main"), InvalidInput, "no published workflow has a message"),
    (PreviewMessage("manual_invite", "main", version=7), InvalidInput, "'manual_invite' in version 7"),
    (PreviewMessage("nope", "main", PXP), InvalidInput, "its messages: auto_invite, manual_invite"),
    (PreviewMessage("manual_invite", "nowhere", PXP), NotFound, "nowhere"),
    (PreviewMessage("manual_invite", "main", PXP, patient_id="p-ghost"), NotFound, "p-ghost"),
    (PreviewMessage("manual_invite", "main", PXP, household_id="h-lee"), InvalidInput, "preview it for a patient"),
    (PreviewMessage("pin_printout", "main", patient_id="p-jane"), InvalidInput, "preview it for a household"),
    (PreviewMessage("manual_invite", "main", PXP, version=9), NotFound, "v9"),
])
def test_a_bad_preview_request_names_what_is_wrong(flow: Any, query: PreviewMessage, error: type[Exception],
                                                   words: str) -> None:
    with pytest.raises(error, match=words):
        flow.preview(query, viewer=EVERY_SITE)


def test_the_preview_command_prints_the_message_and_exits_1_when_it_would_be_held(flow: Any) -> None:
    env = {**os.environ, "PORTALFLOW_DATABASE_URL": str(flow.db.url.render_as_string(hide_password=False))}
    command = [sys.executable, "-m", "api.cli", "preview", "manual_invite", "--site", "main", "--patient", "p-jane"]
    sent = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.splitlines()[:3] == [
        f"{PXP} v2, message manual_invite (email, template pxp_portal_invitation.j2) to jane@example.test",
        "Subject: You are invited to the Maple Family Practice patient portal", ""]
    with flow.db.begin() as conn:
        conn.execute(update(sites).values(phone=None))
    held = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert held.returncode == 1
    assert held.stdout.splitlines()[1].startswith("held: the site's phone number is empty")
    wrong = subprocess.run([*command[:-2], "--household", "h-lee"], capture_output=True, text=True, cwd=ROOT,
                           env=env, check=False)
    assert wrong.returncode == 2
    assert "preview it for a patient" in wrong.stderr
