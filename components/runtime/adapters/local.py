"""The local target's entry point: one handler process of ``omnicloud dev``.

``omnicloud dev`` runs every Function in processes of its own (``python -m
components.runtime.adapters.local``), started in the project directory with the function's
environment, exactly as a cloud starts an instance: its own ``OMNICLOUD_*`` variables, links
and secrets, its own module state, a crash that takes down only itself. Editing a handler file
makes the server replace its processes, which is how hot reload works.

The server and the process talk over a ``multiprocessing`` connection on the file descriptor
named by ``OMNICLOUD_LOCAL_FD``; the handler's own stdout and stderr stay free for its output,
which the server shows under the function's name. Each request is a dict with a ``kind``, each
reply a dict with ``ok``:

* ``{"kind": "http", "method", "path", "query_string", "headers": [(name, value)], "body",
  "source_ip"}`` → ``{"ok": True, "status", "headers", "cookies", "body"}``, through the same
  :func:`~components.runtime.handler.call_http` contract as every cloud (an exception is a 500
  whose traceback goes to the log).
* ``{"kind": "queue", "queue", "messages": [{"id", "body", "attributes", "receive_count",
  "sent_at", "group"}]}`` → ``{"ok": True, "failed": [ids]}`` (partial-batch failure).
* ``{"kind": "event", "body"}`` (CloudEvent JSON) and ``{"kind": "change", "body"}`` (a routed
  table change) → ``{"ok": True}``.
* ``{"kind": "scheduled", "schedule", "time"}`` → ``{"ok": True}``.
* ``{"kind": "task", "envelope"}`` (a workflow task) → ``{"ok": True, "reply": {"output"} |
  {"error", "cause"}}``: a handler's error is an answer, not a failed call.

A handler that raises (outside HTTP and tasks) answers ``{"ok": False, "error", "message",
"traceback"}``; what the server does then (retry, dead-letter) is the trigger's business.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from components.runtime import env
from components.runtime.adapters._common import (
    first_values,
    function_name,
    lower_headers,
    parse_time,
    split_cookie_header,
    structured_event,
)
from components.runtime.events import Context, HttpRequest, Scheduled
from components.runtime.handler import call_http, call_scheduled, failed_message_ids, load_handler
from components.runtime.messages import QueueBatch, QueueMessage
from components.runtime.orchestration.task import answer_task

__all__ = ["FD_ENV", "handle", "main"]

FD_ENV = "OMNICLOUD_LOCAL_FD"
"""The file descriptor of the connection to the dev server."""

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def handle(request: Mapping[str, Any]) -> dict[str, Any]:
    """Answer one request from the server (see the module docstring)."""
    ctx = Context(function_name(None), "local", str(uuid.uuid4()), native=request)
    kind = request.get("kind")
    try:
        user = load_handler()
        if kind == "http":
            return _http(user, request, ctx)
        if kind == "task":
            status, body = answer_task(json.dumps(request["envelope"]).encode(), user, ctx)
            return {"ok": status == 200, "reply": json.loads(body)}
        if kind == "queue":
            batch = to_queue_batch(request)
            return {"ok": True, "failed": failed_message_ids(user(batch, ctx), batch)}
        if kind == "event":
            user(structured_event(json.loads(request["body"])), ctx)
            return {"ok": True}
        if kind == "change":
            from components.runtime.local.table_store import decode_change

            user(decode_change(request["body"]), ctx)
            return {"ok": True}
        if kind == "scheduled":
            moment = parse_time(request["time"], what="scheduled time")
            call_scheduled(user, Scheduled(request["schedule"], moment, ctx.function), ctx)
            return {"ok": True}
        raise ValueError(f"unknown request kind {kind!r}")
    except Exception as exc:
        return {
            "ok": False,
            "error": type(exc).__name__,
            "message": str(exc),
            "traceback": traceback.format_exc(),
        }


def _http(user: Any, request: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    event = HttpRequest(
        method=request["method"],
        path=request["path"],
        query=first_values(request.get("query_string", "")),
        headers=lower_headers(request.get("headers", [])),
        body=request.get("body", b""),
        query_string=request.get("query_string", ""),
        source_ip=request.get("source_ip"),
        cookies=split_cookie_header(request_cookie(request)),
    )
    response = call_http(user, event, ctx)
    return {
        "ok": True,
        "status": response.status,
        "headers": dict(response.headers),
        "cookies": list(response.cookies),
        "body": response.content,
    }


def request_cookie(request: Mapping[str, Any]) -> str | None:
    """The request's ``Cookie`` header, if any."""
    return next((value for name, value in request.get("headers", []) if name.lower() == "cookie"), None)


def to_queue_batch(request: Mapping[str, Any]) -> QueueBatch:
    """The server's queue request as the portable :class:`QueueBatch`."""
    return QueueBatch(
        request["queue"],
        tuple(
            QueueMessage(
                id=m["id"],
                body=m["body"],
                attributes=dict(m.get("attributes") or {}),
                receive_count=int(m.get("receive_count", 1)),
                sent_at=datetime.fromtimestamp(m["sent_at"], UTC) if m.get("sent_at") is not None else None,
                group=m.get("group"),
            )
            for m in request["messages"]
        ),
    )


def main() -> None:
    """Serve requests until the server closes the connection (or dies: then EOF ends us too)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    # The project directory first, as on every cloud: handlers import ``functions.…``.
    sys.path.insert(0, os.getcwd())
    conn = Connection(int(os.environ[FD_ENV]))
    # Import the handler before saying we are ready, so a cold start is paid here, once, and a
    # broken module is reported at start-up rather than on the first request.
    try:
        load_handler()
        conn.send({"ready": True, "pid": os.getpid()})
    except Exception as exc:
        conn.send(
            {"ready": False, "error": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
        )
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        started = time.perf_counter()
        reply = handle(request)
        reply["duration_ms"] = (time.perf_counter() - started) * 1000
        sys.stdout.flush()
        sys.stderr.flush()
        conn.send(reply)


if __name__ == "__main__":
    if not os.environ.get(env.HANDLER):
        sys.exit(f"{env.HANDLER} is not set: this module is started by `omnicloud dev`")
    main()
