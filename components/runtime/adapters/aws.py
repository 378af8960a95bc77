"""AWS Lambda entry point: ``components.runtime.adapters.aws.handler``.

Two event shapes reach it:

* **Lambda Function URL, payload format 2.0** (``version``, ``rawPath``, ``rawQueryString``,
  ``headers``, ``cookies``, ``requestContext.http``, ``body``, ``isBase64Encoded``) →
  :class:`HttpRequest`; the result is a Function URL response dict.
* **omnicloud's EventBridge Scheduler input**, exactly
  ``{"omnicloud": {"kind": "scheduled", "schedule": ..., "time": ..., "execution_id": ...}}``
  where Scheduler has substituted ``<aws.scheduler.scheduled-time>`` and
  ``<aws.scheduler.execution-id>`` → :class:`Scheduled`.

Anything else raises :class:`ValueError` rather than guessing. No AWS SDK is imported: the
adapter only reshapes dicts.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from components.runtime.adapters._common import (
    first_values,
    function_name,
    is_text,
    now_utc,
    parse_time,
    response_headers,
    schedule_expression,
    scheduled_input,
)
from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.handler import call_http, call_scheduled, load_handler

__all__ = ["handler", "to_function_url_response", "to_http_request", "to_scheduled"]

CLOUD = "aws"


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any] | None:
    """The Lambda handler: translate, call the user's handler, translate back.

    Returns a Function URL response dict for HTTP events and None for scheduled ones (a
    scheduled handler's exception propagates so Scheduler's retry policy applies).

    Raises:
        ValueError: the event is neither a Function URL 2.0 request nor omnicloud's
            scheduled input.
    """
    ctx = Context(
        function=function_name(getattr(context, "function_name", None)),
        cloud=CLOUD,
        invocation_id=str(getattr(context, "aws_request_id", "") or ""),
        native=context,
    )
    inner = scheduled_input(event)
    if inner is not None:
        call_scheduled(load_handler(), to_scheduled(inner, ctx.function), ctx)
        return None
    if _is_function_url_event(event):
        return to_function_url_response(call_http(load_handler(), to_http_request(event), ctx))
    keys = sorted(event) if isinstance(event, Mapping) else type(event).__name__
    raise ValueError(
        f"unrecognised Lambda event (keys: {keys}); omnicloud handles Function URL payload "
        "format 2.0 and its own EventBridge Scheduler input "
        '{"omnicloud": {"kind": "scheduled", ...}}'
    )


def _is_function_url_event(event: object) -> bool:
    return (
        isinstance(event, Mapping)
        and event.get("version") == "2.0"
        and "rawPath" in event
        and isinstance((event.get("requestContext") or {}).get("http"), Mapping)
    )


def to_http_request(event: Mapping[str, Any]) -> HttpRequest:
    """A Function URL (payload 2.0) event as an :class:`HttpRequest`."""
    http = event["requestContext"]["http"]
    raw_query = event.get("rawQueryString") or ""
    cookies = tuple(event.get("cookies") or ())
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    # Payload 2.0 moves the Cookie header into `cookies`; put it back so handlers see the
    # same headers on every cloud.
    if cookies and "cookie" not in headers:
        headers["cookie"] = "; ".join(cookies)
    body = event.get("body") or ""
    raw_body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    return HttpRequest(
        method=http.get("method", "GET"),
        # Function URLs deliver rawPath still percent-encoded; the portable path is decoded
        # (as werkzeug gives it on GCP).
        path=unquote(event.get("rawPath") or http.get("path") or "/"),
        query=first_values(raw_query),
        headers=headers,
        body=raw_body,
        query_string=raw_query,
        source_ip=http.get("sourceIp"),
        cookies=cookies,
    )


def to_function_url_response(response: HttpResponse) -> dict[str, Any]:
    """An :class:`HttpResponse` as a Function URL response dict (binary bodies base64)."""
    content = response.content
    headers = response_headers(response)
    out: dict[str, Any] = {"statusCode": response.status, "headers": headers}
    text = _as_text(headers, content)
    if text is None:
        out["body"] = base64.b64encode(content).decode("ascii")
        out["isBase64Encoded"] = True
    else:
        out["body"] = text
        out["isBase64Encoded"] = False
    if response.cookies:
        out["cookies"] = list(response.cookies)
    return out


def _as_text(headers: Mapping[str, str], content: bytes) -> str | None:
    """The body as text when it is safe to send it unencoded, else None."""
    if not content:
        return ""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if not is_text(content_type):
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def to_scheduled(inner: Mapping[str, Any], function: str) -> Scheduled:
    """omnicloud's Scheduler input (the dict inside ``"omnicloud"``) as :class:`Scheduled`."""
    raw_time = inner.get("time")
    when = parse_time(raw_time, what="EventBridge Scheduler input 'time'") if raw_time else now_utc()
    return Scheduled(schedule=schedule_expression(inner), time=when, function=function)
