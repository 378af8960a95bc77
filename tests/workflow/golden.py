"""Golden workflows: every construct, with the outcome the portable semantics promise.

Each :class:`Golden` is a definition (built with the public model), an input and the expected
final status, output or error/cause, written by hand from the semantics documented in
:mod:`components.runtime.orchestration.interpreter`. The local interpreter must produce exactly
these (``test_golden_local``); every cloud executor must agree with the local interpreter
(the agreement tests beside it). Tasks call the handlers in :mod:`tests.workflow.handlers`
by name.

Counter keys of ``flaky`` are unique per fixture, so fixtures can run in any order as long as
the counters directory is emptied before each run (:func:`run_local` and the executors do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from components.runtime.orchestration.definition import iter_steps
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

Feature = Literal["retry", "catch", "wait", "timeout", "choice", "parallel", "map", "succeed", "fail", "python-error"]


@dataclass(frozen=True)
class Golden:
    """One golden workflow and the outcome every target must produce."""

    name: str
    steps: list[Any]
    input: dict[str, Any]
    status: Literal["SUCCEEDED", "FAILED"]
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    sleeps: tuple[float, ...] = ()
    """What the local interpreter's fake clock records (waits and retry back-off, in order)."""
    features: frozenset[str] = field(default_factory=frozenset)

    @property
    def definition(self) -> dict[str, Any]:
        return definition_to_json(WorkflowArgs(steps=self.steps))

    @property
    def functions(self) -> set[str]:
        """The handler names the definition calls."""
        return _functions(self.definition["steps"])


def _functions(steps: list[dict[str, Any]]) -> set[str]:
    return {step["function"] for _, step in iter_steps(steps) if step["type"] == "Task"}


def _g(name: str, steps: list[Any], input: dict[str, Any], *features: str, **outcome: Any) -> Golden:
    status = "FAILED" if "error" in outcome else "SUCCEEDED"
    sleeps = tuple(outcome.pop("sleeps", ()))
    return Golden(name, steps, input, status, sleeps=sleeps, features=frozenset(features), **outcome)


LINES = [
    {"sku": "a", "qty": 2, "unit": 5},
    {"sku": "b", "qty": 1, "unit": 7},
    {"sku": "c", "qty": 3, "unit": 1},
]
PRICE_ARGS = {"sku": "$.item.sku", "qty": "$.item.qty", "unit": "$.item.unit"}


def _priced(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"item": line, "index": i, "line": {"sku": line["sku"], "total": line["qty"] * line["unit"]}}
        for i, line in enumerate(lines)
    ]


GOLDEN: list[Golden] = [
    # ---------------------------------------------------------------- Task
    _g(
        "task-whole-state",
        [Task("t", "echo", result="r")],
        {"a": 1, "b": [1, 2]},
        output={"a": 1, "b": [1, 2], "r": {"a": 1, "b": [1, 2]}},
    ),
    _g(
        "task-args-paths-and-literals",
        [
            Task(
                "t", "echo", args={"id": "$.order.id", "n": 5, "flag": True, "meta": {"k": "v"}, "all": "$"}, result="r"
            )
        ],
        {"order": {"id": "o-1"}},
        output={
            "order": {"id": "o-1"},
            "r": {"id": "o-1", "n": 5, "flag": True, "meta": {"k": "v"}, "all": {"order": {"id": "o-1"}}},
        },
    ),
    _g("task-result-discarded", [Task("t", "add", args={"a": 1, "b": 2})], {"x": 1}, output={"x": 1}),
    _g(
        "task-chain-scalar-results",
        [
            Task("first", "add", args={"a": "$.x", "b": 10}, result="y"),
            Task("second", "add", args={"a": "$.y", "b": "$.y"}, result="z"),
        ],
        {"x": 1},
        output={"x": 1, "y": 11, "z": 22},
    ),
    _g(
        "task-result-overwrites-key",
        [Task("t", "add", args={"a": "$.x", "b": 1}, result="x")],
        {"x": 41},
        output={"x": 42},
    ),
    _g(
        "task-missing-arg-path-fails",
        [Task("t", "echo", args={"v": "$.missing.deep"}, result="r")],
        {"missing": {}},
        "fail",
        error="PathNotFound",
        cause="$.missing.deep is not in the state",
    ),
    _g(
        "task-missing-arg-path-caught",
        [Task("t", "echo", args={"v": "$.nope"}, catch=[Catch(result="err", steps=[])])],
        {"k": 1},
        "catch",
        output={"k": 1, "err": {"error": "PathNotFound", "cause": "$.nope is not in the state"}},
    ),
    _g(
        "task-error-uncaught",
        [Task("charge", "fail", args={"error": "PaymentDeclined", "cause": "card expired"}), Succeed("unreached")],
        {},
        "fail",
        error="PaymentDeclined",
        cause="card expired",
    ),
    _g(
        "task-python-exception",
        [Task("t", "boom", args={"message": "bad sku 'x'"})],
        {},
        "python-error",
        error="ValueError",
        cause="bad sku 'x'",
    ),
    # ---------------------------------------------------------------- Retry
    _g(
        "retry-succeeds-late",
        [
            Task(
                "t",
                "flaky",
                args={"key": "retry-succeeds-late", "fail_times": 2},
                result="r",
                retry=Retry(max_retries=3, interval_s=1, backoff_rate=2.0),
            )
        ],
        {},
        "retry",
        output={"r": {"attempts": 3}},
        sleeps=(1, 2),
    ),
    _g(
        "retry-exhausted-uncaught",
        [
            Task(
                "t",
                "flaky",
                args={"key": "retry-exhausted-uncaught", "fail_times": 9},
                retry=Retry(max_retries=2, interval_s=2, backoff_rate=1.5),
            )
        ],
        {},
        "retry",
        error="Flaky",
        cause="attempt 3",
        sleeps=(2, 3),
    ),
    _g(
        "retry-exhausted-into-catch",
        [
            Task(
                "t",
                "flaky",
                args={"key": "retry-exhausted-into-catch", "fail_times": 9, "error": "Throttled"},
                retry=Retry(errors=["Throttled"], max_retries=1, interval_s=1),
                catch=[
                    Catch(
                        errors=["Throttled"],
                        result="err",
                        steps=[Task("after", "echo", args={"ok": 1}, result="handled")],
                    )
                ],
            ),
            Task("next", "add", args={"a": 1, "b": 1}, result="two"),
        ],
        {"id": 7},
        "retry",
        "catch",
        output={
            "id": 7,
            "err": {"error": "Throttled", "cause": "attempt 2"},
            "handled": {"ok": 1},
            "two": 2,
        },
        sleeps=(1,),
    ),
    _g(
        "retry-other-error-not-retried",
        [
            Task(
                "t",
                "flaky",
                args={"key": "retry-other-error-not-retried", "fail_times": 1, "error": "Fatal"},
                retry=Retry(errors=["Throttled", "Busy"], max_retries=5),
            )
        ],
        {},
        "retry",
        error="Fatal",
        cause="attempt 1",
    ),
    _g(
        "retry-zero-retries",
        [Task("t", "flaky", args={"key": "retry-zero-retries", "fail_times": 1}, retry=Retry(max_retries=0))],
        {},
        "retry",
        error="Flaky",
        cause="attempt 1",
    ),
    _g(
        "retry-max-delay-caps-backoff",
        [
            Task(
                "t",
                "flaky",
                args={"key": "retry-max-delay", "fail_times": 4},
                result="r",
                retry=Retry(max_retries=4, interval_s=2, backoff_rate=3.0, max_delay_s=10),
            )
        ],
        {},
        "retry",
        output={"r": {"attempts": 5}},
        sleeps=(2, 6, 10, 10),
    ),
    # ---------------------------------------------------------------- Catch
    _g(
        "catch-first-matching-wins",
        [
            Task(
                "t",
                "fail",
                args={"error": "Declined", "cause": "no funds"},
                catch=[
                    Catch(
                        errors=["Declined"],
                        result="why",
                        steps=[Task("declined", "echo", args={"via": "declined"}, result="route")],
                    ),
                    Catch(steps=[Task("other", "echo", args={"via": "other"}, result="route")]),
                ],
            )
        ],
        {},
        "catch",
        output={"why": {"error": "Declined", "cause": "no funds"}, "route": {"via": "declined"}},
    ),
    _g(
        "catch-falls-to-all",
        [
            Task(
                "t",
                "boom",
                args={"message": "kaput"},
                catch=[
                    Catch(
                        errors=["Declined"], steps=[Task("declined2", "echo", args={"via": "declined"}, result="route")]
                    ),
                    Catch(result="why", steps=[Task("other2", "echo", args={"via": "other"}, result="route")]),
                ],
            )
        ],
        {"n": 0},
        "catch",
        "python-error",
        output={"n": 0, "why": {"error": "ValueError", "cause": "kaput"}, "route": {"via": "other"}},
    ),
    _g(
        "catch-without-result-keeps-input",
        [
            Task("t", "fail", args={"error": "E", "cause": "c"}, result="r", catch=[Catch(steps=[])]),
            Task("then", "echo", args={"n": "$.n"}, result="after"),
        ],
        {"n": 3},
        "catch",
        output={"n": 3, "after": {"n": 3}},
    ),
    _g(
        "catch-unmatched-propagates",
        [Task("t", "fail", args={"error": "Other", "cause": "x"}, catch=[Catch(errors=["Declined"], steps=[])])],
        {},
        "catch",
        error="Other",
        cause="x",
    ),
    _g(
        "catch-then-fail-rethrows",
        [
            Task(
                "t",
                "fail",
                args={"error": "Declined", "cause": "no"},
                catch=[Catch(steps=[Fail("wrapped", error="CheckoutFailed", cause="payment step failed")])],
            ),
            Succeed("unreached"),
        ],
        {},
        "catch",
        "fail",
        error="CheckoutFailed",
        cause="payment step failed",
    ),
    _g(
        "catch-result-replaces-key",
        [Task("t", "fail", args={"error": "E", "cause": "c"}, catch=[Catch(result="status", steps=[])])],
        {"status": "new"},
        "catch",
        output={"status": {"error": "E", "cause": "c"}},
    ),
    # ---------------------------------------------------------------- Choice
    _g(
        "choice-eq-string-then-rejoin",
        [
            Choice(
                "kind",
                cases=[
                    Case(Eq("$.kind", "book"), [Task("book", "echo", args={"shelf": 1}, result="placed")]),
                    Case(Eq("$.kind", "food"), [Task("food", "echo", args={"fridge": 1}, result="placed")]),
                ],
                default=[Task("misc", "echo", args={"bin": 1}, result="placed")],
            ),
            Task("after", "echo", args={"placed": "$.placed"}, result="summary"),
        ],
        {"kind": "food"},
        "choice",
        output={"kind": "food", "placed": {"fridge": 1}, "summary": {"placed": {"fridge": 1}}},
    ),
    _g(
        "choice-numeric-and-or-not",
        [
            Choice(
                "band",
                cases=[
                    Case(
                        And(Ge("$.n", 10), Lt("$.n", 20), Not(Eq("$.n", 15))),
                        [Task("teen", "echo", args={"band": "teen"}, result="b")],
                    ),
                    Case(Or(Lt("$.n", 0), Gt("$.n", 100)), [Task("out", "echo", args={"band": "out"}, result="b")]),
                ],
                default=[Task("other", "echo", args={"band": "other"}, result="b")],
            )
        ],
        {"n": 12.5},
        "choice",
        output={"n": 12.5, "b": {"band": "teen"}},
    ),
    _g(
        "choice-default-branch",
        [
            Choice(
                "band2",
                cases=[Case(And(Ge("$.n", 10), Le("$.n", 20)), [Task("in", "echo", args={"band": "in"}, result="b")])],
                default=[Task("dflt", "echo", args={"band": "default"}, result="b")],
            )
        ],
        {"n": 21},
        "choice",
        output={"n": 21, "b": {"band": "default"}},
    ),
    _g(
        "choice-empty-default-rejoins",
        [
            Choice("maybe", cases=[Case(Eq("$.go", True), [Task("go", "echo", args={"went": True}, result="r")])]),
            Task("last", "add", args={"a": 2, "b": 3}, result="five"),
        ],
        {"go": False},
        "choice",
        output={"go": False, "five": 5},
    ),
    _g(
        "choice-exists-and-is-null",
        [
            Choice(
                "nulls",
                cases=[
                    Case(Not(Exists("$.a")), [Task("no-a", "echo", args={"case": "no-a"}, result="r")]),
                    Case(
                        And(IsNull("$.a"), Exists("$.b")), [Task("null-a", "echo", args={"case": "null-a"}, result="r")]
                    ),
                ],
                default=[Task("neither", "echo", args={"case": "neither"}, result="r")],
            )
        ],
        {"a": None, "b": 0},
        "choice",
        output={"a": None, "b": 0, "r": {"case": "null-a"}},
    ),
    _g(
        "choice-missing-path-compares-false",
        [
            Choice(
                "missing",
                cases=[
                    Case(Ne("$.absent", "x"), [Task("ne", "echo", args={"case": "ne"}, result="r")]),
                    Case(Lt("$.s", 5), [Task("str-vs-num", "echo", args={"case": "lt"}, result="r")]),
                ],
                default=[Task("d", "echo", args={"case": "default"}, result="r")],
            )
        ],
        {"s": "3"},
        "choice",
        output={"s": "3", "r": {"case": "default"}},
    ),
    _g(
        "choice-string-order-and-bool",
        [
            Choice(
                "strings",
                cases=[
                    Case(
                        And(Gt("$.name", "apple"), Le("$.name", "banana"), Eq("$.vip", True)),
                        [Task("vip", "echo", args={"case": "vip"}, result="r")],
                    ),
                ],
                default=[Fail("not-vip", error="NotVip", cause="no")],
            )
        ],
        {"name": "avocado", "vip": True},
        "choice",
        output={"name": "avocado", "vip": True, "r": {"case": "vip"}},
    ),
    _g(
        "choice-default-fail",
        [
            Choice(
                "stock",
                cases=[Case(Gt("$.stock", 0), [Task("ship", "echo", result="r")])],
                default=[Fail("OutOfStock", cause="stock is 0")],
            ),
            Succeed("unreached"),
        ],
        {"stock": 0},
        "choice",
        "fail",
        error="OutOfStock",
        cause="stock is 0",
    ),
    _g(
        "choice-succeed-ends-execution",
        [
            Choice("early", cases=[Case(Eq("$.done", True), [Succeed("finish")])]),
            Task("not-run", "fail", args={"error": "ShouldNotRun", "cause": ""}),
        ],
        {"done": True},
        "choice",
        "succeed",
        output={"done": True},
    ),
    # ---------------------------------------------------------------- Parallel
    _g(
        "parallel-branch-results-in-order",
        [
            Parallel(
                "both",
                branches=[
                    [Task("left", "add", args={"a": "$.x", "b": 1}, result="l")],
                    [
                        Task("right", "echo", args={"x": "$.x"}, result="r"),
                        Task("right2", "add", args={"a": 2, "b": 2}, result="r2"),
                    ],
                ],
                result="both",
            )
        ],
        {"x": 1},
        "parallel",
        output={"x": 1, "both": [{"x": 1, "l": 2}, {"x": 1, "r": {"x": 1}, "r2": 4}]},
    ),
    _g(
        "parallel-failing-branch-caught",
        [
            Parallel(
                "fanout",
                branches=[
                    [Task("ok", "echo", result="r")],
                    [Task("bad", "fail", args={"error": "BranchDown", "cause": "b2"})],
                ],
                result="out",
                catch=[Catch(errors=["BranchDown"], result="err", steps=[])],
            )
        ],
        {"v": 1},
        "parallel",
        "catch",
        output={"v": 1, "err": {"error": "BranchDown", "cause": "b2"}},
    ),
    _g(
        "parallel-failing-branch-uncaught",
        [Parallel("fanout2", branches=[[Task("ok2", "echo")], [Fail("down", error="BranchDown", cause="b2")]])],
        {},
        "parallel",
        "fail",
        error="BranchDown",
        cause="b2",
    ),
    _g(
        "parallel-succeed-ends-branch-only",
        [
            Parallel(
                "branches",
                branches=[
                    [
                        Succeed("stop-a"),
                    ],
                    [Task("b", "add", args={"a": 1, "b": 1}, result="two")],
                ],
                result="res",
            ),
            Task("after-par", "echo", args={"n": 1}, result="after"),
        ],
        {"k": "v"},
        "parallel",
        "succeed",
        output={"k": "v", "res": [{"k": "v"}, {"k": "v", "two": 2}], "after": {"n": 1}},
    ),
    _g(
        "parallel-retry-reruns-block",
        [
            Parallel(
                "retried",
                branches=[
                    [Task("steady", "echo", args={"s": 1}, result="s")],
                    [Task("wobbly", "flaky", args={"key": "parallel-retry", "fail_times": 1}, result="w")],
                ],
                result="res",
                retry=Retry(max_retries=2, interval_s=3, backoff_rate=1.0),
            )
        ],
        {},
        "parallel",
        "retry",
        output={"res": [{"s": {"s": 1}}, {"w": {"attempts": 2}}]},
        sleeps=(3,),
    ),
    # ---------------------------------------------------------------- Map
    _g(
        "map-results-in-item-order",
        [
            Map(
                "lines",
                items="$.lines",
                steps=[Task("price", "price", args=PRICE_ARGS, result="line")],
                result="priced",
            )
        ],
        {"lines": LINES},
        "map",
        output={"lines": LINES, "priced": _priced(LINES)},
    ),
    _g(
        "map-empty-list",
        [
            Map(
                "none",
                items="$.lines",
                steps=[Task("price0", "price", args=PRICE_ARGS, result="line")],
                result="priced",
            )
        ],
        {"lines": []},
        "map",
        output={"lines": [], "priced": []},
    ),
    _g(
        "map-max-concurrency-scalars",
        [
            Map(
                "squares",
                items="$.xs",
                max_concurrency=2,
                steps=[Task("sq", "add", args={"a": "$.item", "b": "$.item"}, result="double")],
                result="out",
            )
        ],
        {"xs": [1, 2, 3, 4, 5]},
        "map",
        output={
            "xs": [1, 2, 3, 4, 5],
            "out": [{"item": x, "index": i, "double": 2 * x} for i, x in enumerate([1, 2, 3, 4, 5])],
        },
    ),
    _g(
        "map-item-failure-caught",
        [
            Map(
                "lines2",
                items="$.lines",
                steps=[Task("price2", "price", args=PRICE_ARGS, result="line")],
                result="priced",
                catch=[Catch(errors=["InvalidLine"], result="err", steps=[])],
            )
        ],
        {"lines": [{"sku": "a", "qty": 1, "unit": 1}, {"sku": "z", "qty": 0, "unit": 1}]},
        "map",
        "catch",
        output={
            "lines": [{"sku": "a", "qty": 1, "unit": 1}, {"sku": "z", "qty": 0, "unit": 1}],
            "err": {"error": "InvalidLine", "cause": "z: qty must be positive"},
        },
    ),
    _g(
        "map-item-failure-uncaught",
        [Map("lines3", items="$.lines", steps=[Task("price3", "price", args=PRICE_ARGS)])],
        {"lines": [{"sku": "q", "qty": -1, "unit": 1}]},
        "map",
        error="InvalidLine",
        cause="q: qty must be positive",
    ),
    _g(
        "map-retry-inside-item",
        [
            Map(
                "retry-each",
                items="$.keys",
                steps=[
                    Task(
                        "attempt",
                        "flaky",
                        args={"key": "$.item", "fail_times": 1},
                        result="r",
                        retry=Retry(max_retries=1, interval_s=1),
                    )
                ],
                result="out",
            )
        ],
        {"keys": ["map-retry-a", "map-retry-b"]},
        "map",
        "retry",
        output={
            "keys": ["map-retry-a", "map-retry-b"],
            "out": [
                {"item": "map-retry-a", "index": 0, "r": {"attempts": 2}},
                {"item": "map-retry-b", "index": 1, "r": {"attempts": 2}},
            ],
        },
        sleeps=(1, 1),
    ),
    _g(
        "map-items-missing",
        [Map("absent", items="$.nothing", steps=[Task("e", "echo")])],
        {},
        "map",
        error="PathNotFound",
        cause="$.nothing is not in the state",
    ),
    _g(
        "map-items-not-a-list-caught",
        [Map("scalar", items="$.n", steps=[Task("e2", "echo")], catch=[Catch(result="err", steps=[])])],
        {"n": {"a": 1}},
        "map",
        "catch",
        output={"n": {"a": 1}, "err": {"error": "InvalidItems", "cause": "$.n is not a list"}},
    ),
    _g(
        "map-succeed-ends-iteration",
        [
            Map(
                "skip-some",
                items="$.xs",
                steps=[
                    Choice("small", cases=[Case(Lt("$.item", 2), [Succeed("skip")])]),
                    Task("big", "add", args={"a": "$.item", "b": 100}, result="v"),
                ],
                result="out",
            )
        ],
        {"xs": [1, 2]},
        "map",
        "succeed",
        "choice",
        output={"xs": [1, 2], "out": [{"item": 1, "index": 0}, {"item": 2, "index": 1, "v": 102}]},
    ),
    # ---------------------------------------------------------------- nesting
    _g(
        "nested-map-in-parallel-in-choice",
        [
            Choice(
                "route",
                cases=[
                    Case(
                        Exists("$.lines"),
                        [
                            Parallel(
                                "work",
                                branches=[
                                    [
                                        Map(
                                            "inner-map",
                                            items="$.lines",
                                            steps=[Task("p", "price", args=PRICE_ARGS, result="line")],
                                            result="priced",
                                        )
                                    ],
                                    [Task("count", "echo", args={"lines": "$.lines"}, result="copy")],
                                ],
                                result="work",
                            )
                        ],
                    )
                ],
            ),
            Task("finish", "echo", args={"first": "$.work"}, result="done"),
        ],
        {"lines": LINES[:2]},
        "choice",
        "parallel",
        "map",
        output={
            "lines": LINES[:2],
            "work": [
                {"lines": LINES[:2], "priced": _priced(LINES[:2])},
                {"lines": LINES[:2], "copy": {"lines": LINES[:2]}},
            ],
            "done": {
                "first": [
                    {"lines": LINES[:2], "priced": _priced(LINES[:2])},
                    {"lines": LINES[:2], "copy": {"lines": LINES[:2]}},
                ]
            },
        },
    ),
    _g(
        "nested-catch-inside-retry",
        [
            Parallel(
                "outer",
                branches=[
                    [
                        Task(
                            "inner",
                            "fail",
                            args={"error": "Inner", "cause": "i"},
                            catch=[Catch(errors=["Inner"], steps=[Fail("rethrow", error="Outer", cause="o")])],
                        )
                    ],
                    [Task("fine", "echo", args={"ok": True}, result="f")],
                ],
                retry=Retry(errors=["Outer"], max_retries=1, interval_s=5),
                catch=[
                    Catch(
                        errors=["Outer"],
                        result="err",
                        steps=[Task("report", "echo", args={"err": "$.err"}, result="reported")],
                    )
                ],
            )
        ],
        {},
        "parallel",
        "retry",
        "catch",
        output={"err": {"error": "Outer", "cause": "o"}, "reported": {"err": {"error": "Outer", "cause": "o"}}},
        sleeps=(5,),
    ),
    # ---------------------------------------------------------------- Wait, Fail, Succeed, timeouts
    _g(
        "wait-then-task",
        [Wait("pause", seconds=2), Task("t", "echo", args={"after": "wait"}, result="r")],
        {},
        "wait",
        output={"r": {"after": "wait"}},
        sleeps=(2,),
    ),
    _g("fail-top-level", [Fail("Boom", cause="nothing works")], {"a": 1}, "fail", error="Boom", cause="nothing works"),
    _g(
        "succeed-top-level-skips-nothing-after",
        [Task("t", "echo", args={"a": "$.a"}, result="r"), Succeed("done")],
        {"a": 1},
        "succeed",
        output={"a": 1, "r": {"a": 1}},
    ),
    _g(
        "task-timeout-uncaught",
        [Task("slowpoke", "slow", args={"seconds": 3}, timeout_s=1, result="r")],
        {},
        "timeout",
        error="Timeout",
        cause="task 'slowpoke' ran longer than 1s",
    ),
    _g(
        "task-timeout-caught",
        [
            Task(
                "slowpoke2",
                "slow",
                args={"seconds": 3},
                timeout_s=1,
                result="r",
                catch=[Catch(errors=["Timeout"], result="err", steps=[])],
            )
        ],
        {},
        "timeout",
        "catch",
        output={"err": {"error": "Timeout", "cause": "task 'slowpoke2' ran longer than 1s"}},
    ),
    _g(
        "task-within-timeout",
        [Task("quick", "slow", args={"seconds": 0}, timeout_s=5, result="r")],
        {},
        "timeout",
        output={"r": {"slept": 0}},
    ),
]
