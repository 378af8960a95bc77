"""The task handlers every golden workflow calls: plain omnicloud handlers ``(event, ctx)``.

The same code runs in the local interpreter's tests, as real Lambda functions on ministack
(packaged by our packager), behind the GCP and Azure task routes, and as Durable activities.

``flaky`` counts its calls per ``key`` in files under ``$OMNICLOUD_TEST_COUNTERS`` (a
directory the test empties before each run), so "fails twice, then succeeds" holds across
processes and retries. ``slow`` sleeps through ``ctx.sleep`` when the caller's context has one
(the local tests' fake clock), else for real.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from components.runtime.orchestration.task import TaskFailed

COUNTERS_ENV = "OMNICLOUD_TEST_COUNTERS"
NAMES = ("echo", "add", "fail", "boom", "flaky", "slow", "price")


def echo(event: Any, ctx: Any) -> Any:
    """Return the input unchanged."""
    return event


def add(event: dict[str, Any], ctx: Any) -> Any:
    """``a + b`` (a scalar output)."""
    return event["a"] + event["b"]


def fail(event: dict[str, Any], ctx: Any) -> Any:
    """Fail with the error name and cause given in the input."""
    raise TaskFailed(event["error"], event.get("cause", ""))


def boom(event: dict[str, Any], ctx: Any) -> Any:
    """Raise a plain Python exception: the error name is its class name."""
    raise ValueError(event.get("message", "boom"))


def flaky(event: dict[str, Any], ctx: Any) -> Any:
    """Fail the first ``fail_times`` calls for ``key`` (error ``error``, default ``Flaky``)."""
    attempt = _count(str(event["key"]))
    if attempt <= int(event["fail_times"]):
        raise TaskFailed(event.get("error", "Flaky"), f"attempt {attempt}")
    return {"attempts": attempt}


def slow(event: dict[str, Any], ctx: Any) -> Any:
    """Take ``seconds`` to answer."""
    seconds = float(event["seconds"])
    getattr(ctx, "sleep", time.sleep)(seconds)
    return {"slept": event["seconds"]}


def price(event: dict[str, Any], ctx: Any) -> Any:
    """A line's total; fails with ``InvalidLine`` when ``qty`` is not positive."""
    if event["qty"] <= 0:
        raise TaskFailed("InvalidLine", f"{event['sku']}: qty must be positive")
    return {"sku": event["sku"], "total": event["qty"] * event["unit"]}


def _count(key: str) -> int:
    directory = Path(os.environ[COUNTERS_ENV])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / key
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    return attempt
