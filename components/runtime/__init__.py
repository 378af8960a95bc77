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

The per-cloud entry adapters in :mod:`components.runtime.adapters` translate native
invocations into these types. Importing this package loads only the standard library:
no pulumi, no pydantic, no cloud SDK, so it adds next to nothing to a cold start.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.messages import Event, QueueBatch, QueueMessage, TableChange

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
    return _workflow_client(name)


def _workflow_client(name: str) -> WorkflowClient:
    from components.runtime.clients import workflow as _workflow

    return _workflow(name)


# ``runtime.workflow`` is also the name of the interpreter subpackage
# (:mod:`components.runtime.workflow`). Importing a subpackage makes the import system
# ``setattr`` it on its parent under its own name, which would replace the function above the
# moment anything imports the interpreter (the entry adapters do, for workflow tasks). So the
# subpackage, when bound here, becomes callable as that function: ``runtime.workflow(name)``
# keeps working, and the subpackage stays an ordinary package for ``import`` and attribute
# access (``components.runtime.workflow.task``, ``mock.patch`` paths).


class _WorkflowPackage(types.ModuleType):
    """The interpreter subpackage, callable as :func:`workflow`."""

    def __call__(self, name: str) -> WorkflowClient:
        return _workflow_client(name)


class _RuntimeModule(types.ModuleType):
    """This package's module type: see the comment above :class:`_WorkflowPackage`."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "workflow" and type(value) is types.ModuleType:
            value.__class__ = _WorkflowPackage
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _RuntimeModule
