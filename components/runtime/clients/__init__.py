"""Clients for linked resources, the same API on every cloud.

``runtime.queue("jobs")``, ``runtime.bus("events")``, ``runtime.table("orders")`` and
``runtime.workflow("checkout")`` read the locator a link injected
(``OMNICLOUD_LINK_<KIND>_<NAME>``, see :mod:`components.links`) and return the client of the
cloud named in it, built on that cloud's official SDK, imported only then. One backend
module per cloud: :mod:`.aws`, :mod:`.azure`, :mod:`.gcp` (and :mod:`.local`), each defining
``queue_client(locator)``, ``bus_client(locator)``, ``table_client(locator)`` and
``workflow_client(locator)``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from components.runtime.messages import Event, QueueMessage

__all__ = [
    "BusClient",
    "ConditionFailed",
    "LinkNotFound",
    "Page",
    "QueueClient",
    "ReceivedMessage",
    "Sort",
    "TableClient",
    "WorkflowClient",
    "bus",
    "new_event",
    "queue",
    "table",
    "workflow",
    "workflow_input",
]

_KIND_ENV = {"queue": "QUEUE", "bus": "BUS", "table": "TABLE", "workflow": "WORKFLOW", "function": "FUNCTION"}


class LinkNotFound(LookupError):
    """The function has no link to that resource (add ``<component>.allow(...)`` to ``links``)."""


class ConditionFailed(Exception):
    """A conditional write found the item in another state than the condition required."""


def link_env_name(kind: str, name: str) -> str:
    """Mirror of :func:`components.links.link_env_name` (no import of the deploy-time package)."""
    return "OMNICLOUD_LINK_" + _KIND_ENV[kind] + "_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def locator(kind: str, name: str) -> dict[str, Any]:
    """The locator a link injected for component ``name`` of ``kind``."""
    variable = link_env_name(kind, name)
    raw = os.environ.get(variable)
    if raw is None:
        raise LinkNotFound(
            f"no {kind} '{name}' is linked to this function ({variable} is not set): add "
            f"{name}.allow(...) to the function's links"
        )
    return json.loads(raw)


@dataclass(frozen=True, slots=True)
class ReceivedMessage(QueueMessage):
    """A message pulled with :meth:`QueueClient.receive`; pass it to :meth:`QueueClient.ack`."""

    receipt: str = ""
    """The cloud's handle for acknowledging this delivery."""


class QueueClient(ABC):
    """Send to and pull from a queue."""

    @abstractmethod
    def send(
        self,
        body: str | bytes | Mapping[str, Any] | list[Any],
        *,
        delay_s: int = 0,
        group: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Queue a message (dicts and lists as JSON); return its id. ``group`` is required on
        FIFO queues and orders messages within it."""

    @abstractmethod
    def receive(self, max_messages: int = 10, *, wait_s: int = 0) -> list[ReceivedMessage]:
        """Pull up to ``max_messages``; each stays hidden for the visibility timeout and is
        dead-lettered after ``max_receive_count`` receives without :meth:`ack`."""

    @abstractmethod
    def ack(self, message: ReceivedMessage) -> None:
        """Remove a received message for good."""


class BusClient(ABC):
    """Publish CloudEvents to a bus."""

    @abstractmethod
    def publish(
        self,
        type: str,
        data: Any,
        *,
        source: str | None = None,
        subject: str | None = None,
        id: str | None = None,
        time: datetime | None = None,
    ) -> str:
        """Publish one event; ``source`` defaults to ``omnicloud/<function>``. Returns its id."""


@dataclass(frozen=True, slots=True)
class Sort:
    """A condition on the sort key for :meth:`TableClient.query`."""

    op: Literal["eq", "lt", "le", "gt", "ge", "between", "begins_with"]
    value: Any
    upper: Any = None

    @classmethod
    def eq(cls, value: Any) -> Sort:
        return cls("eq", value)

    @classmethod
    def lt(cls, value: Any) -> Sort:
        return cls("lt", value)

    @classmethod
    def le(cls, value: Any) -> Sort:
        return cls("le", value)

    @classmethod
    def gt(cls, value: Any) -> Sort:
        return cls("gt", value)

    @classmethod
    def ge(cls, value: Any) -> Sort:
        return cls("ge", value)

    @classmethod
    def between(cls, low: Any, high: Any) -> Sort:
        """Inclusive at both ends."""
        return cls("between", low, high)

    @classmethod
    def begins_with(cls, prefix: str) -> Sort:
        return cls("begins_with", prefix)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of query results; pass ``cursor`` back to get the next (None: no more)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)


Condition = Literal["absent"] | Mapping[str, Any] | None
"""``"absent"``: the item must not exist. A mapping: the stored item must exist and have
exactly these attribute values (optimistic concurrency, e.g. ``{"version": 3}``)."""


class TableClient(ABC):
    """Items addressed by partition key and (optional) sort key."""

    @abstractmethod
    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item with this key (all key attributes), or None."""

    @abstractmethod
    def put(self, item: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Create or replace an item; :class:`ConditionFailed` if ``condition`` does not hold."""

    @abstractmethod
    def delete(self, key: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Delete an item (no error if absent, unless a condition says otherwise)."""

    @abstractmethod
    def query(
        self,
        partition: Any,
        *,
        sort: Sort | None = None,
        index: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        descending: bool = False,
    ) -> Page:
        """Items of one partition (of the table or of ``index``), in sort-key order."""


class WorkflowClient(ABC):
    """Start executions of a workflow."""

    @abstractmethod
    def start(self, input: Mapping[str, Any] | None = None) -> str:
        """Start one execution with ``input`` (a JSON object; None: ``{}``) as the workflow's
        input, without waiting for it; return the cloud's id of the execution: the execution
        ARN on AWS, the orchestration instance id on Azure, the execution's full name
        (``projects/.../workflows/<id>/executions/<id>``) on GCP.

        Raises:
            TypeError: ``input`` is not a mapping with string keys and JSON values.
            ValueError: ``input`` holds NaN or an infinity (not JSON).
        """


def workflow_input(input: Mapping[str, Any] | None) -> dict[str, Any]:
    """``input`` of :meth:`WorkflowClient.start` checked to be a JSON object, as a plain dict.

    Every cloud would take other JSON too (a list, a string), but a workflow's steps address
    their input by field (``$.order.lines``), so only an object is portable; the check runs
    before anything is sent, so a bad input never starts an execution.
    """
    if input is None:
        return {}
    if not isinstance(input, Mapping):
        raise TypeError(f"a workflow's input is a JSON object (a dict), not {type(input).__name__}")
    document = dict(input)
    wrong = [key for key in document if not isinstance(key, str)]
    if wrong:
        raise TypeError(f"a workflow's input is a JSON object, whose keys are strings, not {wrong[0]!r}")
    try:
        json.dumps(document, allow_nan=False)
    except TypeError as exc:
        raise TypeError(f"a workflow's input must be JSON: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"a workflow's input must be JSON: {exc} (NaN and infinities are not JSON)") from None
    return document


def new_event(
    type: str,
    data: Any,
    *,
    source: str | None = None,
    subject: str | None = None,
    id: str | None = None,
    time: datetime | None = None,
    platform_name_env: str | None = None,
) -> Event:
    """The CloudEvent every :class:`BusClient` publishes, with the same defaults on every cloud:
    a new UUID ``id``, ``time`` now (UTC), ``source`` ``omnicloud/<function>``.

    The function is ``OMNICLOUD_FUNCTION``, else the platform's own name for it
    (``platform_name_env``), else ``unknown``.
    """
    name = os.environ.get("OMNICLOUD_FUNCTION") or (os.environ.get(platform_name_env) if platform_name_env else None)
    return Event(
        id=id or str(uuid.uuid4()),
        source=source or f"omnicloud/{name or 'unknown'}",
        type=type,
        subject=subject,
        time=(time or datetime.now(UTC)).astimezone(UTC),
        data=data,
    )


def queue(name: str) -> QueueClient:
    """Client of the linked Queue ``name``."""
    return _client("queue", name)


def bus(name: str) -> BusClient:
    """Client of the linked EventBus ``name``."""
    return _client("bus", name)


def table(name: str) -> TableClient:
    """Client of the linked Table ``name``."""
    return _client("table", name)


def workflow(name: str) -> WorkflowClient:
    """Client of the linked Workflow ``name``."""
    return _client("workflow", name)


@cache
def _client(kind: str, name: str) -> Any:
    # Cached per process: SDK clients are expensive to build and safe to reuse across
    # invocations of a warm function.
    found = locator(kind, name)
    backend = importlib.import_module(f"components.runtime.clients.{found['cloud']}")
    return getattr(backend, f"{kind}_client")(found)
