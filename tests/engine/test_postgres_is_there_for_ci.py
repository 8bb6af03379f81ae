"""CI promises PostgreSQL tests run; this proves the configured server answers and is a supported version."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.postgres


def test_the_configured_postgresql_answers_and_is_version_15_or_newer(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version_num")).scalar_one()
    finally:
        engine.dispose()
    assert int(version) >= 150000
