"""The local interpreter produces exactly the golden outcomes (and back-off schedule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflow import handlers
from tests.workflow.golden import GOLDEN, Golden
from tests.workflow.local import expected, outcome, run_local

CONSTRUCTS = {"Task", "Choice", "Parallel", "Map", "Wait", "Fail", "Succeed", "retry", "catch", "timeout"}


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_local_interpreter_matches_golden(golden: Golden, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, clock = run_local(golden, tmp_path / "counters", monkeypatch)
    assert outcome(result) == expected(golden)
    assert tuple(clock.sleeps) == golden.sleeps


def test_golden_set_is_large_and_covers_every_construct() -> None:
    assert len(GOLDEN) >= 30
    assert len({g.name for g in GOLDEN}) == len(GOLDEN)
    seen: set[str] = set()

    def walk(steps: list[dict]) -> None:
        for step in steps:
            seen.add(step["type"])
            if step.get("retry"):
                seen.add("retry")
            if step.get("catch"):
                seen.add("catch")
            if step.get("timeout_s"):
                seen.add("timeout")
            for key in ("steps", "default"):
                walk(step.get(key) or [])
            for case in step.get("cases") or []:
                walk(case["steps"])
            for branch in step.get("branches") or []:
                walk(branch)
            for catch in step.get("catch") or []:
                walk(catch["steps"])

    for golden in GOLDEN:
        walk(golden.definition["steps"])
        assert golden.functions <= set(handlers.NAMES)
    assert seen >= CONSTRUCTS
    assert {g.status for g in GOLDEN} == {"SUCCEEDED", "FAILED"}
