"""Signing in and out of the pages: the session cookie, its expiry, the forced password change, the pause after
repeated failures, CSRF; and the API reference served offline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.cli.users import CLI_ACTOR
from engine.actors import EVERY_SITE
from engine.audit.reading import HistoryQuery


def test_a_clerk_opening_the_address_is_asked_to_sign_in_then_lands_on_her_worklists(browser: Any) -> None:
    clerk = browser()
    clerk.open("/")
    assert clerk.page.url.endswith("/app/sign-in?next=/app/home")
    clerk.submit("Sign in", **{"User name": "ana", "Password": "a long password 1"})
    assert clerk.page.url.endswith("/app/home")
    assert "Today's worklists" in clerk.text()
    assert "PINs expiring" in clerk.text()
    [cookie] = [c for c in clerk.page.context.cookies() if c["name"] == "pf_session"]
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")

    clerk.click("Sign out")
    assert "You are signed out." in clerk.text()
    clerk.open("/app/home")
    assert "/sign-in" in clerk.page.url  # the old session no longer opens anything


def test_a_wrong_password_answers_the_same_as_an_unknown_user_and_five_in_a_row_pause_sign_in(
        browser: Any, site: Any) -> None:
    guesser = browser()
    guesser.open("/app/sign-in")
    guesser.submit("Sign in", **{"User name": "nobody", "Password": "whatever it is"})
    unknown = guesser.text("#sign-in-error")
    for _ in range(5):
        guesser.submit("Sign in", **{"User name": "ana", "Password": "not her password"})
        assert guesser.text("#sign-in-error") == unknown
    guesser.submit("Sign in", **{"User name": "ana", "Password": "a long password 1"})
    assert guesser.text("#sign-in-error") == unknown  # paused: even the right password is refused, in the same words
    assert "sign-in pauses for 15 minutes" in unknown

    site.clock.advance(timedelta(minutes=16))
    guesser.submit("Sign in", **{"User name": "ana", "Password": "a long password 1"})
    assert guesser.page.url.endswith("/app/home")
    paused = [e for e in site.flow.histories.find(HistoryQuery(limit=1000), viewer=EVERY_SITE)
              if e.action == "sign_in_paused"]
    assert [(e.subject_id, e.actor_id) for e in paused] == [("ana", "system")]
    assert "not her password" not in str(paused[0])


def test_a_user_whose_password_an_admin_set_must_choose_their_own_before_any_page_opens(
        browser: Any, site: Any) -> None:
    site.flow.users.set_password(CLI_ACTOR, "bob", "set by the admin 1", "forgot it at the front desk")
    bob = browser()
    bob.sign_in("bob", "set by the admin 1")
    assert bob.page.url.endswith("/app/password")
    bob.open("/app/patients")
    assert bob.page.url.endswith("/app/password")  # nothing else opens
    bob.submit("Save my password", **{"New password (at least 12 characters)": "bob's own password",
                                      "The same again": "bob's own passwort"})
    assert "The two passwords are not the same." in bob.text()
    bob.submit("Save my password", **{"New password (at least 12 characters)": "bob's own password",
                                      "The same again": "bob's own password"})
    assert "Your password is saved." in bob.text()
    assert site.flow.users.get("bob").must_change_password is False


def test_a_session_left_idle_for_half_an_hour_ends_and_the_next_page_asks_to_sign_in_again(
        browser: Any, site: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    site.clock.advance(timedelta(minutes=29))
    clerk.open("/app/patients")
    assert clerk.page.url.endswith("/app/patients")  # used within the half hour: still signed in
    site.clock.advance(timedelta(minutes=31))
    clerk.open("/app/patients")
    assert "/sign-in" in clerk.page.url
    assert "Your session ended" in clerk.text()


def test_a_form_sent_without_the_session_s_token_changes_nothing(browser: Any, site: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    forged = clerk.page.request.post(site.url + "/app/patients/p-jane", form={"email": "thief@example.test",
                                                                          "csrf_token": "guessed"})
    assert forged.status == 403
    assert "The form has expired" in forged.text()
    assert site.flow.people.read_patient("p-jane", viewer=EVERY_SITE).patient.email == "jane@example.test"


def test_the_api_reference_pages_render_without_the_internet(browser: Any) -> None:
    reader = browser()
    reader.page.goto(reader.site.url + "/docs")
    reader.page.wait_for_selector(".opblock-tag", timeout=15_000)
    assert "enrollments" in reader.text("body")
    reader.check()
    reader.page.goto(reader.site.url + "/redoc")
    reader.page.wait_for_selector("h1", timeout=15_000)
    assert "PortalFlow" in reader.text("body")
    reader.check()


def test_a_clerk_signs_in_and_reaches_her_worklists_with_the_keyboard_alone(browser: Any) -> None:
    clerk = browser()
    clerk.open("/app/sign-in")
    clerk.page.keyboard.type("ana")  # the user name box has the focus when the page opens
    clerk.page.keyboard.press("Tab")
    clerk.page.keyboard.type("a long password 1")
    with clerk.page.expect_navigation():
        clerk.page.keyboard.press("Enter")
    clerk.check()
    assert clerk.page.url.endswith("/app/home")
    clerk.page.keyboard.press("Tab")  # the first stop is the skip link, visible once focused
    skip = clerk.page.get_by_role("link", name="Skip to the content")
    assert skip.evaluate("e => e === document.activeElement")
    assert skip.bounding_box()["x"] >= 0
    outline = clerk.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    for _ in range(30):  # Tab on to the first worklist, then Enter follows it
        clerk.page.keyboard.press("Tab")
        if clerk.page.evaluate("document.activeElement.getAttribute('href')") == "/app/worklists/pins-expiring":
            break
    with clerk.page.expect_navigation():
        clerk.page.keyboard.press("Enter")
    assert clerk.page.url.endswith("/app/worklists/pins-expiring")


def test_a_new_password_needs_the_current_one_and_ends_every_other_session(browser: Any, site: Any) -> None:
    desk, laptop = browser(), browser()
    desk.sign_in("ana")
    laptop.sign_in("ana")
    desk.open("/app/password")
    fields = {"New password (at least 12 characters)": "ana's next password", "The same again": "ana's next password"}
    desk.submit("Save my password", **{"Current password": "not it at all", **fields})
    assert "Your current password is not correct." in desk.text()
    desk.submit("Save my password", **{"Current password": "a long password 1", **fields})
    assert "Your password is saved." in desk.text()
    desk.open("/app/patients")
    assert desk.page.url.endswith("/app/patients")  # this session goes on
    laptop.open("/app/patients")
    assert "/app/sign-in" in laptop.page.url  # the other one ended with the old password


def test_an_admin_s_password_reset_ends_the_user_s_sessions(browser: Any, site: Any) -> None:
    clerk = browser()
    clerk.sign_in("ana")
    site.flow.users.set_password(CLI_ACTOR, "ana", "reset by the admin", "her laptop was stolen")
    clerk.open("/app/patients")
    assert "/app/sign-in" in clerk.page.url
    assert "Your session ended" in clerk.text()


def test_a_form_token_that_is_not_ascii_is_refused_not_a_crash(browser: Any, site: Any) -> None:
    clerk = browser()
    clerk.open("/app/sign-in")
    answer = clerk.page.request.post(site.url + "/app/sign-in", form={"user_id": "ana", "password": "x",
                                                                        "csrf_token": "é"})
    assert answer.status == 403
