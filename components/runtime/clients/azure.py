"""Azure backends of the runtime clients: Service Bus, Event Grid, Cosmos DB for NoSQL, and a
Storage queue for starting workflows (Durable Functions).

Every client authenticates with Microsoft Entra ID: ``DefaultAzureCredential``, which inside
Azure Functions is the app's managed identity (the links granted it data-plane roles; no key
or connection string exists anywhere). One credential is shared process-wide so its token
cache is too. The Azure SDKs are imported inside the constructors, never at module import,
so a function that links no Azure resource pays nothing for them; the deployed archive
vendors ``azure-identity`` and the SDK of each linked kind: ``azure-servicebus``,
``azure-eventgrid``, ``azure-cosmos``, ``azure-storage-queue`` (see :data:`REQUIREMENTS`).

Tests and emulators pass ``credential=`` (any ``TokenCredential``) and SDK options such as
``connection_verify`` or ``enable_endpoint_discovery=False`` to the ``*_client`` functions;
production never does.

**Cosmos DB data model.** An item is one JSON document in the table's container; the
container's partition key path is ``/<cosmos_property(partition_key)>``.

* ``id`` (unique within a partition, Cosmos's only per-partition key) is the sort key's value
  as text (:func:`document_id`), or ``"_"`` when the table has no sort key. ``/``, ``\\``,
  ``?``, ``#`` are not allowed in ids, so they and ``%`` are written ``%XX``: the mapping is
  injective, so distinct sort keys never share an id. Numbers are written canonically
  (``5`` and ``5.0`` are the same key, as in DynamoDB).
* Attribute names that Cosmos reserves (``id``, ``ttl``, anything starting with ``_``) are
  stored with the prefix ``_u`` (:func:`cosmos_property`); every other stored property that
  starts with ``_`` or is ``id``/``ttl`` is Cosmos's or omnicloud's and never reaches a handler.
* ``ttl`` (Cosmos's per-item expiry, seconds after the last write) is set from the table's
  ``ttl_attribute`` (epoch seconds) on every write; the container needs a default TTL of -1
  for Cosmos to honour it. Cosmos never returns an expired item, even before deleting it.
* ``_omnicloud_created`` is written only by a write that created the document, so the
  change feed (which carries no operation type) can tell an insert from an update.
* Queries order by ``c[<sort key>]`` (an index without a sort key by ``id``) and page by key
  (``TOP`` plus "after the last sort value"), never by Cosmos continuation token. The default
  indexing policy (``/*`` range-indexed) serves every such query.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from components.runtime.clients import (
    BusClient,
    Condition,
    ConditionFailed,
    Page,
    QueueClient,
    ReceivedMessage,
    Sort,
    TableClient,
    WorkflowClient,
    new_event,
    workflow_input,
)

__all__ = [
    "CREATED_MARKER",
    "REQUIREMENTS",
    "CosmosTable",
    "EventGridBus",
    "ServiceBusQueue",
    "StartQueueWorkflow",
    "attribute_name",
    "bus_client",
    "cosmos_property",
    "default_credential",
    "document_id",
    "from_document",
    "queue_client",
    "table_client",
    "workflow_client",
]

REQUIREMENTS = (
    "azure-identity>=1.27",
    "azure-servicebus>=7.15",
    "azure-eventgrid>=4.22",
    "azure-cosmos>=4.17",
    "azure-storage-queue>=12.18",
)
"""What a deployed Azure function needs for these clients (the platform ships none of them);
the lowest versions are the ones the tests ran with."""

CREATED_MARKER = "_omnicloud_created"
"""Written (epoch seconds) only by a write that created the document: the change feed's
latest-version mode has no operation type, and this is how the trigger adapter tells an
insert (marker present) from an update (absent)."""

NO_SORT_KEY_ID = "_"
"""The document id of every item of a table without a sort key (one item per partition)."""

USER_PREFIX = "_u"
_RESERVED = frozenset({"id", "ttl"})
_ID_ESCAPES = frozenset("/\\?#%")

START_MESSAGE_ENCODING = "none"
"""How start messages are written: plain JSON text. The workflow app's queue trigger reads them
so because its ``host.json`` sets the queues extension's ``messageEncoding`` to this value
(``components.runtime.adapters.azure_workflow.START_MESSAGE_ENCODING``; the Functions default
would be ``base64``). The two must change together."""

MAX_START_MESSAGE_BYTES = 64 * 1024
"""Azure Storage's limit on one queue message (UTF-8 bytes of its text), so on a workflow's input."""

RECEIVE_MIN_WAIT_S = 1
"""Service Bus has no zero-wait receive: ``wait_s=0`` waits up to this long for a first message."""


def default_credential() -> Any:
    """The process-wide ``DefaultAzureCredential`` (the managed identity inside Azure)."""
    return _default_credential()


@functools.cache
def _default_credential() -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def queue_client(locator: Mapping[str, Any], *, credential: Any = None, **sdk_options: Any) -> ServiceBusQueue:
    """The client of a Service Bus queue from its locator (``namespace``, ``queue``, ``fifo``)."""
    return ServiceBusQueue(locator, credential=credential, **sdk_options)


def bus_client(locator: Mapping[str, Any], *, credential: Any = None, **sdk_options: Any) -> EventGridBus:
    """The client of an Event Grid topic from its locator (``endpoint``, ``topic``)."""
    return EventGridBus(locator, credential=credential, **sdk_options)


def table_client(locator: Mapping[str, Any], *, credential: Any = None, **sdk_options: Any) -> CosmosTable:
    """The client of a Cosmos DB container from its locator (``endpoint``, ``database``,
    ``container`` and the key schema)."""
    return CosmosTable(locator, credential=credential, **sdk_options)


def workflow_client(locator: Mapping[str, Any], *, credential: Any = None, **sdk_options: Any) -> StartQueueWorkflow:
    """The client of a Durable Functions workflow from its locator (``queue_url``, its start queue)."""
    return StartQueueWorkflow(locator, credential=credential, **sdk_options)


# --- Service Bus ---------------------------------------------------------------------------


class ServiceBusQueue(QueueClient):
    """:class:`QueueClient` over a Service Bus queue (sessions for FIFO).

    One sender and one peek-lock receiver stay open per client (AMQP links are costly to
    open). A received message is locked for the queue's lock duration (its
    ``visibility_timeout_s``); :meth:`ack` completes it on the link that received it, so only
    the client that received a message can ack it, and only while the lock holds: after that
    Service Bus raises ``MessageLockLostError`` and redelivers the message (counting the
    delivery towards ``max_receive_count``, after which it is dead-lettered). On a FIFO queue
    the receiver locks one session (group) at a time and moves to the next available one when
    its group runs dry and nothing is left to ack.
    """

    def __init__(self, locator: Mapping[str, Any], *, credential: Any = None, client: Any = None, **sdk_options: Any):
        self.namespace: str = locator["namespace"]
        self.queue: str = locator["queue"]
        self.name: str = locator.get("name", self.queue)
        self.fifo = bool(locator.get("fifo", False))
        self.default_delay_s = int(locator.get("delay_s") or 0)
        if client is None:
            from azure.servicebus import ServiceBusClient

            client = ServiceBusClient(self.namespace, credential or default_credential(), **sdk_options)
        self._client = client
        self._sender: Any = None
        self._receiver: Any = None
        self._pending: dict[str, Any] = {}
        # Functions may run invocations on several threads; AMQP links are not thread-safe.
        self._lock = threading.Lock()

    def send(
        self,
        body: str | bytes | Mapping[str, Any] | list[Any],
        *,
        delay_s: int = 0,
        group: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Queue a message; return its ``message_id`` (a new UUID).

        ``delay_s`` (or, when 0, the queue's ``delay_s``) schedules the message that many
        seconds ahead. ``group`` becomes the Service Bus session id.

        Raises:
            ValueError: ``group`` missing on a FIFO queue or given on a standard one (Service
                Bus would not order by it); a negative ``delay_s``; a bytes body that is not
                UTF-8 (bodies are text on every cloud).
        """
        from azure.servicebus import ServiceBusMessage

        if delay_s < 0:
            raise ValueError(f"delay_s={delay_s}: must be >= 0")
        if self.fifo and not group:
            raise ValueError(f"queue '{self.name}' is FIFO: send(..., group=...) is required")
        if not self.fifo and group is not None:
            raise ValueError(
                f"queue '{self.name}' is not FIFO, so it would not order by group={group!r}; "
                "create it with QueueArgs(fifo=True)"
            )
        message_id = str(uuid.uuid4())
        delay = delay_s or self.default_delay_s
        message = ServiceBusMessage(
            text_body(body),
            message_id=message_id,
            session_id=group,
            application_properties={str(k): str(v) for k, v in (attributes or {}).items()} or None,
            content_type="application/json" if isinstance(body, Mapping | list) else None,
            scheduled_enqueue_time_utc=datetime.now(UTC) + timedelta(seconds=delay) if delay else None,
        )
        with self._lock:
            if self._sender is None:
                self._sender = self._client.get_queue_sender(self.queue)
            self._sender.send_messages(message)
        return message_id

    def receive(self, max_messages: int = 10, *, wait_s: int = 0) -> list[ReceivedMessage]:
        """Pull up to ``max_messages``, waiting up to ``wait_s`` seconds (at least
        :data:`RECEIVE_MIN_WAIT_S`) for the first one."""
        if max_messages < 1:
            raise ValueError(f"max_messages={max_messages}: must be at least 1")
        if wait_s < 0:
            raise ValueError(f"wait_s={wait_s}: must be >= 0")
        wait = max(wait_s, RECEIVE_MIN_WAIT_S)
        with self._lock:
            self._forget_expired_locks()
            received = self._receive_locked(max_messages, wait)
            out: list[ReceivedMessage] = []
            for message in received:
                converted = received_message(message)
                self._pending[converted.receipt] = message
                out.append(converted)
            return out

    def _receive_locked(self, max_messages: int, wait: float) -> list[Any]:
        from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusReceiveMode
        from azure.servicebus.exceptions import OperationTimeoutError

        if self._receiver is None:
            options: dict[str, Any] = {"receive_mode": ServiceBusReceiveMode.PEEK_LOCK}
            if self.fifo:
                options.update(session_id=NEXT_AVAILABLE_SESSION, max_wait_time=wait)
            self._receiver = self._client.get_queue_receiver(self.queue, **options)
        try:
            messages = self._receiver.receive_messages(max_message_count=max_messages, max_wait_time=wait)
        except OperationTimeoutError:
            # No session had messages within the wait.
            self._close_receiver()
            return []
        if self.fifo and not messages and not self._pending:
            # This group ran dry: release its session so the next call locks another one.
            self._close_receiver()
        return list(messages)

    def _forget_expired_locks(self) -> None:
        # A message whose lock expired cannot be acked any more (it is redelivered under a
        # new lock token); dropping it keeps a long-lived warm client from growing.
        now = datetime.now(UTC)
        for token, native in list(self._pending.items()):
            until = getattr(native, "locked_until_utc", None)
            if until is not None and as_utc(until) < now:
                del self._pending[token]

    def _close_receiver(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.close()

    def ack(self, message: ReceivedMessage) -> None:
        """Complete the message: Service Bus deletes it.

        Raises:
            ValueError: this client did not receive the message (or already acked it).
            azure.servicebus.exceptions.MessageLockLostError: its lock expired first.
        """
        with self._lock:
            native = self._pending.pop(message.receipt, None)
            if native is None or self._receiver is None:
                raise ValueError(
                    f"message {message.id} was not received by this client of queue '{self.name}' "
                    "(Service Bus completes a message only on the link that received it)"
                )
            self._receiver.complete_message(native)

    def close(self) -> None:
        """Close the open links (a warm function keeps them for its next invocation)."""
        with self._lock:
            self._close_receiver()
            if self._sender is not None:
                self._sender.close()
                self._sender = None
            self._client.close()


def text_body(body: str | bytes | Mapping[str, Any] | list[Any]) -> str:
    """A message body as text: dicts and lists as compact JSON, bytes as UTF-8."""
    if isinstance(body, str):
        return body
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("message bodies are text: send bytes as UTF-8, or base64-encode them") from None
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def received_text(body: Any) -> str:
    """The text of a received Service Bus body (the SDK yields data sections as bytes)."""
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body).decode("utf-8", errors="replace")
    if isinstance(body, Iterable) and not isinstance(body, Mapping):
        parts = list(body)
        if all(isinstance(part, bytes | bytearray | memoryview) for part in parts):
            return b"".join(bytes(part) for part in parts).decode("utf-8", errors="replace")
        body = parts
    # An AMQP value or sequence body sent by another client: its JSON form.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def string_properties(properties: Mapping[Any, Any] | None) -> dict[str, str]:
    """Service Bus application properties as ``{str: str}`` (AMQP gives bytes keys)."""

    def text(value: Any) -> str:
        return bytes(value).decode("utf-8", errors="replace") if isinstance(value, bytes | bytearray) else str(value)

    return {text(key): text(value) for key, value in (properties or {}).items()}


def received_message(message: Any) -> ReceivedMessage:
    """A Service Bus SDK ``ServiceBusReceivedMessage`` pulled from the queue."""
    enqueued = message.enqueued_time_utc
    return ReceivedMessage(
        id=str(message.message_id),
        body=received_text(message.body),
        attributes=string_properties(message.application_properties),
        # The AMQP header counts earlier deliveries (0 on the first, as the Python SDK
        # exposes it); the portable count includes this one.
        receive_count=(message.delivery_count or 0) + 1,
        sent_at=as_utc(enqueued) if enqueued is not None else None,
        group=message.session_id,
        receipt=str(message.lock_token),
    )


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime (the SDKs' naive datetimes are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- Event Grid ----------------------------------------------------------------------------


class EventGridBus(BusClient):
    """:class:`BusClient` over an Event Grid topic in the CloudEvents 1.0 schema.

    Each :meth:`publish` sends a batch of one ``application/cloudevents-batch+json`` event;
    subscriptions filter on its ``type``, ``source``, ``subject`` and ``data`` fields.
    """

    def __init__(self, locator: Mapping[str, Any], *, credential: Any = None, client: Any = None, **sdk_options: Any):
        self.endpoint: str = locator["endpoint"]
        self.name: str = locator.get("name", locator.get("topic", ""))
        if client is None:
            from azure.eventgrid import EventGridPublisherClient

            client = EventGridPublisherClient(self.endpoint, credential or default_credential(), **sdk_options)
        self._client = client

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
        """Publish one event; returns its CloudEvents ``id`` (a new UUID unless given)."""
        from azure.core.messaging import CloudEvent

        portable = new_event(
            type, data, source=source, subject=subject, id=id, time=time, platform_name_env="WEBSITE_SITE_NAME"
        )
        event = CloudEvent(
            source=portable.source,
            type=type,
            data=data,
            subject=subject,
            id=portable.id,
            time=portable.time,
            datacontenttype=portable.datacontenttype,
        )
        self._client.send([event])
        return event.id


# --- Cosmos DB -----------------------------------------------------------------------------


def cosmos_property(attribute: str) -> str:
    """The stored property name of an item attribute (reserved names get ``_u``)."""
    if attribute in _RESERVED or attribute.startswith("_"):
        return USER_PREFIX + attribute
    return attribute


def attribute_name(prop: str) -> str | None:
    """The item attribute a stored property holds, or None for Cosmos's and omnicloud's own."""
    if prop.startswith(USER_PREFIX):
        return prop[len(USER_PREFIX) :]
    if prop in _RESERVED or prop.startswith("_"):
        return None
    return prop


def from_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The item a stored document holds (system and internal properties dropped)."""
    out: dict[str, Any] = {}
    for prop, value in document.items():
        name = attribute_name(prop)
        if name is not None:
            out[name] = value
    return out


def key_text(value: Any) -> str:
    """A key value as text: strings as they are, numbers canonically (``5.0`` → ``"5"``).

    Raises:
        TypeError: not a string or a number.
        ValueError: an empty string, NaN or infinity (no cloud stores these as keys).
    """
    if isinstance(value, bool):
        raise TypeError("key values are strings or numbers, not booleans")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be a key")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        if not value:
            raise ValueError("key values cannot be empty strings")
        return value
    raise TypeError(f"key values are strings or numbers, not {type(value).__name__}")


def document_id(sort_value: Any) -> str:
    """The Cosmos id of an item: its sort key value, with ``/ \\ ? # %`` as ``%XX``."""
    if sort_value is None:
        return NO_SORT_KEY_ID
    return "".join(f"%{ord(char):02X}" if char in _ID_ESCAPES else char for char in key_text(sort_value))


_SORT_OPERATORS = {"eq": "=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_MISSING = object()


class CosmosTable(TableClient):
    """:class:`TableClient` over a Cosmos DB for NoSQL container.

    Point reads and writes address one document by (partition key value, :func:`document_id`).
    Reads use the account's consistency (session by default: a function reads its own writes).
    Conditional writes use the document's ``_etag`` (optimistic concurrency); a plain
    :meth:`put` of an existing item costs two requests (a create that finds it, then an
    upsert) so that the change feed can tell inserts from updates.
    """

    def __init__(self, locator: Mapping[str, Any], *, credential: Any = None, client: Any = None, **sdk_options: Any):
        self.endpoint: str = locator["endpoint"]
        self.name: str = locator.get("name", locator.get("container", ""))
        self.partition_key: str = locator["partition_key"]
        self.sort_key: str | None = locator.get("sort_key")
        self.key_types: dict[str, str] = dict(locator.get("key_types") or {})
        self.ttl_attribute: str | None = locator.get("ttl_attribute")
        self.indexes: dict[str, Mapping[str, Any]] = {index["name"]: index for index in locator.get("indexes") or ()}
        if client is None:
            if credential is None and not sdk_options:
                client = _shared_cosmos_client(self.endpoint)
            else:
                from azure.cosmos import CosmosClient

                client = CosmosClient(self.endpoint, credential or default_credential(), **sdk_options)
        self._container = client.get_database_client(locator["database"]).get_container_client(locator["container"])

    # -- conversion

    def _check_key_value(self, attribute: str, value: Any) -> None:
        expected = self.key_types.get(attribute, "string")
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if (expected == "number") != is_number or not (is_number or isinstance(value, str)):
            raise TypeError(
                f"table '{self.name}': key attribute '{attribute}' is a {expected}, "
                f"got {type(value).__name__} {value!r}"
            )
        key_text(value)

    def _address(self, key: Mapping[str, Any]) -> tuple[str, Any]:
        """(document id, partition key value) of the item with this key."""
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        missing = [name for name in names if name not in key]
        if missing:
            raise ValueError(f"table '{self.name}': the key needs {names}, missing {missing}")
        for name in names:
            self._check_key_value(name, key[name])
        sort_value = key[self.sort_key] if self.sort_key else None
        return document_id(sort_value), key[self.partition_key]

    def _document(self, item: Mapping[str, Any], *, created: bool) -> dict[str, Any]:
        doc_id, _ = self._address(item)
        document: dict[str, Any] = {cosmos_property(name): value for name, value in item.items()}
        document["id"] = doc_id
        expiry = item.get(self.ttl_attribute) if self.ttl_attribute else None
        if isinstance(expiry, int | float) and not isinstance(expiry, bool):
            # Cosmos's ttl counts seconds from this write; a past expiry removes it at once.
            document["ttl"] = max(1, int(expiry - time.time()))
        if created:
            document[CREATED_MARKER] = time.time()
        return document

    def _read(self, doc_id: str, partition: Any) -> dict[str, Any] | None:
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        try:
            return self._container.read_item(item=doc_id, partition_key=partition)
        except CosmosResourceNotFoundError:
            return None

    def _check(self, stored: Mapping[str, Any] | None, condition: Condition, operation: str) -> None:
        """Raise :class:`ConditionFailed` unless ``stored`` (None: absent) meets ``condition``."""
        if condition == "absent":
            if stored is not None:
                raise ConditionFailed(f"table '{self.name}': {operation} requires the item to be absent")
            return
        if not isinstance(condition, Mapping):
            raise ValueError(f"condition must be None, 'absent' or a mapping of attribute values, not {condition!r}")
        if stored is None:
            raise ConditionFailed(f"table '{self.name}': {operation} requires the item to exist")
        item = from_document(stored)
        for name, value in condition.items():
            if item.get(name, _MISSING) != value:
                raise ConditionFailed(f"table '{self.name}': {operation} condition on '{name}' not met")

    # -- API

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item with this key, or None."""
        doc_id, partition = self._address(key)
        stored = self._read(doc_id, partition)
        return from_document(stored) if stored is not None else None

    def put(self, item: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Create or replace ``item``; :class:`ConditionFailed` if ``condition`` does not hold."""
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceExistsError,
            CosmosResourceNotFoundError,
        )

        if condition is None or condition == "absent":
            try:
                self._container.create_item(body=self._document(item, created=True))
                return
            except CosmosResourceExistsError as exc:
                if condition == "absent":
                    raise ConditionFailed(f"table '{self.name}': put requires the item to be absent") from exc
            self._container.upsert_item(body=self._document(item, created=False))
            return
        doc_id, partition = self._address(item)
        stored = self._read(doc_id, partition)
        self._check(stored, condition, "put")
        # A mapping condition held, so the item exists; the etag makes the replace fail if
        # another writer changed it since this read.
        etag = (stored or {}).get("_etag")
        try:
            self._container.replace_item(
                item=doc_id,
                body=self._document(item, created=False),
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError) as exc:
            raise ConditionFailed(f"table '{self.name}': the item changed during put") from exc

    def delete(self, key: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Delete the item with this key; :class:`ConditionFailed` if ``condition`` does not hold."""
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import CosmosAccessConditionFailedError, CosmosResourceNotFoundError

        doc_id, partition = self._address(key)
        options: dict[str, Any] = {}
        if condition is not None:
            stored = self._read(doc_id, partition)
            self._check(stored, condition, "delete")
            if stored is None:
                return  # "absent" held: nothing to delete
            options = {"etag": stored["_etag"], "match_condition": MatchConditions.IfNotModified}
        try:
            self._container.delete_item(item=doc_id, partition_key=partition, **options)
        except CosmosResourceNotFoundError as exc:
            if condition is not None:
                raise ConditionFailed(f"table '{self.name}': the item changed during delete") from exc
        except CosmosAccessConditionFailedError as exc:
            raise ConditionFailed(f"table '{self.name}': the item changed during delete") from exc

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
        """One page (at most ``limit`` items) of a partition in sort-key order.

        The SQL is ``SELECT TOP n * FROM c WHERE c[pk] = @pk [AND <sort condition>]
        [AND <after the cursor>] ORDER BY c[sk]``; a table query runs in one Cosmos partition,
        an index query over the whole container (unless the index shares the table's
        partition key). Pages are keyed, like DynamoDB's: the cursor holds the last sort value
        returned (and which items with that value were returned), not a Cosmos continuation
        token, because the Python SDK cannot resume cross-partition ``ORDER BY`` queries from
        one. So a page never repeats or skips an item that stayed put, and only the last
        page has no cursor. An index without a sort key orders by document id.
        """
        if limit < 1:
            raise ValueError(f"limit={limit}: must be at least 1")
        if index is None:
            partition_key, sort_key = self.partition_key, self.sort_key
        else:
            spec = self.indexes.get(index)
            if spec is None:
                raise ValueError(f"table '{self.name}' has no index '{index}' (indexes: {sorted(self.indexes)})")
            partition_key, sort_key = spec["partition_key"], spec.get("sort_key")
        self._check_key_value(partition_key, partition)
        where = [f"c[{_quoted(partition_key)}] = @pk"]
        parameters: list[dict[str, Any]] = [{"name": "@pk", "value": partition}]
        if sort is not None:
            if sort_key is None:
                owner = f"index '{index}'" if index else f"table '{self.name}'"
                raise ValueError(f"{owner} has no sort key, so a sort condition cannot apply")
            where.append(self._sort_sql(sort, sort_key, parameters))
        if index is not None and sort_key is not None:
            # Items without the index's sort key are not in the index (as in a sparse GSI).
            where.append(f"IS_DEFINED(c[{_quoted(sort_key)}])")
        # The order column: the sort key, else (an index without one) the document id.
        column = cosmos_property(sort_key) if sort_key else ("id" if index is not None else None)
        after = decode_cursor(cursor) if cursor else None
        seen = {tuple(identity) for identity in after["seen"]} if after else set()
        if after is not None and column is not None:
            where.append(f"c[{json.dumps(column)}] {'<=' if descending else '>='} @after")
            parameters.append({"name": "@after", "value": after["value"]})
        # One more than the page, to know whether another page follows.
        sql = f"SELECT TOP {limit + len(seen) + 1} * FROM c WHERE {' AND '.join(where)}"
        if column is not None:
            sql += f" ORDER BY c[{json.dumps(column)}]" + (" DESC" if descending else "")
        options: dict[str, Any] = {}
        if partition_key == self.partition_key:
            options["partition_key"] = partition
        else:
            options["enable_cross_partition_query"] = True
        rows = [
            row
            for row in self._container.query_items(sql, parameters=parameters, **options)
            if self._identity(row) not in seen
        ]
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit and column is not None:
            last = page[-1].get(column)
            ties = [self._identity(row) for row in page if row.get(column) == last]
            if after is not None and after["value"] == last:
                ties = [*(list(identity) for identity in seen), *ties]
            next_cursor = encode_cursor({"value": last, "seen": [list(identity) for identity in ties]})
        return Page(items=[from_document(row) for row in page], cursor=next_cursor)

    def _identity(self, document: Mapping[str, Any]) -> tuple[Any, str]:
        """What makes a document unique in the container: (partition key value, id)."""
        return (document.get(cosmos_property(self.partition_key)), str(document.get("id")))

    def _sort_sql(self, sort: Sort, sort_key: str, parameters: list[dict[str, Any]]) -> str:
        column = f"c[{_quoted(sort_key)}]"
        if sort.op == "begins_with" and self.key_types.get(sort_key, "string") != "string":
            raise ValueError(f"begins_with needs a string sort key; '{sort_key}' is a number")
        self._check_key_value(sort_key, sort.value)
        parameters.append({"name": "@sk", "value": sort.value})
        if sort.op in _SORT_OPERATORS:
            return f"{column} {_SORT_OPERATORS[sort.op]} @sk"
        if sort.op == "between":
            self._check_key_value(sort_key, sort.upper)
            parameters.append({"name": "@hi", "value": sort.upper})
            return f"({column} >= @sk AND {column} <= @hi)"
        if sort.op == "begins_with":
            return f"STARTSWITH({column}, @sk)"
        raise ValueError(f"unknown sort condition {sort.op!r}")


def _quoted(attribute: str) -> str:
    # Bracket notation with the stored name: attribute names may be SQL keywords ("value").
    return json.dumps(cosmos_property(attribute))


def encode_cursor(position: Mapping[str, Any]) -> str:
    """A page position (last sort value, items returned with it) as an opaque URL-safe cursor."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The page position a cursor stands for."""
    try:
        position = json.loads(base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True))
    except (ValueError, UnicodeError):
        position = None
    if not isinstance(position, dict) or "value" not in position or not isinstance(position.get("seen"), list):
        raise ValueError(f"not a cursor returned by query(): {cursor!r}")
    return position


@functools.cache
def _shared_cosmos_client(endpoint: str) -> Any:
    # One client per account: construction reads the account's metadata over the network,
    # and tables of one stack share an account.
    from azure.cosmos import CosmosClient

    return CosmosClient(endpoint, default_credential())


# --- Workflow (Durable Functions start queue) ----------------------------------------------


def start_message(instance_id: str, input: Mapping[str, Any]) -> str:
    """The text of a start-queue message: the JSON ``{"id": <instance id>, "input": {...}}``
    (see :data:`START_MESSAGE_ENCODING`); the workflow app's trigger starts orchestration
    ``id`` with ``input``."""
    return json.dumps({"id": instance_id, "input": input}, separators=(",", ":"), ensure_ascii=False)


class StartQueueWorkflow(WorkflowClient):
    """:class:`WorkflowClient` of a Durable Functions workflow: :meth:`start` drops one message
    on the workflow's start queue (``locator["queue_url"]``,
    ``https://<account>.queue.core.windows.net/<queue>``), which a queue trigger in the
    workflow's app turns into a new orchestration instance. The caller needs only *Storage
    Queue Data Message Sender* on that queue and never sees a function key.

    The execution therefore starts asynchronously: :meth:`start` returns once Storage has
    accepted the message, and the orchestration exists once the trigger has run (usually
    within seconds). The instance id is chosen here, so it is known at once.
    """

    def __init__(self, locator: Mapping[str, Any], *, credential: Any = None, client: Any = None, **sdk_options: Any):
        self.queue_url: str = locator["queue_url"]
        self.name: str = locator.get("name", self.queue_url.rstrip("/").rsplit("/", 1)[-1])
        if client is None:
            from azure.storage.queue import QueueClient

            client = QueueClient.from_queue_url(
                self.queue_url, credential=credential or default_credential(), **sdk_options
            )
        self._queue = client

    def start(self, input: Mapping[str, Any] | None = None) -> str:
        """Queue the start of a new orchestration with ``input``; return its instance id (a
        new UUID as 32 hex digits).

        Raises:
            TypeError, ValueError: ``input`` is not a JSON object (see
                :func:`~components.runtime.clients.workflow_input`).
            ValueError: the message would exceed Azure Storage's 64 KiB.
        """
        document = workflow_input(input)
        instance_id = uuid.uuid4().hex
        text = start_message(instance_id, document)
        size = len(text.encode("utf-8"))
        if size > MAX_START_MESSAGE_BYTES:
            raise ValueError(
                f"workflow '{self.name}': the input is too large to start on Azure (a {size}-byte queue "
                f"message; Azure Storage allows {MAX_START_MESSAGE_BYTES}): pass a reference (e.g. a table "
                "key) instead of the data"
            )
        self._queue.send_message(text)
        return instance_id
