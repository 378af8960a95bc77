"""The reference interpreter for portable workflows (plain JSON definitions).

Semantics, the contract every cloud compiler must match (implemented once, as generators of
effects, in :mod:`components.runtime.orchestration.engine`; :func:`run` is its synchronous driver,
the Durable Functions orchestrator its other one):

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
  with that error (the first failing branch in order); here the branches after it do not run,
  on a cloud they may have run (or be running) already.
* ``Map``: the list at ``items`` (not a list → ``InvalidItems``; missing → ``PathNotFound``);
  each iteration runs its steps on the state ``{"item": item, "index": i}``; its final state is
  its result; results in item order to ``state[result]``. ``max_concurrency`` is honoured
  trivially (sequential); clouds run at most that many iterations at once (None: no limit).
  The first failing iteration (in item order) fails the block.
* ``Wait``: ``clock.sleep(seconds)``. ``Fail``: the execution fails with its error/cause unless
  an enclosing block catches it. ``Succeed``: ends the innermost Parallel branch or Map iteration
  successfully (as in Amazon States Language), or the whole execution at top level.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from components.runtime.orchestration import engine
from components.runtime.orchestration.engine import Done, Effect, Failed, Fanout, Invoke, Now, Outcome, Sleep
from components.runtime.orchestration.task import error_of


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


Invoker = Callable[[str, dict[str, Any]], Any]


def run(definition: dict[str, Any], input: dict[str, Any], invoke: Invoker, clock: Clock | None = None) -> Result:
    """Run a JSON workflow definition to completion.

    Args:
        definition: ``{"version": 1, "steps": [...]}`` (:func:`components.workflow.definition_to_json`).
        input: The execution input, the initial state.
        invoke: ``invoke(function, payload)`` calls a task's function and returns its output;
            an exception fails the task (see the module docstring).
        clock: Where Wait and retry back-off sleep and task timeouts are measured; defaults to
            :class:`RealClock`.
    """
    return execute(definition, input, lambda task: invoke(task.function, task.payload), clock)


def execute(
    definition: dict[str, Any], input: dict[str, Any], call: Callable[[Invoke], Any], clock: Clock | None = None
) -> Result:
    """:func:`run`, with each task call given the whole :class:`Invoke` (its step name and
    timeout too), for drivers that pass them on (the local server's task envelope)."""
    outcome = _drive(engine.execution(definition, input), call, clock or RealClock())
    if isinstance(outcome, Failed):
        return Result("FAILED", None, outcome.error, outcome.cause)
    return Result("SUCCEEDED", outcome.value, None, None)


def _drive(steps: Generator[Effect, Any, Outcome], call: Callable[[Invoke], Any], clock: Clock) -> Outcome:
    """Perform each effect the engine asks for, in order, until it returns its outcome."""
    reply: Any = None
    while True:
        try:
            effect = steps.send(reply)
        except StopIteration as stop:
            return stop.value
        reply = _perform(effect, call, clock)


def _perform(effect: Effect, call: Callable[[Invoke], Any], clock: Clock) -> Any:
    if isinstance(effect, Invoke):
        try:
            return Done(call(effect))
        except Exception as exc:
            return Failed(*error_of(exc))
    if isinstance(effect, Sleep):
        clock.sleep(effect.seconds)
        return None
    if isinstance(effect, Now):
        return clock.now()
    if isinstance(effect, Fanout):
        # Sequential, in branch order, stopping at the first failure: the reference semantics.
        outcomes: list[Outcome] = []
        for branch in effect.branches:
            outcomes.append(_drive(engine.branch(branch.steps, branch.state), call, clock))
            if isinstance(outcomes[-1], Failed):
                break
        return outcomes
    raise TypeError(f"unknown workflow effect {effect!r}")
