"""Loading the user's handler and applying the handler contract around a call.

The adapters share this module so the contract is enforced once: what a handler may return,
what happens when it raises, and how it is found from ``OMNICLOUD_HANDLER``.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from components.runtime import env
from components.runtime.events import (
    BINARY_CONTENT_TYPE,
    Context,
    HttpRequest,
    HttpResponse,
    Scheduled,
)
from components.runtime.messages import QueueBatch, QueueMessage

__all__ = [
    "Handler",
    "HandlerLoadError",
    "call_http",
    "call_scheduled",
    "load_handler",
    "to_http_response",
]

Handler = Callable[[Any, Context], Any]
"""A handler: ``def handle(event, ctx)``."""

log = logging.getLogger("omnicloud.runtime")


class HandlerLoadError(ImportError):
    """The handler named by ``OMNICLOUD_HANDLER`` (or the given spec) cannot be loaded."""


def load_handler(spec: str | None = None) -> Handler:
    """Import and return the handler named ``module.function``.

    Args:
        spec: ``"package.module.function"``; defaults to the ``OMNICLOUD_HANDLER``
            environment variable. Results are cached per spec, so adapters call this on
            every invocation and pay the import only once per instance.

    Raises:
        HandlerLoadError: the spec is missing or malformed, the module does not exist, or it
            has no callable of that name. An ``ImportError`` raised *inside* the user's module
            (a missing dependency of theirs) propagates unchanged, so it is not misreported.
    """
    if spec is None:
        spec = os.environ.get(env.HANDLER, "")
        if not spec:
            raise HandlerLoadError(
                f"environment variable {env.HANDLER} is not set; expected 'module.function', "
                "e.g. 'functions.api.handle'"
            )
    return _load(spec.strip())


def _clear_cache() -> None:
    """Forget loaded handlers (for tests)."""
    _load.cache_clear()


@functools.cache
def _load(spec: str) -> Handler:
    module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise HandlerLoadError(f"handler {spec!r} must be 'module.function', e.g. 'functions.api.handle'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only our own lookup failing is "not found"; a missing import *inside* the user's
        # module must surface as itself.
        missing = exc.name or ""
        if missing == module_name or module_name.startswith(missing + "."):
            raise HandlerLoadError(
                f"handler {spec!r}: module {module_name!r} not found "
                f"(no module named {missing!r}); is it deployed with the function?"
            ) from exc
        raise
    fn = getattr(module, attr, None)
    if fn is None:
        raise HandlerLoadError(f"handler {spec!r}: module {module_name!r} has no {attr!r}")
    if not callable(fn):
        raise HandlerLoadError(f"handler {spec!r}: {attr!r} is a {type(fn).__name__}, not a function")
    return fn


def to_http_response(result: object) -> HttpResponse:
    """Convert what an HTTP handler returned into an :class:`HttpResponse`.

    ``HttpResponse`` → itself; ``dict``/``list`` → JSON, 200; ``str`` → ``text/plain``, 200;
    ``bytes`` → ``application/octet-stream``, 200; ``None`` → 204 No Content.

    Raises:
        TypeError: any other type (a handler bug; :func:`call_http` turns it into a 500).
    """
    match result:
        case HttpResponse():
            return result
        case dict() | list():
            return HttpResponse.json(result)
        case str():
            return HttpResponse.text(result)
        case bytes() | bytearray() | memoryview():
            return HttpResponse(200, bytes(result), {"content-type": BINARY_CONTENT_TYPE})
        case None:
            return HttpResponse(204)
        case _:
            raise TypeError(
                f"HTTP handler returned {type(result).__name__}; expected HttpResponse, dict, list, str, bytes or None"
            )


def call_http(handler: Handler, request: HttpRequest, ctx: Context) -> HttpResponse:
    """Call an HTTP handler and always return a response.

    Any exception (including an unconvertible return value) is logged with its traceback
    and answered with ``500 {"error": "internal"}``; the client never sees the message,
    which could carry secrets or internals.
    """
    try:
        return to_http_response(handler(request, ctx))
    except Exception:
        log.exception(
            "handler failed: %s %s (function=%s cloud=%s invocation=%s)",
            request.method,
            request.path,
            ctx.function,
            ctx.cloud,
            ctx.invocation_id,
        )
        return HttpResponse.json({"error": "internal"}, status=500)


def call_scheduled(handler: Handler, event: Scheduled, ctx: Context) -> None:
    """Call a scheduled handler; its return value is ignored.

    Exceptions propagate on purpose: the platform then records the run as failed and
    applies its retry policy (EventBridge Scheduler, Azure timer, Cloud Scheduler).
    """
    handler(event, ctx)


def failed_message_ids(result: object, batch: QueueBatch) -> list[str]:
    """The ids a batch handler reported failed, checked against the batch, in batch order.

    On a FIFO queue every later message of a failed message's group is reported too: SQS
    would otherwise delete them now and redeliver the failed one after them, breaking the
    group's order (AWS's documented pattern; the cost is reprocessing those few).

    Raises:
        TypeError: the handler returned something other than None or an iterable of ids.
        ValueError: an id that is not in the batch (Lambda would fail the whole batch for it
            anyway; failing here says why).
    """
    if result is None:
        return []
    if isinstance(result, str | bytes) or not isinstance(result, Iterable):
        raise TypeError(
            f"queue handler returned {type(result).__name__}; return None or a list of the failed messages' ids"
        )
    wanted = {item.id if isinstance(item, QueueMessage) else item for item in result}
    ids = [message.id for message in batch.messages]
    unknown = wanted - set(ids)
    if unknown:
        raise ValueError(
            f"queue handler returned ids not in this batch of '{batch.queue}': {sorted(map(str, unknown))}"
        )
    failed_groups: set[str] = set()
    out: list[str] = []
    for message in batch.messages:
        if message.id in wanted or (message.group is not None and message.group in failed_groups):
            out.append(message.id)
            if message.group is not None:
                failed_groups.add(message.group)
    return out
