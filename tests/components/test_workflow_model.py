"""The portable workflow model: positional construction, tree validation, JSON form."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from components.errors import InvalidArgsError
from components.workflow import (
    And,
    Case,
    Catch,
    Choice,
    Eq,
    Exists,
    Fail,
    Gt,
    IsNull,
    Map,
    Not,
    Or,
    Parallel,
    Retry,
    Succeed,
    Task,
    Wait,
    WorkflowArgs,
    definition_to_json,
    validate_steps,
)
from tests.conftest import REPO_ROOT

worker = SimpleNamespace(logical_name="worker")
mailer = SimpleNamespace(logical_name="mailer")
texter = SimpleNamespace(logical_name="texter")
pricer = SimpleNamespace(logical_name="pricer")


def design_example() -> WorkflowArgs:
    return WorkflowArgs(
        steps=[
            Task(
                "reserve",
                worker,
                result="reservation",
                retry=Retry(errors=["Throttled"], max_retries=3, interval_s=5, backoff_rate=2),
                catch=[Catch(errors=["ALL"], steps=[Fail("ReserveFailed")])],
            ),
            Choice(
                "in-stock",
                cases=[Case(Eq("$.reservation.ok", True), [Wait("pause", seconds=1)])],
                default=[Fail("OutOfStock")],
            ),
            Parallel("notify", branches=[[Task("email", mailer)], [Task("sms", texter)]]),
            Map("lines", items="$.order.lines", steps=[Task("price", pricer)], max_concurrency=5),
            Wait("cool-off", seconds=10),
            Succeed("done"),
        ]
    )


def test_design_example_constructs_positionally():
    args = design_example()
    task = args.steps[0]
    assert isinstance(task, Task)
    assert task.name == "reserve" and task.function_name == "worker" and task.result == "reservation"
    fail = args.steps[1].default[0]  # type: ignore[union-attr]
    assert isinstance(fail, Fail)
    assert fail.error == "OutOfStock"
    assert task.catch[0].steps[0].error == "ReserveFailed"  # type: ignore[union-attr]
    assert Wait("cool-off", seconds=10).seconds == 10
    assert Task("t", "plain-name").function_name == "plain-name"


def test_fail_error_defaults_to_name_and_models_are_frozen():
    assert Fail("ReserveFailed").error == "ReserveFailed"
    assert Fail("x", error="E", cause="c").cause == "c"
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        Fail("x").error = "y"  # type: ignore[misc]


def test_unknown_fields_rejected():
    with pytest.raises(Exception):  # noqa: B017
        Task("t", "f", bogus=1)


def test_function_must_be_named():
    with pytest.raises(InvalidArgsError):
        Task("t", object())


def _err(steps, field_part):
    with pytest.raises(InvalidArgsError) as info:
        WorkflowArgs(steps=steps)
    assert info.value.component == "Workflow"
    assert info.value.field == field_part, info.value.field
    return info.value


def test_duplicate_names():
    err = _err(
        [Task("a", "f"), Parallel("p", branches=[[Task("a", "g")], [Wait("w", seconds=1)]])],
        "steps[1].branches[0][0].name",
    )
    assert err.value == "a"


def test_parallel_branch_bounds():
    _err([Parallel("p", branches=[[Task("a", "f")]])], "steps[0].branches")
    eleven = [[Task(f"t{i}", "f")] for i in range(11)]
    err = _err([Parallel("p", branches=eleven)], "steps[0].branches")
    assert err.value == 11 and "between 2 and 10" in err.limit


@pytest.mark.parametrize("value", [0, 1001])
def test_map_concurrency_bounds(value):
    err = _err([Map("m", items="$.xs", steps=[Task("t", "f")], max_concurrency=value)], "steps[0].max_concurrency")
    assert err.value == value


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("max_retries", -1),
        ("max_retries", 101),
        ("interval_s", 0),
        ("interval_s", 3601),
        ("backoff_rate", 0.5),
        ("backoff_rate", 11),
    ],
)
def test_retry_bounds(attr, value):
    retry = Retry(**{attr: value})
    err = _err([Task("t", "f", retry=retry)], f"steps[0].retry.{attr}")
    assert err.value == value


def test_retry_bounds_inside_catch_report_nested_path():
    inner = Task("i", "f", retry=Retry(max_retries=500))
    _err([Task("t", "f", catch=[Catch(steps=[inner])])], "steps[0].catch[0].steps[0].retry.max_retries")


def test_empty_step_lists():
    _err([], "steps")
    _err([Map("m", items="$.xs", steps=[])], "steps[0].steps")
    _err([Choice("c", cases=[Case(Exists("$.a"), [])])], "steps[0].cases[0].steps")
    _err([Choice("c", cases=[])], "steps[0].cases")


def test_terminal_steps_only_last():
    _err([Succeed("s"), Task("t", "f")], "steps[0]")
    _err([Fail("F"), Task("t", "f")], "steps[0]")
    WorkflowArgs(steps=[Task("t", "f"), Fail("F")])


@pytest.mark.parametrize("path", ["order.lines", "$.a[0]", "$..a", "$.a.", "$ .a", "$.a+b"])
def test_bad_paths(path):
    _err([Map("m", items=path, steps=[Task("t", "f")])], "steps[0].items")
    _err(
        [Task("t", "f", args={"x": path})]
        if path.startswith("$")
        else [Choice("c", cases=[Case(Eq(path, 1), [Task("t", "f")])])],
        "steps[0].args.x" if path.startswith("$") else "steps[0].cases[0].when.path",
    )


def test_bad_path_in_nested_condition():
    cond = And(Exists("$.a"), Or(Not(IsNull("$.b")), Gt("$.c[1]", 2)))
    _err([Choice("c", cases=[Case(cond, [Task("t", "f")])])], "steps[0].cases[0].when.conds[1].conds[1].path")


def test_fail_cannot_raise_all():
    _err([Fail("F", error="ALL")], "steps[0].error")


def test_bad_result_key():
    _err([Task("t", "f", result="$.x")], "steps[0].result")


def test_dict_form_is_accepted():
    args = WorkflowArgs.model_validate(
        {"steps": [{"kind": "Task", "name": "t", "function": "f"}, {"kind": "Succeed", "name": "s"}]}
    )
    assert definition_to_json(args)["steps"][0]["function"] == "f"
    with pytest.raises(InvalidArgsError):
        WorkflowArgs.model_validate({"steps": [{"kind": "Succeed", "name": "s"}, {"kind": "Succeed", "name": "z"}]})


def test_validate_steps_directly():
    with pytest.raises(InvalidArgsError):
        validate_steps([Task("a", "f"), Task("a", "f")])


def test_definition_to_json_is_deterministic_and_plain():
    one, two = definition_to_json(design_example()), definition_to_json(design_example())
    assert one == two
    assert json.dumps(one, sort_keys=False) == json.dumps(two, sort_keys=False)
    assert json.loads(json.dumps(one)) == one
    assert one["steps"][0]["retry"]["backoff_rate"] == 2.0
    assert one["steps"][1]["cases"][0]["when"] == {"op": "eq", "path": "$.reservation.ok", "value": True}


def test_runtime_workflow_imports_no_pydantic():
    code = (
        "import json, sys, components.runtime.orchestration; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {'pydantic', 'pulumi'})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
