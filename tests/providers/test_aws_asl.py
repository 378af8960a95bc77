"""The shape of the ASL that :mod:`providers.aws.asl` compiles (its behaviour is checked on the
emulators by ``tests/workflow/test_agreement_aws.py``; its validity by the validators' test)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

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
    Ge,
    Gt,
    IsNull,
    Le,
    Lt,
    Map,
    Ne,
    Not,
    Or,
    Parallel,
    Retry,
    Succeed,
    Task,
    Wait,
    WorkflowArgs,
    definition_to_json,
)
from providers.aws.asl import LAMBDA_INVOKE, LAMBDA_SERVICE_RETRY, check_definition, compile_asl, condition
from tests.conftest import REPO_ROOT
from tests.workflow.golden import GOLDEN

ARNS = {name: f"arn:aws:lambda:eu-west-1:123456789012:function:fn-{name}" for name in ("echo", "add", "fail", "price")}
# AWS: "A name must not contain white space, brackets < > { } [ ], wildcard characters ? *,
# special characters " # % \ ^ | ~ ` $ & , ; : /, control characters"; 1-80 characters.
STATE_NAME = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")


def asl(*steps: Any, workflow: str = "wf") -> dict[str, Any]:
    return compile_asl(definition_to_json(WorkflowArgs(steps=list(steps))), ARNS, workflow=workflow)


def all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches") or []:
            yield from all_states(branch["States"])
        if "ItemProcessor" in state:
            yield from all_states(state["ItemProcessor"]["States"])


def flat(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(all_states(doc["States"]))


# ---------------------------------------------------------------- Task


def test_a_task_invokes_its_lambda_with_the_task_envelope() -> None:
    doc = asl(Task("reserve", "echo", args={"id": "$.order.id", "n": 5, "meta": {"k": "$.x"}, "all": "$"}))
    task = doc["States"]["reserve"]
    assert doc["StartAt"] == "reserve@args"
    assert task["Type"] == "Task"
    assert task["Resource"] == LAMBDA_INVOKE == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"] == {
        "FunctionName": ARNS["echo"],
        "Payload": {
            "omnicloud": {"kind": "workflow-task", "workflow": "wf", "step": "reserve"},
            # top-level "$..." strings are paths; nested ones and other values are literals
            "input": {"id.$": "$.order.id", "n": 5, "meta": {"k": "$.x"}, "all.$": "$"},
        },
    }
    assert task["ResultPath"] is None and task["End"] is True
    assert task["Retry"] == [LAMBDA_SERVICE_RETRY]
    assert "TimeoutSeconds" not in task


def test_a_task_without_args_sends_the_whole_state() -> None:
    payload = asl(Task("t", "echo"))["States"]["t"]["Parameters"]["Payload"]
    assert payload == {"omnicloud": {"kind": "workflow-task", "workflow": "wf", "step": "t"}, "input.$": "$"}


def test_a_result_is_the_payload_unwrapped_into_its_key() -> None:
    states = asl(Task("t", "add", args={"a": 1, "b": 2}, result="sum"), Succeed("done"))["States"]
    assert states["t"]["ResultPath"] == "$.sum"
    assert states["t"]["Next"] == "t@result"
    assert states["t@result"] == {"Type": "Pass", "InputPath": "$.sum.Payload", "ResultPath": "$.sum", "Next": "done"}


def test_every_arg_path_is_guarded_in_order_and_fails_as_path_not_found() -> None:
    states = asl(Task("t", "echo", args={"b": "$.b.c", "a": "$.a", "again": "$.a", "whole": "$", "lit": 1}))["States"]
    guard = states["t@args"]
    assert guard == {
        "Type": "Choice",
        "Choices": [
            {"Not": {"Variable": "$.b.c", "IsPresent": True}, "Next": "t@missing-0"},
            {"Not": {"Variable": "$.a", "IsPresent": True}, "Next": "t@missing-1"},
        ],
        "Default": "t",
    }
    assert states["t@missing-0"] == {"Type": "Fail", "Error": "PathNotFound", "Cause": "$.b.c is not in the state"}
    assert states["t@missing-1"] == {"Type": "Fail", "Error": "PathNotFound", "Cause": "$.a is not in the state"}


def test_a_failed_invoke_is_re_raised_with_the_errors_message_as_cause() -> None:
    states = asl(Task("t", "fail", args={"error": "E"}))["States"]
    assert states["t"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": "t@error"}]
    error = states["t@error"]
    assert error["Choices"][0]["Next"] == "t@parse"
    assert {"Variable": "$.Cause", "StringMatches": "{*}"} in error["Choices"][0]["And"]
    assert error["Choices"][1]["Next"] == "t@fail-raw"
    assert error["Default"] == "t@fail-bare"
    assert states["t@parse"]["Parameters"]["Parsed.$"] == "States.StringToJson($.Cause)"
    assert states["t@message"]["Default"] == "t@fail-raw"
    assert states["t@fail"] == {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Parsed.errorMessage"}
    assert states["t@fail-raw"] == {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"}
    assert states["t@fail-bare"] == {"Type": "Fail", "ErrorPath": "$.Error"}


def test_a_timeout_fails_with_the_interpreters_error_and_cause() -> None:
    states = asl(Task("slowpoke", "echo", timeout_s=7))["States"]
    task = states["slowpoke"]
    assert task["TimeoutSeconds"] == 7
    assert task["Catch"][0] == {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": "slowpoke@timeout"}
    assert task["Catch"][1]["ErrorEquals"] == ["States.ALL"]
    assert states["slowpoke@timeout"] == {
        "Type": "Fail",
        "Error": "Timeout",
        "Cause": "task 'slowpoke' ran longer than 7s",
    }


def test_retry_and_catch_go_on_a_one_branch_parallel_around_the_whole_attempt() -> None:
    doc = asl(
        Task(
            "t",
            "echo",
            args={"v": "$.v"},
            result="r",
            retry=Retry(errors=["Busy", "Throttled"], max_retries=4, interval_s=3, backoff_rate=1.5, max_delay_s=20),
            catch=[Catch(errors=["Busy"], result="err", steps=[Task("after", "echo")]), Catch(steps=[])],
        ),
        Wait("next", seconds=1),
    )
    wrapper = doc["States"]["t"]
    assert wrapper["Type"] == "Parallel" and len(wrapper["Branches"]) == 1
    assert wrapper["Retry"] == [
        {
            "ErrorEquals": ["Busy", "Throttled"],
            "IntervalSeconds": 3,
            "MaxAttempts": 4,
            "BackoffRate": 1.5,
            "MaxDelaySeconds": 20,
        }
    ]
    assert wrapper["Catch"] == [
        {"ErrorEquals": ["Busy"], "ResultPath": "$.err", "Next": "t@catch-0"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "next"},
    ]
    assert wrapper["ResultPath"] == "$.r" and wrapper["Next"] == "t@result"
    assert doc["States"]["t@result"] == {"Type": "Pass", "InputPath": "$.r[0]", "ResultPath": "$.r", "Next": "next"}
    branch = wrapper["Branches"][0]
    assert branch["StartAt"] == "t@args"  # the guard is inside: a Retry re-runs it, a Catch sees it
    inner = branch["States"]["t@invoke"]
    assert inner["Retry"] == [LAMBDA_SERVICE_RETRY]  # only transient Lambda errors, never the user's
    assert "Catch" in inner and inner["OutputPath"] == "$.Payload" and inner["End"] is True
    assert {"t@missing-0", "t@error", "t@fail"} <= set(branch["States"])
    # The catch's steps run, then continue after the block (not at the unwrap).
    assert "End" not in doc["States"]["after"] and doc["States"]["after"]["Next"] == "next"


def test_catch_result_is_reshaped_to_lowercase_error_and_cause() -> None:
    states = asl(Task("t", "fail", catch=[Catch(result="why", steps=[])]))["States"]
    assert states["t"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.why", "Next": "t@catch-0"}]
    check = states["t@catch-0"]
    assert check["Choices"] == [
        {
            "And": [{"Variable": "$.why.Cause", "IsPresent": True}, {"Variable": "$.why.Cause", "IsString": True}],
            "Next": "t@catch-0-cause",
        }
    ]
    assert check["Default"] == "t@catch-0-bare"
    assert states["t@catch-0-cause"] == {
        "Type": "Pass",
        "Parameters": {"error.$": "$.why.Error", "cause.$": "$.why.Cause"},
        "ResultPath": "$.why",
        "Next": "t@end",
    }
    assert states["t@catch-0-bare"]["Parameters"] == {"error.$": "$.why.Error", "cause": ""}
    # The block is the last step and the catch has no steps: a Pass ends the execution.
    assert states["t@end"] == {"Type": "Pass", "End": True}


def test_retry_of_all_with_defaults() -> None:
    retry = asl(Parallel("p", branches=[[Succeed("a")], [Succeed("b")]], retry=Retry()))["States"]["p"]["Retry"]
    assert retry == [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}]
    assert isinstance(retry[0]["BackoffRate"], float)


# ---------------------------------------------------------------- Parallel, Map


def test_parallel_compiles_each_branch_with_its_own_end_and_stores_the_list() -> None:
    doc = asl(Parallel("p", branches=[[Wait("w", seconds=1)], [Succeed("s")]], result="both"), Succeed("done"))
    par = doc["States"]["p"]
    assert par["ResultPath"] == "$.both" and par["Next"] == "done"
    assert par["Branches"] == [
        {"StartAt": "w", "States": {"w": {"Type": "Wait", "Seconds": 1, "End": True}}},
        {"StartAt": "s", "States": {"s": {"Type": "Succeed"}}},
    ]
    assert asl(Parallel("q", branches=[[Succeed("a")], [Succeed("b")]]))["States"]["q"]["ResultPath"] is None


@pytest.mark.parametrize(("given", "emitted"), [(None, 0), (5, 5)])
def test_map_is_inline_over_item_and_index_with_max_concurrency(given: int | None, emitted: int) -> None:
    doc = asl(Map("lines", items="$.order.lines", steps=[Task("p", "price")], max_concurrency=given, result="out"))
    wrapper = doc["States"]["lines"]
    assert wrapper["Type"] == "Parallel" and wrapper["ResultPath"] == "$.out" and wrapper["Next"] == "lines@result"
    states = wrapper["Branches"][0]["States"]
    mapped = states["lines@map"]
    assert mapped["ItemsPath"] == "$.items"
    assert mapped["ItemSelector"] == {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}
    assert mapped["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert mapped["ItemProcessor"]["StartAt"] == "p"
    assert mapped["MaxConcurrency"] == emitted
    assert mapped["End"] is True


def test_map_items_are_checked_inside_the_block_so_its_catch_sees_the_failures() -> None:
    wrapper = asl(Map("m", items="$.xs", steps=[Succeed("s")], catch=[Catch(steps=[])]))["States"]["m"]
    branch = wrapper["Branches"][0]
    assert branch["StartAt"] == "m@items"
    states = branch["States"]
    first, second = states["m@items"]["Choices"]
    assert first == {"Not": {"Variable": "$.xs", "IsPresent": True}, "Next": "m@no-items"}
    assert second["Next"] == "m@not-list"
    assert {tuple(sorted(rule)) for rule in second["Or"]} == {
        ("IsNull", "Variable"),
        ("IsString", "Variable"),
        ("IsNumeric", "Variable"),
        ("IsBoolean", "Variable"),
    }
    assert states["m@items"]["Default"] == "m@probe"
    assert states["m@probe"]["Parameters"] == {
        "items.$": "$.xs",
        "probe.$": "States.ArrayGetItem(States.StringSplit(States.JsonToString($.xs), ','), 0)",
    }
    assert states["m@is-list"]["Choices"] == [{"Variable": "$.probe", "StringMatches": "[*", "Next": "m@map"}]
    assert states["m@is-list"]["Default"] == "m@not-list"
    assert states["m@no-items"] == {"Type": "Fail", "Error": "PathNotFound", "Cause": "$.xs is not in the state"}
    assert states["m@not-list"] == {"Type": "Fail", "Error": "InvalidItems", "Cause": "$.xs is not a list"}


# ---------------------------------------------------------------- Choice, Wait, Fail, Succeed


def test_choice_cases_and_default_rejoin_at_the_next_step() -> None:
    states = asl(
        Choice(
            "route",
            cases=[Case(Exists("$.a"), [Wait("wa", seconds=1)]), Case(Exists("$.b"), [Wait("wb", seconds=2)])],
            default=[],
        ),
        Wait("after", seconds=3),
    )["States"]
    route = states["route"]
    assert [c["Next"] for c in route["Choices"]] == ["wa", "wb"]
    assert route["Default"] == "after"
    assert states["wa"]["Next"] == states["wb"]["Next"] == "after"
    assert "End" not in route


def test_a_final_choice_with_no_default_ends_through_a_join_pass() -> None:
    states = asl(Choice("last", cases=[Case(Exists("$.a"), [Succeed("yes")])]))["States"]
    assert states["last"]["Default"] == "last@end"
    assert states["last@end"] == {"Type": "Pass", "End": True}


def test_fail_succeed_and_wait() -> None:
    states = asl(Wait("w", seconds=0), Fail("boom", error="Boom", cause="it broke"))["States"]
    assert states["w"] == {"Type": "Wait", "Seconds": 0, "Next": "boom"}
    assert states["boom"] == {"Type": "Fail", "Error": "Boom", "Cause": "it broke"}
    assert asl(Fail("Plain"))["States"]["Plain"] == {"Type": "Fail", "Error": "Plain"}  # no empty Cause
    assert asl(Succeed("ok"))["States"]["ok"] == {"Type": "Succeed"}


# ---------------------------------------------------------------- conditions


def _present(path: str = "$.v") -> dict[str, Any]:
    return {"Variable": path, "IsPresent": True}


def _typed(family: str, operator: str, value: Any) -> list[dict[str, Any]]:
    return [{"Variable": "$.v", f"Is{family}": True}, {"Variable": "$.v", f"{family}{operator}": value}]


CONDITIONS = [
    (Eq("$.v", "x"), {"And": [_present(), *_typed("String", "Equals", "x")]}),
    (Eq("$.v", 2), {"And": [_present(), *_typed("Numeric", "Equals", 2)]}),
    (Eq("$.v", 2.5), {"And": [_present(), *_typed("Numeric", "Equals", 2.5)]}),
    (Eq("$.v", True), {"And": [_present(), *_typed("Boolean", "Equals", True)]}),
    (Eq("$.v", None), {"And": [_present(), {"Variable": "$.v", "IsNull": True}]}),
    (Ne("$.v", "x"), {"And": [_present(), {"Not": {"And": _typed("String", "Equals", "x")}}]}),
    (Ne("$.v", None), {"And": [_present(), {"Not": {"Variable": "$.v", "IsNull": True}}]}),
    (Lt("$.v", 3), {"And": [_present(), *_typed("Numeric", "LessThan", 3)]}),
    (Le("$.v", "m"), {"And": [_present(), *_typed("String", "LessThanEquals", "m")]}),
    (Gt("$.v", 0.5), {"And": [_present(), *_typed("Numeric", "GreaterThan", 0.5)]}),
    (Ge("$.v", "a"), {"And": [_present(), *_typed("String", "GreaterThanEquals", "a")]}),
    (Exists("$.v"), _present()),
    (IsNull("$.v"), {"And": [_present(), {"Variable": "$.v", "IsNull": True}]}),
    (Not(Exists("$.v")), {"Not": _present()}),
    (And(Exists("$.v")), _present()),
    (Or(Exists("$.a"), Exists("$.b")), {"Or": [_present("$.a"), _present("$.b")]}),
]


@pytest.mark.parametrize(("cond", "rule"), CONDITIONS, ids=[str(c) for c, _ in CONDITIONS])
def test_every_comparison_is_guarded_by_presence_and_type(cond: Any, rule: dict[str, Any]) -> None:
    choice = asl(Choice("c", cases=[Case(cond, [Succeed("s")])]))["States"]["c"]
    assert choice["Choices"] == [{**rule, "Next": "s"}]
    steps = definition_to_json(WorkflowArgs(steps=[Choice("c", cases=[Case(cond, [Succeed("s")])])]))["steps"]
    assert condition(steps[0]["cases"][0]["when"]) == rule


# ---------------------------------------------------------------- names, determinism, checks


def _long(prefix: str) -> str:
    return (prefix + "x" * 64)[:64]


def test_state_names_are_unique_within_80_characters_and_allowed_by_aws() -> None:
    # 64-character step names (the model's maximum) with every kind of helper state.
    catches = [Catch(errors=[f"E{i}"], result="e", steps=[]) for i in range(11)]
    args = {f"k{i}": f"$.p{i}" for i in range(12)}
    last = Choice(_long("c"), cases=[Case(Exists("$.z"), [Wait(_long("w"), seconds=1)])])
    doc = asl(
        Task(_long("a"), "echo", args=args, result="r", timeout_s=5, retry=Retry(), catch=catches),
        Map(
            _long("m"),
            items="$.xs",
            steps=[Task(_long("t"), "echo")],
            result="o",
            catch=[Catch(result="e", steps=[last])],
        ),
    )
    names = [name for name, _ in all_states(doc["States"])]
    assert len(names) == len(set(names))
    assert all(STATE_NAME.match(name) for name in names), [n for n in names if not STATE_NAME.match(n)]
    assert max(len(name) for name in names) <= 80
    for golden in GOLDEN:
        names = [
            name for name, _ in all_states(compile_asl(golden.definition, ARNS | _all_arns(), workflow="g")["States"])
        ]
        assert len(names) == len(set(names)), golden.name
        assert all(STATE_NAME.match(name) for name in names), golden.name


def _all_arns() -> dict[str, str]:
    return {name: f"arn:aws:lambda:eu-west-1:123456789012:function:fn-{name}" for name in ("boom", "flaky", "slow")}


def test_compiling_is_deterministic_and_in_flow_order() -> None:
    golden = next(g for g in GOLDEN if g.name == "retry-exhausted-into-catch")
    first = compile_asl(golden.definition, ARNS | _all_arns(), workflow="w")
    assert json.dumps(first) == json.dumps(compile_asl(golden.definition, ARNS | _all_arns(), workflow="w"))
    assert first["QueryLanguage"] == "JSONPath"
    assert next(iter(first["States"])) == first["StartAt"] == "t"


def test_literal_args_under_keys_ending_in_dollar_are_rejected_for_aws() -> None:
    for args, field in (({"a.$": 1}, "steps[0].args.a.$"), ({"meta": [{"k.$": "v"}]}, "steps[0].args.meta[0].k.$")):
        definition = definition_to_json(WorkflowArgs(steps=[Task("t", "echo", args=args)]))
        with pytest.raises(InvalidArgsError) as caught:
            check_definition(definition)
        assert (caught.value.field, caught.value.cloud) == (field, "aws")
        with pytest.raises(InvalidArgsError):
            compile_asl(definition, ARNS, workflow="wf")
    # A path under such a key is fine: ASL strips one ".$".
    ok = definition_to_json(WorkflowArgs(steps=[Task("t", "echo", args={"a.$": "$.x"})]))
    check_definition(ok)
    assert compile_asl(ok, ARNS, workflow="wf")["States"]["t"]["Parameters"]["Payload"]["input"] == {"a.$.$": "$.x"}


def test_nested_literals_are_checked_in_every_kind_of_step_list() -> None:
    bad = Task("bad", "echo", args={"x": {"y.$": 1}})
    for steps in (
        [Choice("c", cases=[Case(Exists("$.a"), [bad])])],
        [Parallel("p", branches=[[Succeed("s")], [bad]])],
        [Map("m", items="$.xs", steps=[bad])],
        [Task("t", "echo", catch=[Catch(steps=[bad])])],
    ):
        with pytest.raises(InvalidArgsError, match=r"y\.\$"):
            check_definition(definition_to_json(WorkflowArgs(steps=steps)))


def test_an_unknown_function_or_version_is_an_error_naming_the_field() -> None:
    definition = definition_to_json(WorkflowArgs(steps=[Wait("w", seconds=1), Task("t", "missing")]))
    with pytest.raises(InvalidArgsError) as caught:
        compile_asl(definition, ARNS, workflow="wf")
    assert caught.value.field == "steps[1].function" and caught.value.value == "missing"
    with pytest.raises(InvalidArgsError, match="version"):
        check_definition({"version": 2, "steps": []})


@pytest.mark.slow
def test_the_compiler_imports_no_pulumi_and_no_aws_sdk() -> None:
    heavy = ("pulumi", "pulumi_aws", "boto3", "botocore", "pydantic")
    probe = f"import sys, providers.aws.asl; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_empty_branch_in_a_plain_definition_is_an_error_naming_it() -> None:
    definition = {
        "version": 1,
        "steps": [{"type": "Parallel", "name": "p", "branches": [[{"type": "Succeed", "name": "s"}], []]}],
    }
    with pytest.raises(InvalidArgsError) as caught:
        compile_asl(definition, ARNS, workflow="wf")
    assert caught.value.field == "steps[0].branches[1]"
