"""Settings come from PORTALFLOW_* variables and `.env` files, every relative path inside PORTALFLOW_HOME, so a
command run from another folder finds the service's database or refuses; and every command speaks alike:
`--database-url` everywhere, `--version`, help that names each option's choices and default."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from api.cli import build_parser, main
from api.settings import Settings

VARIABLES = ("PORTALFLOW_DATABASE_URL", "PORTALFLOW_WORKFLOWS", "PORTALFLOW_MAIL_FOLDER", "PORTALFLOW_KEYS",
             "PORTALFLOW_SMTP_HOST", "PORTALFLOW_SWEEP_SECONDS", "PORTALFLOW_MIGRATE", "PORTALFLOW_BACKGROUND")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PORTALFLOW_HOME set to an empty folder, the other variables unset, and the working folder elsewhere."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("PORTALFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path / "home"


def test_relative_paths_are_inside_the_home_whatever_the_working_folder(home: Path) -> None:
    settings = Settings.from_env()
    assert settings.database_url == f"sqlite:///{home / 'var' / 'portalflow.db'}"
    assert (settings.workflows_dir, settings.mail_folder) == (home / "workflows", home / "var" / "mail")
    assert settings.key_file == home / "var" / "outbox.key"
    assert (settings.background, settings.migrate, settings.sweep_seconds) == (True, True, 30.0)


def test_without_a_home_set_it_is_the_checkout_make_run_serves_from(home: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTALFLOW_HOME")
    checkout = Path(__file__).resolve().parents[2]
    settings = Settings.from_env()  # the working folder is elsewhere: it does not matter
    assert (settings.home, settings.database_url) == (checkout, f"sqlite:///{checkout / 'var' / 'portalflow.db'}")


def test_a_dot_env_file_in_the_home_sets_what_the_environment_does_not(home: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (home / ".env").write_text("PORTALFLOW_SWEEP_SECONDS=5\nPORTALFLOW_MIGRATE=0\nPORTALFLOW_BACKGROUND=0\n"
                               "PORTALFLOW_DATABASE_URL=postgresql+psycopg://app@db.example/pf\n", encoding="utf-8")
    monkeypatch.setenv("PORTALFLOW_SWEEP_SECONDS", "7")
    settings = Settings.from_env()
    assert (settings.sweep_seconds, settings.migrate, settings.background) == (7.0, False, False)
    assert settings.database_url == "postgresql+psycopg://app@db.example/pf"


def test_a_wrong_value_stops_with_the_variables_name(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTALFLOW_SWEEP_SECONDS", "soon")
    monkeypatch.setenv("PORTALFLOW_SMTP_SECURITY", "ssl")
    with pytest.raises(SystemExit) as stop:
        Settings.from_env()
    assert "PORTALFLOW_SWEEP_SECONDS='soon'" in str(stop.value)
    assert "PORTALFLOW_SMTP_SECURITY='ssl': Input should be 'starttls', 'tls' or 'none'" in str(stop.value)


def test_the_smtp_password_is_read_from_its_file_never_the_environment(home: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "smtp-password").write_text("s3cret\n", encoding="utf-8")
    monkeypatch.setenv("PORTALFLOW_SMTP_HOST", "mail.practice.example")
    monkeypatch.setenv("PORTALFLOW_SMTP_USERNAME", "portal")
    monkeypatch.setenv("PORTALFLOW_SMTP_PASSWORD_FILE", "smtp-password")  # inside the home
    smtp = Settings.from_env().smtp
    assert smtp is not None
    assert (smtp.address, smtp.username, smtp.password) == ("mail.practice.example:587", "portal", "s3cret")
    monkeypatch.setenv("PORTALFLOW_SMTP_PASSWORD_FILE", str(home / "missing"))
    with pytest.raises(SystemExit, match=r"PORTALFLOW_SMTP_PASSWORD_FILE=.*missing: cannot read it"):
        Settings.from_env()


def test_a_command_from_another_folder_refuses_to_make_a_new_empty_database(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["worker", "--once"], ["audit", "verify"], ["user", "revoke", "ana"]):
        with pytest.raises(SystemExit) as stop:
            main(command)
        assert f"no database at {home / 'var' / 'portalflow.db'}" in str(stop.value)
        assert "PORTALFLOW_HOME" in str(stop.value)
    assert not (home / "var").exists()
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.startswith("schema upgraded from (empty database) to ")
    assert main(["audit", "verify"]) == 0  # now there is one: the same commands work from here
    assert main(["db", "upgrade"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_the_version_comes_from_the_package() -> None:
    done = subprocess.run([sys.executable, "-m", "api.cli", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == f"portalflow {version('portalflow')}\n"


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
    return found or [path]


def _parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = sub.choices[name]
    return parser


def test_every_command_takes_database_url_and_every_option_says_what_it_is() -> None:
    commands = _commands(build_parser())
    assert ("db", "upgrade") in commands
    assert len(commands) >= 25
    for path in commands:
        parser = _parser_of(path)
        assert "--database-url" in parser._option_string_actions, path
        text = re.sub(r"\s+", " ", parser.format_help())  # unwrapped
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (path, action.dest)
            if action.choices:
                assert all(str(choice) in text for choice in action.choices), (path, action.dest)
            if action.option_strings and action.default not in (None, False):
                assert f"default: {action.default}" in text or "default" in action.help, (path, action.dest)
