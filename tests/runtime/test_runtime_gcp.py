"""The GCP adapter, driven through functions-framework's own app and flask test client."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask
import functions_framework
import pytest
from flask.testing import FlaskClient

from components.runtime import Scheduled
from components.runtime.adapters import gcp

from .conftest import UserApp

SCHEDULED_BODY = {"omnicloud": {"kind": "scheduled", "schedule": "rate(5 minutes)"}}
SCHEDULER_HEADERS = {
    "X-CloudScheduler": "true",
    "X-CloudScheduler-JobName": "nightly-job",
    "X-CloudScheduler-ScheduleTime": "2025-03-12T02:05:00.123Z",
    "User-Agent": "Google-Cloud-Scheduler",
}


@pytest.fixture
def client(user_app: UserApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    """functions-framework serving the rendered main.py, as Cloud Functions would."""
    source = tmp_path / "deploy" / "main.py"
    source.parent.mkdir()
    source.write_text(gcp.entry_files()["main.py"])
    # create_app registers the source as module "main", appends its dir to sys.path and
    # sets FUNCTION_TARGET: undo all three so tests stay independent.
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("FUNCTION_TARGET", gcp.ENTRY_POINT)
    previous_main = sys.modules.get("main")
    app = functions_framework.create_app(target=gcp.ENTRY_POINT, source=str(source))
    assert isinstance(app, flask.Flask)  # an ASGI app would mean the @aio path was taken
    yield app.test_client()
    if previous_main is None:
        sys.modules.pop("main", None)
    else:
        sys.modules["main"] = previous_main


def test_entry_files_export_the_entry_point() -> None:
    assert gcp.entry_files() == {
        "main.py": 'from components.runtime.adapters.gcp import entry\n\n__all__ = ["entry"]\n'
    }


def test_get_with_query_and_cookies_reaches_handler_as_portable_request(
    client: FlaskClient,
) -> None:
    client.set_cookie("session", "abc123")
    resp = client.get(
        "/orders/42?expand=lines&expand=customer&q=a%20b",
        headers={
            "Accept": "application/json",
            "X-Forwarded-For": "203.0.113.9, 10.0.0.1",
            "Function-Execution-Id": "exec-7f3a",
        },
    )

    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    seen = resp.get_json()
    assert seen["method"] == "GET"
    assert seen["path"] == "/orders/42"
    assert seen["query"] == {"expand": "lines", "q": "a b"}
    assert seen["query_string"] == "expand=lines&expand=customer&q=a%20b"
    assert seen["cookies"] == ["session=abc123"]
    assert seen["headers"]["accept"] == "application/json"
    assert seen["source_ip"] == "203.0.113.9"
    assert (seen["function"], seen["cloud"]) == ("api", "gcp")
    assert seen["invocation_id"] == "exec-7f3a"


def test_invocation_id_is_the_execution_id_functions_framework_logs_with(
    client: FlaskClient, user_app: UserApp
) -> None:
    # functions-framework mints Function-Execution-Id when the request has none.
    client.get("/")
    [(_, ctx)] = user_app.calls
    assert ctx.invocation_id
    assert ctx.invocation_id == ctx.native.headers["Function-Execution-Id"]


def test_invocation_id_falls_back_to_trace_id_outside_functions_framework() -> None:
    trace = {"x-cloud-trace-context": "105445aa7843bc8bf206b12000100000/1;o=1"}
    assert gcp._invocation_id(trace) == "105445aa7843bc8bf206b12000100000"
    assert len(gcp._invocation_id({})) == 32


def test_function_name_falls_back_to_cloud_run_service(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNICLOUD_FUNCTION")
    monkeypatch.setenv("K_SERVICE", "api-7c1e")
    assert client.get("/").get_json()["function"] == "api-7c1e"


def test_post_json_body_is_passed_through(client: FlaskClient, user_app: UserApp) -> None:
    resp = client.post("/orders", json={"sku": "A-1", "qty": 2})
    assert resp.status_code == 200
    [(request, _)] = user_app.calls
    assert request.method == "POST"
    assert request.json() == {"sku": "A-1", "qty": 2}
    assert request.headers["content-type"] == "application/json"


def test_binary_none_and_text_results(client: FlaskClient) -> None:
    binary = client.get("/binary")
    assert (binary.data, binary.headers["Content-Type"]) == (bytes(range(256)), "image/png")
    none = client.get("/none")
    assert (none.status_code, none.data) == (204, b"")
    text = client.get("/text")
    assert (text.data, text.headers["Content-Type"]) == (b"hello", "text/plain; charset=utf-8")


def test_response_cookies_become_separate_set_cookie_headers(client: FlaskClient) -> None:
    resp = client.get("/set-cookies")
    assert resp.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2"]


def test_handler_exception_is_a_generic_500(client: FlaskClient) -> None:
    resp = client.get("/boom")
    assert resp.status_code == 500
    assert resp.get_json() == {"error": "internal"}
    assert b"hunter2" not in resp.data


def test_cloud_scheduler_call_becomes_scheduled_with_header_time(client: FlaskClient, user_app: UserApp) -> None:
    # Cloud Scheduler sends application/octet-stream unless the job sets a content type.
    resp = client.post(
        "/",
        data=json.dumps(SCHEDULED_BODY),
        headers={**SCHEDULER_HEADERS, "Content-Type": "application/octet-stream"},
    )

    assert resp.status_code == 204
    [(event, ctx)] = user_app.calls
    assert event == Scheduled(
        schedule="rate(5 minutes)",
        time=datetime(2025, 3, 12, 2, 5, 0, 123000, tzinfo=UTC),
        function="api",
    )
    assert ctx.cloud == "gcp"


def test_cloud_scheduler_call_without_schedule_time_uses_now(client: FlaskClient, user_app: UserApp) -> None:
    headers = {k: v for k, v in SCHEDULER_HEADERS.items() if "ScheduleTime" not in k}
    before = datetime.now(UTC).replace(microsecond=0)
    assert client.post("/", json=SCHEDULED_BODY, headers=headers).status_code == 204
    [(event, _)] = user_app.calls
    assert before <= event.time <= before + timedelta(seconds=5)


def test_scheduled_body_without_scheduler_header_is_an_ordinary_request(client: FlaskClient, user_app: UserApp) -> None:
    resp = client.post("/", json=SCHEDULED_BODY)
    assert resp.status_code == 200
    [(event, _)] = user_app.calls
    assert event.json() == SCHEDULED_BODY


def test_scheduled_handler_failure_is_a_500_so_scheduler_retries(
    client: FlaskClient, user_app: UserApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNICLOUD_HANDLER", user_app.spec("failing"))
    resp = client.post("/", json=SCHEDULED_BODY, headers=SCHEDULER_HEADERS)
    assert resp.status_code == 500
    assert len(user_app.calls) == 1


def test_client_fixture_leaves_no_function_target_behind() -> None:
    assert os.environ.get("FUNCTION_TARGET") in (None, gcp.ENTRY_POINT)
