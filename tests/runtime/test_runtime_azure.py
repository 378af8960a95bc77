"""The Azure Functions adapter, checked with the real ``azure.functions`` library types."""

from __future__ import annotations

import json
import runpy
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from components.runtime import Scheduled
from components.runtime.adapters import azure

from .azure_emulators import WorkerContext
from .conftest import UserApp

NCRONTAB = "0 0 2 * * *"


def functions_by_name(app: func.FunctionApp) -> dict[str, func.Function]:
    return {f.get_function_name() or "": f for f in app.get_functions()}


def bindings(fn: func.Function) -> dict[str, dict[str, Any]]:
    """The function.json bindings the worker reports to the host, keyed by type."""
    return {b["type"]: b for b in json.loads(fn.get_function_json())["bindings"]}


def http_request(method: str, url: str, body: bytes = b"", **headers: str) -> func.HttpRequest:
    return func.HttpRequest(
        method=method,
        url=url,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        params={},
        route_params={"path": url.split("/", 3)[-1].split("?")[0]},
        body=body,
    )


@pytest.mark.parametrize(("http", "level"), [("public", "ANONYMOUS"), ("private", "FUNCTION")])
def test_http_trigger_is_a_catch_all_route_with_the_right_auth_level(http: str, level: str) -> None:
    fns = functions_by_name(azure.build_app(http=http, schedule=None))

    assert sorted(fns) == sorted([azure.HTTP_FUNCTION, azure.TASK_FUNCTION])
    trigger = bindings(fns[azure.HTTP_FUNCTION])["httpTrigger"]
    assert trigger["route"] == "{*path}"
    assert trigger["authLevel"] == level
    assert sorted(trigger["methods"]) == sorted(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    assert bindings(fns[azure.HTTP_FUNCTION])["http"]["direction"] == "OUT"


def test_timer_trigger_uses_the_ncrontab_schedule_with_monitoring() -> None:
    fns = functions_by_name(azure.build_app(http=None, schedule=NCRONTAB))

    assert sorted(fns) == sorted([azure.TIMER_FUNCTION, azure.TASK_FUNCTION])
    trigger = bindings(fns[azure.TIMER_FUNCTION])["timerTrigger"]
    assert trigger["schedule"] == NCRONTAB
    assert trigger["runOnStartup"] is False
    assert trigger["useMonitor"] is True


def test_http_and_schedule_together_register_both_beside_the_task_route() -> None:
    fns = functions_by_name(azure.build_app(http="public", schedule=NCRONTAB))
    assert sorted(fns) == sorted([azure.HTTP_FUNCTION, azure.TIMER_FUNCTION, azure.TASK_FUNCTION])


def test_entry_functions_annotate_with_real_azure_types_for_worker_binding() -> None:
    # The worker matches parameters to bindings by their annotations; string annotations
    # would have to be resolved in the adapter's globals, where azure.functions is absent.
    fns = functions_by_name(azure.build_app(http="public", schedule=NCRONTAB))
    http_hints = typing.get_type_hints(fns[azure.HTTP_FUNCTION].get_user_function())
    assert http_hints == {
        "req": func.HttpRequest,
        "context": func.Context,
        "return": func.HttpResponse,
    }
    timer_hints = typing.get_type_hints(fns[azure.TIMER_FUNCTION].get_user_function())
    assert timer_hints["timer"] is func.TimerRequest


@pytest.mark.parametrize(("http", "schedule"), [("intranet", None), (None, "0 2 * * *"), (None, "cron(0 2 * * *)")])
def test_malformed_arguments_are_rejected(http: str | None, schedule: str | None) -> None:
    with pytest.raises(ValueError):
        azure.build_app(http=http, schedule=schedule)
    with pytest.raises(ValueError):
        azure.entry_files(http, schedule)


def test_http_invocation_reaches_handler_as_portable_request(user_app: UserApp) -> None:
    fn = functions_by_name(azure.build_app(http="public", schedule=None))[azure.HTTP_FUNCTION]
    req = http_request(
        "GET",
        "https://shop-api.azurewebsites.net/orders/42?expand=lines&expand=customer&q=a%20b",
        Accept="application/json",
        Cookie="session=abc123; theme=dark",
        X_Forwarded_For="203.0.113.9:50312",
    )

    resp = fn.get_user_function()(req=req, context=WorkerContext("http", "inv-az-1"))

    assert isinstance(resp, func.HttpResponse)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    seen = json.loads(resp.get_body())
    assert seen["method"] == "GET"
    assert seen["path"] == "/orders/42"
    assert seen["query"] == {"expand": "lines", "q": "a b"}
    assert seen["query_string"] == "expand=lines&expand=customer&q=a%20b"
    assert seen["cookies"] == ["session=abc123", "theme=dark"]
    assert seen["headers"]["accept"] == "application/json"
    assert seen["source_ip"] == "203.0.113.9"
    assert (seen["function"], seen["cloud"], seen["invocation_id"]) == ("api", "azure", "inv-az-1")


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9:50312", "203.0.113.9"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("2001:db8::7", "2001:db8::7"),
        ("198.51.100.1:1, 10.0.0.4:2", "198.51.100.1"),
    ],
)
def test_source_ip_strips_the_port_app_service_appends(user_app: UserApp, forwarded: str, expected: str) -> None:
    fn = functions_by_name(azure.build_app(http="public", schedule=None))[azure.HTTP_FUNCTION]
    req = http_request("GET", "https://h.net/", X_Forwarded_For=forwarded)
    fn.get_user_function()(req=req, context=WorkerContext("http", "i"))
    [(request, _)] = user_app.calls
    assert request.source_ip == expected


def test_post_body_and_binary_response_pass_through_unchanged(user_app: UserApp) -> None:
    fn = functions_by_name(azure.build_app(http="private", schedule=None))[azure.HTTP_FUNCTION]
    ctx = WorkerContext("http", "inv-az-2")
    body = json.dumps({"sku": "A-1"}).encode()

    post = fn.get_user_function()(
        req=http_request("POST", "https://h.net/orders", body, Content_Type="application/json"),
        context=ctx,
    )
    binary = fn.get_user_function()(req=http_request("GET", "https://h.net/binary"), context=ctx)

    assert json.loads(post.get_body())["body"] == body.decode()
    assert binary.get_body() == bytes(range(256))
    assert binary.headers["content-type"] == "image/png"


def test_response_cookies_become_separate_set_cookie_headers(user_app: UserApp) -> None:
    fn = functions_by_name(azure.build_app(http="public", schedule=None))[azure.HTTP_FUNCTION]
    resp = fn.get_user_function()(
        req=http_request("GET", "https://h.net/set-cookies"), context=WorkerContext("http", "i")
    )
    assert resp.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]


def test_handler_exception_is_a_generic_500(user_app: UserApp) -> None:
    fn = functions_by_name(azure.build_app(http="public", schedule=None))[azure.HTTP_FUNCTION]
    resp = fn.get_user_function()(req=http_request("GET", "https://h.net/boom"), context=WorkerContext("http", "i"))
    assert resp.status_code == 500
    assert json.loads(resp.get_body()) == {"error": "internal"}


def test_timer_invocation_is_scheduled_with_portable_expression_and_utc_now(
    user_app: UserApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNICLOUD_SCHEDULE", "cron(0 2 * * *)")
    fn = functions_by_name(azure.build_app(http=None, schedule=NCRONTAB))[azure.TIMER_FUNCTION]

    before = datetime.now(UTC).replace(microsecond=0)
    result = fn.get_user_function()(timer=TimerRequest(past_due=False), context=WorkerContext("timer", "inv-t-1"))

    assert result is None
    [(event, ctx)] = user_app.calls
    assert isinstance(event, Scheduled)
    assert (event.schedule, event.function) == ("cron(0 2 * * *)", "api")
    assert event.time.tzinfo is UTC and event.time.microsecond == 0
    assert before <= event.time <= before + timedelta(seconds=5)
    assert (ctx.cloud, ctx.invocation_id) == ("azure", "inv-t-1")


def test_timer_handler_failure_propagates(user_app: UserApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNICLOUD_HANDLER", user_app.spec("failing"))
    fn = functions_by_name(azure.build_app(http=None, schedule=NCRONTAB))[azure.TIMER_FUNCTION]
    with pytest.raises(RuntimeError, match="scheduled job failed"):
        fn.get_user_function()(timer=TimerRequest(), context=WorkerContext("timer", "i"))


@pytest.mark.parametrize(("http", "ncrontab"), [("public", None), ("private", NCRONTAB), (None, NCRONTAB)])
def test_rendered_function_app_builds_an_equivalent_app(http: str | None, ncrontab: str | None, tmp_path: Path) -> None:
    files = azure.entry_files(http, ncrontab)
    path = tmp_path / "function_app.py"
    path.write_text(files["function_app.py"])

    rendered = runpy.run_path(str(path))["app"]

    def shape(app: func.FunctionApp) -> list[dict[str, Any]]:
        return [{**json.loads(f.get_function_json()), "name": f.get_function_name()} for f in app.get_functions()]

    assert isinstance(rendered, func.FunctionApp)
    assert shape(rendered) == shape(azure.build_app(http, ncrontab))


def test_entry_files_are_deterministic() -> None:
    assert azure.entry_files("public", NCRONTAB) == azure.entry_files("public", NCRONTAB)


def test_host_json_uses_bundle_v4_and_an_empty_route_prefix() -> None:
    host = json.loads(azure.entry_files("public", None)["host.json"])
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    assert host["extensions"]["http"]["routePrefix"] == ""
    assert "functionTimeout" not in host


def test_host_json_carries_the_function_timeout_when_given() -> None:
    host = json.loads(azure.entry_files(None, NCRONTAB, function_timeout_s=3725)["host.json"])
    assert host["functionTimeout"] == "01:02:05"
