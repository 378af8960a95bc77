"""GCP backends of the runtime clients: Pub/Sub queues, Eventarc Advanced or Pub/Sub buses,
Firestore tables, Workflows.

Each SDK (``google-cloud-pubsub``, ``google-cloud-eventarc-publishing``,
``google-cloud-firestore``, ``google-cloud-workflows``) is imported when its client is first
used, never at module import, so a function pays only for the SDK it touches. The SDKs honour
``PUBSUB_EMULATOR_HOST`` and ``FIRESTORE_EMULATOR_HOST`` themselves (tests use both).

Semantics that differ from other clouds, on purpose or by necessity:

* Queue: Pub/Sub has no per-message delay, so ``send(delay_s>0)`` raises ``ValueError``.
  ``group`` is the ordering key on FIFO queues (required there) and ignored elsewhere.
  Redelivery after the ack deadline and dead-lettering after ``max_delivery_attempts`` are
  done by Pub/Sub itself; ``receive_count`` is Pub/Sub's delivery attempt.
* Bus: a locator with ``"message_bus"`` publishes to an Eventarc Advanced bus (structured
  CloudEvent JSON); one with ``"topic"`` publishes the structured CloudEvent JSON to a
  Pub/Sub topic, with ``ce-*`` attributes so subscription filters can match on them.
* Table: one document per item, id = the URL-safe base64 (unpadded) of the JSON array
  ``[partition]`` or ``[partition, sort]`` — deterministic and free of ``/``, so get, put and
  delete are single-document operations. Key attributes are ordinary fields too, which is
  what queries filter and order on. The ``ttl_attribute`` is stored as a Firestore timestamp
  (Firestore's TTL policy needs one) and read back as epoch seconds. Like DynamoDB,
  Firestore deletes expired items lazily (typically within 24 hours), so reads may still see
  them until then.
* Workflow: ``start`` creates an execution of the workflow's latest revision through the
  Workflow Executions API; the input travels as the execution's ``argument`` (JSON text,
  which Workflows limits to 32 KB) and reaches the workflow's ``main`` params.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

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
from components.runtime.event_projection import BUS_ATTRIBUTE, MAX_LIST_ITEMS, project

if TYPE_CHECKING:
    from google.cloud import firestore, pubsub_v1
    from google.cloud.eventarc_publishing_v1 import PublisherClient as EventarcPublisher
    from google.cloud.workflows.executions_v1 import ExecutionsClient

__all__ = [
    "EventarcBus",
    "FirestoreTable",
    "PubSubBus",
    "PubSubQueue",
    "WorkflowsExecutions",
    "bus_client",
    "document_id",
    "queue_client",
    "table_client",
    "workflow_client",
]

SHORT_POLL_S = 2.0
"""How long ``receive(wait_s=0)`` may take: Pub/Sub has no "return now" pull any more (the
flag is deprecated), so an empty subscription is detected by a short deadline instead. Long
enough for a cold gRPC channel to connect."""
MAX_PULL = 1000
"""Pub/Sub's limit on messages per pull."""
CLOUDEVENTS_JSON = "application/cloudevents+json"


def queue_client(locator: Mapping[str, Any]) -> QueueClient:
    """The client of a Pub/Sub-backed queue (locator: project, topic, subscription, fifo)."""
    return PubSubQueue(locator)


def bus_client(locator: Mapping[str, Any]) -> BusClient:
    """The client of a bus: Eventarc Advanced if the locator has ``message_bus``, else the
    Pub/Sub ``topic``."""
    if locator.get("message_bus"):
        return EventarcBus(locator)
    if locator.get("topic"):
        return PubSubBus(locator)
    raise ValueError(f"GCP bus locator of '{locator.get('name')}' has neither 'message_bus' nor 'topic'")


def table_client(locator: Mapping[str, Any]) -> TableClient:
    """The client of a Firestore-backed table (locator: project, database, collection + key schema)."""
    return FirestoreTable(locator)


def workflow_client(locator: Mapping[str, Any]) -> WorkflowClient:
    """The client of a Workflows workflow (locator: ``id``, its full resource name)."""
    return WorkflowsExecutions(locator)


# --- queue ---------------------------------------------------------------------------------


def _payload(body: str | bytes | Mapping[str, Any] | list[Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _publish(publisher: pubsub_v1.PublisherClient, topic: str, data: bytes, key: str, **attributes: str) -> str:
    """Publish and wait for the message id; un-pause the ordering key if it failed."""
    future = publisher.publish(topic, data, ordering_key=key, **attributes)
    try:
        return future.result()
    except Exception:
        if key:
            # A failed publish pauses its ordering key until resumed; the caller's retry
            # should not be refused for that.
            publisher.resume_publish(topic, key)
        raise


class PubSubQueue(QueueClient):
    """A queue as a Pub/Sub topic (send) and its subscription (receive, ack)."""

    def __init__(
        self,
        locator: Mapping[str, Any],
        *,
        publisher: pubsub_v1.PublisherClient | None = None,
        subscriber: pubsub_v1.SubscriberClient | None = None,
    ) -> None:
        project = locator["project"]
        self.name = str(locator.get("name", locator["topic"]))
        self.fifo = bool(locator.get("fifo", False))
        self.topic = f"projects/{project}/topics/{locator['topic']}"
        self.subscription = f"projects/{project}/subscriptions/{locator['subscription']}"
        # Built on first use: a send-only function never pays for a subscriber.
        self._publisher = publisher
        self._subscriber = subscriber

    @property
    def publisher(self) -> pubsub_v1.PublisherClient:
        if self._publisher is None:
            from google.cloud import pubsub_v1

            # Ordering keys are only accepted by a publisher that enables ordering.
            options = pubsub_v1.types.PublisherOptions(enable_message_ordering=self.fifo)
            self._publisher = pubsub_v1.PublisherClient(publisher_options=options)
        return self._publisher

    @property
    def subscriber(self) -> pubsub_v1.SubscriberClient:
        if self._subscriber is None:
            from google.cloud import pubsub_v1

            self._subscriber = pubsub_v1.SubscriberClient()
        return self._subscriber

    def send(
        self,
        body: str | bytes | Mapping[str, Any] | list[Any],
        *,
        delay_s: int = 0,
        group: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Publish one message; returns Pub/Sub's message id."""
        if delay_s:
            raise ValueError(
                f"queue '{self.name}': Pub/Sub cannot delay a message (delay_s={delay_s}); "
                "delay in the consumer or use a Workflow Wait"
            )
        if self.fifo and not group:
            raise ValueError(f"queue '{self.name}' is FIFO: send(..., group=...) is required")
        key = group if self.fifo and group else ""
        return _publish(self.publisher, self.topic, _payload(body), key, **dict(attributes or {}))

    def receive(self, max_messages: int = 10, *, wait_s: int = 0) -> list[ReceivedMessage]:
        """Pull up to ``max_messages`` (1..1000), waiting at most ``wait_s`` seconds for any."""
        if not 1 <= max_messages <= MAX_PULL:
            raise ValueError(f"max_messages must be between 1 and {MAX_PULL} on GCP, got {max_messages}")
        from google.api_core import exceptions

        try:
            response = self.subscriber.pull(
                request={"subscription": self.subscription, "max_messages": max_messages},
                timeout=float(wait_s) if wait_s > 0 else SHORT_POLL_S,
            )
        except (exceptions.DeadlineExceeded, exceptions.RetryError):
            return []  # nothing arrived in time
        return [_received(item) for item in response.received_messages]

    def ack(self, message: ReceivedMessage) -> None:
        """Acknowledge the delivery, so Pub/Sub never redelivers it."""
        self.subscriber.acknowledge(request={"subscription": self.subscription, "ack_ids": [message.receipt]})


def _received(item: Any) -> ReceivedMessage:
    message = item.message
    published = message.publish_time
    return ReceivedMessage(
        id=message.message_id,
        body=bytes(message.data).decode("utf-8", errors="replace"),
        attributes=dict(message.attributes),
        # delivery_attempt is set when the subscription has a dead-letter policy (always,
        # for omnicloud queues); 0 means "not tracked", i.e. a first delivery.
        receive_count=item.delivery_attempt or 1,
        sent_at=datetime.fromtimestamp(published.timestamp(), UTC) if published else None,
        group=message.ordering_key or None,
        receipt=item.ack_id,
    )


# --- bus -----------------------------------------------------------------------------------


class EventarcBus(BusClient):
    """A bus as an Eventarc Advanced message bus (``locator["message_bus"]``, full name)."""

    def __init__(self, locator: Mapping[str, Any], *, publisher: EventarcPublisher | None = None) -> None:
        self.message_bus = str(locator["message_bus"])
        self.bus = str(locator["name"])
        # The data fields the bus's subscriptions filter on, projected into attributes
        # (see components.runtime.event_projection: enrollments cannot read the payload).
        self.filter_fields = [(tuple(f["path"]), str(f["attribute"])) for f in locator.get("filter_fields", [])]
        self.max_list_items = int(locator.get("max_list_items", MAX_LIST_ITEMS))
        self._publisher = publisher

    @property
    def publisher(self) -> EventarcPublisher:
        if self._publisher is None:
            from google.cloud.eventarc_publishing_v1 import PublisherClient

            self._publisher = PublisherClient()
        return self._publisher

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
        """Publish one CloudEvent (structured JSON) with the bus attribute and the projected
        data fields as extension attributes; returns its id."""
        event = new_event(type, data, source=source, subject=subject, id=id, time=time, platform_name_env="K_SERVICE")
        message = {
            **event.to_dict(),
            **project(data, self.filter_fields, self.max_list_items),
            BUS_ATTRIBUTE: self.bus,
        }
        self.publisher.publish(request={"message_bus": self.message_bus, "json_message": json.dumps(message)})
        return event.id


class PubSubBus(BusClient):
    """A bus as a Pub/Sub topic (``locator["topic"]``) carrying structured CloudEvents."""

    def __init__(self, locator: Mapping[str, Any], *, publisher: pubsub_v1.PublisherClient | None = None) -> None:
        self.topic = f"projects/{locator['project']}/topics/{locator['topic']}"
        self._publisher = publisher

    @property
    def publisher(self) -> pubsub_v1.PublisherClient:
        if self._publisher is None:
            from google.cloud import pubsub_v1

            self._publisher = pubsub_v1.PublisherClient()
        return self._publisher

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
        """Publish one CloudEvent; returns its id (not Pub/Sub's message id)."""
        event = new_event(type, data, source=source, subject=subject, id=id, time=time, platform_name_env="K_SERVICE")
        document = event.to_dict()
        # The body is the whole event (so a queue subscribed to the bus receives it as is);
        # the ce-* attributes exist for Pub/Sub subscription filters, which see only attributes.
        attributes = {f"ce-{name}": str(document[name]) for name in ("specversion", "id", "source", "type")}
        for name in ("subject", "time"):
            if name in document:
                attributes[f"ce-{name}"] = str(document[name])
        attributes["content-type"] = CLOUDEVENTS_JSON
        _publish(self.publisher, self.topic, json.dumps(document).encode("utf-8"), "", **attributes)
        return event.id


# --- table ---------------------------------------------------------------------------------

_OPS = {"eq": "==", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _key_value(name: str, value: Any, key_type: str | None) -> str | int | float:
    """A key attribute's value, checked against its declared type; integral floats → int so
    that 1 and 1.0 address the same item."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"key attribute '{name}' must be a string or a number, got {type(value).__name__}")
    if key_type == "string" and not isinstance(value, str):
        raise ValueError(f"key attribute '{name}' is a string key, got {value!r}")
    if key_type == "number" and isinstance(value, str):
        raise ValueError(f"key attribute '{name}' is a number key, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"key attribute '{name}' must be finite, got {value!r}")
        if value.is_integer():
            return int(value)
    return value


def document_id(parts: list[Any]) -> str:
    """The document id of an item whose key values are ``parts`` ([partition] or [partition, sort])."""
    raw = json.dumps(parts, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).rstrip(b"=").decode("ascii")


def _prefix_end(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (None: no bound).

    Firestore orders strings by UTF-8 bytes, i.e. by code point, so incrementing the last
    code point is exact (unlike the common ``prefix + "\\uf8ff"`` trick, which misses
    strings continuing with a higher code point such as most emoji).
    """
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if 0xD800 <= point <= 0xDFFF:
            point = 0xE000  # surrogates are not characters; skip over them
        if point <= 0x10FFFF:
            return "".join(chars) + chr(point)
    return None


def _same(stored: Any, expected: Any) -> bool:
    """Equality as Firestore sees it: booleans are not numbers; 1 == 1.0."""
    if isinstance(stored, bool) or isinstance(expected, bool):
        return type(stored) is type(expected) and stored == expected
    if isinstance(stored, Mapping) and isinstance(expected, Mapping):
        return stored.keys() == expected.keys() and all(_same(stored[k], expected[k]) for k in stored)
    if isinstance(stored, list) and isinstance(expected, list):
        return len(stored) == len(expected) and all(_same(a, b) for a, b in zip(stored, expected, strict=True))
    return stored == expected


class FirestoreTable(TableClient):
    """A table as one Firestore collection (``locator["collection"]`` in ``locator["database"]``)."""

    def __init__(self, locator: Mapping[str, Any], *, client: firestore.Client | None = None) -> None:
        self.name = str(locator.get("name", locator["collection"]))
        self.project = str(locator["project"])
        self.database = str(locator.get("database") or "(default)")
        self.collection_id = str(locator["collection"])
        self.partition_key = str(locator["partition_key"])
        self.sort_key: str | None = locator.get("sort_key") or None
        self.key_types: Mapping[str, str] = locator.get("key_types") or {}
        self.indexes: dict[str, tuple[str, str | None]] = {
            str(index["name"]): (str(index["partition_key"]), index.get("sort_key") or None)
            for index in locator.get("indexes") or []
        }
        self.ttl_attribute: str | None = locator.get("ttl_attribute") or None
        self._client = client

    @property
    def client(self) -> firestore.Client:
        if self._client is None:
            from google.cloud import firestore

            self._client = firestore.Client(project=self.project, database=self.database)
        return self._client

    # -- keys and values --

    def _document_id(self, key: Mapping[str, Any]) -> str:
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        parts = []
        for name in names:
            if name not in key:
                raise ValueError(f"table '{self.name}': key attribute '{name}' is missing")
            parts.append(_key_value(name, key[name], self.key_types.get(name)))
        return document_id(parts)

    def _ref(self, key: Mapping[str, Any]) -> Any:
        return self.client.collection(self.collection_id).document(self._document_id(key))

    def _to_firestore(self, item: Mapping[str, Any]) -> dict[str, Any]:
        data = dict(item)
        ttl = self.ttl_attribute
        if ttl and isinstance(data.get(ttl), int | float) and not isinstance(data[ttl], bool):
            # Firestore's TTL policy only expires timestamp fields.
            data[ttl] = datetime.fromtimestamp(data[ttl], UTC)
        return data

    def _from_firestore(self, data: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if data is None:
            return None
        item = dict(data)
        ttl = self.ttl_attribute
        if ttl and isinstance(item.get(ttl), datetime):
            seconds = item[ttl].timestamp()
            item[ttl] = int(seconds) if seconds.is_integer() else seconds
        return item

    def _check(self, snapshot: Any, condition: Condition) -> None:
        if condition is None:
            return
        if condition == "absent":
            if snapshot.exists:
                raise ConditionFailed(f"table '{self.name}': the item exists")
            return
        if not isinstance(condition, Mapping):
            raise ValueError(f"condition must be None, 'absent' or a mapping, got {condition!r}")
        stored = self._from_firestore(snapshot.to_dict()) if snapshot.exists else None
        if stored is None:
            raise ConditionFailed(f"table '{self.name}': the item does not exist")
        for name, expected in condition.items():
            if name not in stored or not _same(stored[name], expected):
                raise ConditionFailed(
                    f"table '{self.name}': {name} is {stored.get(name)!r}, the condition wants {expected!r}"
                )

    def _conditional(self, ref: Any, condition: Condition, write: Any) -> None:
        """Read, check ``condition`` and ``write(transaction)`` atomically."""
        from google.cloud import firestore

        @firestore.transactional
        def run(transaction: Any) -> None:
            self._check(ref.get(transaction=transaction), condition)
            write(transaction)

        run(self.client.transaction())

    # -- the TableClient API --

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item with this key, or None."""
        snapshot = self._ref(key).get()
        return self._from_firestore(snapshot.to_dict()) if snapshot.exists else None

    def put(self, item: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Create or replace the item (``condition``: see :class:`TableClient`)."""
        ref = self._ref(item)
        data = self._to_firestore(item)
        if condition is None:
            ref.set(data)
        elif condition == "absent":
            from google.api_core import exceptions

            try:
                ref.create(data)  # one atomic write with an "absent" precondition
            except exceptions.AlreadyExists:
                raise ConditionFailed(f"table '{self.name}': the item exists") from None
        else:
            self._conditional(ref, condition, lambda transaction: transaction.set(ref, data))

    def delete(self, key: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Delete the item (absent is fine unless ``condition`` says otherwise)."""
        ref = self._ref(key)
        if condition is None:
            ref.delete()
        elif condition == "absent":
            # Nothing to delete if it holds, so a read is the whole operation.
            self._check(ref.get(), condition)
        else:
            self._conditional(ref, condition, lambda transaction: transaction.delete(ref))

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
        """Items of one partition in sort-key order (ties, on an index, by document id).

        Needs the composite indexes the deploy side creates: (partition ASC, sort ASC) and
        (partition ASC, sort DESC), for the table and for each index.
        """
        from google.cloud.firestore_v1 import FieldFilter
        from google.cloud.firestore_v1.field_path import FieldPath

        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if index is None:
            partition_key, sort_key = self.partition_key, self.sort_key
        elif index in self.indexes:
            partition_key, sort_key = self.indexes[index]
        else:
            raise ValueError(f"table '{self.name}' has no index '{index}' (it has: {sorted(self.indexes)})")
        if sort is not None and sort_key is None:
            raise ValueError(f"table '{self.name}': a sort condition needs a sort key, and this one has none")
        partition = _key_value(partition_key, partition, self.key_types.get(partition_key))
        query = self.client.collection(self.collection_id).where(
            filter=FieldFilter(FieldPath(partition_key).to_api_repr(), "==", partition)
        )
        direction = "DESCENDING" if descending else "ASCENDING"
        if sort_key is not None:
            sort_path = FieldPath(sort_key).to_api_repr()
            for op, value in self._sort_filters(sort_key, sort):
                query = query.where(filter=FieldFilter(sort_path, op, value))
            if sort is None or sort.op != "eq":
                query = query.order_by(sort_path, direction=direction)
        if sort_key is None or (sort is not None and sort.op == "eq"):
            # Every result has the same sort value (or there is none): only the tie order is
            # left, and ascending ids need no composite index beyond the equality filters.
            direction = "ASCENDING"
        # The document id breaks ties (index sort keys need not be unique) and makes the
        # cursor exact; a composite index implicitly ends with it in the same direction.
        query = query.order_by(FieldPath.document_id(), direction=direction)
        if cursor:
            query = query.start_after(self._decode_cursor(cursor, sort_key, sort))
        snapshots = list(query.limit(limit + 1).stream())  # one more tells whether a next page exists
        page = snapshots[:limit]
        items = [item for item in (self._from_firestore(snapshot.to_dict()) for snapshot in page) if item is not None]
        next_cursor = None
        if len(snapshots) > limit:
            last = page[-1]
            # to_dict() reads the attribute by its literal name (snapshot.get would parse dots).
            next_cursor = self._encode_cursor((last.to_dict() or {}).get(sort_key) if sort_key else None, last.id)
        return Page(items=items, cursor=next_cursor)

    def _sort_filters(self, sort_key: str, sort: Sort | None) -> list[tuple[str, Any]]:
        if sort is None:
            return []
        key_type = self.key_types.get(sort_key)
        if sort.op in _OPS:
            return [(_OPS[sort.op], _key_value(sort_key, sort.value, key_type))]
        if sort.op == "between":
            return [
                (">=", _key_value(sort_key, sort.value, key_type)),
                ("<=", _key_value(sort_key, sort.upper, key_type)),
            ]
        if sort.op == "begins_with":
            if not isinstance(sort.value, str) or key_type == "number":
                raise ValueError(f"begins_with needs a string sort key and prefix, got {sort.value!r}")
            end = _prefix_end(sort.value)
            return [(">=", sort.value)] + ([("<", end)] if end is not None else [])
        raise ValueError(f"unknown sort operation {sort.op!r}")

    @staticmethod
    def _encode_cursor(sort_value: Any, doc_id: str) -> str:
        raw = json.dumps([sort_value, doc_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii")

    @staticmethod
    def _decode_cursor(cursor: str, sort_key: str | None, sort: Sort | None) -> list[Any]:
        try:
            sort_value, doc_id = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        except (binascii.Error, ValueError, TypeError):
            raise ValueError("cursor is not one this table returned") from None
        # The cursor lists the values of the query's order_by fields, in order.
        if sort_key is None or (sort is not None and sort.op == "eq"):
            return [doc_id]
        return [sort_value, doc_id]


# --- workflow ------------------------------------------------------------------------------

WORKFLOW_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/workflows/[^/]+$")


class WorkflowsExecutions(WorkflowClient):
    """A workflow as a Workflows workflow (``locator["id"]``,
    ``projects/<p>/locations/<r>/workflows/<id>``), started through the Executions API."""

    def __init__(self, locator: Mapping[str, Any], *, client: ExecutionsClient | None = None) -> None:
        self.workflow = str(locator["id"])
        self.name = str(locator.get("name", self.workflow.rsplit("/", 1)[-1]))
        if not WORKFLOW_NAME.match(self.workflow):
            raise ValueError(
                f"workflow '{self.name}': {self.workflow!r} is not a workflow's full name "
                "(projects/<project>/locations/<region>/workflows/<id>)"
            )
        self._client = client

    @property
    def client(self) -> ExecutionsClient:
        if self._client is None:
            from google.cloud.workflows.executions_v1 import ExecutionsClient

            self._client = ExecutionsClient()
        return self._client

    def start(self, input: Mapping[str, Any] | None = None) -> str:
        """Create an execution with ``input`` as its argument; returns the execution's full
        name (``<workflow>/executions/<id>``).

        Raises:
            TypeError, ValueError: ``input`` is not a JSON object (see
                :func:`~components.runtime.clients.workflow_input`).
        """
        from google.cloud.workflows.executions_v1 import Execution

        argument = json.dumps(workflow_input(input), separators=(",", ":"), ensure_ascii=False)
        execution = self.client.create_execution(parent=self.workflow, execution=Execution(argument=argument))
        return execution.name
