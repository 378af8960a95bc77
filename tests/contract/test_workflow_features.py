"""Workflow features on every target, for the support matrix."""

from __future__ import annotations

from components import Function, FunctionArgs, Workflow, WorkflowArgs
from components.testing import MockStack
from components.workflow import Case, Catch, Choice, Eq, Fail, Map, Parallel, Retry, Succeed, Task, Wait
from tests.contract.conftest import feature

HANDLER = "functions.api.handle"


def _workflow(matrix, project_root, steps) -> None:
    """Build ``steps`` (a function of the task Function) on the target; record the outcome."""
    with MockStack(cloud=matrix.target, root=project_root) as stack:
        step = Function("step", FunctionArgs(handler=HANDLER))
        flow = matrix.build(lambda: Workflow("flow", WorkflowArgs(steps=steps(step))))
        if flow is not None:
            assert stack.resolve(flow.resource_id)
            matrix.supported()


@feature("Workflow", "Task, Choice, Parallel, Map, Wait, Retry, Catch, Fail, Succeed")
def test_every_construct(matrix, project_root):
    _workflow(
        matrix,
        project_root,
        lambda step: [
            Map("each", items="$.xs", max_concurrency=5, steps=[Task("t", step, result="r")], result="out"),
            Task("u", step, retry=Retry(max_retries=2), catch=[Catch(result="err", steps=[Task("v", step)])]),
            Choice("c", cases=[Case(Eq("$.ok", True), [Wait("w", seconds=5)])], default=[Fail("no")]),
            Parallel("p", branches=[[Task("a", step)], [Task("b", step)]]),
            Succeed("done"),
        ],
    )


@feature("Workflow", "task timeout of 5 minutes (timeout_s=300)")
def test_five_minute_task(matrix, project_root):
    _workflow(matrix, project_root, lambda step: [Task("t", step, timeout_s=300)])


@feature("Workflow", "task timeout of 1 hour (timeout_s=3600)")
def test_hour_long_task(matrix, project_root):
    _workflow(matrix, project_root, lambda step: [Task("t", step, timeout_s=3600)])


@feature("Workflow", "Map inside Parallel inside Map (3 levels of fan-out)")
def test_deep_fan_out(matrix, project_root):
    _workflow(
        matrix,
        project_root,
        lambda step: [
            Map(
                "outer",
                items="$.xs",
                steps=[
                    Parallel(
                        "mid",
                        branches=[[Map("inner", items="$.item", steps=[Task("t", step)])], [Task("u", step)]],
                    )
                ],
            )
        ],
    )


@feature("Workflow", "Map with max_concurrency=100")
def test_wide_map(matrix, project_root):
    _workflow(matrix, project_root, lambda step: [Map("m", items="$.xs", max_concurrency=100, steps=[Task("t", step)])])


@feature("Workflow", "literal task args containing '${'")
def test_dollar_brace_literal(matrix, project_root):
    _workflow(matrix, project_root, lambda step: [Task("t", step, args={"template": "Hello ${name}"})])


@feature("Workflow", "literal task args with a key ending in '.$'")
def test_dot_dollar_key_literal(matrix, project_root):
    _workflow(matrix, project_root, lambda step: [Task("t", step, args={"meta": {"price.$": "literal"}})])


# -- semantic gaps providers declare (they deploy, but behave differently) -----------------------


@feature("Workflow", "several failing branches: the first in order is reported")
def test_first_failure_in_order(matrix, project_root):
    matrix.stated_gap("workflow", "first_failure_in_order")


@feature("Workflow", "timers and back-off fire on time")
def test_timer_precision(matrix, project_root):
    matrix.stated_gap("workflow", "timer_precision")


@feature("Workflow", "each task runs exactly once per attempt")
def test_task_once_per_attempt(matrix, project_root):
    matrix.stated_gap("workflow", "task_once_per_attempt")
