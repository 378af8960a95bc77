"""How a workflow calls a Function: the task envelope and the error contract, on every cloud.

A workflow task reaches a function as the JSON envelope::

    {"omnicloud": {"kind": "workflow-task", "workflow": "checkout", "step": "reserve"},
     "input": {...}}

— the Lambda payload on AWS; the body of ``POST <function url>/_omnicloud/task`` on Azure and
GCP. The user's handler is called with ``input`` (a plain JSON value) and returns JSON.

Errors: a handler fails a task by raising; the exception's class name is the error name and
``str(exc)`` its cause, or :class:`TaskFailed` sets both explicitly. Every target carries
``{"error", "cause"}`` unchanged to Retry and Catch:

* AWS: the adapter raises an exception whose class name *is* the error name, so Lambda reports
  it as ``errorType`` and Step Functions matches it natively in ``Retry``/``Catch``; the
  compiled ASL reads the cause back from the ``errorMessage`` of Lambda's error JSON.
* HTTP targets (Azure, GCP): the reply is always ``200`` with :func:`task_reply`'s body,
  ``{"output": ...}`` or ``{"error", "cause"}``, so a handler's error is never confused with a
  platform failure (which arrives as a non-2xx status or a timeout and is named by the caller).

Standard library only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("omnicloud.runtime")

TASK_KIND = "workflow-task"
TASK_ROUTE = "/_omnicloud/task"
"""The HTTP path a workflow task is POSTed to on HTTP targets (Azure, GCP)."""


class TaskFailed(Exception):
    """Raise from a handler to fail a workflow task with an explicit error name and cause."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(cause)
        self.error = error
        self.cause = cause


@dataclass(frozen=True, slots=True)
class TaskCall:
    """A decoded task envelope."""

    workflow: str
    step: str
    input: Any


def task_envelope(workflow: str, step: str, input: Any) -> dict[str, Any]:
    """The envelope a workflow sends to a function for one task."""
    return {"omnicloud": {"kind": TASK_KIND, "workflow": workflow, "step": step}, "input": input}


def parse_task(payload: object) -> TaskCall | None:
    """The task call in ``payload``, or None when it is not a task envelope."""
    if not isinstance(payload, Mapping):
        return None
    meta = payload.get("omnicloud")
    if not isinstance(meta, Mapping) or meta.get("kind") != TASK_KIND:
        return None
    return TaskCall(str(meta.get("workflow", "")), str(meta.get("step", "")), payload.get("input"))


def error_of(exc: BaseException) -> tuple[str, str]:
    """The portable ``(error, cause)`` of an exception a handler raised."""
    if isinstance(exc, TaskFailed):
        return exc.error, exc.cause
    return type(exc).__name__, str(exc)


def task_reply(output: Any = None, *, error: tuple[str, str] | None = None) -> dict[str, Any]:
    """The JSON body an HTTP target answers a task with."""
    if error is not None:
        return {"error": error[0], "cause": error[1]}
    return {"output": output}


def answer_task(body: bytes, handler: Callable[[Any, Any], Any], ctx: Any) -> tuple[int, bytes]:
    """Answer one ``POST /_omnicloud/task`` on an HTTP target: ``(status, JSON body)``.

    ``200`` with :func:`task_reply`'s body whatever the handler did (its exception, or an output
    JSON cannot carry, becomes ``{"error", "cause"}``), so a handler's error is never mistaken
    for a platform failure; ``400`` when the body is not a task envelope (a caller bug, which the
    workflow reports as a failed call).
    """
    try:
        call = parse_task(json.loads(body or b"null"))
    except ValueError:
        call = None
    if call is None:
        reply = task_reply(error=("InvalidTaskEnvelope", f"POST {TASK_ROUTE} takes a workflow task envelope"))
        return 400, json.dumps(reply).encode()
    try:
        # Serialised inside the try: an output JSON cannot carry fails the task, not the route.
        return 200, json.dumps(task_reply(handler(call.input, ctx))).encode()
    except Exception as exc:
        log.exception(
            "workflow task failed (workflow=%s, step=%s, function=%s, invocation=%s)",
            call.workflow,
            call.step,
            getattr(ctx, "function", ""),
            getattr(ctx, "invocation_id", ""),
        )
        return 200, json.dumps(task_reply(error=error_of(exc))).encode()


def named_error(error: str, cause: str) -> Exception:
    """An exception whose class name is ``error`` (how AWS Lambda reports ``errorType``)."""
    return type(error, (Exception,), {"__module__": "omnicloud.workflow"})(cause)


__all__ = [
    "TASK_KIND",
    "TASK_ROUTE",
    "TaskCall",
    "TaskFailed",
    "answer_task",
    "error_of",
    "named_error",
    "parse_task",
    "task_envelope",
    "task_reply",
]
