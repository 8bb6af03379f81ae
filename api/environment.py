"""The PORTALFLOW_* variables as typed values, from the environment and `.env` files, and the home folder relative
paths are resolved in: what `api.settings` builds the settings from, light enough for `portalflow validate`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/portalflow.db"
HOME_VARIABLE = "PORTALFLOW_HOME"
SQLITE_FILE = "sqlite:///"


class Environment(BaseSettings):
    """The variables as they are spelled; each field's alias is its full name, so errors name the variable."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_file_encoding="utf-8")

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="PORTALFLOW_DATABASE_URL", min_length=1)
    workflows: Path = Field(Path("workflows"), validation_alias="PORTALFLOW_WORKFLOWS")
    keys: Path = Field(Path("var"), validation_alias="PORTALFLOW_KEYS")
    migrate: bool = Field(True, validation_alias="PORTALFLOW_MIGRATE")
    background: bool = Field(True, validation_alias="PORTALFLOW_BACKGROUND")
    sweep_seconds: float = Field(30.0, gt=0, validation_alias="PORTALFLOW_SWEEP_SECONDS")
    mail_folder: Path = Field(Path("var") / "mail", validation_alias="PORTALFLOW_MAIL_FOLDER")
    mail_from: str | None = Field(None, validation_alias="PORTALFLOW_MAIL_FROM")  # None: the engine's default
    smtp_host: str | None = Field(None, validation_alias="PORTALFLOW_SMTP_HOST")
    smtp_port: int = Field(587, gt=0, lt=65536, validation_alias="PORTALFLOW_SMTP_PORT")
    smtp_security: Literal["starttls", "tls", "none"] = Field("starttls", validation_alias="PORTALFLOW_SMTP_SECURITY")
    smtp_username: str | None = Field(None, validation_alias="PORTALFLOW_SMTP_USERNAME")
    smtp_password_file: Path | None = Field(None, validation_alias="PORTALFLOW_SMTP_PASSWORD_FILE")

    @field_validator("smtp_host", "smtp_username", "smtp_password_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # `PORTALFLOW_SMTP_HOST=` in a .env switches SMTP off


def default_home() -> Path:
    """PORTALFLOW_HOME; else the source checkout this code runs from (where `make run` keeps `var/`); else the
    working folder (an installed package has no checkout: set PORTALFLOW_HOME)."""
    named = os.environ.get(HOME_VARIABLE)
    if named:
        return Path(named).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "workflows").is_dir():
        return checkout
    return Path.cwd()


def resolve_database_url(url: str, home: Path) -> str:
    """A SQLite URL naming a relative file names it inside the home, wherever the command runs."""
    if not url.startswith(SQLITE_FILE):
        return url
    path = url[len(SQLITE_FILE):]
    if not path or path.startswith((":memory:", "/")) or path.startswith("file:"):
        return url
    return SQLITE_FILE + str(home / path)


def _env_files(home: Path) -> tuple[Path, ...]:
    # Later files win: the working folder's .env can override the home's for one run.
    files = [home / ".env", Path.cwd() / ".env"]
    return tuple(dict.fromkeys(path.resolve() for path in files))


def _explain(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"])
        lines.append(f"{name}={problem.get('input')!r}: {problem['msg']}")
    return "settings: " + "; ".join(lines)


def read_environment(home: Path) -> Environment:
    """The variables, or a stop naming each wrong one with its value and what it should be."""
    try:
        return Environment(_env_file=_env_files(home))  # type: ignore[call-arg]
    except ValidationError as error:
        raise SystemExit(_explain(error)) from None
