"""The AWS Lambda adapter against realistic Function URL 2.0 and Scheduler events."""

from __future__ import annotations

import base64
import copy
import json
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.runtime import HttpResponse, Scheduled
from components.runtime.adapters import aws

from .conftest import UserApp

LAMBDA_CONTEXT = SimpleNamespace(
    function_name="api-fn-3f9a2c1",
    aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
)

# Shaped after the AWS docs' Function URL request payload (format 2.0).
GET_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/orders/42",
    "rawQueryString": "expand=lines&expand=customer&q=a%20b&empty=",
    "cookies": ["session=abc123", "theme=dark"],
    "headers": {
        "accept": "application/json",
        "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
        "host": "abcdefg.lambda-url.us-east-1.on.aws",
        "x-forwarded-for": "198.51.100.7",
    },
    "queryStringParameters": {"expand": "lines,customer", "q": "a b", "empty": ""},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "abcdefg",
        "domainName": "abcdefg.lambda-url.us-east-1.on.aws",
        "domainPrefix": "abcdefg",
        "http": {
            "method": "GET",
            "path": "/orders/42",
            "protocol": "HTTP/1.1",
            "sourceIp": "198.51.100.7",
            "userAgent": "curl/8.5.0",
        },
        "requestId": "id-1",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2025:19:03:58 +0000",
        "timeEpoch": 1741806238390,
    },
    "isBase64Encoded": False,
}


def post_event(body: bytes, content_type: str) -> dict[str, Any]:
    event = copy.deepcopy(GET_EVENT)
    event.pop("cookies")
    event["rawQueryString"] = ""
    event.pop("queryStringParameters")
    event["requestContext"]["http"]["method"] = "POST"
    event["headers"]["content-type"] = content_type
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    return event


def echo(response: dict[str, Any]) -> dict[str, Any]:
    assert response["isBase64Encoded"] is False
    return json.loads(response["body"])


def test_get_with_query_and_cookies_reaches_handler_as_portable_request(
    user_app: UserApp,
) -> None:
    response = aws.handler(GET_EVENT, LAMBDA_CONTEXT)

    assert response is not None
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    seen = echo(response)
    assert seen["method"] == "GET"
    assert seen["path"] == "/orders/42"
    # First value per key, from the raw query string (not Lambda's comma-joined map).
    assert seen["query"] == {"expand": "lines", "q": "a b", "empty": ""}
    assert seen["query_string"] == GET_EVENT["rawQueryString"]
    assert seen["cookies"] == ["session=abc123", "theme=dark"]
    # The Cookie header is restored, so headers match the other clouds.
    assert seen["headers"]["cookie"] == "session=abc123; theme=dark"
    assert seen["source_ip"] == "198.51.100.7"
    assert seen["function"] == "api"  # OMNICLOUD_FUNCTION wins over the Lambda name
    assert seen["cloud"] == "aws"
    assert seen["invocation_id"] == LAMBDA_CONTEXT.aws_request_id


def test_context_falls_back_to_lambda_function_name(user_app: UserApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNICLOUD_FUNCTION")
    response = aws.handler(GET_EVENT, LAMBDA_CONTEXT)
    assert response is not None
    assert echo(response)["function"] == "api-fn-3f9a2c1"
    _, ctx = user_app.calls[-1]
    assert ctx.native is LAMBDA_CONTEXT


def test_percent_encoded_raw_path_is_decoded(user_app: UserApp) -> None:
    event = copy.deepcopy(GET_EVENT)
    event["rawPath"] = "/files/r%C3%A9sum%C3%A9%20v2.pdf"
    aws.handler(event, LAMBDA_CONTEXT)
    [(request, _)] = user_app.calls
    assert request.path == "/files/résumé v2.pdf"


def test_post_with_base64_body_is_decoded_before_the_handler(user_app: UserApp) -> None:
    payload = {"sku": "A-1", "qty": 2, "note": "größer"}
    event = post_event(json.dumps(payload).encode(), "application/json")

    response = aws.handler(event, LAMBDA_CONTEXT)

    [(request, _)] = user_app.calls
    assert request.method == "POST"
    assert request.json() == payload
    assert request.cookies == ()
    assert response is not None and echo(response)["body"] == json.dumps(payload)


def test_plain_text_body_is_passed_through(user_app: UserApp) -> None:
    event = copy.deepcopy(GET_EVENT)
    event["body"] = "hello=world"
    aws.handler(event, LAMBDA_CONTEXT)
    [(request, _)] = user_app.calls
    assert request.body == b"hello=world"


def test_binary_response_is_base64_encoded(user_app: UserApp) -> None:
    event = copy.deepcopy(GET_EVENT)
    event["rawPath"] = "/binary"

    response = aws.handler(event, LAMBDA_CONTEXT)

    assert response is not None
    assert response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == "image/png"
    assert base64.b64decode(response["body"]) == bytes(range(256))


def test_none_result_is_an_empty_204(user_app: UserApp) -> None:
    event = copy.deepcopy(GET_EVENT)
    event["rawPath"] = "/none"
    assert aws.handler(event, LAMBDA_CONTEXT) == {
        "statusCode": 204,
        "headers": {},
        "body": "",
        "isBase64Encoded": False,
    }


def test_response_cookies_use_the_function_url_cookies_field(user_app: UserApp) -> None:
    event = copy.deepcopy(GET_EVENT)
    event["rawPath"] = "/set-cookies"
    response = aws.handler(event, LAMBDA_CONTEXT)
    assert response is not None
    assert response["cookies"] == ["a=1; Path=/", "b=2"]
    assert "Set-Cookie" not in response["headers"]


def test_handler_exception_is_a_generic_500(user_app: UserApp) -> None:
    event = copy.deepcopy(GET_EVENT)
    event["rawPath"] = "/boom"
    response = aws.handler(event, LAMBDA_CONTEXT)
    assert response is not None
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"error": "internal"}


def test_body_without_content_type_is_sent_as_octet_stream_base64() -> None:
    out = aws.to_function_url_response(HttpResponse(200, b"abc"))
    assert out["headers"] == {"content-type": "application/octet-stream"}
    assert (out["isBase64Encoded"], base64.b64decode(out["body"])) == (True, b"abc")


@given(
    body=st.binary(max_size=512),
    content_type=st.sampled_from(
        ["text/plain; charset=utf-8", "application/json", "image/png", "application/vnd.api+json"]
    ),
)
def test_function_url_response_body_round_trips_any_bytes(body: bytes, content_type: str) -> None:
    out = aws.to_function_url_response(HttpResponse(200, body, {"content-type": content_type}))
    sent = base64.b64decode(out["body"]) if out["isBase64Encoded"] else out["body"].encode()
    assert sent == body


def test_scheduler_input_becomes_scheduled_with_parsed_time(user_app: UserApp) -> None:
    # What Scheduler delivers after substituting <aws.scheduler.*> in omnicloud's input.
    event = {
        "omnicloud": {
            "kind": "scheduled",
            "schedule": "cron(0 2 * * *)",
            "time": "2025-03-12T02:00:00Z",
            "execution_id": "d9ac3e27-0ba5-4c7d-a1b2-7e3f0f1e9a11",
        }
    }

    assert aws.handler(event, LAMBDA_CONTEXT) is None

    [(scheduled, ctx)] = user_app.calls
    assert scheduled == Scheduled(
        schedule="cron(0 2 * * *)",
        time=datetime(2025, 3, 12, 2, 0, tzinfo=UTC),
        function="api",
    )
    assert ctx.cloud == "aws"


def test_scheduled_handler_failure_propagates_to_lambda(user_app: UserApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNICLOUD_HANDLER", user_app.spec("failing"))
    event = {
        "omnicloud": {
            "kind": "scheduled",
            "schedule": "rate(5 minutes)",
            "time": "2025-03-12T02:05:00Z",
            "execution_id": "x",
        }
    }
    with pytest.raises(RuntimeError, match="scheduled job failed"):
        aws.handler(event, LAMBDA_CONTEXT)


def test_scheduler_input_with_unparsable_time_is_a_clear_error(user_app: UserApp) -> None:
    event = {
        "omnicloud": {"kind": "scheduled", "schedule": "rate(5 minutes)", "time": "<aws.scheduler.scheduled-time>"}
    }
    with pytest.raises(ValueError, match="not an ISO-8601 timestamp"):
        aws.handler(event, LAMBDA_CONTEXT)


@pytest.mark.parametrize(
    "event",
    [
        {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]},  # not wired to this adapter
        {"version": "1.0", "path": "/", "httpMethod": "GET"},  # API Gateway REST (v1)
        {"omnicloud": {"kind": "something-else"}},
    ],
)
def test_unknown_event_shape_raises_value_error(user_app: UserApp, event: dict) -> None:
    with pytest.raises(ValueError, match="unrecognised Lambda event"):
        aws.handler(event, LAMBDA_CONTEXT)
    assert user_app.name not in sys.modules  # the user's handler was never even loaded


# --- workflow tasks (Step Functions' lambda:invoke payload) -----------------------------------


def task_event(input: Any, step: str = "reserve") -> dict[str, Any]:
    """What the compiled ASL sends as ``Payload`` (providers.aws.asl)."""
    return {"omnicloud": {"kind": "workflow-task", "workflow": "checkout", "step": step}, "input": input}


@pytest.fixture
def task_handler(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Select one of the golden workflows' task handlers as the function's handler."""
    from components.runtime import env, handler

    def select(name: str) -> None:
        monkeypatch.setenv(env.HANDLER, f"tests.workflow.handlers.{name}")
        monkeypatch.setenv(env.FUNCTION, "worker")
        handler._clear_cache()

    yield select
    handler._clear_cache()


def test_task_input_reaches_the_handler_and_its_json_output_is_the_lambda_result(task_handler: Any) -> None:
    task_handler("echo")
    assert aws.handler(task_event({"order": {"id": "o-1"}, "n": [1, 2]}), LAMBDA_CONTEXT) == {
        "order": {"id": "o-1"},
        "n": [1, 2],
    }
    task_handler("add")
    assert aws.handler(task_event({"a": 2, "b": 3}), LAMBDA_CONTEXT) == 5  # a scalar output, unwrapped


def test_task_handler_gets_a_portable_context(user_app: UserApp) -> None:
    event = task_event({"path": "/ignored"})
    with pytest.raises(Exception) as raised:  # the sample app's handle expects an HttpRequest
        aws.handler(event, LAMBDA_CONTEXT)
    assert type(raised.value).__name__ == "AttributeError"
    [(received, ctx)] = user_app.calls
    assert received == {"path": "/ignored"}  # the envelope's input, nothing else
    assert (ctx.function, ctx.cloud, ctx.invocation_id) == ("api", "aws", LAMBDA_CONTEXT.aws_request_id)


def test_task_failed_becomes_an_exception_named_by_the_portable_error(
    task_handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    task_handler("fail")
    with pytest.raises(Exception) as raised:
        aws.handler(task_event({"error": "PaymentDeclined", "cause": "card expired"}, step="charge"), LAMBDA_CONTEXT)
    # The Lambda Python runtime reports errorType = type(e).__name__, errorMessage = str(e).
    assert (type(raised.value).__name__, str(raised.value)) == ("PaymentDeclined", "card expired")
    record = next(r for r in caplog.records if "workflow task failed" in r.getMessage())
    assert "PaymentDeclined" in record.getMessage() and "step=charge" in record.getMessage()
    assert record.exc_info is not None  # the traceback is logged


def test_a_plain_exception_keeps_its_class_name_and_message(task_handler: Any) -> None:
    task_handler("boom")
    with pytest.raises(Exception) as raised:
        aws.handler(task_event({"message": "bad sku 'x'"}), LAMBDA_CONTEXT)
    assert (type(raised.value).__name__, str(raised.value)) == ("ValueError", "bad sku 'x'")
    assert isinstance(raised.value.__cause__, ValueError)  # the original, chained for the logs


def test_a_task_envelope_is_recognised_before_any_other_shape(task_handler: Any) -> None:
    task_handler("echo")
    # An input that looks like another event is still just the task's input.
    sqs_like = {"Records": [{"eventSource": "aws:sqs", "messageId": "m", "eventSourceARN": "arn"}]}
    assert aws.handler(task_event(sqs_like), LAMBDA_CONTEXT) == sqs_like
