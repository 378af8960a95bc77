"""Azure Functions entry point (Python v2 programming model).

The deployed package's ``function_app.py`` (rendered by :func:`entry_files`) is just::

    from components.runtime.adapters.azure import build_app

    app = build_app(http="public", schedule="0 0 2 * * *")

:func:`build_app` registers, on one ``FunctionApp``:

* ``http`` (when ``http`` is given): a catch-all route ``{*path}`` for every method, with
  ``routePrefix`` set to ``""`` in ``host.json`` so the function URL is
  ``https://<host>/<path>``. ``"public"`` is anonymous; ``"private"`` requires a function key.
* ``timer`` (when ``schedule`` is given): a timer trigger on the NCRONTAB expression the
  provider translated from the portable one; the handler sees the portable expression from
  ``OMNICLOUD_SCHEDULE``.

``azure.functions`` is imported only inside :func:`build_app`, so importing this module (for
example to render :func:`entry_files` at deploy time) stays standard-library only.
"""

# No `from __future__ import annotations` here on purpose: the Functions worker reads the
# nested entry functions' annotations to bind triggers, and they must be the real
# azure.functions classes, not strings it would have to resolve in this module's globals.

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from components.runtime import env
from components.runtime.adapters._common import (
    first_values,
    function_name,
    lower_headers,
    now_utc,
    response_headers,
    split_cookie_header,
)
from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.handler import call_http, call_scheduled, load_handler

if TYPE_CHECKING:
    import azure.functions

__all__ = [
    "HTTP_FUNCTION",
    "HTTP_METHODS",
    "TIMER_FUNCTION",
    "build_app",
    "entry_files",
    "to_azure_response",
    "to_http_request",
]

CLOUD = "azure"
HTTP_FUNCTION = "http"
"""Azure function name of the HTTP entry (what function keys are scoped to)."""
TIMER_FUNCTION = "timer"
"""Azure function name of the timer entry."""
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
HTTP_ROUTE = "{*path}"
_AUTH_LEVELS = {"public": "ANONYMOUS", "private": "FUNCTION"}


def _check_args(http: str | None, schedule: str | None) -> None:
    if http is not None and http not in _AUTH_LEVELS:
        raise ValueError(f"http must be None, 'public' or 'private', got {http!r}")
    if schedule is not None and len(schedule.split()) != 6:
        raise ValueError(
            f"schedule must be a 6-field NCRONTAB expression "
            f"('{{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}'), "
            f"got {schedule!r}"
        )


def build_app(http: str | None, schedule: str | None) -> "azure.functions.FunctionApp":
    """The ``FunctionApp`` the Azure Functions worker indexes.

    Args:
        http: ``None`` (no HTTP trigger), ``"public"`` (anonymous) or ``"private"``
            (function-key auth).
        schedule: ``None`` or a 6-field NCRONTAB expression, already translated from the
            portable syntax by the provider.

    Raises:
        ValueError: ``http`` or ``schedule`` is malformed.
    """
    _check_args(http, schedule)
    import azure.functions as func

    level = func.AuthLevel[_AUTH_LEVELS[http or "private"]]
    app = func.FunctionApp(http_auth_level=level)

    if http is not None:

        @app.function_name(HTTP_FUNCTION)
        @app.route(route=HTTP_ROUTE, methods=list(HTTP_METHODS), auth_level=level)
        def http_entry(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            ctx = _context(context)
            response = call_http(load_handler(), to_http_request(req), ctx)
            return to_azure_response(response)

    if schedule is not None:

        @app.function_name(TIMER_FUNCTION)
        @app.timer_trigger(arg_name="timer", schedule=schedule, run_on_startup=False, use_monitor=True)
        def timer_entry(timer: func.TimerRequest, context: func.Context) -> None:
            ctx = _context(context)
            event = Scheduled(schedule=_portable_schedule(), time=now_utc(), function=ctx.function)
            call_scheduled(load_handler(), event, ctx)

    return app


def _portable_schedule() -> str:
    return os.environ.get(env.SCHEDULE, "")


def _context(context: Any) -> Context:
    return Context(
        function=function_name(getattr(context, "function_name", None)),
        cloud=CLOUD,
        invocation_id=str(getattr(context, "invocation_id", "") or ""),
        native=context,
    )


def to_http_request(req: "azure.functions.HttpRequest") -> HttpRequest:
    """An Azure Functions ``HttpRequest`` as a portable :class:`HttpRequest`."""
    url = urlsplit(req.url)
    headers = lower_headers((k, v) for k, v in req.headers.items())
    query = first_values(url.query) if url.query else dict(req.params)
    return HttpRequest(
        method=req.method,
        path=unquote(url.path) or "/",
        query=query,
        headers=headers,
        body=req.get_body() or b"",
        query_string=url.query,
        source_ip=_client_ip(headers),
        cookies=split_cookie_header(headers.get("cookie")),
    )


def _client_ip(headers: Mapping[str, str]) -> str | None:
    """The client address; App Service puts it in X-Forwarded-For as ``ip:port``."""
    raw = headers.get("x-forwarded-for") or headers.get("client-ip")
    if not raw:
        return None
    first = raw.split(",", 1)[0].strip()
    if first.startswith("["):  # [v6]:port
        return first[1:].split("]", 1)[0]
    if first.count(":") == 1:  # v4:port (a bare IPv6 address has several colons)
        return first.split(":", 1)[0]
    return first or None


def to_azure_response(response: HttpResponse) -> "azure.functions.HttpResponse":
    """A portable :class:`HttpResponse` as an Azure Functions ``HttpResponse``."""
    import azure.functions as func

    out = func.HttpResponse(response.content, status_code=response.status, headers=response_headers(response))
    for cookie in response.cookies:
        # The worker turns each Set-Cookie header into its own cookie.
        out.headers.add("Set-Cookie", cookie)
    return out


def entry_files(http: str | None, ncrontab: str | None, *, function_timeout_s: int | None = None) -> dict[str, str]:
    """The files the deployment package needs at its root, as deterministic text.

    Args:
        http: As for :func:`build_app`.
        ncrontab: As ``schedule`` for :func:`build_app`.
        function_timeout_s: Written to ``host.json`` as ``functionTimeout`` when given (the
            place the Functions host reads the per-invocation time limit from).

    Returns:
        ``{"function_app.py": ..., "host.json": ...}``.

    Raises:
        ValueError: an argument is malformed (caught at deploy time rather than at indexing).
    """
    _check_args(http, ncrontab)
    function_app = (
        '"""Azure Functions entry point, generated by omnicloud: do not edit."""\n'
        "\n"
        "from components.runtime.adapters.azure import build_app\n"
        "\n"
        f"app = build_app(http={http!r}, schedule={ncrontab!r})\n"
    )
    host: dict[str, Any] = {
        "version": "2.0",
        "extensionBundle": {
            "id": "Microsoft.Azure.Functions.ExtensionBundle",
            "version": "[4.*, 5.0.0)",
        },
        # An empty prefix drops the default "/api", so the URL path is the handler's path
        # on every cloud.
        "extensions": {"http": {"routePrefix": ""}},
    }
    if function_timeout_s is not None:
        if function_timeout_s < 1:
            raise ValueError(f"function_timeout_s must be >= 1, got {function_timeout_s}")
        hours, rest = divmod(function_timeout_s, 3600)
        host["functionTimeout"] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return {"function_app.py": function_app, "host.json": json.dumps(host, indent=2) + "\n"}
