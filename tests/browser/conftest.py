"""The pages in a real browser: the app served by uvicorn on loopback over a real SQLite file, driven by Debian's
Chromium (headless) through Playwright, with no browser download.

Every page a test opens goes through `Browser.open`/`submit`/`click`, which checks it with axe-core (no serious or
critical violation) and records every request the page makes: a test fails if any went to another host. The clock
is fake; time moves with `clock.advance` and the background round (timers, outbox) is run as the service runs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_site import Site, engine_on_file, serving
from fakes import FakeClock
from practice import seed_practice

from api.cli.users import CLI_ACTOR

CHROMIUM = os.environ.get("PORTALFLOW_CHROMIUM", "/usr/bin/chromium")
# As the machine's own check runs it: no sandbox (tests run as root in CI), and none of Chromium's own calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
PASSWORD = "a long password 1"
USERS = {"ana": "staff", "bob": "staff", "root": "admin", "audrey": "auditor", "dee": "designer"}
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package "
                    "(scripts/ensure-chromium); or set PORTALFLOW_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(tmp_path: Path, clock: FakeClock, workflows_dir: Path) -> Iterator[Site]:
    """The tests' practice (tests/practice.py) with a user of each role, each signed in once already."""
    flow = engine_on_file(tmp_path, clock, workflows_dir)
    seed_practice(flow.db)
    for user, role in USERS.items():
        if role != "staff":
            flow.users.create(CLI_ACTOR, user, user.title(), role)
        flow.users.set_password(CLI_ACTOR, user, PASSWORD, "test set-up")
        flow.users.change_own_password(flow.users.get(user), PASSWORD)
    with serving(flow, clock, workflows_dir) as running:
        yield running
    flow.close()


def fill(scope: Any, fields: dict[str, Any]) -> None:
    """Fill controls by their labels within a page or a part of it: text typed, a select's option chosen by its
    label, a bool ticks or unticks a box, a list ticks exactly those boxes of a group (by value or label)."""
    for label, value in fields.items():
        if isinstance(value, list):
            group = scope.get_by_role("group", name=label, exact=True)
            for box in group.get_by_role("checkbox").all():
                box.set_checked(box.get_attribute("value") in value
                                or str(box.evaluate("e => e.labels[0].innerText")).strip() in value)
            continue
        control = scope.get_by_label(label, exact=True)
        if isinstance(value, bool):
            control.set_checked(value)
        elif control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(label=value)
        else:
            control.fill(value)


@dataclass
class Browser:
    """One signed-out browser (its own cookies) on the site, checking each page it lands on."""

    page: Any
    site: Site
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # refused by the page's CSP: never left the browser
    checked: set[str] = field(default_factory=set)

    def check(self) -> None:
        """axe-core on the page as it is now: no serious or critical violation."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                   for v in results.response["violations"] if v["impact"] in SERIOUS]
        assert serious == [], f"{self.page.url}: {serious}"
        self.checked.add(urlsplit(self.page.url).path)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.site.url + path)
        self.check()
        return response

    def submit(self, button: str, **fields: str | bool) -> None:
        """Fill the fields named by their labels (a bool ticks or unticks), press the button, check the result."""
        fill(self.page, fields)
        self.click(button)

    def click(self, name: str, role: str = "button") -> None:
        with self.page.expect_navigation():
            self.page.get_by_role(role, name=name, exact=True).click()
        self.check()

    def act(self, trigger: str, button: str | None = None, **fields: str | bool | list[str]) -> None:
        """On an enrollment page: fill one action's controls, by their labels, and press its button. A list ticks
        exactly those boxes of a group (e.g. the children); a bool ticks or unticks one box."""
        section = self.page.locator(f"section[aria-labelledby='a-{trigger}']")
        fill(section, fields)
        with self.page.expect_navigation():
            section.get_by_role("button", name=button).click() if button else section.locator(
                "button[type=submit]").click()
        self.check()

    def shown(self) -> dict[str, str]:
        """The secrets a done page shows once: {patient's name: value}."""
        rows = self.page.locator("table.shown tbody tr").all()
        return {row.locator("td").nth(0).inner_text().strip(): row.locator(".secret").inner_text().strip()
                for row in rows}

    def sign_in(self, user: str, password: str = PASSWORD) -> None:
        self.open("/")
        self.submit("Sign in", **{"User name": user, "Password": password})

    def text(self, selector: str = "main") -> str:
        return str(self.page.locator(selector).inner_text())


@pytest.fixture
def browser(chromium: Any, site: Site) -> Iterator[Callable[[], Browser]]:
    """A factory of browsers (each with its own cookies); each fails its test if a page asked another host."""
    opened: list[Browser] = []

    def new() -> Browser:
        context = chromium.new_context(base_url=site.url)
        page = context.new_page()
        page.set_default_timeout(15_000)
        opened_browser = Browser(page, site)
        page.on("request", lambda request: opened_browser.requests.append(request.url))
        page.on("requestfailed", lambda request: opened_browser.blocked.append(request.url)
                if request.failure == "csp" else None)
        opened.append(opened_browser)
        return opened_browser

    yield new
    for b in opened:
        foreign = [u for u in b.requests if urlsplit(u).netloc != urlsplit(site.url).netloc
                   and not u.startswith(("data:", "blob:", "about:")) and u not in b.blocked]
        b.page.context.close()
        assert foreign == [], f"pages asked other hosts: {foreign}"
