"""Group commit: many requests' writes in few transactions, each request answered only after the commit holding its
work, a failing work undone alone, and a failed commit failing its whole group with nothing written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text

from engine.storage.database import make_engine, reading
from engine.storage.group_commit import GroupCommit


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'group.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, owner TEXT NOT NULL)"))
    yield engine
    engine.dispose()


def _stored(db: Engine) -> list[str]:
    with reading(db).connect() as conn:
        return [str(owner) for owner in conn.execute(text("SELECT owner FROM rows ORDER BY id")).scalars()]


def _in_threads(count: int, body: Any) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = body(n)
        except Exception as error:  # the request's own error, as its caller would see it
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_thirty_two_concurrent_writers_share_few_commits_and_every_write_is_stored(db: Engine) -> None:
    group = GroupCommit(db)
    commits: list[int] = []
    event.listen(db, "commit", lambda _conn: commits.append(1))

    def write(n: int) -> int:
        def work(conn: Connection) -> int:
            conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"})
            return n
        return group.run(work)

    assert _in_threads(32, write) == list(range(32))
    assert sorted(_stored(db)) == sorted(f"w{n}" for n in range(32))
    assert group.groups == len(commits) < 32


def test_a_request_is_answered_only_after_the_commit_that_holds_its_work(db: Engine) -> None:
    group = GroupCommit(db)

    def write(n: int) -> bool:
        group.run(lambda conn: conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"}))
        return f"w{n}" in _stored(db)  # read on another connection: it sees only what was committed

    assert _in_threads(16, write) == [True] * 16


def test_a_work_that_fails_is_undone_alone_and_its_error_reaches_its_own_request(db: Engine) -> None:
    group = GroupCommit(db)

    def write(n: int) -> str:
        def work(conn: Connection) -> str:
            conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"})
            if n % 3 == 0:
                raise ValueError(f"work {n} refused")
            return f"w{n}"
        return group.run(work)

    results = _in_threads(12, write)
    for n, result in enumerate(results):
        if n % 3 == 0:
            assert isinstance(result, ValueError)
            assert str(result) == f"work {n} refused"
        else:
            assert result == f"w{n}"
    assert sorted(_stored(db)) == sorted(f"w{n}" for n in range(12) if n % 3)


def test_a_commit_that_fails_fails_its_whole_group_and_writes_nothing(db: Engine) -> None:
    group = GroupCommit(db)

    def refuse_commit(_conn: Any) -> None:
        raise OSError("disk full")

    event.listen(db, "commit", refuse_commit)
    results = _in_threads(6, lambda n: group.run(
        lambda conn: conn.execute(text("INSERT INTO rows (owner) VALUES (:o)"), {"o": f"w{n}"})))
    event.remove(db, "commit", refuse_commit)
    assert all(isinstance(r, OSError) for r in results)
    assert _stored(db) == []
    assert group.run(lambda conn: conn.execute(text("INSERT INTO rows (owner) VALUES ('after')"))) is not None
    assert _stored(db) == ["after"]  # the group's failure left nothing held: the next request goes through
