"""Issue 15, defect 2: the workflow loader only ever returns problems. Inputs that used to crash it or take seconds
(deep nesting, huge numbers, alias bombs, unusable handout names) are refused quickly, each at its line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from definitions import read_workflow, yamlnodes
from definitions.loader import surroundings_of
from definitions.yamlnodes import MAX_DEPTH

ROOT = Path(__file__).resolve().parents[2]
REAL = (ROOT / "workflows" / "nextgen-regenerate-expired-pin.yaml").read_text(encoding="utf-8")


def problems_of(text: str) -> list[str]:
    began = time.perf_counter()
    outcome = read_workflow(text, "draft.yaml", surroundings=surroundings_of(ROOT / "workflows"))
    assert time.perf_counter() - began < 2.0
    assert outcome.definition is None
    return [str(p) for p in outcome.problems]


@pytest.mark.parametrize(("text", "expected"), [
    ("[" * 1000 + "]" * 1000, "draft.yaml:1:65: nested more than 64 levels deep"),
    ("{a: " * 3000 + "1" + "}" * 3000, "draft.yaml:1:257: nested more than 64 levels deep"),
    ("id: x\nversion: " + "9" * 5000 + "\n", "draft.yaml:2:10: a number of 5,000 characters; numbers here have at "
                                             "most 100"),
    ("a: &a [*a]\n", "draft.yaml:1:8: the alias *a is inside what it names: a loop"),
    ("x" * 1_000_001, "draft.yaml:1:1: the file has 1,000,001 characters; a workflow has at most 1,000,000"),
], ids=["thousand-brackets", "three-thousand-mappings", "five-thousand-digits", "alias-loop", "a-megabyte"])
def test_input_that_used_to_crash_or_hang_the_loader_is_one_problem_at_its_place(text: str, expected: str) -> None:
    assert problems_of(text) == [expected]


def test_nine_fold_aliases_nested_eight_deep_are_refused_before_they_expand() -> None:
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for level in range(8):  # 9**9 values once expanded: it took 5.5 s and 800 MB at 6 levels
        name, previous = chr(98 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    [problem] = problems_of("\n".join(lines) + "\n")
    assert problem.startswith("draft.yaml:6:")
    assert "expands to more than 100,000 values" in problem


@pytest.mark.parametrize("name", ["a" * 300, "handouts/" + "b" * 4000, "a\\0b"])
def test_a_handout_name_the_system_cannot_look_up_is_a_problem_not_a_crash(name: str) -> None:
    text = REAL.replace("source: handouts/", f'source: "{name}"\n# was: handouts/', 1)
    problems = problems_of(text)
    assert any("source handout" in p and "not found" in p for p in problems)


def test_a_real_workflow_is_well_within_the_bounds() -> None:
    outcome = read_workflow(REAL, "ok.yaml", surroundings=surroundings_of(ROOT / "workflows"))
    assert outcome.definition is not None, [str(p) for p in outcome.problems]


def test_a_duration_of_five_thousand_digits_is_a_problem_not_a_crash() -> None:
    """Found by bench.loader_fuzz: `after: 999...9d` went to int() and raised ValueError out of the loader."""
    text = REAL.replace("after: 30d", "after: " + "9" * 5000 + "d", 1)
    assert text != REAL
    problems = problems_of(text)
    assert any("bad duration '999" in p and "at most ten years (520w)" in p for p in problems), problems


def test_a_duration_over_ten_years_is_refused() -> None:
    problems = problems_of(REAL.replace("after: 30d", "after: 521w", 1))
    assert any("bad duration '521w': at most ten years (520w)" in p for p in problems), problems


@pytest.mark.parametrize("opener", ["[", "{", "[a, "])
def test_thousands_of_open_brackets_inside_a_real_file_are_refused_before_the_yaml_scanner_reads_them(
        opener: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by bench.loader_fuzz: 5,000 `[` in the middle of a real workflow took 3.4 s inside ruamel's scanner,
    which re-checks every open flow level at each token."""
    def no_scanner(*_: object, **__: object) -> None:
        raise AssertionError("the YAML scanner was reached")

    monkeypatch.setattr(yamlnodes, "YAML", no_scanner)
    at = REAL.index("states:")
    line = REAL.count("\n", 0, at) + 1
    assert problems_of(REAL[:at] + opener * 5000 + REAL[at:]) == [
        f"draft.yaml:{line}:{1 + MAX_DEPTH * len(opener)}: nested more than 64 levels deep"]

