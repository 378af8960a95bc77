"""The Durable Functions workflow app: registration, entry files, starter and task activity.

The end-to-end agreement over every golden workflow is ``tests/workflow/test_agreement_azure.py``.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

import components
from components.runtime.adapters import azure_durable, azure_workflow
from components.runtime.orchestration.engine import Failed

from .test_runtime_imports import HEAVY, matching, newly_imported

DEFINITION = {"version": 1, "steps": [{"type": "Succeed", "name": "done"}]}


@pytest.fixture(autouse=True)
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployed definition, and the settings the deploy side writes."""
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(DEFINITION))
    monkeypatch.setenv(azure_workflow.DEFINITION_SETTING, str(path))
    monkeypatch.setenv(azure_workflow.NAME_SETTING, "checkout")
    # build_workflow_app sets it for its process; restore it after each test.
    monkeypatch.setenv(azure_workflow.STRICT_TYPING_SETTING, "1")
    return path


def functions(app: Any) -> dict[str, func.Function]:
    return {f.get_function_name() or "": f for f in app.get_functions()}


def bindings(fn: func.Function) -> dict[str, dict[str, Any]]:
    return {b["type"]: b for b in json.loads(fn.get_function_json())["bindings"]}


# --- registration and entry files ---------------------------------------------------------------


def test_the_app_registers_orchestrator_activity_and_identity_based_queue_starter() -> None:
    app = azure_workflow.build_workflow_app()
    fns = functions(app)

    assert isinstance(app, df.DFApp)
    assert sorted(fns) == ["omnicloud_start", "omnicloud_task", "omnicloud_workflow"]
    assert bindings(fns["omnicloud_workflow"])["orchestrationTrigger"]["name"] == "context"
    assert bindings(fns["omnicloud_task"])["activityTrigger"]["name"] == "request"
    starter = bindings(fns["omnicloud_start"])
    assert starter["queueTrigger"]["queueName"] == "%OMNICLOUD_START_QUEUE%"
    assert starter["queueTrigger"]["connection"] == "OMNICLOUD_START"
    assert starter["durableClient"]["name"] == "client"


def test_the_definition_defaults_to_workflow_json_beside_the_runtime_package() -> None:
    # The archive holds components/ at its root, beside function_app.py and workflow.json.
    assert Path(components.__file__).resolve().parent.parent == azure_workflow._PACKAGE_ROOT
    assert azure_workflow.DEFINITION_FILE == "workflow.json"


@pytest.mark.parametrize(
    ("text", "reason"),
    [(None, "cannot be read"), ("{", "is not JSON"), ('{"version": 1}', "'steps' list"), ("[]", "'steps' list")],
)
def test_a_missing_or_malformed_definition_fails_indexing(settings: Path, text: str | None, reason: str) -> None:
    if text is None:
        settings.unlink()
    else:
        settings.write_text(text)
    with pytest.raises(ValueError, match=reason):
        azure_workflow.build_workflow_app()


def test_building_the_app_switches_the_durable_codec_to_plain_json_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(azure_workflow.STRICT_TYPING_SETTING)
    azure_workflow.build_workflow_app()
    assert azure_workflow.os.environ[azure_workflow.STRICT_TYPING_SETTING] == "1"
    monkeypatch.setenv(azure_workflow.STRICT_TYPING_SETTING, "0")
    azure_workflow.build_workflow_app()
    assert azure_workflow.os.environ[azure_workflow.STRICT_TYPING_SETTING] == "0"


def test_the_rendered_function_app_builds_an_equivalent_app(tmp_path: Path) -> None:
    path = tmp_path / "function_app.py"
    path.write_text(azure_workflow.entry_files()["function_app.py"])
    rendered = runpy.run_path(str(path))["app"]

    def shape(app: Any) -> list[dict[str, Any]]:
        return [{**json.loads(f.get_function_json()), "name": f.get_function_name()} for f in app.get_functions()]

    assert shape(rendered) == shape(azure_workflow.build_workflow_app())


def test_host_json_adds_durable_and_queue_settings_to_the_shared_ones() -> None:
    host = json.loads(azure_workflow.entry_files(function_timeout_s=600)["host.json"])
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"
    assert host["functionTimeout"] == "00:10:00"
    extensions = host["extensions"]
    assert extensions["queues"] == {"messageEncoding": "none", "maxDequeueCount": 5}
    # No hubName: Durable names the hub after the app, one per workflow in the shared account.
    assert extensions["durableTask"] == {"tracing": {"traceInputsAndOutputs": False, "traceReplayEvents": False}}
    assert azure_workflow.entry_files() == azure_workflow.entry_files()


# --- the starter, through the registered function and the SDK's Durable client ----------------

CLIENT_BINDING = {
    "taskHubName": "checkouthub",
    "creationUrls": {},
    "managementUrls": {},
    "rpcBaseUrl": "http://127.0.0.1:17071/durabletask/",
}


@pytest.fixture
def durable_api(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The Durable extension's RPC endpoint as the SDK's client sees it: a status per instance
    id (none: 404), and a record of the start requests."""
    state: dict[str, Any] = {"statuses": {}, "gets": [], "posts": []}
    module = sys.modules["azure.durable_functions.models.DurableOrchestrationClient"]

    async def get(url: str, function_invocation_id: Any = None) -> list[Any]:
        state["gets"].append(url)
        instance = url.split("instances/", 1)[1].split("?", 1)[0]
        status = state["statuses"].get(instance)
        if status is None:
            return [404, ""]
        return [200 if status == "Completed" else 202, {
            "name": "omnicloud_workflow", "instanceId": instance, "runtimeStatus": status,
            "createdTime": "2024-01-01T00:00:00Z", "lastUpdatedTime": "2024-01-01T00:00:01Z",
        }]  # fmt: skip

    async def post(url: str, data: Any = None, *args: Any) -> list[Any]:
        state["posts"].append((url, json.loads(data)))
        return [202, {"id": url.rsplit("/", 1)[1]}]

    monkeypatch.setattr(module, "get_async_request", get)
    monkeypatch.setattr(module, "post_async_request", post)
    return state


def start(body: str) -> None:
    """Deliver one start message to the registered starter, as the worker does."""
    starter = functions(azure_workflow.build_workflow_app())["omnicloud_start"].get_user_function()
    message = func.QueueMessage(id="msg-1", body=body.encode())
    asyncio.run(starter(message=message, client=json.dumps(CLIENT_BINDING)))


def test_a_start_message_starts_the_orchestrator_with_its_id_and_the_deployed_definition(
    durable_api: dict[str, Any],
) -> None:
    start(json.dumps({"id": "order-42", "input": {"order": 42}}))

    [(url, body)] = durable_api["posts"]
    assert url == "http://127.0.0.1:17071/durabletask/orchestrators/omnicloud_workflow/order-42"
    assert body == {"workflow": "checkout", "definition": DEFINITION, "input": {"order": 42}}


@pytest.mark.parametrize("status", ["Pending", "Running", "Completed", "Failed", "Terminated"])
def test_a_redelivered_start_message_starts_nothing(durable_api: dict[str, Any], status: str) -> None:
    durable_api["statuses"]["order-42"] = status
    start(json.dumps({"id": "order-42", "input": {}}))
    assert len(durable_api["gets"]) == 1
    assert durable_api["posts"] == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1]", "JSON object"),
        ('{"input": {}}', "id must be"),
        ('{"id": "", "input": {}}', "id must be"),
        ('{"id": "a/b", "input": {}}', "id must be"),
        ('{"id": "@x"}', "id must be"),
        (json.dumps({"id": "x" * 101}), "id must be"),
        ('{"id": "ok", "input": [1]}', "input must be a JSON object"),
    ],
)
def test_a_malformed_start_message_fails_so_it_ends_in_the_poison_queue(
    durable_api: dict[str, Any], body: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        start(body)
    assert durable_api["posts"] == []


def test_a_start_message_without_input_starts_on_an_empty_state() -> None:
    assert azure_workflow.parse_start(b'{"id": "a-1"}') == ("a-1", {})


# --- the task activity -------------------------------------------------------------------------


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A function app's task route that answers as told; records what it receives."""
    state: dict[str, Any] = {"status": 200, "body": b'{"output": 1}', "delay": 0.0, "requests": []}
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            state["requests"].append((self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
            release.wait(state["delay"])
            self.send_response(state["status"])
            self.send_header("content-length", str(len(state["body"])))
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.handle_error = lambda *args: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv(azure_workflow.TARGETS_SETTING, json.dumps({"pricer": {"url": url + "/", "key": "k-1"}}))
    yield state
    release.set()
    server.shutdown()
    server.server_close()


def task(timeout_s: float | None = None, function: str = "pricer") -> dict[str, Any]:
    request = {"function": function, "workflow": "checkout", "step": "price", "input": {"sku": "a"}}
    return {**request, "timeout_s": timeout_s}


def test_the_activity_posts_the_envelope_with_the_function_key(target: dict[str, Any]) -> None:
    target["body"] = b'{"output": {"total": 10}}'
    assert azure_workflow.call_task(task()) == {"ok": {"total": 10}}
    [(path, headers, body)] = target["requests"]
    assert path == "/_omnicloud/task"
    assert headers["x-functions-key"] == "k-1"
    assert headers["content-type"] == "application/json"
    assert body == {
        "omnicloud": {"kind": "workflow-task", "workflow": "checkout", "step": "price"},
        "input": {"sku": "a"},
    }


def test_a_task_error_reply_passes_through(target: dict[str, Any]) -> None:
    target["body"] = b'{"error": "OutOfStock", "cause": "sku a"}'
    assert azure_workflow.call_task(task()) == {"error": "OutOfStock", "cause": "sku a"}


@pytest.mark.parametrize(
    ("status", "body", "cause"),
    [
        (503, b"", "answered HTTP 503 Service Unavailable"),
        (401, b"", "answered HTTP 401 Unauthorized"),
        (200, b"<html>", "answered HTTP 200 without a task reply"),
        (204, b"", "answered HTTP 204 without a task reply"),
    ],
)
def test_a_platform_failure_is_task_invocation_failed_naming_the_status(
    target: dict[str, Any], status: int, body: bytes, cause: str
) -> None:
    target["status"], target["body"] = status, body
    reply = azure_workflow.call_task(task())
    assert reply["error"] == "TaskInvocationFailed"
    assert cause in reply["cause"] and "/_omnicloud/task" in reply["cause"]


def test_a_task_with_timeout_s_stops_waiting_then_and_times_out(target: dict[str, Any]) -> None:
    target["delay"] = 5.0
    started = datetime.now(UTC)
    reply = azure_workflow.call_task(task(timeout_s=0.3))
    assert reply == {"error": "Timeout", "cause": "task 'price' ran longer than 0.3s"}
    assert (datetime.now(UTC) - started).total_seconds() < 2


def test_a_task_without_timeout_s_waits_past_the_http_limit_only(
    target: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert azure_workflow.TASK_WAIT_S > azure_workflow.HTTP_RESPONSE_LIMIT_S == 230
    monkeypatch.setattr(azure_workflow, "TASK_WAIT_S", 0.3)
    target["delay"] = 5.0
    reply = azure_workflow.call_task(task())
    assert reply["error"] == "TaskInvocationFailed" and "did not answer within 0.3s" in reply["cause"]


def test_an_unreachable_or_unknown_target_is_task_invocation_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket_closed() as url:
        monkeypatch.setenv(azure_workflow.TARGETS_SETTING, json.dumps({"pricer": {"url": url, "key": "k"}}))
        reply = azure_workflow.call_task(task())
    assert reply["error"] == "TaskInvocationFailed" and "refused" in reply["cause"]
    assert "no target for function 'mailer'" in azure_workflow.call_task(task(function="mailer"))["cause"]
    monkeypatch.setenv(azure_workflow.TARGETS_SETTING, "not json")
    assert "is not JSON" in azure_workflow.call_task(task())["cause"]


class socket_closed:
    """A loopback URL nothing listens on."""

    def __enter__(self) -> str:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


# --- the orchestrator's contract ---------------------------------------------------------------


def test_the_orchestrator_refuses_an_input_it_did_not_start() -> None:
    context = type("Context", (), {"get_input": lambda self: {"order": 1}})()
    with pytest.raises(ValueError, match="takes"):
        next(azure_durable.orchestrate(context))


@pytest.mark.parametrize("reply", [None, "ok", {"output": 1}, {"error": 5}])
def test_a_malformed_reply_is_a_task_invocation_failure(reply: Any) -> None:
    outcome = azure_durable.outcome_of(reply)
    assert isinstance(outcome, Failed) and outcome.error == "TaskInvocationFailed"


# --- cold-start hygiene ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "module",
    [
        "components.runtime.orchestration.engine",
        "components.runtime.adapters.azure_durable",
        "components.runtime.adapters.azure_workflow",
    ],
)
def test_importing_the_workflow_runtime_loads_only_the_standard_library(module: str) -> None:
    loaded = newly_imported(module, then=f"{module}.__name__")
    assert matching(loaded, HEAVY) == []
    assert {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names) <= {"components"}


@pytest.mark.slow
def test_building_the_workflow_app_loads_durable_functions_but_no_deploy_time_sdk(settings: Path) -> None:
    loaded = newly_imported(
        "components.runtime.adapters.azure_workflow",
        then=f"import os; os.environ[{azure_workflow.DEFINITION_SETTING!r}] = {str(settings)!r}; "
        "components.runtime.adapters.azure_workflow.build_workflow_app()",
    )
    assert "azure.durable_functions" in loaded and "azure.functions" in loaded
    assert matching(loaded, ("pulumi", "pydantic", "boto3", "botocore", "google.cloud")) == []
