"""Every golden workflow, compiled to Cloud Workflows, agrees with the local interpreter.

Each golden is compiled by :func:`providers.gcp.workflows_yaml.compile_workflow` and executed
by workflows-emulator (:mod:`tests.workflow.gcp_executor`), its tasks calling the golden
handlers through our real GCP adapter under functions-framework. The outcome — status and
output, or error and cause — must equal the golden's and the local interpreter's.

The executions run concurrently (real back-off and waits sleep), once per module. Where the
emulator departs from Cloud Workflows' documented behaviour the golden is listed in
:data:`EMULATOR_GAPS` with the reason; the list may only shrink, each listed golden must still
disagree (so a fixed emulator is noticed), and the constructs involved are pinned against the
documentation by the structural tests in ``tests/providers/test_gcp_workflows_yaml.py``.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from providers.gcp.workflows_yaml import compile_workflow
from tests.workflow import gcp_executor
from tests.workflow.gcp_executor import TaskFunctions, task_functions, workflows_emulator  # noqa: F401 - fixtures
from tests.workflow.golden import GOLDEN, Golden
from tests.workflow.local import expected, outcome, run_local

pytestmark = pytest.mark.slow

EMULATOR_GAPS: dict[str, str] = {
    "retry-exhausted-uncaught": (
        "backoff_rate 1.5 compiles to backoff.multiplier 1.5; the emulator's bundled JSON schema types "
        "multiplier as an integer and rejects the workflow, while Cloud Workflows takes a double "
        "(its own retry.default_backoff multiplies by 1.25)"
    ),
    "retry-max-delay-caps-backoff": (
        "the emulator ignores backoff.initial_delay (every policy starts at 1 s) and stops retrying "
        "once the next delay reaches max_delay; Cloud Workflows caps each delay at max_delay and keeps "
        "retrying up to max_retries"
    ),
    "choice-exists-and-is-null": (
        "the emulator passes maps through Python repr and YAML when it evaluates ${...}, so a null "
        "inside the state arrives as the string 'None'"
    ),
}
MAX_GAPS = 3
"""The gap list may only shrink: lower this when an entry goes."""
WORKFLOW = "golden"


@pytest.fixture(scope="module")
def emulator_outcomes(workflows_emulator: str, task_functions: TaskFunctions) -> dict[str, dict[str, Any]]:  # noqa: F811
    """Every golden's outcome on the emulator, run concurrently once for the module."""
    # flaky's counter keys are unique per golden, so one emptied directory serves every run.
    shutil.rmtree(task_functions.counters, ignore_errors=True)
    task_functions.counters.mkdir(parents=True)

    def run(golden: Golden) -> tuple[str, dict[str, Any]]:
        urls = {name: task_functions.urls[name] for name in golden.functions}
        source = compile_workflow(golden.definition, urls, workflow=WORKFLOW)
        return golden.name, gcp_executor.outcome(gcp_executor.execute(workflows_emulator, source, golden.input))

    with ThreadPoolExecutor(max_workers=len(GOLDEN)) as pool:
        return dict(pool.map(run, GOLDEN))


AGREEING = [golden for golden in GOLDEN if golden.name not in EMULATOR_GAPS]


@pytest.mark.parametrize("golden", AGREEING, ids=lambda g: g.name)
def test_cloud_workflows_agrees_with_interpreter_and_golden(
    golden: Golden, emulator_outcomes: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, _ = run_local(golden, tmp_path / "counters", monkeypatch)
    assert outcome(local) == expected(golden)
    assert emulator_outcomes[golden.name] == outcome(local)


@pytest.mark.parametrize("name", sorted(EMULATOR_GAPS))
def test_listed_emulator_gap_still_shows(name: str, emulator_outcomes: dict[str, dict[str, Any]]) -> None:
    """When the emulator starts agreeing, the golden must come off the list."""
    golden = next(g for g in GOLDEN if g.name == name)
    assert emulator_outcomes[name] != expected(golden), f"{name} now agrees on the emulator: remove it from the gaps"


def test_gap_list_only_shrinks() -> None:
    assert set(EMULATOR_GAPS) <= {golden.name for golden in GOLDEN}
    assert len(EMULATOR_GAPS) <= MAX_GAPS
    assert all(reason.strip() for reason in EMULATOR_GAPS.values())
