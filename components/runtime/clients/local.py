"""``local`` backends of the runtime clients: the one SQLite file ``omnicloud dev`` serves.

A local locator names its component and the stack's database::

    {"kind": "queue", "cloud": "local", "name": "jobs", "database": "/abs/.omnicloud/dev.db", ...}

Queues also carry their ``QueueArgs`` settings, tables their key schema
(``TableArgs.key_schema()``). The dev server declares every queue and table when it starts; a
client that finds its queue or table undeclared (a handler run before the server) declares it
from the locator, so the two agree either way.

Every client of one database shares one set of stores (:func:`stores`), built once per
process: building them runs the schema DDL. Behaviour mirrors the AWS clients where the clouds
differ (SQS's limits on ``send``/``receive``, DynamoDB's pagination), so code that runs
locally keeps running when deployed. Standard library only: importing this costs a function
next to nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from components.runtime.clients import (
    BusClient,
    Condition,
    Page,
    QueueClient,
    ReceivedMessage,
    Sort,
    TableClient,
    WorkflowClient,
    new_event,
    workflow_input,
)
from components.runtime.local.database import Database, open_database
from components.runtime.local.queue_store import QueueNotFound, QueueStore, Received
from components.runtime.local.routing import Routes, bus_source
from components.runtime.local.table_store import TableNotFound, TableStore
from components.runtime.local.workflow_store import WorkflowStore

__all__ = [
    "LocalBus",
    "LocalQueue",
    "LocalStores",
    "LocalTable",
    "LocalWorkflow",
    "bus_client",
    "queue_client",
    "stores",
    "table_client",
    "workflow_client",
]

MAX_BATCH = 10
"""Most messages one :meth:`LocalQueue.receive` returns (SQS's limit)."""
MAX_WAIT_S = 20
"""Longest long poll (SQS's limit)."""
MAX_DELAY_S = 900
"""Longest per-message delay (SQS's limit)."""
POLL_INTERVAL_S = 0.05
"""How often a long poll looks again while its queue is empty."""

_QUEUE_SETTINGS = ("visibility_timeout_s", "max_receive_count", "delay_s", "fifo", "retention_s", "max_message_kb")


def queue_client(locator: Mapping[str, Any]) -> LocalQueue:
    """The client of a local queue from its locator (``name``, ``database``, settings)."""
    return LocalQueue(locator)


def bus_client(locator: Mapping[str, Any]) -> LocalBus:
    """The client of a local event bus from its locator (``name``, ``database``)."""
    return LocalBus(locator)


def table_client(locator: Mapping[str, Any]) -> LocalTable:
    """The client of a local table from its locator (``name``, ``database``, key schema)."""
    return LocalTable(locator)


def workflow_client(locator: Mapping[str, Any]) -> LocalWorkflow:
    """The client of a local workflow from its locator (``name``, ``database``)."""
    return LocalWorkflow(locator)


# --- the stores of one database ----------------------------------------------------------------


class LocalStores:
    """The stores of one database, each built on first use."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @cached_property
    def queues(self) -> QueueStore:
        return QueueStore(self.database)

    @cached_property
    def routes(self) -> Routes:
        return Routes(self.queues)

    @cached_property
    def tables(self) -> TableStore:
        return TableStore(self.queues, self.routes)

    @cached_property
    def workflows(self) -> WorkflowStore:
        return WorkflowStore(self.queues)


_STORES: dict[Path, LocalStores] = {}
_STORES_LOCK = threading.Lock()


def stores(path: str | Path) -> LocalStores:
    """The process-wide stores of the database at ``path`` (rebuilt if it was closed)."""
    database = open_database(path)
    with _STORES_LOCK:
        found = _STORES.get(database.path)
        if found is None or found.database is not database:
            found = _STORES[database.path] = LocalStores(database)
        return found


def _name(locator: Mapping[str, Any]) -> str:
    name = locator.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"a local locator names its component: {dict(locator)!r} has no 'name'")
    return name


def _stores_of(locator: Mapping[str, Any]) -> LocalStores:
    path = locator.get("database")
    if not isinstance(path, str) or not path:
        raise ValueError(f"a local locator names its database file: {dict(locator)!r} has no 'database'")
    return stores(path)


# --- queue -------------------------------------------------------------------------------------


class LocalQueue(QueueClient):
    """:class:`QueueClient` over the local :class:`~components.runtime.local.queue_store.QueueStore`."""

    def __init__(self, locator: Mapping[str, Any]) -> None:
        self.name = _name(locator)
        self.store = _stores_of(locator).queues
        self._declare_if_missing(locator)

    def _declare_if_missing(self, locator: Mapping[str, Any]) -> None:
        try:
            self.store.settings(self.name)
        except QueueNotFound:
            settings = {field: locator[field] for field in _QUEUE_SETTINGS if field in locator}
            if {"visibility_timeout_s", "max_receive_count", "retention_s"} <= settings.keys():
                self.store.declare(self.name, **settings)
            # Otherwise send/receive say QueueNotFound: only the dev server knows the settings.

    def send(
        self,
        body: str | bytes | Mapping[str, Any] | list[Any],
        *,
        delay_s: int = 0,
        group: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Queue a message (dicts and lists as JSON, bytes as UTF-8 text); return its id.

        Raises:
            ValueError: as SQS would refuse it: ``group`` missing on a FIFO queue or given on a
                standard one, ``delay_s`` outside 0..900 or set on a FIFO queue, bytes that are
                not UTF-8, a message over the queue's ``max_message_kb``.
            QueueNotFound: the queue is not declared in the database.
        """
        if not 0 <= delay_s <= MAX_DELAY_S:
            raise ValueError(f"delay_s={delay_s}: queues allow 0..{MAX_DELAY_S} seconds (SQS's limit)")
        text = _text_body(body)
        strings = {key: str(value) for key, value in (attributes or {}).items()}
        # 0 means "no per-message delay": the queue's own delay_s applies, as on SQS.
        return self.store.send(self.name, text, attributes=strings, delay_s=delay_s or None, group=group)

    def receive(self, max_messages: int = 10, *, wait_s: int = 0) -> list[ReceivedMessage]:
        """Pull up to ``max_messages`` (1..10), waiting up to ``wait_s`` (0..20) seconds for the
        first one (a long poll, by short sleeps)."""
        if not 1 <= max_messages <= MAX_BATCH:
            raise ValueError(f"max_messages={max_messages}: a receive returns 1..{MAX_BATCH} (SQS's limit)")
        if not 0 <= wait_s <= MAX_WAIT_S:
            raise ValueError(f"wait_s={wait_s}: long polling waits 0..{MAX_WAIT_S} seconds (SQS's limit)")
        deadline = time.monotonic() + wait_s
        while True:
            batch = self.store.receive(self.name, max_messages)
            left = deadline - time.monotonic()
            if batch or left <= 0:
                return [_received(message) for message in batch]
            time.sleep(min(POLL_INTERVAL_S, left))

    def ack(self, message: ReceivedMessage) -> None:
        """Delete the message delivered with this receipt.

        Raises:
            StaleReceipt: the message was received again since (its visibility timeout
                expired), acked already, or dead-lettered.
        """
        self.store.ack(self.name, message.receipt)


def _text_body(body: str | bytes | Mapping[str, Any] | list[Any]) -> str:
    """A message body as text, as every cloud's client sends it: dicts and lists as compact
    JSON, bytes as UTF-8."""
    if isinstance(body, str):
        return body
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("message bodies are text: send bytes as UTF-8, or base64-encode them") from None
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _received(message: Received) -> ReceivedMessage:
    return ReceivedMessage(
        id=message.id,
        body=message.body,
        attributes=message.attributes,
        receive_count=message.receive_count,
        sent_at=datetime.fromtimestamp(message.sent_at, UTC),
        group=message.group,
        receipt=message.receipt,
    )


# --- bus ---------------------------------------------------------------------------------------


class LocalBus(BusClient):
    """:class:`BusClient` that routes each event to the queues of the matching subscriptions
    (:class:`~components.runtime.local.routing.Routes`), in one transaction: every subscriber
    gets it, or none does. An event nobody subscribes to is dropped, as on a cloud bus."""

    def __init__(self, locator: Mapping[str, Any]) -> None:
        self.name = _name(locator)
        found = _stores_of(locator)
        self.database = found.database
        self.routes = found.routes

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
        """Publish one event; returns its CloudEvents ``id`` (a new UUID unless given). Each
        subscriber's queue receives the event in CloudEvents JSON form.

        Raises:
            TypeError, ValueError: ``data`` is not JSON (NaN and infinities included).
        """
        event = new_event(type, data, source=source, subject=subject, id=id, time=time)
        document = event.to_dict()
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        with self.database.write() as db:
            self.routes.route_in(db, bus_source(self.name), body, event=document)
        return event.id


# --- table -------------------------------------------------------------------------------------


class LocalTable(TableClient):
    """:class:`TableClient` over the local :class:`~components.runtime.local.table_store.TableStore`
    (see there for the data model, ordering and change events)."""

    def __init__(self, locator: Mapping[str, Any]) -> None:
        self.name = _name(locator)
        self.store = _stores_of(locator).tables
        try:
            self.store.schema(self.name)
        except TableNotFound:
            # The dev server's declaration wins when there is one; this covers a handler that
            # runs before it (e.g. in a test).
            self.store.declare(self.name, locator)

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item with this key, or None."""
        return self.store.get(self.name, key)

    def put(self, item: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Create or replace ``item``; :class:`ConditionFailed` if ``condition`` does not hold."""
        self.store.put(self.name, item, condition=condition)

    def delete(self, key: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Delete the item with this key; :class:`ConditionFailed` if ``condition`` does not hold."""
        self.store.delete(self.name, key, condition=condition)

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
        """One page of a partition in sort-key order (see :meth:`TableStore.query`)."""
        return self.store.query(
            self.name, partition, sort=sort, index=index, limit=limit, cursor=cursor, descending=descending
        )


# --- workflow ----------------------------------------------------------------------------------


class LocalWorkflow(WorkflowClient):
    """:class:`WorkflowClient` that records a ``PENDING`` execution and queues its start for the
    dev server (:class:`~components.runtime.local.workflow_store.WorkflowStore`)."""

    def __init__(self, locator: Mapping[str, Any]) -> None:
        self.name = _name(locator)
        self.store = _stores_of(locator).workflows

    def start(self, input: Mapping[str, Any] | None = None) -> str:
        """Start one execution with ``input``; returns its id (``<workflow>:<uuid>``).

        Raises:
            TypeError, ValueError: ``input`` is not a JSON object (see
                :func:`~components.runtime.clients.workflow_input`).
            QueueNotFound: no dev server has declared this workflow in the database.
        """
        return self.store.start(self.name, workflow_input(input))
