"""Google Cloud Functions (gen2) entry point for functions-framework: ``entry``.

The deployment's ``main.py`` (see :func:`entry_files`) re-exports :func:`entry`, and the
function's build config names ``entry`` as its entry point. Every invocation is an HTTP
request:

* Cloud Scheduler's call — header ``X-CloudScheduler`` present *and* a JSON body
  ``{"omnicloud": {"kind": "scheduled", "schedule": ...}}`` — becomes :class:`Scheduled`,
  timed by ``X-CloudScheduler-ScheduleTime`` (RFC 3339) or, failing that, now.
* Anything else becomes :class:`HttpRequest`.

Both conditions are required for a scheduled call so that an ordinary request with a similar
body is never mistaken for one. On a *public* function anyone can send those, so there the
scheduler's OIDC token is verified too (signature, issuer, audience = this host, email = the
scheduler service account in ``OMNICLOUD_SCHEDULER_IDENTITY``); a call that fails is refused
with 403. A private function's caller has already passed Cloud Run's IAM check (which also
strips the token's signature, so it could not be verified again). flask is imported lazily
(functions-framework has already loaded it by the time a request arrives); nothing from
``google.cloud`` is imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from components.runtime import env
from components.runtime.adapters._common import (
    first_forwarded_for,
    first_values,
    function_name,
    lower_headers,
    now_utc,
    parse_time,
    response_headers,
    schedule_expression,
    scheduled_input,
    split_cookie_header,
)
from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.handler import call_http, call_scheduled, load_handler

if TYPE_CHECKING:
    import flask

__all__ = ["ENTRY_POINT", "entry", "entry_files", "to_flask_response", "to_http_request"]

CLOUD = "gcp"
ENTRY_POINT = "entry"
"""The build config's entry point: the name ``main.py`` exports."""
SCHEDULER_HEADER = "X-CloudScheduler"
GOOGLE_OIDC_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
"""Where Google publishes the keys that sign its OIDC tokens."""
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
SCHEDULE_TIME_HEADER = "X-CloudScheduler-ScheduleTime"

_MAIN_PY = 'from components.runtime.adapters.gcp import entry\n\n__all__ = ["entry"]\n'


def entry(request: flask.Request) -> flask.Response | tuple[str, int]:
    """The functions-framework HTTP function.

    Returns a flask ``Response`` for HTTP requests and ``("", 204)`` after a scheduled run.
    A scheduled handler's exception propagates, so functions-framework answers 500 and
    Cloud Scheduler records the failure and retries per the job's retry config.
    """
    headers = lower_headers(request.headers.items())
    ctx = Context(
        function=function_name(os.environ.get("K_SERVICE")),
        cloud=CLOUD,
        invocation_id=_invocation_id(headers),
        native=request,
    )
    if SCHEDULER_HEADER.lower() in headers:
        # force=True: Cloud Scheduler sends application/octet-stream unless told otherwise.
        inner = scheduled_input(request.get_json(force=True, silent=True))
        if inner is not None:
            if not scheduler_call_is_authentic(headers):
                return "forbidden", 403
            event = to_scheduled(headers, inner, ctx.function)
            call_scheduled(load_handler(), event, ctx)
            return "", 204
    return to_flask_response(call_http(load_handler(), to_http_request(request), ctx))


def scheduler_call_is_authentic(headers: Mapping[str, str]) -> bool:
    """Whether a scheduled-looking call really comes from this function's Cloud Scheduler job.

    ``headers`` has lower-cased names. Only public functions need the check (see module doc).
    """
    if os.environ.get(env.HTTP) != "public":
        return True
    expected = os.environ.get(env.SCHEDULER_IDENTITY)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not token:
        return False
    # Imported only here: a public scheduled function ships google-auth for this check.
    from google.auth.transport import requests as google_requests
    from google.oauth2 import id_token

    try:
        claims = id_token.verify_token(
            token, google_requests.Request(), audience=None, certs_url=GOOGLE_OIDC_CERTS_URL
        )
    except Exception:  # any verification failure, whatever google-auth raises, means "refuse"
        return False
    audience = str(claims.get("aud", "")).rstrip("/")
    return (
        claims.get("iss") in GOOGLE_ISSUERS
        and claims.get("email") == expected
        and claims.get("email_verified") is True
        and audience == f"https://{headers.get('host', '')}"
    )


def _invocation_id(headers: Mapping[str, str]) -> str:
    """Function-Execution-Id, else the trace id; else a fresh id so logs still correlate.

    ``headers`` has lower-cased names.
    """
    execution_id = headers.get("function-execution-id")
    if execution_id:
        return execution_id
    trace = headers.get("x-cloud-trace-context")  # "TRACE_ID/SPAN_ID;o=1"
    if trace:
        return trace.split("/", 1)[0]
    import uuid

    return uuid.uuid4().hex


def to_scheduled(headers: Mapping[str, str], inner: Mapping[str, Any], function: str) -> Scheduled:
    """Cloud Scheduler's request as :class:`Scheduled`.

    ``headers`` has lower-cased names; ``inner`` is the dict inside ``"omnicloud"``.
    """
    raw_time = headers.get(SCHEDULE_TIME_HEADER.lower())
    when = parse_time(raw_time, what=SCHEDULE_TIME_HEADER) if raw_time else now_utc()
    return Scheduled(schedule=schedule_expression(inner), time=when, function=function)


def to_http_request(request: flask.Request) -> HttpRequest:
    """A flask request as a portable :class:`HttpRequest`."""
    headers = lower_headers(request.headers.items())
    query_string = request.query_string.decode("utf-8", errors="replace")
    return HttpRequest(
        method=request.method,
        path=request.path or "/",
        query=first_values(query_string),
        headers=headers,
        body=request.get_data(cache=True),
        query_string=query_string,
        source_ip=first_forwarded_for(headers.get("x-forwarded-for")) or request.remote_addr,
        cookies=split_cookie_header(headers.get("cookie")),
    )


def to_flask_response(response: HttpResponse) -> flask.Response:
    """A portable :class:`HttpResponse` as a flask ``Response``."""
    from flask import Response

    headers = list(response_headers(response).items())
    headers += [("Set-Cookie", cookie) for cookie in response.cookies]
    return Response(response=response.content, status=response.status, headers=headers)


def entry_files() -> dict[str, str]:
    """The files the deployment source needs at its root: ``{"main.py": ...}``."""
    return {"main.py": _MAIN_PY}
