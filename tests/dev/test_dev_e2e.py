"""`omnicloud dev` on the example app, end to end: a subprocess on a free loopback port, driven
over HTTP; each effect is checked through the public runtime API (the test process holds the
same links a function would) or the server's admin routes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components import runtime
from components.runtime.clients import _client, link_env_name
from tests.conftest import REPO_ROOT
from tests.dev.devserver import DevProcess, wait_for

pytestmark = pytest.mark.slow

EFFECT_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> Iterator[DevProcess]:
    server = DevProcess(REPO_ROOT, tmp_path_factory.mktemp("dev") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def linked(dev: DevProcess, monkeypatch) -> Iterator[None]:
    """Give the test the links ``api`` has, pointing at the server's database."""
    database = str(dev.data / f"{dev.stack}.db")
    status, app = dev.request("GET", "/_omnicloud/app")
    assert status == 200
    links = {
        ("table", "orders"): {**app["tables"]["orders"]["schema"]},
        ("queue", "jobs"): {"fifo": False},
        ("bus", "events"): {},
        ("workflow", "checkout"): {},
    }
    for (kind, name), fields in links.items():
        locator = {"kind": kind, "cloud": "local", "name": name, "database": database, **fields}
        monkeypatch.setenv(link_env_name(kind, name), json.dumps(locator))
    _client.cache_clear()
    yield
    _client.cache_clear()


def order_item(order_id: str, sk: str = "order") -> dict[str, Any] | None:
    return runtime.table("orders").get({"pk": f"order#{order_id}", "sk": sk})


def create_order(dev: DevProcess, items: list[dict[str, Any]], total: float) -> str:
    status, body = dev.request("POST", "/api/orders", {"items": items, "total": total})
    assert status == 201, body
    return body["id"]


def test_http_function_answers_on_its_loopback_url(dev):
    status, body = dev.request("GET", "/api/health")
    assert (status, body) == (200, {"ok": True, "function": "api", "cloud": "local"})
    status, body = dev.request("GET", "/nope/health")
    assert status == 404 and body["functions"] == ["/api/"]
    # Only HTTP functions have a URL, as on every cloud.
    assert dev.request("GET", "/worker/")[0] == 404


def test_an_order_flows_through_queue_bus_and_table_changes(dev, linked):
    order_id = create_order(dev, [{"sku": "tea", "qty": 2}], 9.0)
    # HTTP → table (read back over HTTP and through the runtime API)
    status, stored = dev.request("GET", f"/api/orders/{order_id}")
    assert status == 200 and stored["id"] == order_id
    # HTTP → queue → worker → table
    fulfilled = wait_for(
        lambda: (order_item(order_id) or {}).get("status") == "fulfilled",
        timeout_s=EFFECT_TIMEOUT_S,
        what="the worker to fulfil the order",
    )
    assert fulfilled
    # HTTP → bus → (pattern type order.created, source prefix shop/) → worker → table
    event = wait_for(
        lambda: order_item(order_id, "event#order.created"), timeout_s=EFFECT_TIMEOUT_S, what="order.created"
    )
    assert event["source"] == "shop/api"

    # table change → audit → table: the insert and the received → fulfilled modification
    def audit() -> list[dict[str, Any]]:
        return runtime.table("orders").query(f"audit#{order_id}").items

    trail = wait_for(
        lambda: [a for a in audit() if a["kind"] == "insert"] and [a for a in audit() if a["after"] == "fulfilled"],
        timeout_s=EFFECT_TIMEOUT_S,
        what="the audit trail",
    )
    assert trail[0]["before"] == "received"
    status, over_http = dev.request("GET", f"/api/orders/{order_id}/audit")
    assert status == 200 and {a["kind"] for a in over_http["audit"]} >= {"insert", "modify"}


def test_checkout_runs_the_workflow_through_every_step(dev, linked):
    order_id = create_order(dev, [{"sku": "tea", "qty": 2}, {"sku": "mug", "qty": 1}], 21.0)
    wait_for(
        lambda: (order_item(order_id) or {}).get("status") == "fulfilled", timeout_s=EFFECT_TIMEOUT_S, what="fulfil"
    )
    status, started = dev.request("POST", f"/api/checkout/{order_id}")
    assert status == 202 and started["execution"].startswith("checkout:")
    execution = wait_for(
        lambda: _finished(dev, started["execution"]), timeout_s=EFFECT_TIMEOUT_S, what="the checkout execution"
    )
    assert execution["status"] == "SUCCEEDED", execution
    output = execution["output"]
    assert [line["line"]["total"] for line in output["priced"]] == [9.0, 12.0]  # Map over the lines
    assert output["reservation"] == {"ok": True, "order_id": order_id}
    assert output["fulfilment"][0]["payment"] == {"charged": 21.0}  # Parallel branch 1
    assert output["fulfilment"][1]["notice"] == {"notified": True}  # Parallel branch 2
    assert order_item(order_id)["status"] == "paid"  # the charge step wrote through runtime.table


def test_a_failing_step_fails_the_execution_with_its_error(dev, linked):
    order_id = create_order(dev, [{"sku": "kettle", "qty": 101}], 3939.0)
    status, started = dev.request("POST", f"/api/checkout/{order_id}")
    assert status == 202
    execution = wait_for(lambda: _finished(dev, started["execution"]), timeout_s=EFFECT_TIMEOUT_S, what="failure")
    assert (execution["status"], execution["error"]) == ("FAILED", "OutOfStock")


def test_the_public_runtime_api_reaches_the_servers_consumers(dev, linked):
    # Published by the test process, routed by the pattern, delivered to the worker.
    order_id = "from-the-test"
    runtime.bus("events").publish("order.created", {"order_id": order_id, "total": 1}, source="shop/test")
    runtime.bus("events").publish("order.created", {"order_id": "unrouted"}, source="elsewhere/test")
    event = wait_for(lambda: order_item(order_id, "event#order.created"), timeout_s=EFFECT_TIMEOUT_S, what="event")
    assert event["source"] == "shop/test"
    # A workflow started from outside runs too.
    execution_id = runtime.workflow("checkout").start({"order": {"id": "x", "lines": [{"sku": "tea", "qty": 1}]}})
    execution = wait_for(lambda: _finished(dev, execution_id), timeout_s=EFFECT_TIMEOUT_S, what="execution")
    assert execution["status"] == "SUCCEEDED"
    assert order_item("unrouted", "event#order.created") is None  # source did not match shop/


def test_invoke_fires_a_scheduled_function_now(dev):
    result = subprocess.run(
        [sys.executable, "-m", "components.cli", "dev", "invoke", "nightly", "--data", str(dev.data)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("nightly: ok in ")
    wait_for(
        lambda: any(r["function"] == "nightly" and r["outcome"] == "ok" for r in dev.records("invocation")),
        timeout_s=5,
        what="the nightly invocation record",
    )
    refused = dev.request("POST", "/_omnicloud/invoke/api")
    assert refused[0] == 400 and "no schedule" in refused[1]["error"]


def test_every_invocation_is_logged_with_trigger_outcome_and_duration(dev):
    dev.request("GET", "/api/health")

    def health_calls() -> list[dict[str, Any]]:
        return [r for r in dev.records("invocation") if r["function"] == "api" and r["trigger"] == "GET /health"]

    records = wait_for(health_calls, timeout_s=5, what="the invocation record")
    assert records[-1]["outcome"] == "ok" and records[-1]["duration_ms"] > 0


def _finished(dev: DevProcess, execution_id: str) -> dict[str, Any] | None:
    status, execution = dev.request("GET", f"/_omnicloud/executions/{execution_id}")
    assert status == 200, execution
    return execution if execution["status"] in ("SUCCEEDED", "FAILED") else None


# --- a small project of its own: hot reload, tracebacks, restarts ------------------------------

PROGRAM = """
from components import Function, FunctionArgs, Table, TableArgs
notes = Table("notes", TableArgs(partition_key="id"))
Function("hello", FunctionArgs(handler="handlers.hello.handle", http="public", links=[notes.allow("read", "write")]))
"""

HANDLER = """
from components import runtime

def handle(event, ctx):
    if event.path == "/boom":
        raise RuntimeError("kaboom")
    if event.method == "PUT":
        runtime.table("notes").put({"id": "n1", "text": event.text})
        return None
    if event.path == "/note":
        return runtime.table("notes").get({"id": "n1"})
    return "VERSION"
"""


@pytest.fixture
def small_project(tmp_path) -> Path:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    (root / "handlers").mkdir()
    (root / "Pulumi.yaml").write_text("name: small\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks" / "Pulumi.dev-local.yaml").write_text("config:\n  omnicloud:cloud: local\n")
    (root / "__main__.py").write_text(PROGRAM)
    (root / "handlers" / "__init__.py").write_text("")
    (root / "handlers" / "hello.py").write_text(HANDLER.replace("VERSION", "v1"))
    return root


def test_editing_a_handler_takes_effect_without_a_restart(small_project, tmp_path):
    server = DevProcess(small_project, tmp_path / "data").start()
    try:
        assert server.request("GET", "/hello/")[1] == "v1"
        handler = small_project / "handlers" / "hello.py"
        handler.write_text(HANDLER.replace("VERSION", "v2"))
        wait_for(lambda: server.request("GET", "/hello/")[1] == "v2", timeout_s=15, what="the new handler code")
        wait_for(
            lambda: any("handlers/hello.py changed" in r["message"] for r in server.records("notice")),
            timeout_s=5,
            what="the reload notice",
        )
    finally:
        server.stop()


def test_a_handler_error_is_a_500_with_its_traceback_in_the_log(small_project, tmp_path):
    server = DevProcess(small_project, tmp_path / "data").start()
    try:
        assert server.request("GET", "/hello/boom") == (500, {"error": "internal"})
        wait_for(
            lambda: any("RuntimeError: kaboom" in r["line"] for r in server.records("log")),
            timeout_s=5,
            what="the traceback",
        )
        failed = wait_for(
            lambda: [r for r in server.records("invocation") if r["trigger"] == "GET /boom"],
            timeout_s=5,
            what="the failed invocation record",
        )
        assert failed[-1]["outcome"] == "failed" and failed[-1]["detail"] == "500"
    finally:
        server.stop()


def test_state_survives_a_restart_and_a_second_server_is_refused(small_project, tmp_path):
    data = tmp_path / "data"
    server = DevProcess(small_project, data).start()
    try:
        assert server.request("PUT", "/hello/note", "kept")[0] == 204
        second = subprocess.run(
            [sys.executable, "-m", "components.cli", "dev", "--data", str(data), "--port", "0"],
            capture_output=True,
            text=True,
            cwd=small_project,
            check=False,
            timeout=120,
        )
        assert second.returncode == 2 and "another `omnicloud dev` serves" in second.stderr
    finally:
        server.stop()
    shutil.rmtree(small_project / "__pycache__", ignore_errors=True)
    restarted = DevProcess(small_project, data).start()
    try:
        assert restarted.request("GET", "/hello/note")[1] == {"id": "n1", "text": '"kept"'}
    finally:
        restarted.stop()
