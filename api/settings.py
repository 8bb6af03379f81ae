"""Settings read once from the environment, with defaults that run on a fresh machine (embedded SQLite).

| variable | default | meaning |
|---|---|---|
| PORTALFLOW_DATABASE_URL | sqlite:///var/portalflow.db | SQLAlchemy URL (PostgreSQL: postgresql+psycopg://…) |
| PORTALFLOW_WORKFLOWS | workflows | the designers' folder |
| PORTALFLOW_BACKGROUND | 1 | 0: this process runs no sweep/delivery job (another process does) |
| PORTALFLOW_SWEEP_SECONDS | 30 | seconds between background rounds |
| PORTALFLOW_MAIL_FOLDER | var/mail | where messages go when no SMTP host is set (.eml files per channel) |
| PORTALFLOW_MAIL_FROM | PortalFlow <portal@portalflow.invalid> | From of emails for sites without their own address |
| PORTALFLOW_SMTP_HOST | (unset) | set it to send email over SMTP instead of to the mail folder |
| PORTALFLOW_SMTP_PORT | 587 | |
| PORTALFLOW_SMTP_SECURITY | starttls | starttls, tls (implicit TLS, port 465) or none (a relay on this host) |
| PORTALFLOW_SMTP_USERNAME | (unset) | SMTP login |
| PORTALFLOW_SMTP_PASSWORD_FILE | (unset) | a file holding the password: never in the environment or `ps` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.bootstrap import DEFAULT_SENDER
from engine.messaging.channels import SmtpSettings

DEFAULT_DATABASE_URL = "sqlite:///var/portalflow.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    workflows_dir: Path
    background: bool = False
    sweep_seconds: float = 30.0
    mail_folder: Path = Path("var") / "mail"
    mail_from: str = DEFAULT_SENDER
    smtp: SmtpSettings | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("PORTALFLOW_DATABASE_URL", DEFAULT_DATABASE_URL),
            workflows_dir=Path(env.get("PORTALFLOW_WORKFLOWS", "workflows")),
            background=env.get("PORTALFLOW_BACKGROUND", "1") != "0",
            sweep_seconds=_number("PORTALFLOW_SWEEP_SECONDS", 30.0),
            mail_folder=Path(env.get("PORTALFLOW_MAIL_FOLDER", str(Path("var") / "mail"))),
            mail_from=env.get("PORTALFLOW_MAIL_FROM", DEFAULT_SENDER),
            smtp=_smtp(),
        )


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: expected a number of seconds") from None
    if value <= 0:
        raise SystemExit(f"{name}={raw!r}: must be more than 0")
    return value


def _smtp() -> SmtpSettings | None:
    env = os.environ
    host = env.get("PORTALFLOW_SMTP_HOST")
    if not host:
        return None
    password = None
    password_file = env.get("PORTALFLOW_SMTP_PASSWORD_FILE")
    if password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SystemExit(f"PORTALFLOW_SMTP_PASSWORD_FILE={password_file}: cannot read it ({error.strerror})") \
                from None
    try:
        return SmtpSettings(host, int(_number("PORTALFLOW_SMTP_PORT", 587)),
                            env.get("PORTALFLOW_SMTP_SECURITY", "starttls"),  # type: ignore[arg-type]
                            env.get("PORTALFLOW_SMTP_USERNAME"), password)
    except ValueError as error:
        raise SystemExit(f"SMTP settings: {error}") from None
