"""Settings read once from the environment and `.env` files, every relative path resolved against one home folder.

| variable | default | meaning |
|---|---|---|
| PORTALFLOW_HOME | the source checkout PortalFlow runs from, else the working folder | relative paths are in it |
| PORTALFLOW_DATABASE_URL | sqlite:///var/portalflow.db | SQLAlchemy URL (PostgreSQL: postgresql+psycopg://…) |
| PORTALFLOW_WORKFLOWS | workflows | the designers' folder |
| PORTALFLOW_KEYS | var | the folder of the key files: outbox.key, pin-lookup.key, … (made on first use, 0600) |
| PORTALFLOW_MIGRATE | 1 | 0: the service only checks the schema (`portalflow db upgrade` upgrades it, as its owner) |
| PORTALFLOW_BACKGROUND | 1 | 0: this process runs no sweep/delivery job (another process does) |
| PORTALFLOW_SWEEP_SECONDS | 30 | seconds between background rounds |
| PORTALFLOW_MAIL_FOLDER | var/mail | where messages go when no SMTP host is set (.eml files per channel) |
| PORTALFLOW_MAIL_FROM | PortalFlow <portal@portalflow.invalid> | From of emails for sites without their own address |
| PORTALFLOW_SMTP_HOST | (unset) | set it to send email over SMTP instead of to the mail folder |
| PORTALFLOW_SMTP_PORT | 587 | |
| PORTALFLOW_SMTP_SECURITY | starttls | starttls, tls (implicit TLS, port 465) or none (a relay on this host) |
| PORTALFLOW_SMTP_USERNAME | (unset) | SMTP login |
| PORTALFLOW_SMTP_PASSWORD_FILE | (unset) | a file holding the password: never in the environment or `ps` |

Why a home: a command run from another folder must find the same database, workflows and keys as the service,
not quietly make new empty ones there. Values come from the environment, then `<home>/.env`, then `./.env` (the
environment wins; reading them is `api.environment`). A wrong value stops the process with the variable's name and
what it expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from api.environment import (
    DEFAULT_DATABASE_URL,
    HOME_VARIABLE,
    SQLITE_FILE,
    Environment,
    default_home,
    read_environment,
    resolve_database_url,
)
from engine.bootstrap import DEFAULT_SENDER
from engine.messaging.channels import SmtpSettings

__all__ = ["DEFAULT_DATABASE_URL", "HOME_VARIABLE", "Settings", "default_home", "resolve_database_url"]


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    workflows_dir: Path
    background: bool = False
    sweep_seconds: float = 30.0
    mail_folder: Path = Path("var") / "mail"
    mail_from: str = DEFAULT_SENDER
    smtp: SmtpSettings | None = field(default=None, repr=False)
    key_file: Path = Path("var") / "outbox.key"  # the PIN lookup key lives beside it
    migrate: bool = True
    home: Path = Path()

    @classmethod
    def from_env(cls) -> Settings:
        home = default_home()
        read = read_environment(home)
        return cls(
            database_url=resolve_database_url(read.database_url, home),
            workflows_dir=home / read.workflows,
            background=read.background,
            sweep_seconds=read.sweep_seconds,
            mail_folder=home / read.mail_folder,
            mail_from=read.mail_from or DEFAULT_SENDER,
            smtp=_smtp(read, home),
            key_file=home / read.keys / "outbox.key",
            migrate=read.migrate,
            home=home,
        )

    def sqlite_path(self) -> Path | None:
        """The database file when the database is a SQLite file, else None."""
        if not self.database_url.startswith(SQLITE_FILE) or self.database_url.endswith(":memory:"):
            return None
        return Path(self.database_url[len(SQLITE_FILE):].split("?", 1)[0])


def _smtp(read: Environment, home: Path) -> SmtpSettings | None:
    if not read.smtp_host:
        return None
    password = None
    if read.smtp_password_file is not None:
        path = home / read.smtp_password_file
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SystemExit(f"PORTALFLOW_SMTP_PASSWORD_FILE={path}: cannot read it ({error.strerror})") from None
    try:
        return SmtpSettings(read.smtp_host, read.smtp_port, read.smtp_security, read.smtp_username, password)
    except ValueError as error:
        raise SystemExit(f"SMTP settings: {error}") from None
