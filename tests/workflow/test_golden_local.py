"""The local interpreter produces exactly the golden outcomes (and back-off schedule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.runtime.orchestration.definition import iter_steps
from tests.workflow import handlers
from tests.workflow.golden import GOLDEN, Golden
from tests.workflow.local import expected, outcome, run_local

CONSTRUCTS = {"Task", "Choice", "Parallel", "Map", "Wait", "Fail", "Succeed", "retry", "catch", "timeout_s"}


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_local_interpreter_matches_golden(golden: Golden, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, clock = run_local(golden, tmp_path / "counters", monkeypatch)
    assert outcome(result) == expected(golden)
    assert tuple(clock.sleeps) == golden.sleeps


def test_golden_set_is_large_and_covers_every_construct() -> None:
    assert len(GOLDEN) >= 30
    assert len({g.name for g in GOLDEN}) == len(GOLDEN)
    seen: set[str] = set()
    for golden in GOLDEN:
        for _, step in iter_steps(golden.definition["steps"]):
            seen.add(step["type"])
            seen |= {key for key in ("retry", "catch", "timeout_s") if step.get(key)}
        assert golden.functions <= set(handlers.NAMES)
    assert seen >= CONSTRUCTS
    assert {g.status for g in GOLDEN} == {"SUCCEEDED", "FAILED"}
