"""The Durable Functions driver of the workflow engine: one generic orchestrator.

:func:`orchestrate` is the body of the ``omnicloud_workflow`` orchestrator
(:mod:`components.runtime.adapters.azure_workflow`). It runs
:mod:`components.runtime.orchestration.engine` and turns each effect into a Durable task:

* ``Invoke`` → ``context.call_activity("omnicloud_task", {"function", "workflow", "step",
  "input", "timeout_s"})``; the activity answers ``{"ok": output}`` or ``{"error", "cause"}``.
* ``Sleep`` → ``context.create_timer(context.current_utc_datetime + seconds)``.
* ``Now`` → ``context.current_utc_datetime``: replay-safe, it is the time the current episode
  started, so across a task it advances by the task's run time plus the dispatch latency.
* ``Fanout`` (Parallel branches, Map iterations) → sub-orchestrations of this same orchestrator,
  started in windows of ``max_concurrency`` (all at once when unset) and awaited with
  ``context.task_all``; no further window starts once a branch has failed.

Orchestration input and output (the contract with the starter and with itself):

* an execution: ``{"workflow": name, "definition": {...}, "input": {...}}`` →
  ``{"status": "SUCCEEDED", "output": {...}}`` or ``{"status": "FAILED", "error", "cause"}``.
  The definition travels in the input, so a running execution keeps the definition it started
  with whatever is deployed later (as on Step Functions and Cloud Workflows), and replays never
  meet a changed tree.
* a branch: ``{"workflow": name, "steps": [...], "state": ...}`` → ``{"ok": final state}`` or
  ``{"error", "cause"}``.

Workflow failures are data, never exceptions: Durable wraps a failed activity or
sub-orchestration in an exception whose message is not the portable error name, so nothing here
raises for a workflow-level error and the Durable instance completes either way (its runtime
status is ``Failed`` only for a malformed input or a bug). No Durable SDK import: ``context`` is
used only through the methods above, so this module stays standard-library only.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from datetime import timedelta
from typing import Any

from components.runtime.orchestration import engine
from components.runtime.orchestration.engine import Done, Effect, Failed, Fanout, Invoke, Now, Outcome, Sleep

ORCHESTRATOR = "omnicloud_workflow"
"""The orchestrator function (executions and, recursively, their branches)."""
TASK_ACTIVITY = "omnicloud_task"
"""The activity that calls a task's function over HTTP."""
INVALID_REPLY = "TaskInvocationFailed"

__all__ = [
    "ORCHESTRATOR",
    "TASK_ACTIVITY",
    "branch_output",
    "execution_input",
    "execution_output",
    "orchestrate",
    "outcome_of",
]


def execution_input(workflow: str, definition: Mapping[str, Any], input: Any) -> dict[str, Any]:
    """The input that starts an execution of ``definition`` on ``input``."""
    return {"workflow": workflow, "definition": dict(definition), "input": input}


def execution_output(outcome: Outcome) -> dict[str, Any]:
    """What an execution returns: ``{"status", "output"}`` or ``{"status", "error", "cause"}``."""
    if isinstance(outcome, Failed):
        return {"status": "FAILED", "error": outcome.error, "cause": outcome.cause}
    return {"status": "SUCCEEDED", "output": outcome.value}


def branch_output(outcome: Outcome) -> dict[str, Any]:
    """What a branch sub-orchestration (and the task activity) returns: ``{"ok"}`` or ``{"error", "cause"}``."""
    if isinstance(outcome, Failed):
        return {"error": outcome.error, "cause": outcome.cause}
    return {"ok": outcome.value}


def outcome_of(reply: Any) -> Outcome:
    """The :data:`~components.runtime.orchestration.engine.Outcome` in a branch's or activity's reply."""
    if isinstance(reply, Mapping):
        if "ok" in reply:
            return Done(reply["ok"])
        if isinstance(reply.get("error"), str):
            return Failed(reply["error"], str(reply.get("cause") or ""))
    return Failed(INVALID_REPLY, f"malformed reply {str(reply)[:200]!r}")


def orchestrate(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    """The orchestrator body: run an execution or a branch, as its input says.

    Raises:
        ValueError: the input is neither shape (someone started the orchestrator by hand).
    """
    request = context.get_input()
    if isinstance(request, Mapping) and isinstance(request.get("definition"), Mapping):
        steps = engine.execution(dict(request["definition"]), request.get("input"))
        return execution_output((yield from _drive(context, str(request.get("workflow", "")), steps)))
    if isinstance(request, Mapping) and isinstance(request.get("steps"), list):
        steps = engine.branch(request["steps"], request.get("state"))
        return branch_output((yield from _drive(context, str(request.get("workflow", "")), steps)))
    raise ValueError(
        f"{ORCHESTRATOR} takes {{'workflow', 'definition', 'input'}} or {{'workflow', 'steps', 'state'}}, "
        f"got {str(request)[:200]!r}"
    )


def _drive(context: Any, workflow: str, steps: Generator[Effect, Any, Outcome]) -> Generator[Any, Any, Outcome]:
    """Answer each effect the engine asks for with Durable tasks, until it returns."""
    reply: Any = None
    while True:
        try:
            effect = steps.send(reply)
        except StopIteration as stop:
            return stop.value
        if isinstance(effect, Now):
            reply = context.current_utc_datetime.timestamp()
        elif isinstance(effect, Sleep):
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=effect.seconds))
            reply = None
        elif isinstance(effect, Invoke):
            request = {
                "function": effect.function,
                "workflow": workflow,
                "step": effect.step,
                "input": effect.payload,
                "timeout_s": effect.timeout_s,
            }
            reply = outcome_of((yield context.call_activity(TASK_ACTIVITY, request)))
        elif isinstance(effect, Fanout):
            reply = yield from _fan_out(context, workflow, effect)
        else:
            raise TypeError(f"unknown workflow effect {effect!r}")


def _fan_out(context: Any, workflow: str, fanout: Fanout) -> Generator[Any, Any, list[Outcome]]:
    """Run the branches as sub-orchestrations, ``max_concurrency`` at a time."""
    window = fanout.max_concurrency or len(fanout.branches) or 1
    outcomes: list[Outcome] = []
    for start in range(0, len(fanout.branches), window):
        tasks = [
            context.call_sub_orchestrator(ORCHESTRATOR, {"workflow": workflow, "steps": b.steps, "state": b.state})
            for b in fanout.branches[start : start + window]
        ]
        outcomes += [outcome_of(reply) for reply in (yield context.task_all(tasks))]
        if any(isinstance(outcome, Failed) for outcome in outcomes):
            # The block fails with the first failure in branch order; later windows need not run.
            break
    return outcomes
