"""Run a golden workflow through the local reference interpreter (the agreement baseline)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.runtime.orchestration import FakeClock, Result, run
from tests.workflow import handlers
from tests.workflow.golden import Golden


@dataclass
class LocalContext:
    """What the handlers see as ``ctx`` locally: ``sleep`` lets time pass on the fake clock."""

    clock: FakeClock

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)


def reset_counters(directory: Path) -> None:
    """Empty the ``flaky`` handler's counters before a run."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def run_local(golden: Golden, counters: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Result, FakeClock]:
    """The golden workflow's outcome under the reference interpreter, with a fake clock."""
    reset_counters(counters)
    monkeypatch.setenv(handlers.COUNTERS_ENV, str(counters))
    clock = FakeClock()
    context = LocalContext(clock)

    def invoke(function: str, payload: dict[str, Any]) -> Any:
        return getattr(handlers, function)(payload, context)

    return run(golden.definition, golden.input, invoke, clock), clock


def outcome(result: Result) -> dict[str, Any]:
    """The comparable part of a result: status and output, or status, error and cause."""
    if result.status == "SUCCEEDED":
        return {"status": result.status, "output": result.output}
    return {"status": result.status, "error": result.error, "cause": result.cause}


def expected(golden: Golden) -> dict[str, Any]:
    if golden.status == "SUCCEEDED":
        return {"status": golden.status, "output": golden.output}
    return {"status": golden.status, "error": golden.error, "cause": golden.cause}
