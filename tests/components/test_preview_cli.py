"""`omnicloud preview`: the example program under the mock engine with real stack config."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from components.cli import app
from components.preview import preview_stack
from tests.conftest import REPO_ROOT

runner = CliRunner()

EXPECTED_FUNCTION_TYPE = {
    "dev-aws": "aws:lambda/function:Function",
    "dev-azure": "azure-native:web:WebApp",
    "dev-gcp": "gcp:cloudfunctionsv2/function:Function",
}
EXPECTED_WORKFLOW_TYPE = {
    "dev-aws": "aws:sfn/stateMachine:StateMachine",
    "dev-azure": "azure-native:web:WebApp",
    "dev-gcp": "gcp:workflows/workflow:Workflow",
}
EXAMPLE_FUNCTIONS = ["api", "audit", "inventory", "nightly", "notifier", "payments", "pricing", "worker"]


@pytest.mark.parametrize("stack", sorted(EXPECTED_FUNCTION_TYPE))
def test_preview_shows_each_function_of_the_example_under_its_component(stack):
    result = preview_stack(stack, REPO_ROOT)
    components = [r for r in result.resources if r.type == "omnicloud:index:Function"]
    assert sorted(c.name for c in components) == EXAMPLE_FUNCTIONS
    kinds = {r.type for r in result.resources if r.type.startswith("omnicloud:index:")}
    assert kinds == {f"omnicloud:index:{k}" for k in ("Function", "Table", "Queue", "EventBus", "Workflow")}
    for component in components:
        children = {r.type for r in result.children(component)}
        assert EXPECTED_FUNCTION_TYPE[stack] in children
    assert result.outputs["api_url"].startswith("https://")


@pytest.mark.parametrize("stack", sorted(EXPECTED_WORKFLOW_TYPE))
def test_preview_shows_the_checkout_workflow_compiled_for_the_stacks_cloud(stack):
    result = preview_stack(stack, REPO_ROOT)
    (checkout,) = [r for r in result.resources if r.type == "omnicloud:index:Workflow"]
    assert checkout.name == "checkout"
    children = {r.type: r for r in result.children(checkout)}
    assert EXPECTED_WORKFLOW_TYPE[stack] in children
    native = children[EXPECTED_WORKFLOW_TYPE[stack]]
    if stack == "dev-aws":
        states = json.dumps(json.loads(native.inputs["definition"]))
        assert all(f'"{name}"' in states for name in ("price-lines", "reserve", "reserved", "fulfil", "done"))
    elif stack == "dev-gcp":
        assert "/_omnicloud/task" in native.inputs["sourceContents"]
    else:
        settings = {s["name"] for s in native.inputs["siteConfig"]["appSettings"]}
        assert {"OMNICLOUD_WORKFLOW_TARGETS", "OMNICLOUD_START_QUEUE"} <= settings
    prefix = {"dev-aws": "arn:aws:states:", "dev-azure": "/subscriptions/", "dev-gcp": "projects/"}[stack]
    assert result.outputs["checkout_workflow"].startswith(prefix)


def test_preview_json_lists_resources_with_parents_and_outputs():
    out = runner.invoke(app, ["preview", "--stack", "dev-aws", "--json", "--cwd", str(REPO_ROOT)])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["cloud"] == "aws" and data["stack"] == "dev-aws"
    by_name = {(r["type"], r["name"]): r for r in data["resources"]}
    api = by_name[("omnicloud:index:Function", "api")]
    lam = by_name[("aws:lambda/function:Function", "api")]
    assert lam["parent"] == api["urn"]
    assert lam["properties"]["architectures"] == ["arm64"]
    assert data["outputs"]["api_url"].endswith(".on.aws/")


def test_preview_tree_prints_types_names_and_key_properties():
    out = runner.invoke(app, ["preview", "--stack", "dev-aws", "--cwd", str(REPO_ROOT)])
    assert out.exit_code == 0, out.output
    assert "omnicloud:index:Function api" in out.output
    assert "aws:scheduler/schedule:Schedule nightly-schedule" in out.output
    assert "cron(0 2 * * ? *)" in out.output


def test_preview_of_an_unknown_stack_fails_with_the_known_ones():
    out = runner.invoke(app, ["preview", "--stack", "prod", "--cwd", str(REPO_ROOT)])
    assert out.exit_code == 2
    assert "dev-aws" in out.output


def test_preview_runs_as_a_console_script_with_the_local_default():
    result = subprocess.run(
        [sys.executable, "-m", "components.cli", "preview"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "dev-local" in result.stdout
    assert "http://127.0.0.1:8787/api/" in result.stdout


def test_preview_prints_values_verbatim_without_emoji_or_markup():
    out = runner.invoke(app, ["preview", "--stack", "dev-local", "--cwd", str(REPO_ROOT)])
    assert out.exit_code == 0, out.output
    assert "local:bus:omnicloud/dev-local/events" in out.output
