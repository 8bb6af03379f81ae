"""The writers know their process id without asking the kernel on every transaction, and a forked child still
learns its own id (so it never uses its parent's connection or lock file description)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.storage.database import make_engine
from engine.storage.group_commit import GroupCommit
from engine.storage.process_id import process_id


def test_the_process_id_is_this_process_s() -> None:
    assert process_id() == os.getpid()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_knows_its_own_process_id_not_its_parent_s() -> None:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report what it sees, and leave at once
        os.write(write, f"{process_id()} {os.getpid()}".encode())
        os._exit(0)
    os.close(write)
    seen = os.read(read, 100).decode().split()
    os.close(read)
    os.waitpid(child, 0)
    assert seen[0] == seen[1] == str(child)
    assert process_id() == os.getpid() != child


def test_group_commits_ask_the_kernel_for_the_process_id_not_once(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'pid.db'}")
    with db.begin() as conn:
        conn.execute(text("CREATE TABLE rows (owner TEXT)"))
    group = GroupCommit(db)
    asked: list[int] = []
    real = os.getpid
    monkeypatch.setattr(os, "getpid", lambda: asked.append(1) or real())
    for n in range(3):
        group.run(lambda conn, _sp, n=n: conn.execute(text("INSERT INTO rows VALUES (:o)"), {"o": f"w{n}"}))
    monkeypatch.undo()
    db.dispose()
    assert asked == []
