"""Durable Functions agrees with the local interpreter and the golden outcomes, on every golden.

Each golden runs through the real workflow app (starter → orchestrator → ``omnicloud_task``
activity → HTTP → the real Azure task route → the golden handlers) on a simulated Durable
runtime; see :mod:`tests.workflow.durable` for what is real, what is simulated and how the
orchestrator's clock advances.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.workflow import Map, Task, WorkflowArgs, definition_to_json
from tests.workflow.durable import WORKFLOW, DurableRun, TaskServer, configure, recorded_actions, replay, workflow_app
from tests.workflow.golden import GOLDEN, LINES, PRICE_ARGS, Golden
from tests.workflow.local import expected, outcome, reset_counters, run_local

BY_NAME = {g.name: g for g in GOLDEN}


@pytest.fixture(scope="module")
def server() -> Iterator[TaskServer]:
    with TaskServer() as running:
        yield running


@pytest.fixture
def durable(server: TaskServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``run(definition, input) -> (execution output, DurableRun)`` on fresh counters."""
    configure(server, monkeypatch)
    server.calls.clear()

    def run(
        definition: dict[str, Any], input: dict[str, Any], latency_s: float = 0.0
    ) -> tuple[dict[str, Any], DurableRun]:
        reset_counters(tmp_path / "counters")
        monkeypatch.setenv("OMNICLOUD_TEST_COUNTERS", str(tmp_path / "counters"))
        durable_run = DurableRun.of(workflow_app(definition, tmp_path, monkeypatch), latency_s=latency_s)
        return durable_run.start("execution-1", input), durable_run

    return run


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_durable_agrees_with_the_local_interpreter_and_the_golden(
    golden: Golden, durable: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, clock = run_local(golden, tmp_path / "local-counters", monkeypatch)

    output, run = durable(golden.definition, golden.input)

    assert output == outcome(local) == expected(golden)
    assert tuple(run.sleeps) == tuple(clock.sleeps) == golden.sleeps


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_replaying_each_instance_from_its_history_repeats_its_actions_and_output(golden: Golden, durable: Any) -> None:
    _, run = durable(golden.definition, golden.input)

    assert run.instances
    for instance in run.instances:
        # The registered orchestrator, under the SDK's own replay executor, over the history
        # the recorded run would have left: the same tasks in the same order, the same output.
        state = replay(run, instance)
        assert state["isDone"] is True, instance.id
        assert state["actions"] == recorded_actions(instance), instance.id
        assert state.get("output") == instance.output, instance.id


def test_tasks_reach_their_function_as_envelopes_named_after_workflow_and_step(
    durable: Any, server: TaskServer
) -> None:
    golden = BY_NAME["task-chain-scalar-results"]
    durable(golden.definition, golden.input)
    assert server.calls == [
        {"function": "add", "omnicloud": {"kind": "workflow-task", "workflow": WORKFLOW, "step": "first"},
         "input": {"a": 1, "b": 10}},
        {"function": "add", "omnicloud": {"kind": "workflow-task", "workflow": WORKFLOW, "step": "second"},
         "input": {"a": 11, "b": 11}},
    ]  # fmt: skip


def test_map_runs_its_iterations_in_windows_of_max_concurrency(durable: Any) -> None:
    golden = BY_NAME["map-max-concurrency-scalars"]
    _, run = durable(golden.definition, golden.input)
    execution = run.instances[0]
    assert [len(step.task.children) for step in execution.yielded] == [2, 2, 1]
    assert len(run.instances) == 1 + 5


def test_no_window_starts_after_a_failed_one(durable: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [*LINES[:1], {"sku": "bad", "qty": 0, "unit": 1}, *LINES[1:]]
    definition = definition_to_json(
        WorkflowArgs(
            steps=[Map("lines", items="$.lines", max_concurrency=2, steps=[Task("p", "price", args=PRICE_ARGS)])]
        )
    )
    output, run = durable(definition, {"lines": lines})
    assert output == {"status": "FAILED", "error": "InvalidLine", "cause": "bad: qty must be positive"}
    # The first window (items 0 and 1) ran; the failure stopped the other two windows.
    assert len(run.instances) == 1 + 2


def test_a_reply_after_the_deadline_is_a_timeout(durable: Any, server: TaskServer) -> None:
    # The target answers at once, but the reply reaches the orchestrator 10 s later (a busy
    # task hub, a cold start): the orchestrator's clock says the task ran too long.
    definition = definition_to_json(WorkflowArgs(steps=[Task("t", "echo", args={"x": 1}, timeout_s=5, result="r")]))
    output, _ = durable(definition, {}, latency_s=10.0)
    assert output == {"status": "FAILED", "error": "Timeout", "cause": "task 't' ran longer than 5s"}
    assert [call["function"] for call in server.calls] == ["echo"]


def test_a_rejected_key_is_a_task_invocation_failure(
    durable: Any, server: TaskServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = server.targets()
    targets["echo"]["key"] = "not-the-key"
    monkeypatch.setenv("OMNICLOUD_WORKFLOW_TARGETS", json.dumps(targets))
    golden = BY_NAME["task-whole-state"]
    output, _ = durable(golden.definition, golden.input)
    assert output["status"] == "FAILED" and output["error"] == "TaskInvocationFailed"
    assert "answered HTTP 401" in output["cause"] and "/echo/_omnicloud/task" in output["cause"]


def test_state_that_looks_like_a_durable_custom_object_passes_through_unchanged(
    durable: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Durable's default JSON codec would try to import module "shop.models" here.
    lookalike = {"__class__": "Order", "__module__": "shop.models", "__data__": {"id": 1}}
    definition = definition_to_json(WorkflowArgs(steps=[Task("t", "echo", args={"o": "$.o"}, result="r")]))
    output, run = durable(definition, {"o": lookalike})
    assert output == {"status": "SUCCEEDED", "output": {"o": lookalike, "r": {"o": lookalike}}}
    assert all(replay(run, instance)["output"] == instance.output for instance in run.instances)
