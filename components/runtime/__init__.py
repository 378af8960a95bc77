"""What runs inside a deployed function: the handler contract.

A handler is a plain function ``def handle(event, ctx)``; ``OMNICLOUD_HANDLER`` names it as
``module.function``. ``ctx`` is a :class:`Context`. What ``event`` is decides what the
handler returns:

* :class:`HttpRequest` → return an :class:`HttpResponse`, or a ``dict``/``list`` (JSON, 200),
  ``str`` (``text/plain``, 200), ``bytes`` (``application/octet-stream``, 200) or ``None``
  (204). An exception becomes ``500 {"error": "internal"}``; the traceback goes to the
  function's log, never to the client.
* :class:`Scheduled` → the return value is ignored; an exception marks the run as failed so
  the platform records it and retries where it is configured to.
* a workflow task's JSON input (a ``dict``) → return JSON. Raising fails the task: the error
  name is the exception's class name (or :class:`TaskFailed`'s ``error``), the cause its text.

The per-cloud entry adapters in :mod:`components.runtime.adapters` translate native
invocations into these types. Importing this package loads only the standard library:
no pulumi, no pydantic, no cloud SDK, so it adds next to nothing to a cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.messages import Event, QueueBatch, QueueMessage, TableChange
from components.runtime.orchestration.task import TaskFailed

if TYPE_CHECKING:
    from components.runtime.clients import BusClient, QueueClient, TableClient, WorkflowClient

__all__ = [
    "Context",
    "Event",
    "HttpRequest",
    "HttpResponse",
    "QueueBatch",
    "QueueMessage",
    "Scheduled",
    "TableChange",
    "TaskFailed",
    "bus",
    "queue",
    "table",
    "workflow",
]


def queue(name: str) -> QueueClient:
    """The client of linked Queue ``name`` (``FunctionArgs(links=[jobs.allow("send")])``)."""
    from components.runtime.clients import queue as _queue

    return _queue(name)


def bus(name: str) -> BusClient:
    """The client of linked EventBus ``name``."""
    from components.runtime.clients import bus as _bus

    return _bus(name)


def table(name: str) -> TableClient:
    """The client of linked Table ``name``."""
    from components.runtime.clients import table as _table

    return _table(name)


def workflow(name: str) -> WorkflowClient:
    """The client of linked Workflow ``name`` (``links=[checkout.allow("start")]``):
    ``runtime.workflow("checkout").start({"order": 7})`` returns the execution's id."""
    from components.runtime.clients import workflow as _workflow

    return _workflow(name)
