"""Random small portable workflows for the cloud agreement property tests (hypothesis).

Trees of Task (``echo``/``add``/``fail``/``flaky`` from :mod:`tests.workflow.handlers`), Choice,
Parallel, Map, Wait, Fail and Succeed with Retry/Catch, ASCII strings, and an input state that
sometimes lacks a key. Every drawn tree passes the model's validation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

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
)

TOP_PATHS = ("$.n", "$.s", "$.flag", "$.xs", "$.missing", "$.r1")
ITEM_PATHS = ("$.item", "$.index", "$.missing")
ERROR_NAMES = ("E1", "E2", "Flaky", "PathNotFound", "InvalidItems", "TypeError")
ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=6)
LITERAL_TEXT = ASCII.filter(lambda s: not s.startswith("$"))


class Tree:
    """Draws one random workflow whose outcome is deterministic on a concurrent executor.

    Concurrency is where AWS and the interpreter may legitimately differ (see the semantic gaps in
    :mod:`providers.aws.asl`), so only one branch of a Parallel may fail (the others are drawn
    "safe": they cannot fail), and inside a Map iteration every failure is item-independent
    (Choice subtrees there are safe, and ``flaky``, whose counters are per key, is not used).
    No value is null (ministack's IsPresent deviation, see ``tests/workflow/test_agreement_aws.py``).
    """

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw
        self.ids = itertools.count()

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids)}"

    def steps(self, depth: int, ctx: str, may_fail: bool, *, allow_empty: bool = False) -> list[Any]:
        count = self.draw(st.integers(0 if allow_empty else 1, 2))
        steps = [self.step(depth, ctx, may_fail) for _ in range(count)]
        if count and self.draw(st.integers(0, 3)) == 0:
            steps.append(self.terminal(may_fail))
        return steps

    def terminal(self, may_fail: bool) -> Any:
        if may_fail and self.draw(st.booleans()):
            return Fail(self.name("fail"), error=self.draw(st.sampled_from(("E1", "E2"))), cause=self.draw(ASCII))
        return Succeed(self.name("done"))

    def step(self, depth: int, ctx: str, may_fail: bool) -> Any:
        kinds = ["task", "task", "wait"] + (["choice", "parallel", "map"] if depth > 0 else [])
        kind = self.draw(st.sampled_from(kinds))
        if kind == "wait":
            return Wait(self.name("wait"), seconds=self.draw(st.integers(0, 2)))
        if kind == "choice":
            inner_may_fail = may_fail and ctx == "top"
            cases = [
                Case(self.condition(ctx, 2), self.steps(depth - 1, ctx, inner_may_fail))
                for _ in range(self.draw(st.integers(1, 2)))
            ]
            return Choice(
                self.name("choice"), cases=cases, default=self.steps(depth - 1, ctx, inner_may_fail, allow_empty=True)
            )
        if kind == "parallel":
            branches = [self.steps(depth - 1, ctx, may_fail), self.steps(depth - 1, ctx, False)]
            return Parallel(
                self.name("par"), branches=branches, result=self.result(), **self.handling(depth, ctx, may_fail)
            )
        if kind == "map":
            return self.map(depth, ctx, may_fail)
        return self.task(depth, ctx, may_fail)

    def map(self, depth: int, ctx: str, may_fail: bool) -> Any:
        if ctx == "top":
            items = self.draw(st.sampled_from(("$.xs", "$.n", "$.missing"))) if may_fail else "$.xs"
        elif may_fail:
            items = self.draw(st.sampled_from(("$.item", "$.missing")))
        else:  # no list is reachable from an iteration's state: keep it safe
            return self.task(depth, ctx, may_fail)
        return Map(
            self.name("map"),
            items=items,
            steps=self.steps(depth - 1, "item", may_fail),
            max_concurrency=self.draw(st.none() | st.integers(1, 3)),
            result=self.result(),
            **self.handling(depth, ctx, may_fail),
        )

    def task(self, depth: int, ctx: str, may_fail: bool) -> Any:
        paths = TOP_PATHS if ctx == "top" else ITEM_PATHS
        number = st.integers(-3, 3)
        if not may_fail:
            function, args = self.draw(
                st.sampled_from(
                    [
                        ("echo", None),
                        ("echo", {"k": self.draw(LITERAL_TEXT), "n": self.draw(number)}),
                        ("add", {"a": self.draw(number), "b": self.draw(number)}),
                    ]
                )
            )
        else:
            options = [
                ("echo", {"v": self.draw(st.sampled_from(paths)), "k": self.draw(LITERAL_TEXT)}),
                ("add", {"a": self.draw(st.sampled_from(paths)), "b": self.draw(number)}),
                ("fail", {"error": self.draw(st.sampled_from(("E1", "E2"))), "cause": self.draw(ASCII)}),
            ]
            if ctx == "top":
                options.append(
                    (
                        "flaky",
                        {
                            "key": self.name("key"),
                            "fail_times": self.draw(st.integers(0, 3)),
                            "error": self.draw(st.sampled_from(("Flaky", "E1"))),
                        },
                    )
                )
            function, args = self.draw(st.sampled_from(options))
        return Task(self.name("t"), function, args=args, result=self.result(), **self.handling(depth, ctx, may_fail))

    def result(self) -> str | None:
        return self.draw(st.sampled_from((None, "r1", "r2")))

    def handling(self, depth: int, ctx: str, may_fail: bool) -> dict[str, Any]:
        """Retry and Catch, only where the block can fail."""
        if not may_fail:
            return {}
        out: dict[str, Any] = {}
        if self.draw(st.booleans()):
            out["retry"] = Retry(
                errors=self.errors(),
                max_retries=self.draw(st.integers(0, 2)),
                interval_s=1,
                backoff_rate=self.draw(st.sampled_from((1.0, 2.0))),
            )
        if self.draw(st.booleans()):
            out["catch"] = [
                Catch(
                    errors=self.errors(),
                    result=self.draw(st.sampled_from((None, "err"))),
                    steps=self.steps(max(depth - 1, 0), ctx, may_fail, allow_empty=True),
                )
            ]
        return out

    def errors(self) -> list[str]:
        if self.draw(st.booleans()):
            return ["ALL"]
        return self.draw(st.lists(st.sampled_from(ERROR_NAMES), min_size=1, max_size=2, unique=True))

    def condition(self, ctx: str, depth: int) -> Any:
        paths = TOP_PATHS if ctx == "top" else ITEM_PATHS
        op = self.draw(
            st.sampled_from(
                ["eq", "ne", "lt", "le", "gt", "ge", "exists", "is_null"] + ["and", "or", "not"] * (depth > 0)
            )
        )
        if op in ("and", "or"):
            conds = [self.condition(ctx, depth - 1) for _ in range(self.draw(st.integers(1, 2)))]
            return (And if op == "and" else Or)(*conds)
        if op == "not":
            return Not(self.condition(ctx, depth - 1))
        path = self.draw(st.sampled_from(paths))
        if op == "exists":
            return Exists(path)
        if op == "is_null":
            return IsNull(path)
        scalars = st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False, width=32) | ASCII
        value = self.draw(scalars | st.booleans() | st.none()) if op in ("eq", "ne") else self.draw(scalars)
        return {"eq": Eq, "ne": Ne, "lt": Lt, "le": Le, "gt": Gt, "ge": Ge}[op](path, value)


@st.composite
def random_workflows(draw: Callable[[Any], Any]) -> tuple[WorkflowArgs, dict[str, Any]]:
    steps = Tree(draw).steps(2, "top", True)
    state: dict[str, Any] = {
        "n": draw(st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False, width=32) | ASCII),
        "s": draw(ASCII),
        "flag": draw(st.booleans()),
        "xs": draw(st.lists(st.integers(0, 9), max_size=3, unique=True)),
    }
    for key in draw(st.lists(st.sampled_from(("n", "s")), max_size=1)):
        del state[key]  # a missing path now and then
    return WorkflowArgs(steps=steps), state
