"""The Workflow component: task functions resolved from the program, errors before deploy,
the same outputs and link locator shape on every target (checked here on the local target)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import Function, FunctionArgs, Workflow, WorkflowArgs
from components.errors import InvalidArgsError
from components.links import link_env_name
from components.testing import MockStack
from components.workflow import Catch, Map, Parallel, Task


def _steps(step, price):
    return [
        Map("lines", items="$.lines", steps=[Task("price", price, result="line")], result="priced"),
        Parallel("both", branches=[[Task("a", step)], [Task("b", "step")]], catch=[Catch(steps=[Task("c", step)])]),
    ]


def test_task_functions_resolve_to_the_programs_functions(project_root):
    with MockStack(cloud="local", root=project_root) as stack:
        step = Function("step", FunctionArgs(handler="functions.api.handle"))
        price = Function("price", FunctionArgs(handler="functions.api.handle"))
        flow = Workflow("checkout", WorkflowArgs(steps=_steps(step, price)))
        assert flow.functions == {"price": price, "step": step}
        assert stack.resolve(flow.name) == "checkout"
        assert stack.resolve(flow.resource_id) == "local:workflow:omnicloud/test/checkout"
        assert flow.resources.definition == flow.args.definition()


def test_a_task_naming_an_unknown_function_fails_with_its_step_path(project_root):
    with MockStack(cloud="local", root=project_root):
        step = Function("step", FunctionArgs(handler="functions.api.handle"))
        with pytest.raises(InvalidArgsError) as raised:
            Workflow(
                "checkout", WorkflowArgs(steps=[Task("a", step), Map("m", items="$.x", steps=[Task("b", "mailer")])])
            )
    error = raised.value
    assert error.component == "Workflow 'checkout'"
    assert error.field == "steps[1].steps[0].function"
    assert error.value == "mailer"
    assert "defined: step" in str(error)


def test_functions_of_another_stack_run_are_not_visible(project_root):
    with MockStack(cloud="local", root=project_root):
        Function("step", FunctionArgs(handler="functions.api.handle"))
    with MockStack(cloud="local", root=project_root), pytest.raises(InvalidArgsError, match="none yet"):
        Workflow("checkout", WorkflowArgs(steps=[Task("a", "step")]))


def test_a_task_function_on_another_cloud_is_rejected(project_root):
    with MockStack(cloud="local", root=project_root):
        step = Function("step", FunctionArgs(handler="functions.api.handle"), cloud="aws")
        with pytest.raises(InvalidArgsError, match="wiring across clouds"):
            Workflow("checkout", WorkflowArgs(steps=[Task("a", step)]))


def test_dict_args_are_validated_into_the_model(project_root):
    with MockStack(cloud="local", root=project_root):
        Function("step", FunctionArgs(handler="functions.api.handle"))
        flow = Workflow("checkout", {"steps": [{"kind": "Task", "name": "a", "function": "step"}]})
        assert flow.args.steps[0].function == "step"
        with pytest.raises(InvalidArgsError) as raised:
            Workflow(
                "bad", {"steps": [{"kind": "Task", "name": "a", "function": "step", "retry": {"max_retries": -1}}]}
            )
    assert raised.value.field == "steps[0].retry.max_retries"


def test_start_links_inject_the_workflow_locator(project_root):
    with MockStack(cloud="local", root=project_root) as stack:
        step = Function("step", FunctionArgs(handler="functions.api.handle"))
        flow = Workflow("checkout", WorkflowArgs(steps=[Task("a", step)]))
        api = Function("api", FunctionArgs(handler="functions.api.handle", links=[flow.allow("start")]))
        locator = json.loads(stack.resolve(api.resources.environment[link_env_name("workflow", "checkout")]))
    assert locator["kind"] == "workflow" and locator["cloud"] == "local" and locator["name"] == "checkout"
    assert locator["database"] == str(Path(".omnicloud").resolve() / f"{stack.stack}.db")
    assert flow.resources.definition["steps"][0]["function"] == "step"
    with pytest.raises(InvalidArgsError, match="verbs are"):
        flow.allow("invoke")
