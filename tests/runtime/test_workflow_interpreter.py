"""The reference interpreter: every construct, retries on a fake clock, random trees never crash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.runtime.orchestration import FakeClock, RealClock, TaskFailed, run
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


class Throttled(Exception):
    pass


class Boom(Exception):
    pass


class Functions:
    """A registry of fake functions; records every call."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, list[Exception]] = {}
        self.clock = clock
        self.durations: dict[str, float] = {}

    def __call__(self, name: str, payload: dict[str, Any]) -> Any:
        self.calls.append((name, payload))
        if self.clock is not None and name in self.durations:
            self.clock.advance(self.durations[name])
        pending = self.failures.get(name)
        if pending:
            raise pending.pop(0)
        if name == "double":
            return payload["item"] * 2
        if name == "fail_odd":
            if payload["item"] % 2:
                raise Boom(f"odd {payload['item']}")
            return payload["item"]
        if name == "explicit":
            raise TaskFailed("OutOfStock", "sku 42")
        return {"fn": name, "got": payload}


def execute(steps, input=None, fns=None, clock=None):
    clock = clock or FakeClock()
    fns = fns or Functions(clock)
    result = run(definition_to_json(WorkflowArgs(steps=steps)), input or {}, fns, clock)
    return result, fns, clock


def test_task_args_paths_literals_and_result():
    result, fns, _ = execute(
        [Task("t", "f", args={"id": "$.order.id", "mode": "fast", "n": 3}, result="out")], {"order": {"id": 7}}
    )
    assert result.status == "SUCCEEDED"
    assert fns.calls == [("f", {"id": 7, "mode": "fast", "n": 3})]
    assert result.output == {"order": {"id": 7}, "out": {"fn": "f", "got": {"id": 7, "mode": "fast", "n": 3}}}


def test_task_without_args_gets_whole_state_and_discards_output():
    result, fns, _ = execute([Task("t", "f")], {"a": 1})
    assert fns.calls == [("f", {"a": 1})]
    assert result.output == {"a": 1}


def test_missing_arg_path_fails_with_path_not_found():
    result, _, _ = execute([Task("t", "f", args={"x": "$.nope"})])
    assert (result.status, result.error) == ("FAILED", "PathNotFound")


def test_uncaught_failure_carries_class_name_and_message():
    fns = Functions()
    fns.failures["f"] = [Boom("kaput")]
    result, _, _ = execute([Task("t", "f"), Task("after", "g")], fns=fns)
    assert (result.status, result.error, result.cause, result.output) == ("FAILED", "Boom", "kaput", None)
    assert [c[0] for c in fns.calls] == ["f"]


def test_task_failed_sets_error_and_cause():
    result, _, _ = execute([Task("t", "explicit")])
    assert (result.error, result.cause) == ("OutOfStock", "sku 42")


def test_retry_succeeds_late_with_backoff_schedule_and_cap():
    clock = FakeClock()
    fns = Functions(clock)
    fns.failures["f"] = [Throttled("1"), Throttled("2"), Throttled("3"), Throttled("4")]
    retry = Retry(errors=["Throttled"], max_retries=5, interval_s=5, backoff_rate=2, max_delay_s=15)
    result, _, _ = execute([Task("t", "f", result="r", retry=retry)], fns=fns, clock=clock)
    assert result.status == "SUCCEEDED"
    assert clock.sleeps == [5, 10, 15, 15]
    assert len(fns.calls) == 5


def test_retry_ignores_unlisted_errors():
    fns = Functions()
    fns.failures["f"] = [Boom("x")]
    result, _, clock = execute([Task("t", "f", retry=Retry(errors=["Throttled"], max_retries=3))], fns=fns)
    assert result.error == "Boom" and clock.sleeps == []


def test_retries_exhausted_into_catch_then_continue():
    clock = FakeClock()
    fns = Functions(clock)
    fns.failures["f"] = [Throttled("a"), Throttled("b"), Throttled("c")]
    steps = [
        Task(
            "t",
            "f",
            result="r",
            retry=Retry(errors=["ALL"], max_retries=2, interval_s=1, backoff_rate=3),
            catch=[
                Catch(errors=["Boom"], steps=[Fail("Wrong")]),
                Catch(errors=["Throttled"], result="err", steps=[Task("compensate", "c", result="comp")]),
            ],
        ),
        Task("after", "g", args={"e": "$.err.error"}, result="g"),
    ]
    result, _, _ = execute(steps, {"k": 1}, fns=fns, clock=clock)
    assert result.status == "SUCCEEDED"
    assert clock.sleeps == [1, 3]
    assert result.output is not None
    assert result.output["err"] == {"error": "Throttled", "cause": "c"}
    assert "r" not in result.output and "comp" in result.output
    assert fns.calls[-1] == ("g", {"e": "Throttled"})


def test_catch_with_fail_fails_the_execution():
    fns = Functions()
    fns.failures["f"] = [Boom("x")]
    result, _, _ = execute(
        [Task("t", "f", catch=[Catch(errors=["ALL"], steps=[Fail("ReserveFailed", cause="no")])])], fns=fns
    )
    assert (result.status, result.error, result.cause) == ("FAILED", "ReserveFailed", "no")


def test_timeout_is_decided_by_the_clock_and_retryable():
    clock = FakeClock()
    fns = Functions(clock)
    fns.durations["slow"] = 10
    result, _, _ = execute(
        [Task("t", "slow", timeout_s=5, retry=Retry(errors=["Timeout"], max_retries=1))], fns=fns, clock=clock
    )
    assert result.error == "Timeout" and len(fns.calls) == 2
    fns.durations["slow"] = 5
    result, _, _ = execute([Task("t", "slow", timeout_s=5, result="r")], fns=fns, clock=clock)
    assert result.status == "SUCCEEDED"


def _choose(cond, inp):
    steps = [
        Choice(
            "c", cases=[Case(cond, [Task("yes", "yes", result="picked")])], default=[Task("no", "no", result="picked")]
        )
    ]
    result, _, _ = execute(steps, inp)
    assert result.output is not None
    return result.output["picked"]["fn"] == "yes"


@pytest.mark.parametrize(
    ("cond", "inp", "expected"),
    [
        (Eq("$.a", 1), {"a": 1}, True),
        (Eq("$.a", 1), {"a": 2}, False),
        (Eq("$.a", 1), {}, False),
        (Eq("$.a", True), {"a": 1}, False),
        (Eq("$.a.b", "x"), {"a": {"b": "x"}}, True),
        (Ne("$.a", 1), {"a": 2}, True),
        (Ne("$.a", 1), {}, False),
        (Lt("$.a", 3), {"a": 2}, True),
        (Lt("$.a", 3), {"a": "2"}, False),
        (Le("$.a", 3), {"a": 3}, True),
        (Gt("$.a", 3), {"a": 3.5}, True),
        (Gt("$.a", 3), {}, False),
        (Ge("$.a", "b"), {"a": "b"}, True),
        (Ge("$.a", 3), {"a": True}, False),
        (Exists("$.a"), {"a": None}, True),
        (Exists("$.a.b"), {"a": 1}, False),
        (IsNull("$.a"), {"a": None}, True),
        (IsNull("$.a"), {}, False),
        (And(Exists("$.a"), Gt("$.a", 0)), {"a": 1}, True),
        (And(Exists("$.a"), Gt("$.a", 0)), {}, False),
        (Or(Eq("$.a", 1), Eq("$.b", 2)), {"b": 2}, True),
        (Or(Eq("$.a", 1), Eq("$.b", 2)), {}, False),
        (Not(Exists("$.a")), {}, True),
        (Not(IsNull("$.a")), {"a": 0}, True),
    ],
)
def test_choice_conditions(cond, inp, expected):
    assert _choose(cond, inp) is expected


def test_choice_first_match_wins_and_rejoins():
    steps = [
        Choice(
            "c",
            cases=[
                Case(Gt("$.n", 0), [Task("pos", "pos", result="a")]),
                Case(Gt("$.n", -10), [Task("big", "big", result="a")]),
            ],
            default=[],
        ),
        Task("after", "after", result="b"),
    ]
    result, fns, _ = execute(steps, {"n": 5})
    assert [c[0] for c in fns.calls] == ["pos", "after"]
    result, fns, _ = execute(steps, {"n": -50})
    assert [c[0] for c in fns.calls] == ["after"] and result.status == "SUCCEEDED"


def test_parallel_results_in_branch_order_on_copies():
    steps = [Parallel("p", result="res", branches=[[Task("a", "a", result="x")], [Wait("w", seconds=3)]])]
    result, _, clock = execute(steps, {"k": 1})
    assert result.output == {"k": 1, "res": [{"k": 1, "x": {"fn": "a", "got": {"k": 1}}}, {"k": 1}]}
    assert clock.sleeps == [3]


def test_parallel_fails_if_any_branch_fails_and_is_catchable():
    steps = [Parallel("p", branches=[[Task("a", "a")], [Fail("Nope", cause="branch 2")]])]
    result, _, _ = execute(steps)
    assert (result.status, result.error, result.cause) == ("FAILED", "Nope", "branch 2")
    caught = [
        Parallel(
            "p", branches=[[Task("a", "a")], [Fail("Nope")]], catch=[Catch(errors=["Nope"], result="e", steps=[])]
        ),
        Succeed("ok"),
    ]
    result, _, _ = execute(caught)
    assert result.status == "SUCCEEDED" and result.output == {"e": {"error": "Nope", "cause": ""}}


def test_succeed_inside_branch_ends_only_that_branch():
    steps = [
        Parallel("p", result="res", branches=[[Succeed("early")], [Task("b", "b", result="y")]]),
        Task("after", "after", result="z"),
    ]
    result, fns, _ = execute(steps)
    assert result.status == "SUCCEEDED"
    assert [c[0] for c in fns.calls] == ["b", "after"]


def test_succeed_in_choice_ends_execution():
    steps = [Choice("c", cases=[Case(Exists("$.stop"), [Succeed("s")])]), Task("after", "after")]
    result, fns, _ = execute(steps, {"stop": 1})
    assert result.status == "SUCCEEDED" and fns.calls == []


def test_map_results_in_item_order():
    steps = [Map("m", items="$.xs", steps=[Task("d", "double", result="v")], max_concurrency=2, result="out")]
    result, _, _ = execute(steps, {"xs": [1, 2, 3]})
    assert result.output is not None
    assert [r["v"] for r in result.output["out"]] == [2, 4, 6]
    assert [r["index"] for r in result.output["out"]] == [0, 1, 2]


def test_map_with_failures_fails_or_is_caught():
    steps = [Map("m", items="$.xs", steps=[Task("f", "fail_odd")], result="out")]
    result, fns, _ = execute(steps, {"xs": [2, 3, 4]})
    assert (result.error, result.cause) == ("Boom", "odd 3")
    assert len(fns.calls) == 2
    caught = [Map("m", items="$.xs", steps=[Task("f", "fail_odd")], catch=[Catch(result="err", steps=[])])]
    result, _, _ = execute(caught, {"xs": [1]})
    assert result.status == "SUCCEEDED" and result.output == {"xs": [1], "err": {"error": "Boom", "cause": "odd 1"}}


def test_map_items_must_be_a_list():
    assert execute([Map("m", items="$.xs", steps=[Task("f", "f")])], {"xs": 3})[0].error == "InvalidItems"
    assert execute([Map("m", items="$.xs", steps=[Task("f", "f")])], {})[0].error == "PathNotFound"


def test_map_retry_reruns_whole_block():
    clock = FakeClock()
    fns = Functions(clock)
    fns.failures["f"] = [Throttled("x")]
    steps = [Map("m", items="$.xs", steps=[Task("f", "f")], retry=Retry(max_retries=1, interval_s=2))]
    result, _, _ = execute(steps, {"xs": [1, 2]}, fns=fns, clock=clock)
    assert result.status == "SUCCEEDED" and clock.sleeps == [2] and len(fns.calls) == 3


def test_nested_blocks():
    steps = [
        Map(
            "m",
            items="$.orders",
            result="priced",
            steps=[
                Choice(
                    "big",
                    cases=[
                        Case(
                            Gt("$.item.qty", 10),
                            [
                                Parallel(
                                    "p",
                                    result="both",
                                    branches=[[Task("a", "a")], [Task("b", "b", catch=[Catch(steps=[])])]],
                                ),
                            ],
                        )
                    ],
                    default=[Wait("w", seconds=1)],
                ),
            ],
        ),
        Succeed("done"),
    ]
    fns = Functions()
    fns.failures["b"] = [Boom("x")]
    result, _, clock = execute(steps, {"orders": [{"qty": 20}, {"qty": 1}]}, fns=fns)
    assert result.status == "SUCCEEDED" and clock.sleeps == [1]
    assert result.output is not None and len(result.output["priced"][0]["both"]) == 2


def test_wait_and_fail_top_level():
    result, _, clock = execute([Wait("w", seconds=10), Fail("Bad", cause="why")])
    assert clock.sleeps == [10] and (result.status, result.error, result.cause) == ("FAILED", "Bad", "why")


def test_real_clock_wait_zero():
    result = run(definition_to_json(WorkflowArgs(steps=[Wait("w", seconds=0)])), {}, Functions(), RealClock())
    assert result.status == "SUCCEEDED"


# ------------------------------------------------------------ property: never crashes

PATHS = st.sampled_from(["$", "$.a", "$.b", "$.a.b", "$.xs", "$.item", "$.nope"])
ERRORS = st.sampled_from(["Boom", "Throttled", "ALL", "Timeout"])
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y"]))


def conditions():
    leaf = st.one_of(
        st.builds(
            lambda op, p, v: {"op": op, "path": p, "value": v},
            st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]),
            PATHS,
            VALUES,
        ),
        st.builds(lambda op, p: {"op": op, "path": p}, st.sampled_from(["exists", "is_null"]), PATHS),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(
                lambda op, cs: {"op": op, "conds": cs},
                st.sampled_from(["and", "or"]),
                st.lists(inner, min_size=1, max_size=3),
            ),
            st.builds(lambda c: {"op": "not", "cond": c}, inner),
        ),
        max_leaves=5,
    )


def retries():
    return st.one_of(
        st.none(),
        st.builds(
            lambda errs, n, i, r, m: {
                "errors": errs,
                "max_retries": n,
                "interval_s": i,
                "backoff_rate": r,
                "max_delay_s": m,
            },
            st.lists(ERRORS, min_size=1, max_size=2),
            st.integers(0, 3),
            st.integers(1, 5),
            st.sampled_from([1.0, 2.0]),
            st.one_of(st.none(), st.integers(5, 10)),
        ),
    )


def step_lists(inner, min_size=1):
    body = st.lists(inner, min_size=min_size, max_size=3)
    terminal = st.one_of(
        st.none(), st.builds(lambda e: {"type": "Fail", "error": e, "cause": "c"}, ERRORS), st.just({"type": "Succeed"})
    )
    return st.builds(lambda b, t: b + ([t] if t else []), body, terminal)


def blocks(inner):
    catch = st.builds(
        lambda errs, res, steps: {"errors": errs, "result": res, "steps": steps},
        st.lists(ERRORS, min_size=1, max_size=2),
        st.sampled_from([None, "err"]),
        step_lists(inner, min_size=0),
    )
    return st.fixed_dictionaries(
        {"retry": retries(), "catch": st.lists(catch, max_size=2), "result": st.sampled_from([None, "r", "a"])}
    )


def steps_strategy():
    task = st.builds(
        lambda fn, args, t: {
            "type": "Task",
            "function": fn,
            "args": args,
            "timeout_s": t,
            "retry": None,
            "catch": [],
            "result": None,
        },
        st.sampled_from(["ok", "boom", "flaky", "slow", "explicit"]),
        st.one_of(st.none(), st.dictionaries(st.sampled_from(["x", "y"]), st.one_of(PATHS, VALUES), max_size=2)),
        st.one_of(st.none(), st.integers(1, 3)),
    )
    wait = st.builds(lambda s: {"type": "Wait", "seconds": s}, st.integers(0, 5))
    leaf = st.one_of(task, wait)

    def extend(inner):
        choice = st.builds(
            lambda cases, default: {"type": "Choice", "cases": cases, "default": default},
            st.lists(
                st.builds(lambda w, s: {"when": w, "steps": s}, conditions(), step_lists(inner)), min_size=1, max_size=3
            ),
            step_lists(inner, min_size=0),
        )
        parallel = st.builds(
            lambda br, blk: {"type": "Parallel", "branches": br, **blk},
            st.lists(step_lists(inner), min_size=2, max_size=3),
            blocks(inner),
        )
        mapping = st.builds(
            lambda items, steps, blk: {"type": "Map", "items": items, "steps": steps, "max_concurrency": None, **blk},
            st.sampled_from(["$.xs", "$.a", "$.nope"]),
            step_lists(inner),
            blocks(inner),
        )
        block_task = st.builds(lambda t, blk: {**t, **blk}, task, blocks(inner))
        return st.one_of(choice, parallel, mapping, block_task)

    return step_lists(st.recursive(leaf, extend, max_leaves=8))


def _name_all(steps, counter):
    for step in steps:
        counter[0] += 1
        step["name"] = f"s{counter[0]}"
        for key in ("steps", "default"):
            if key in step:
                _name_all(step[key], counter)
        for case in step.get("cases", []):
            _name_all(case["steps"], counter)
        for branch in step.get("branches", []):
            _name_all(branch, counter)
        for catch in step.get("catch") or []:
            _name_all(catch["steps"], counter)
    return steps


def _random_invoke(clock: FakeClock, rnd):
    def invoke(name: str, payload: dict[str, Any]) -> Any:
        if name == "boom":
            raise Boom("b")
        if name == "explicit":
            raise TaskFailed("Throttled", "t")
        if name == "flaky" and rnd.random() < 0.5:
            raise Throttled("f")
        if name == "slow":
            clock.advance(2)
        return {"ok": True, "n": len(payload)}

    return invoke


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=steps_strategy(),
    inp=st.fixed_dictionaries(
        {"a": st.one_of(VALUES, st.fixed_dictionaries({"b": VALUES})), "xs": st.lists(VALUES, max_size=3)}
    ),
    rnd=st.randoms(use_true_random=False),
)
def test_random_workflows_never_crash(steps, inp, rnd):
    import copy
    import json

    steps = _name_all(copy.deepcopy(steps), [0])
    clock = FakeClock()
    definition = json.loads(json.dumps({"version": 1, "steps": steps}))
    result = run(definition, inp, _random_invoke(clock, rnd), clock)
    assert result.status in ("SUCCEEDED", "FAILED")
    if result.status == "SUCCEEDED":
        assert isinstance(result.output, dict) and result.error is None
    else:
        assert result.output is None and isinstance(result.error, str)
