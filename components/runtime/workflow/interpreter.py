"""The reference interpreter for portable workflows (plain JSON definitions).

Semantics, the contract every cloud compiler must match:

* One JSON state object (a dict), starting as the execution input.
* ``Task``: the payload is the whole state when ``args`` is None, else ``{key: value}`` where a
  top-level string value starting with ``$`` is a path resolved against the state (a missing
  path fails the task with error ``PathNotFound``) and anything else is a literal. The output of
  ``invoke(function, payload)`` is stored at ``state[result]`` (discarded when ``result`` is
  None). A raised exception fails the task: its class name is the error, ``str(exc)`` the cause;
  :class:`TaskFailed` sets both explicitly. ``timeout_s``: the interpreter cannot pre-empt a
  call, so the clock decides: when ``clock.now()`` advanced more than ``timeout_s`` across the
  call, the task fails with ``Timeout`` and its output is dropped.
* ``Retry`` (on Task, Parallel, Map, applying to the whole block): when the error matches
  (by name, or ``ALL`` which matches every error), up to ``max_retries`` retries; the n-th retry
  (n from 0) waits ``min(interval_s * backoff_rate**n, max_delay_s)`` via ``clock.sleep``.
* ``Catch``: after retries are exhausted, the first catch whose errors match runs its steps on
  the block's input state with ``state[catch.result] = {"error", "cause"}`` (when set); then
  execution continues after the block. A Fail inside catch steps propagates outward.
* ``Choice``: the first case whose condition holds runs, else ``default``; then rejoin.
* ``Parallel``: branches run *sequentially* here (reference semantics; clouds run them
  concurrently), each on a deep copy of the state; the branch's final state is its result; the
  list of results (branch order) goes to ``state[result]``. Any branch failing fails the block
  with that error (the first failing branch in order).
* ``Map``: the list at ``items`` (not a list → ``InvalidItems``; missing → ``PathNotFound``);
  each iteration runs its steps on the state ``{"item": item, "index": i}``; its final state is
  its result; results in item order to ``state[result]``. ``max_concurrency`` is honoured
  trivially (sequential). The first failing iteration fails the block.
* ``Wait``: ``clock.sleep(seconds)``. ``Fail``: the execution fails with its error/cause unless
  an enclosing block catches it. ``Succeed``: ends the innermost Parallel branch or Map iteration
  successfully (as in Amazon States Language), or the whole execution at top level.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from components.runtime.workflow.conditions import MISSING, evaluate, is_path, resolve
from components.runtime.workflow.task import error_of


class Clock(Protocol):
    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time; ``sleep`` really sleeps."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class FakeClock:
    """A clock that records sleeps and advances virtual time instead of sleeping."""

    t: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without recording a sleep (e.g. a slow task)."""
        self.t += seconds


@dataclass(frozen=True)
class Result:
    status: Literal["SUCCEEDED", "FAILED"]
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None


class _Failure(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class _Succeeded(Exception):
    def __init__(self, state: Any) -> None:
        super().__init__("succeed")
        self.state = state


Invoke = Callable[[str, dict[str, Any]], Any]


def run(definition: dict[str, Any], input: dict[str, Any], invoke: Invoke, clock: Clock | None = None) -> Result:
    """Run a JSON workflow definition to completion."""
    machine = _Machine(invoke, clock or RealClock())
    state: Any = copy.deepcopy(input)
    try:
        state = machine.steps(definition["steps"], state)
    except _Succeeded as done:
        state = done.state
    except _Failure as failure:
        return Result("FAILED", None, failure.error, failure.cause)
    return Result("SUCCEEDED", state if isinstance(state, dict) else {"value": state}, None, None)


def _matches(errors: list[str], error: str) -> bool:
    return "ALL" in errors or error in errors


class _Machine:
    def __init__(self, invoke: Invoke, clock: Clock) -> None:
        self.invoke = invoke
        self.clock = clock

    def steps(self, steps: list[dict[str, Any]], state: Any) -> Any:
        for step in steps:
            state = self.step(step, state)
        return state

    def branch(self, steps: list[dict[str, Any]], state: Any) -> Any:
        """A Parallel branch or Map iteration: Succeed ends only this branch."""
        try:
            return self.steps(steps, state)
        except _Succeeded as done:
            return done.state

    def step(self, step: dict[str, Any], state: Any) -> Any:
        kind = step["type"]
        if kind in ("Task", "Parallel", "Map"):
            return self.block(step, state)
        if kind == "Choice":
            for case in step["cases"]:
                if evaluate(case["when"], state):
                    return self.steps(case["steps"], state)
            return self.steps(step.get("default") or [], state)
        if kind == "Wait":
            self.clock.sleep(step["seconds"])
            return state
        if kind == "Fail":
            raise _Failure(step["error"], step.get("cause", ""))
        if kind == "Succeed":
            raise _Succeeded(state)
        raise _Failure("InvalidDefinition", f"unknown step type {kind!r}")

    def block(self, step: dict[str, Any], state: Any) -> Any:
        retry = step.get("retry")
        retries = 0
        while True:
            try:
                output = self.attempt(step, state)
            except _Failure as failure:
                if retry and _matches(retry["errors"], failure.error) and retries < retry["max_retries"]:
                    delay = retry["interval_s"] * retry["backoff_rate"] ** retries
                    if retry.get("max_delay_s") is not None:
                        delay = min(delay, retry["max_delay_s"])
                    self.clock.sleep(delay)
                    retries += 1
                    continue
                for catch in step.get("catch") or []:
                    if _matches(catch["errors"], failure.error):
                        handler_state = copy.deepcopy(state)
                        if catch.get("result") is not None:
                            if not isinstance(handler_state, dict):
                                handler_state = {}
                            handler_state[catch["result"]] = {"error": failure.error, "cause": failure.cause}
                        return self.steps(catch["steps"], handler_state)
                raise
            return self.store(state, step.get("result"), output)

    @staticmethod
    def store(state: Any, key: str | None, output: Any) -> Any:
        if key is None:
            return state
        new = dict(state) if isinstance(state, dict) else {}
        new[key] = output
        return new

    def attempt(self, step: dict[str, Any], state: Any) -> Any:
        kind = step["type"]
        if kind == "Task":
            return self.task(step, state)
        if kind == "Parallel":
            return [self.branch(b, copy.deepcopy(state)) for b in step["branches"]]
        items = resolve(state, step["items"])
        if items is MISSING:
            raise _Failure("PathNotFound", f"{step['items']} is not in the state")
        if not isinstance(items, list):
            raise _Failure("InvalidItems", f"{step['items']} is not a list")
        return [self.branch(step["steps"], {"item": copy.deepcopy(it), "index": i}) for i, it in enumerate(items)]

    def task(self, step: dict[str, Any], state: Any) -> Any:
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
        started = self.clock.now()
        try:
            output = self.invoke(step["function"], payload)
        except Exception as exc:
            raise _Failure(*error_of(exc)) from None
        timeout = step.get("timeout_s")
        if timeout is not None and self.clock.now() - started > timeout:
            raise _Failure("Timeout", f"task {step['name']!r} ran longer than {timeout}s")
        return output
