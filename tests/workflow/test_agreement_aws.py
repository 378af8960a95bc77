"""The AWS target agrees with the portable interpreter: golden and random workflows, compiled to
ASL by :mod:`providers.aws.asl`, executed by two independent Step Functions emulators.

* **ministack** (its own venv, ``SFN_WAIT_SCALE=0``) runs every golden end to end: real Lambdas
  built by our packager (see :mod:`tests.workflow.sfn`), one per handler name, invoked through
  ``arn:aws:states:::lambda:invoke``. Outcomes (status + output, or status + error + cause) must
  equal the local interpreter's and the golden's. A random-workflow property test does the same.
* **moto** (``execute_state_machine``, its LocalStack-derived ASL interpreter) has no Lambda
  without Docker: with ``lambda.use_docker = false`` every invoke "succeeds" and answers its own
  request payload (the task envelope), and no handler can fail. So it runs the goldens whose
  outcome does not depend on any task's answer (found by running each golden locally with two
  different canned answers), and a condition matrix (every operator against present, missing,
  null and mistyped values), which is where its engine is closer to AWS than ministack's.
* Both run the Map items checks against every kind of value (lists whose JSON holds ``,`` and
  ``[`` in awkward places, objects, each scalar kind, null, a missing path).

Where an emulator deviates from AWS, the golden is listed below with the reason and the outcome
the emulator gives instead; that outcome is asserted, so the entry goes away once the emulator
is fixed, and the lists may not grow.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from components.runtime.orchestration import FakeClock, run
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
    Succeed,
    WorkflowArgs,
    definition_to_json,
)
from providers.aws.asl import compile_asl
from tests.runtime.aws_emulators import moto_endpoint_fixture, unique  # noqa: F401  (the moto server fixture)
from tests.runtime.ministack import client_factory, ministack_venv
from tests.workflow import handlers
from tests.workflow.golden import GOLDEN, Golden
from tests.workflow.local import expected, outcome, run_local
from tests.workflow.random_trees import random_workflows
from tests.workflow.sfn import (
    create_machine,
    deploy_handlers,
    echo_function_zip,
    execute,
    finished,
    moto_config,
    outcome_of,
    reset_counters,
    start,
)

pytestmark = pytest.mark.slow

BY_NAME = {g.name: g for g in GOLDEN}


@dataclass(frozen=True)
class Deviation:
    """A golden an emulator runs differently from AWS: why, and what it answers instead."""

    reason: str
    observed: dict[str, Any]


MINISTACK_DEVIATIONS: dict[str, Deviation] = {
    "choice-exists-and-is-null": Deviation(
        "ministack 1.5.33 evaluates IsPresent as 'the value is not null' (its JSONPath resolver "
        "returns None for a missing path), so the present null $.a counts as absent and "
        "Not(Exists('$.a')) holds; AWS's IsPresent is true for a present null (moto's "
        "LocalStack-derived engine agrees with AWS: see the condition matrix below)",
        {"status": "SUCCEEDED", "output": {"a": None, "b": 0, "r": {"case": "no-a"}}},
    ),
}
MOTO_DEVIATIONS: dict[str, Deviation] = {}
"""Among the goldens moto can run (see :func:`answer_independent`), none deviates."""


# ---------------------------------------------------------------- ministack


@dataclass
class Target:
    """A Step Functions endpoint with the handlers deployed."""

    sfn: Any
    arns: dict[str, str]
    counters: Path

    def run(self, definition: dict[str, Any], input: dict[str, Any], name: str) -> dict[str, Any]:
        reset_counters(self.counters)
        return execute(self.sfn, compile_asl(definition, self.arns, workflow=name), input, name)


@pytest.fixture(scope="module")
def on_ministack(ministack: str, tmp_path_factory: pytest.TempPathFactory) -> Target:
    """ministack with one Lambda per handler name, reading a counters directory we control."""
    work = tmp_path_factory.mktemp("sfn-ministack")
    client = client_factory(ministack)
    counters = work / "counters"
    python = ministack_venv() / "bin" / "python"
    arns = deploy_handlers(client, ministack, work / "project", counters, python)
    return Target(client("stepfunctions"), arns, counters)


def agreed(golden: Golden, target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The local outcome, after checking it is the golden's; then the target's outcome."""
    local, _ = run_local(golden, tmp_path / "local-counters", monkeypatch)
    assert outcome(local) == expected(golden)
    return target.run(golden.definition, golden.input, golden.name)


@pytest.mark.parametrize("golden", [g for g in GOLDEN if g.name not in MINISTACK_DEVIATIONS], ids=lambda g: g.name)
def test_ministack_runs_every_golden_like_the_local_interpreter(
    golden: Golden, on_ministack: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert agreed(golden, on_ministack, tmp_path, monkeypatch) == expected(golden)


@pytest.mark.parametrize("name", sorted(MINISTACK_DEVIATIONS))
def test_ministack_deviation_is_still_what_is_documented(
    name: str, on_ministack: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deviation = MINISTACK_DEVIATIONS[name]
    got = agreed(BY_NAME[name], on_ministack, tmp_path, monkeypatch)
    assert got != expected(BY_NAME[name])
    assert got == deviation.observed, f"ministack changed; re-check the deviation: {deviation.reason}"


def test_emulator_exclusions_are_known_goldens_and_do_not_grow() -> None:
    assert set(MINISTACK_DEVIATIONS) <= set(BY_NAME)
    assert set(MOTO_DEVIATIONS) <= set(BY_NAME)
    assert len(MINISTACK_DEVIATIONS) <= 1
    assert len(MOTO_DEVIATIONS) == 0
    assert all(d.reason and d.observed for d in (*MINISTACK_DEVIATIONS.values(), *MOTO_DEVIATIONS.values()))


# ---------------------------------------------------------------- moto


def answer_independent(golden: Golden) -> bool:
    """Whether the golden's outcome holds whatever every task answers (and no task fails).

    Two unrelated canned answers must both give the golden outcome: then moto's echoing Lambda
    (which can neither compute nor fail) cannot change it either.
    """
    for answer in ("canned", {"canned": [1]}):
        result = run(
            golden.definition, copy.deepcopy(golden.input), lambda f, p, a=answer: copy.deepcopy(a), FakeClock()
        )
        if outcome(result) != expected(golden):
            return False
    return True


MOTO_GOLDENS = [g for g in GOLDEN if answer_independent(g) and g.name not in MOTO_DEVIATIONS]


@pytest.fixture(scope="module")
def on_moto(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """moto executing state machines, with a (Docker-less, echoing) function per handler name.

    moto's ASL interpreter calls Lambda back through ``http://localhost:$MOTO_PORT``; its
    configuration is process-wide, so both settings are restored afterwards.
    """
    port = moto_endpoint.rsplit(":", 1)[1]
    previous_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = port
    moto_config(moto_endpoint, {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
    try:
        client = client_factory(moto_endpoint)
        role = client("iam").create_role(RoleName=unique("wf"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = echo_function_zip()
        arns = {
            name: client("lambda").create_function(
                FunctionName=unique(f"wf-{name}"),
                Runtime="python3.11",
                Role=role,
                Handler="x.h",
                Code={"ZipFile": code},
            )["FunctionArn"]
            for name in handlers.NAMES
        }
        yield Target(client("stepfunctions"), arns, tmp_path_factory.mktemp("moto-counters"))
    finally:
        moto_config(moto_endpoint, {"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": True}})
        if previous_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous_port


def test_moto_subset_covers_the_control_flow_constructs() -> None:
    names = {g.name for g in MOTO_GOLDENS}
    assert len(names) >= 8, names
    # The helper states with no task behind them: arg guards, the Map items checks (the
    # intrinsic probe), Catch reshaping, Choice routing to Fail/Succeed, a failing branch.
    assert {
        "task-missing-arg-path-fails",
        "task-missing-arg-path-caught",
        "map-items-missing",
        "map-items-not-a-list-caught",
        "map-empty-list",
        "choice-default-fail",
        "choice-succeed-ends-execution",
        "parallel-failing-branch-uncaught",
        "fail-top-level",
    } <= names


@pytest.mark.parametrize("golden", MOTO_GOLDENS, ids=lambda g: g.name)
def test_moto_runs_the_control_flow_goldens_like_the_local_interpreter(
    golden: Golden, on_moto: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert agreed(golden, on_moto, tmp_path, monkeypatch) == expected(golden)


CONDITIONS = [
    Eq("$.v", 1),
    Eq("$.v", 1.5),
    Eq("$.v", "1"),
    Eq("$.v", True),
    Eq("$.v", None),
    Ne("$.v", 1),
    Ne("$.v", "a"),
    Ne("$.v", None),
    Lt("$.v", 2),
    Le("$.v", "b"),
    Gt("$.v", 0.5),
    Ge("$.v", "a"),
    Exists("$.v"),
    IsNull("$.v"),
    Not(Exists("$.v")),
    Exists("$.v.w"),
    Eq("$.v.w", 1),
    And(Exists("$.v"), Not(IsNull("$.v"))),
    Or(Lt("$.v", 0), Eq("$.v", "b")),
]
VALUES: list[dict[str, Any]] = [
    {},
    {"v": None},
    {"v": 1},
    {"v": 1.0},
    {"v": 1.5},
    {"v": True},
    {"v": "1"},
    {"v": "a"},
    {"v": "b"},
    {"v": {"w": 1}},
    {"v": [1]},
]


def test_moto_evaluates_every_condition_like_the_local_interpreter(on_moto: Target) -> None:
    """Each portable operator against present, missing, null and mistyped values."""
    want: dict[tuple[int, int], str] = {}
    runs: dict[tuple[int, int], str] = {}
    for i, cond in enumerate(CONDITIONS):
        steps = [Choice("c", cases=[Case(cond, [Fail("yes", error="Yes")])], default=[Fail("no", error="No")])]
        definition = definition_to_json(WorkflowArgs(steps=steps))
        machine = create_machine(on_moto.sfn, compile_asl(definition, on_moto.arns, workflow="conditions"), f"cond-{i}")
        for j, value in enumerate(VALUES):
            local = run(definition, copy.deepcopy(value), lambda f, p: None, FakeClock())
            want[i, j] = str(local.error)
            runs[i, j] = start(on_moto.sfn, machine, value)
    got = {key: str(outcome_of(finished(on_moto.sfn, execution)).get("error")) for key, execution in runs.items()}
    wrong = {(str(CONDITIONS[i]), json.dumps(VALUES[j])): got[i, j] for (i, j) in want if got[i, j] != want[i, j]}
    assert wrong == {}
    assert set(want.values()) == {"Yes", "No"}


ITEMS: list[dict[str, Any]] = [
    {"v": []},
    {"v": [1, "a,b", {"k": [1]}]},
    {"v": [[1, 2], "["]},
    {"v": [{"[k": 1}]},
    {"v": {"a": [1]}},
    {"v": {}},
    {"v": "[1]"},
    {"v": "x"},
    {"v": 1.5},
    {"v": False},
    {"v": None},
    {},
]
"""Map items: lists (whose JSON text holds ',' and '[' in awkward places), objects, every scalar
kind including a string that looks like a list, null, and a missing path."""


@pytest.mark.parametrize("emulator", ["moto", "ministack"])
def test_map_items_checks_agree_for_every_kind_of_value(emulator: str, request: pytest.FixtureRequest) -> None:
    """The compiled items checks (presence, scalar tests, the intrinsic array probe) on each engine."""
    target: Target = request.getfixturevalue(f"on_{emulator}")
    steps = [Map("m", items="$.v", steps=[Succeed("s")], result="out", catch=[Catch(result="err", steps=[])])]
    definition = definition_to_json(WorkflowArgs(steps=steps))
    machine = create_machine(target.sfn, compile_asl(definition, target.arns, workflow="items"), "items")
    # ministack's IsPresent deviation (see MINISTACK_DEVIATIONS) makes a null look missing.
    values = [v for v in ITEMS if emulator == "moto" or v.get("v", 0) is not None]
    executions = [start(target.sfn, machine, value) for value in values]
    got = [outcome_of(finished(target.sfn, execution)) for execution in executions]
    want = [outcome(run(definition, copy.deepcopy(value), lambda f, p: None, FakeClock())) for value in values]
    assert got == want
    errors = {o["output"].get("err", {}).get("error") for o in want}
    assert errors == {None, "InvalidItems", "PathNotFound"}  # lists, non-lists and a missing path all ran


# ---------------------------------------------------------------- random workflows on ministack


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=random_workflows())
def test_random_workflows_agree_on_ministack(case: tuple[WorkflowArgs, dict[str, Any]], on_ministack: Target) -> None:
    workflow, state = case
    golden = Golden("random", list(workflow.steps), state, "SUCCEEDED")
    counters = Path(tempfile.mkdtemp(prefix="local-counters-"))
    try:
        with pytest.MonkeyPatch.context() as patch:
            local, _ = run_local(golden, counters, patch)
    finally:
        shutil.rmtree(counters, ignore_errors=True)
    assert on_ministack.run(golden.definition, state, "random") == outcome(local)
