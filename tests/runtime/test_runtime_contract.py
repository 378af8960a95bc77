"""The handler contract: portable events, return-value normalisation, failures, loading."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import pytest

from components import runtime
from components.runtime import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.clients import LinkNotFound, workflow_input
from components.runtime.handler import (
    HandlerLoadError,
    call_http,
    call_scheduled,
    load_handler,
    to_http_response,
)

from .conftest import UserApp

CTX = Context(function="api", cloud="local", invocation_id="inv-1")


def test_http_request_lowercases_header_names_and_is_immutable() -> None:
    req = HttpRequest("get", "/x", {"a": "1"}, {"Content-Type": "application/json"}, b"{}")
    assert req.method == "GET"
    assert req.headers == {"content-type": "application/json"}
    with pytest.raises(TypeError):
        req.headers["x"] = "y"  # type: ignore[index]
    with pytest.raises(AttributeError):
        req.path = "/y"  # type: ignore[misc]


def test_http_request_text_and_json_decode_the_body() -> None:
    req = HttpRequest("POST", "/", body='{"name": "Zoë"}'.encode())
    assert req.text == '{"name": "Zoë"}'
    assert req.json() == {"name": "Zoë"}


def test_http_request_json_of_empty_body_raises_value_error() -> None:
    with pytest.raises(ValueError):
        HttpRequest("POST", "/").json()


def test_scheduled_time_must_be_timezone_aware_and_is_normalised_to_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Scheduled("rate(5 minutes)", datetime(2025, 1, 1, 2, 0), "nightly")
    plus_two = timezone(timedelta(hours=2))
    event = Scheduled("rate(5 minutes)", datetime(2025, 1, 1, 4, 0, tzinfo=plus_two), "n")
    assert event.time == datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
    assert event.time.tzinfo is UTC


def test_context_native_object_is_not_part_of_equality_or_repr() -> None:
    a = Context("api", "aws", "id-1", native=object())
    assert a == Context("api", "aws", "id-1")
    assert "native" not in repr(a)


def test_http_response_rejects_impossible_status() -> None:
    with pytest.raises(ValueError, match="100-599"):
        HttpResponse(status=42)


def test_http_response_json_and_text_constructors_set_content_type() -> None:
    j = HttpResponse.json({"ok": True}, status=201)
    assert (j.status, j.header("Content-Type"), json.loads(j.content)) == (
        201,
        "application/json",
        {"ok": True},
    )
    t = HttpResponse.text("héllo")
    assert t.header("content-type") == "text/plain; charset=utf-8"
    assert t.content == "héllo".encode()


def test_dict_and_list_results_become_json_200() -> None:
    for value in ({"a": [1, 2]}, [1, "two"]):
        resp = to_http_response(value)
        assert resp.status == 200
        assert resp.header("content-type") == "application/json"
        assert json.loads(resp.content) == value


def test_str_bytes_and_none_results_get_their_content_types() -> None:
    assert to_http_response("hi").header("content-type") == "text/plain; charset=utf-8"
    raw = to_http_response(b"\x00\x01")
    assert (raw.header("content-type"), raw.content) == ("application/octet-stream", b"\x00\x01")
    empty = to_http_response(None)
    assert (empty.status, empty.content) == (204, b"")


def test_http_response_result_is_returned_unchanged() -> None:
    resp = HttpResponse(418, "teapot")
    assert to_http_response(resp) is resp


def test_unsupported_result_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="returned int"):
        to_http_response(42)


def test_handler_exception_becomes_500_without_leaking_the_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: HttpRequest, ctx: Context) -> dict:
        raise RuntimeError("db password is hunter2")

    with caplog.at_level(logging.ERROR, logger="omnicloud.runtime"):
        resp = call_http(broken, HttpRequest("GET", "/orders"), CTX)

    assert resp.status == 500
    assert json.loads(resp.content) == {"error": "internal"}
    assert b"hunter2" not in resp.content
    [record] = caplog.records
    assert record.exc_info is not None and "hunter2" in str(record.exc_info[1])
    assert "GET /orders" in record.getMessage() and "inv-1" in record.getMessage()


def test_bad_return_value_is_also_a_500() -> None:
    resp = call_http(lambda e, c: object(), HttpRequest("GET", "/"), CTX)
    assert resp.status == 500


def test_scheduled_handler_exception_propagates_for_platform_retry() -> None:
    event = Scheduled("rate(1 hour)", datetime.now(UTC), "nightly")

    def failing(e: Scheduled, c: Context) -> None:
        raise RuntimeError("retry me")

    with pytest.raises(RuntimeError, match="retry me"):
        call_scheduled(failing, event, CTX)
    assert call_scheduled(lambda e, c: "ignored", event, CTX) is None


def test_load_handler_reads_env_and_caches(user_app: UserApp) -> None:
    first = load_handler()
    assert first.__name__ == "handle"
    assert load_handler() is first
    assert load_handler(user_app.spec("failing")).__name__ == "failing"


def test_load_handler_without_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNICLOUD_HANDLER", raising=False)
    with pytest.raises(HandlerLoadError, match="OMNICLOUD_HANDLER is not set"):
        load_handler()


def test_load_handler_missing_module_is_a_clear_error() -> None:
    with pytest.raises(HandlerLoadError, match=r"module 'no_such_pkg\.api' not found"):
        load_handler("no_such_pkg.api.handle")


def test_load_handler_missing_attribute_is_a_clear_error(user_app: UserApp) -> None:
    with pytest.raises(HandlerLoadError, match="has no 'nope'"):
        load_handler(user_app.spec("nope"))


def test_load_handler_non_callable_attribute_is_rejected(user_app: UserApp) -> None:
    with pytest.raises(HandlerLoadError, match="'CALLS' is a list, not a function"):
        load_handler(user_app.spec("CALLS"))


def test_load_handler_spec_without_module_is_rejected() -> None:
    with pytest.raises(HandlerLoadError, match=r"must be 'module\.function'"):
        load_handler("handle")


def test_missing_dependency_inside_user_module_is_not_reported_as_missing_handler(
    user_app: UserApp,
) -> None:
    (user_app.module_dir / "needs_dep.py").write_text("import not_installed_dep\n")
    with pytest.raises(ModuleNotFoundError) as info:
        load_handler("needs_dep.handle")
    assert type(info.value) is ModuleNotFoundError
    assert info.value.name == "not_installed_dep"


@pytest.mark.parametrize(
    ("kind", "variable"),
    [
        ("queue", "OMNICLOUD_LINK_QUEUE_NO_SUCH"),
        ("bus", "OMNICLOUD_LINK_BUS_NO_SUCH"),
        ("table", "OMNICLOUD_LINK_TABLE_NO_SUCH"),
        ("workflow", "OMNICLOUD_LINK_WORKFLOW_NO_SUCH"),
    ],
)
def test_a_client_of_an_unlinked_resource_names_the_missing_link(
    kind: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(LinkNotFound, match=rf"no {kind} 'no-such'.*{variable} is not set.*no-such\.allow"):
        getattr(runtime, kind)("no-such")


def test_workflow_input_is_a_plain_copy_of_a_json_object() -> None:
    frozen = MappingProxyType({"order": {"lines": [1, 2]}})
    document = workflow_input(frozen)
    assert document == {"order": {"lines": [1, 2]}} and type(document) is dict
    assert workflow_input(None) == {}
    with pytest.raises(TypeError, match="not list"):
        workflow_input([{"a": 1}])  # type: ignore[arg-type]
