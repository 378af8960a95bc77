"""The workflow engine: the step logic of the portable semantics as generators of effects.

The semantics themselves are documented in :mod:`components.runtime.orchestration.interpreter`;
this module is the one implementation of them. It never calls a function, sleeps or reads a
clock itself: it *yields* an effect and is sent back the effect's result, so one core serves
every driver — the synchronous reference interpreter (:func:`~.interpreter.run`) and the
Durable Functions orchestrator (:mod:`components.runtime.adapters.azure_workflow`), whose
replays need exactly this shape (a generator that asks for work and is told the results).

Effects and what the driver sends back:

* :class:`Invoke` — call a function with a payload → an :data:`Outcome`
  (:class:`Done` with its output, or :class:`Failed` with the portable error name and cause).
* :class:`Sleep` — let ``seconds`` pass → anything (ignored).
* :class:`Now` — the current time in seconds (any fixed origin) → ``float``. Only asked around a
  task with ``timeout_s``.
* :class:`Fanout` — run each :class:`Branch` (Parallel branches, Map iterations) with
  :func:`branch`, at most ``max_concurrency`` at a time when it is set → the list of their
  :data:`Outcome` in branch order. A driver may stop starting branches once one has failed: it
  then sends back the outcomes of the branches it ran, which must be a prefix in branch order
  that includes the first failure (the block fails with the first failure in branch order,
  whatever ran after it).

Both entry points return an :data:`Outcome`: :func:`execution` for a whole run (the final state
as a dict), :func:`branch` for one branch or iteration (its final state, any JSON value).

Standard library only.
"""

from __future__ import annotations

import copy
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from components.runtime.orchestration.conditions import MISSING, evaluate, is_path, resolve


@dataclass(frozen=True, slots=True)
class Invoke:
    """Call ``function`` for the task step ``step`` with ``payload``."""

    function: str
    step: str
    payload: Any
    timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Let ``seconds`` pass (a Wait step, or the back-off before a retry)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Now:
    """Ask for the current time, in seconds."""


@dataclass(frozen=True, slots=True)
class Branch:
    """One Parallel branch or Map iteration: ``steps`` run on ``state``."""

    steps: list[dict[str, Any]]
    state: Any


@dataclass(frozen=True, slots=True)
class Fanout:
    """Run ``branches`` (each with :func:`branch`), at most ``max_concurrency`` at once (None: all)."""

    branches: tuple[Branch, ...]
    max_concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """A successful outcome and its value."""

    value: Any


@dataclass(frozen=True, slots=True)
class Failed:
    """A failed outcome: the portable error name and its cause."""

    error: str
    cause: str


Effect = Invoke | Sleep | Now | Fanout
Outcome = Done | Failed
Steps = Generator[Effect, Any, Any]
"""A running piece of workflow: yields effects, is sent their results, returns a state."""


class _Failure(Exception):
    """An error travelling up to the nearest Retry/Catch (control flow, never escapes)."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class _Succeeded(Exception):
    """A Succeed step ending the innermost branch, or the execution (control flow)."""

    def __init__(self, state: Any) -> None:
        super().__init__("succeed")
        self.state = state


def execution(definition: dict[str, Any], input: Any) -> Generator[Effect, Any, Outcome]:
    """Run a whole definition on ``input``; ``Done`` carries the final state as a dict."""
    state: Any = copy.deepcopy(input)
    try:
        state = yield from _steps(definition["steps"], state)
    except _Succeeded as done:
        state = done.state
    except _Failure as failure:
        return Failed(failure.error, failure.cause)
    return Done(state if isinstance(state, dict) else {"value": state})


def branch(steps: list[dict[str, Any]], state: Any) -> Generator[Effect, Any, Outcome]:
    """Run one Parallel branch or Map iteration: Succeed ends only this branch."""
    try:
        return Done((yield from _steps(steps, state)))
    except _Succeeded as done:
        return Done(done.state)
    except _Failure as failure:
        return Failed(failure.error, failure.cause)


def _matches(errors: list[str], error: str) -> bool:
    return "ALL" in errors or error in errors


def _steps(steps: list[dict[str, Any]], state: Any) -> Steps:
    for step in steps:
        state = yield from _step(step, state)
    return state


def _step(step: dict[str, Any], state: Any) -> Steps:
    kind = step["type"]
    if kind in ("Task", "Parallel", "Map"):
        return (yield from _block(step, state))
    if kind == "Choice":
        for case in step["cases"]:
            if evaluate(case["when"], state):
                return (yield from _steps(case["steps"], state))
        return (yield from _steps(step.get("default") or [], state))
    if kind == "Wait":
        yield Sleep(step["seconds"])
        return state
    if kind == "Fail":
        raise _Failure(step["error"], step.get("cause", ""))
    if kind == "Succeed":
        raise _Succeeded(state)
    raise _Failure("InvalidDefinition", f"unknown step type {kind!r}")


def _block(step: dict[str, Any], state: Any) -> Steps:
    """A Task, Parallel or Map with its Retry and Catch."""
    retry = step.get("retry")
    retries = 0
    while True:
        try:
            output = yield from _attempt(step, state)
        except _Failure as failure:
            if retry and _matches(retry["errors"], failure.error) and retries < retry["max_retries"]:
                delay = retry["interval_s"] * retry["backoff_rate"] ** retries
                if retry.get("max_delay_s") is not None:
                    delay = min(delay, retry["max_delay_s"])
                yield Sleep(delay)
                retries += 1
                continue
            for catch in step.get("catch") or []:
                if _matches(catch["errors"], failure.error):
                    handler_state = copy.deepcopy(state)
                    if catch.get("result") is not None:
                        if not isinstance(handler_state, dict):
                            handler_state = {}
                        handler_state[catch["result"]] = {"error": failure.error, "cause": failure.cause}
                    return (yield from _steps(catch["steps"], handler_state))
            raise
        return _store(state, step.get("result"), output)


def _store(state: Any, key: str | None, output: Any) -> Any:
    if key is None:
        return state
    new = dict(state) if isinstance(state, dict) else {}
    new[key] = output
    return new


def _attempt(step: dict[str, Any], state: Any) -> Steps:
    kind = step["type"]
    if kind == "Task":
        return (yield from _task(step, state))
    if kind == "Parallel":
        branches = tuple(Branch(steps, copy.deepcopy(state)) for steps in step["branches"])
        return (yield from _fanout(Fanout(branches)))
    items = resolve(state, step["items"])
    if items is MISSING:
        raise _Failure("PathNotFound", f"{step['items']} is not in the state")
    if not isinstance(items, list):
        raise _Failure("InvalidItems", f"{step['items']} is not a list")
    iterations = tuple(Branch(step["steps"], {"item": copy.deepcopy(item), "index": i}) for i, item in enumerate(items))
    return (yield from _fanout(Fanout(iterations, step.get("max_concurrency") or None)))


def _fanout(fanout: Fanout) -> Steps:
    if not fanout.branches:
        return []
    outcomes = yield fanout
    for outcome in outcomes:
        if isinstance(outcome, Failed):
            raise _Failure(outcome.error, outcome.cause)
    if len(outcomes) != len(fanout.branches):
        # Only a failure may cut the list short; anything else is a driver bug.
        raise RuntimeError(f"driver answered {len(outcomes)} outcomes for {len(fanout.branches)} branches")
    return [outcome.value for outcome in outcomes]


def _task(step: dict[str, Any], state: Any) -> Steps:
    args = step.get("args")
    if args is None:
        payload = copy.deepcopy(state)
    else:
        payload = {}
        for key, value in args.items():
            if is_path(value):
                found = resolve(state, value)
                if found is MISSING:
                    raise _Failure("PathNotFound", f"{value} is not in the state")
                payload[key] = copy.deepcopy(found)
            else:
                payload[key] = copy.deepcopy(value)
    timeout = step.get("timeout_s")
    started = (yield Now()) if timeout is not None else 0.0
    outcome = yield Invoke(step["function"], step.get("name", ""), payload, timeout)
    if isinstance(outcome, Failed):
        raise _Failure(outcome.error, outcome.cause)
    # No target can pre-empt every call, so the clock decides: a reply that came too late is a
    # Timeout, and its output is dropped.
    if timeout is not None and (yield Now()) - started > timeout:
        raise _Failure("Timeout", timeout_cause(step.get("name", ""), timeout))
    return outcome.value


def timeout_cause(step: str, timeout_s: float) -> str:
    """The cause of a task's ``Timeout`` (shared with drivers that can pre-empt a call)."""
    return f"task {step!r} ran longer than {timeout_s}s"


__all__ = [
    "Branch",
    "Done",
    "Effect",
    "Failed",
    "Fanout",
    "Invoke",
    "Now",
    "Outcome",
    "Sleep",
    "branch",
    "execution",
    "timeout_cause",
]
