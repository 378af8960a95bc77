"""The workflow task route every Azure function app carries (``POST /_omnicloud/task``)."""

from __future__ import annotations

import json
import logging
import re
import textwrap
import typing
import uuid
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from components.runtime.adapters import azure
from components.runtime.orchestration.task import TASK_ROUTE, task_envelope

from .azure_emulators import WorkerContext
from .test_runtime_azure import NCRONTAB, bindings, functions_by_name

HANDLERS = textwrap.dedent(
    """
    from components.runtime.orchestration.task import TaskFailed

    def echo(event, ctx):
        return {"got": event, "function": ctx.function, "cloud": ctx.cloud, "invocation_id": ctx.invocation_id}

    def declined(event, ctx):
        raise TaskFailed("PaymentDeclined", "card expired")

    def broken(event, ctx):
        raise KeyError("sku")

    def not_json(event, ctx):
        return {1, 2}
    """
)


@pytest.fixture
def tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A handler module of task functions; returns its import name."""
    name = f"task_handlers_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(HANDLERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OMNICLOUD_FUNCTION", "pricer")
    return name


def call(module: str, handler: str, body: bytes, monkeypatch: pytest.MonkeyPatch) -> func.HttpResponse:
    monkeypatch.setenv("OMNICLOUD_HANDLER", f"{module}.{handler}")
    entry = functions_by_name(azure.build_app(http="public", schedule=None))[azure.TASK_FUNCTION]
    request = func.HttpRequest(
        method="POST", url=f"https://pricer.azurewebsites.net{TASK_ROUTE}", headers={}, params={}, body=body
    )
    response = entry.get_user_function()(req=request, context=WorkerContext(azure.TASK_FUNCTION, "inv-task-1"))
    assert isinstance(response, func.HttpResponse)
    assert response.mimetype == "application/json"
    return response


def envelope(input: Any) -> bytes:
    return json.dumps(task_envelope("checkout", "price", input)).encode()


@pytest.mark.parametrize(
    ("http", "schedule"), [(None, None), ("public", None), ("private", NCRONTAB), (None, NCRONTAB)]
)
def test_every_app_has_the_task_route_post_only_behind_a_function_key(http: str | None, schedule: str | None) -> None:
    fns = functions_by_name(azure.build_app(http=http, schedule=schedule))
    trigger = bindings(fns[azure.TASK_FUNCTION])["httpTrigger"]
    assert trigger["route"] == "_omnicloud/task" == TASK_ROUTE.lstrip("/")
    assert trigger["methods"] == ["POST"]
    # Even on a public app: only a workflow holding the key may run the handler as a task.
    assert trigger["authLevel"] == "FUNCTION"
    assert bindings(fns[azure.TASK_FUNCTION])["http"]["direction"] == "OUT"


def _template_matches(template: str, path: str) -> bool:
    """ASP.NET route templates as the apps use them: a literal route, or ``{*name}``."""
    if template.startswith("{*"):
        return True
    return template.strip("/") == path.strip("/")


def host_routing(functions: list[func.Function], method: str, path: str) -> str:
    """The function the Functions host picks: the first route that matches, with routes in the
    order of the function names (sorted ordinal, case-insensitive), with no ranking of literal
    segments above parameters (azure-functions-host FunctionMetadataManager; the ranking is
    azure-webjobs-sdk-extensions PR #842, unmerged)."""
    for fn in sorted(functions, key=lambda f: (f.get_function_name() or "").casefold()):
        trigger = bindings(fn).get("httpTrigger")
        if trigger and method in trigger["methods"] and _template_matches(trigger["route"], path):
            return fn.get_function_name() or ""
    raise AssertionError(f"no route for {method} {path}")


def test_the_host_routes_task_posts_to_the_task_function_despite_the_catch_all() -> None:
    functions = azure.build_app(http="public", schedule=None).get_functions()
    assert host_routing(functions, "POST", TASK_ROUTE) == azure.TASK_FUNCTION
    # Everything else on that path, and every other path, is still the user's.
    assert host_routing(functions, "GET", TASK_ROUTE) == azure.HTTP_FUNCTION
    assert host_routing(functions, "POST", "/orders") == azure.HTTP_FUNCTION
    assert re.fullmatch(r"[a-z][a-z0-9_]*", azure.TASK_FUNCTION)  # a valid Azure function name


def test_task_entry_annotates_with_real_azure_types_for_worker_binding() -> None:
    fn = functions_by_name(azure.build_app(http=None, schedule=None))[azure.TASK_FUNCTION]
    assert typing.get_type_hints(fn.get_user_function()) == {
        "req": func.HttpRequest,
        "context": func.Context,
        "return": func.HttpResponse,
    }


def test_the_handler_gets_the_envelope_input_and_its_output_comes_back(
    tasks: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = call(tasks, "echo", envelope({"sku": "A-1", "qty": 2}), monkeypatch)
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {
        "output": {
            "got": {"sku": "A-1", "qty": 2},
            "function": "pricer",
            "cloud": "azure",
            "invocation_id": "inv-task-1",
        }
    }


@pytest.mark.parametrize(
    ("handler", "error", "cause"),
    [
        ("declined", "PaymentDeclined", "card expired"),
        ("broken", "KeyError", "'sku'"),
        ("not_json", "TypeError", "Object of type set is not JSON serializable"),
    ],
)
def test_a_failing_task_is_a_200_error_reply_and_its_traceback_is_logged(
    tasks: str, handler: str, error: str, cause: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="omnicloud.runtime"):
        response = call(tasks, handler, envelope({}), monkeypatch)
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"error": error, "cause": cause}
    [record] = caplog.records
    assert record.exc_info is not None
    assert "workflow=checkout, step=price, function=pricer" in record.getMessage()


@pytest.mark.parametrize(
    "body", [b"", b"not json", b'{"input": 1}', json.dumps({"omnicloud": {"kind": "scheduled"}}).encode()]
)
def test_a_body_that_is_no_task_envelope_is_a_400(tasks: str, body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    response = call(tasks, "echo", body, monkeypatch)
    assert response.status_code == 400
    assert json.loads(response.get_body())["error"] == "InvalidTaskEnvelope"
