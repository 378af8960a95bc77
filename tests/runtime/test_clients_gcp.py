"""The GCP runtime clients against Google's own emulators (Pub/Sub, Firestore), the Eventarc
publishing client against a loopback endpoint (Eventarc has no emulator), and the Workflows
client against a loopback gRPC server of the Executions service: no Workflows emulator speaks
gRPC, and ``google-cloud-workflows`` has no REST transport for executions (the
``workflows-emulator`` package serves only REST)."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from components.runtime.adapters import gcp as adapter
from components.runtime.clients import ConditionFailed, LinkNotFound, Sort, WorkflowClient
from components.runtime.clients import gcp as clients
from components.runtime.clients import queue as linked_queue
from components.runtime.clients import table as linked_table
from components.runtime.clients.gcp import EventarcBus, FirestoreTable, PubSubBus, PubSubQueue, WorkflowsExecutions
from tests.runtime.gcp_emulators import (  # noqa: F401 - fixtures
    PROJECT,
    Emulator,
    firestore_emulator_fixture,
    firestore_env_fixture,
    pubsub_emulator_fixture,
    pubsub_env_fixture,
    unique,
)

pytestmark = pytest.mark.slow

MAX_DELIVERY_ATTEMPTS = 5


# --- Pub/Sub helpers -------------------------------------------------------------------------


def make_queue(*, fifo: bool = False, ack_deadline_s: int = 10) -> dict[str, Any]:
    """What the deploy side creates for a Queue: topic, subscription with a dead-letter policy,
    dead-letter topic and a subscription on it. Returns the locator plus the DLQ's names."""
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    name = unique("jobs")
    topic, dlq_topic = publisher.topic_path(PROJECT, name), publisher.topic_path(PROJECT, f"{name}-dlq")
    for path in (topic, dlq_topic):
        publisher.create_topic(name=path)
    subscriber.create_subscription(
        request={"name": subscriber.subscription_path(PROJECT, f"{name}-dlq"), "topic": dlq_topic}
    )
    subscriber.create_subscription(
        request={
            "name": subscriber.subscription_path(PROJECT, name),
            "topic": topic,
            "ack_deadline_seconds": ack_deadline_s,
            "enable_message_ordering": fifo,
            "dead_letter_policy": {"dead_letter_topic": dlq_topic, "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS},
        }
    )
    return {
        "kind": "queue",
        "cloud": "gcp",
        "name": name,
        "project": PROJECT,
        "topic": name,
        "subscription": name,
        "fifo": fifo,
        "dlq": {
            "kind": "queue",
            "cloud": "gcp",
            "name": f"{name}-dlq",
            "project": PROJECT,
            "topic": f"{name}-dlq",
            "subscription": f"{name}-dlq",
            "fifo": False,
        },
    }


def nack(queue: PubSubQueue, receipt: str) -> None:
    """Give a delivery back now (ack deadline 0), as a consumer that failed it would."""
    queue.subscriber.modify_ack_deadline(
        request={"subscription": queue.subscription, "ack_ids": [receipt], "ack_deadline_seconds": 0}
    )


def receive_until(queue: PubSubQueue, count: int, timeout_s: float = 20) -> list:
    got: list = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        got += queue.receive(10, wait_s=2)
    return got


# --- queue ------------------------------------------------------------------------------------


def test_sent_message_is_received_with_body_attributes_and_first_attempt(pubsub_env: Emulator) -> None:
    locator = make_queue()
    queue = PubSubQueue(locator)
    before = datetime.now(UTC) - timedelta(seconds=1)

    message_id = queue.send({"order": 42, "lines": [1, 2]}, attributes={"tenant": "acme"})
    [message] = receive_until(queue, 1)

    assert message.id == message_id
    assert json.loads(message.body) == {"order": 42, "lines": [1, 2]}
    assert message.json() == {"order": 42, "lines": [1, 2]}
    assert message.attributes == {"tenant": "acme"}
    assert message.receive_count == 1
    assert message.group is None
    assert message.sent_at is not None and before <= message.sent_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert message.receipt


def test_acked_message_is_not_delivered_again(pubsub_env: Emulator) -> None:
    queue = PubSubQueue(make_queue())
    queue.send("once")
    [message] = receive_until(queue, 1)
    queue.ack(message)
    # Had the ack been lost, a nack-free redelivery would need the 10 s deadline; asking for
    # it directly is faster: an acked ack id can no longer be nacked into redelivery.
    nack(queue, message.receipt)
    assert queue.receive(10, wait_s=2) == []


def test_text_and_bytes_bodies_arrive_as_text(pubsub_env: Emulator) -> None:
    queue = PubSubQueue(make_queue())
    queue.send("plain text ✓")
    queue.send(b"raw bytes")
    bodies = sorted(message.body for message in receive_until(queue, 2))
    assert bodies == ["plain text ✓", "raw bytes"]


def test_receive_on_an_empty_queue_returns_nothing_promptly(pubsub_env: Emulator) -> None:
    queue = PubSubQueue(make_queue())
    started = time.monotonic()
    assert queue.receive() == []
    assert time.monotonic() - started < clients.SHORT_POLL_S + 2


def test_unacked_message_is_dead_lettered_after_max_delivery_attempts(pubsub_env: Emulator) -> None:
    locator = make_queue()
    queue, dlq = PubSubQueue(locator), PubSubQueue(locator["dlq"])
    message_id = queue.send({"poison": True}, attributes={"tenant": "acme"})

    attempts = []
    for _ in range(MAX_DELIVERY_ATTEMPTS):
        [message] = receive_until(queue, 1)
        attempts.append(message.receive_count)
        nack(queue, message.receipt)

    assert attempts == [1, 2, 3, 4, 5]  # Pub/Sub's delivery attempt, counted by the service
    # Forwarding to the dead-letter topic is asynchronous (the emulator does it when the
    # subscription is next pulled): the message is never delivered a sixth time, and shows
    # up on the dead-letter queue.
    assert queue.receive(10, wait_s=2) == []
    [dead] = receive_until(dlq, 1)
    assert dead.json() == {"poison": True}
    assert dead.attributes["tenant"] == "acme"
    assert dead.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == str(MAX_DELIVERY_ATTEMPTS)
    assert dead.attributes["CloudPubSubDeadLetterSourceSubscription"] == locator["subscription"]
    assert dead.id != message_id  # re-published to the dead-letter topic: a new message
    assert queue.receive(10, wait_s=2) == []


def test_fifo_queue_keeps_order_within_each_group(pubsub_env: Emulator) -> None:
    queue = PubSubQueue(make_queue(fifo=True))
    for n in range(5):
        queue.send({"n": n}, group="order-1")
        queue.send({"n": n}, group="order-2")

    received = []
    while len(received) < 10:
        batch = receive_until(queue, 1)
        assert batch, "messages went missing"
        for message in batch:
            received.append(message)
            queue.ack(message)

    for group in ("order-1", "order-2"):
        assert [m.json()["n"] for m in received if m.group == group] == [0, 1, 2, 3, 4]


def test_fifo_queue_requires_a_group(pubsub_env: Emulator) -> None:
    queue = PubSubQueue(make_queue(fifo=True))
    with pytest.raises(ValueError, match="FIFO"):
        queue.send("no group")


def test_group_on_a_standard_queue_is_ignored(pubsub_env: Emulator) -> None:
    queue = PubSubQueue(make_queue())
    queue.send("x", group="g")
    [message] = receive_until(queue, 1)
    assert message.group is None


def test_delay_is_refused_because_pubsub_cannot_delay(pubsub_env: Emulator) -> None:
    queue = PubSubQueue(make_queue())
    with pytest.raises(ValueError, match="cannot delay"):
        queue.send("later", delay_s=30)
    assert queue.receive() == []


def test_receive_checks_the_batch_size_against_pubsub_limits() -> None:
    queue = PubSubQueue({"project": "p", "topic": "t", "subscription": "s"})
    for bad in (0, 1001):
        with pytest.raises(ValueError, match="between 1 and 1000"):
            queue.receive(bad)


def test_runtime_queue_finds_the_gcp_client_from_the_link(pubsub_env: Emulator, monkeypatch) -> None:
    locator = make_queue()
    name = unique("linked")
    monkeypatch.setenv(f"OMNICLOUD_LINK_QUEUE_{name.upper().replace('-', '_')}", json.dumps(locator))
    client = linked_queue(name)
    assert isinstance(client, PubSubQueue)
    client.send("via link")
    assert [m.body for m in receive_until(client, 1)] == ["via link"]
    with pytest.raises(LinkNotFound):
        linked_queue(unique("not-linked"))


# --- bus: Pub/Sub topic ------------------------------------------------------------------------


def test_pubsub_bus_publishes_a_structured_cloudevent_with_ce_attributes(pubsub_env: Emulator) -> None:
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = unique("events")
    publisher.create_topic(name=publisher.topic_path(PROJECT, topic))
    subscription = subscriber.subscription_path(PROJECT, topic)
    subscriber.create_subscription(request={"name": subscription, "topic": publisher.topic_path(PROJECT, topic)})
    bus = clients.bus_client({"kind": "bus", "cloud": "gcp", "name": "events", "project": PROJECT, "topic": topic})
    assert isinstance(bus, PubSubBus)
    when = datetime(2025, 3, 12, 2, 5, tzinfo=UTC)

    event_id = bus.publish("order.created", {"order": 42}, source="shop/api", subject="order/42", time=when)

    [received] = subscriber.pull(
        request={"subscription": subscription, "max_messages": 10}, timeout=10
    ).received_messages
    body = json.loads(received.message.data)
    assert body == {
        "specversion": "1.0",
        "id": event_id,
        "source": "shop/api",
        "type": "order.created",
        "subject": "order/42",
        "time": "2025-03-12T02:05:00Z",
        "datacontenttype": "application/json",
        "data": {"order": 42},
    }
    assert dict(received.message.attributes) == {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "shop/api",
        "ce-type": "order.created",
        "ce-subject": "order/42",
        "ce-time": "2025-03-12T02:05:00Z",
        "content-type": "application/cloudevents+json",
    }
    # The same message pushed to the function's bus route is the same event again.
    push = {
        "message": {
            "data": base64.b64encode(received.message.data).decode(),
            "attributes": dict(received.message.attributes),
            "messageId": received.message.message_id,
        },
        "subscription": subscription,
    }
    event = adapter.to_event({"content-type": "application/json"}, json.dumps(push).encode())
    assert (event.id, event.type, event.source, event.subject, event.time, event.data) == (
        event_id,
        "order.created",
        "shop/api",
        "order/42",
        when,
        {"order": 42},
    )


def test_bus_source_defaults_to_the_function(pubsub_env: Emulator, monkeypatch) -> None:
    monkeypatch.setenv("OMNICLOUD_FUNCTION", "api")
    event = clients.new_event("t", None)
    assert event.source == "omnicloud/api"
    assert event.id and event.time is not None and event.time.tzinfo is not None


def test_bus_locator_without_a_target_is_rejected() -> None:
    with pytest.raises(ValueError, match="neither"):
        clients.bus_client({"name": "events", "project": "p"})


# --- bus: Eventarc Advanced ----------------------------------------------------------------------


@pytest.fixture
def eventarc_endpoint() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """A loopback stand-in for eventarcpublishing.googleapis.com that records publish calls."""
    calls: list[tuple[str, dict[str, Any]]] = []

    class Publish(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            calls.append((self.path, json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Publish)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", calls
    finally:
        server.shutdown()


def test_eventarc_bus_publishes_the_cloudevent_json_to_the_message_bus(eventarc_endpoint) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.eventarc_publishing_v1 import PublisherClient

    endpoint, calls = eventarc_endpoint
    message_bus = "projects/shop-1/locations/europe-west1/messageBuses/events-bus"
    sdk = PublisherClient(
        transport="rest", credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint}
    )
    locator = {
        "name": "events",
        "message_bus": message_bus,
        "project": "shop-1",
        "filter_fields": [{"path": ["total"], "attribute": "odtotal"}],
    }
    bus = EventarcBus(locator, publisher=sdk)

    event_id = bus.publish("order.created", {"order": 42, "total": 99.5}, source="shop/api", id="evt-1")

    assert event_id == "evt-1"
    [(path, body)] = calls
    assert path.split("?")[0] == f"/v1/{message_bus}:publish"
    published = json.loads(body["jsonMessage"])
    assert published["specversion"] == "1.0"
    assert (published["id"], published["source"], published["type"]) == ("evt-1", "shop/api", "order.created")
    assert published["data"] == {"order": 42, "total": 99.5}
    assert published["datacontenttype"] == "application/json"
    assert "subject" not in published
    assert datetime.fromisoformat(published["time"]).tzinfo is not None
    # The enrollment filters on extension attributes: the bus's name and the projected fields.
    assert published["omnicloudbus"] == "events"
    assert (published["odtotaln"], published["odtotalt0"], published["odtotalv0"]) == ("1", "n", "99.5")


def test_bus_client_picks_eventarc_when_the_locator_names_a_message_bus() -> None:
    locator = {"name": "b", "message_bus": "projects/p/locations/l/messageBuses/b", "topic": "ignored", "project": "p"}
    assert isinstance(clients.bus_client(locator), EventarcBus)


# --- table --------------------------------------------------------------------------------------


def table_locator(**overrides: Any) -> dict[str, Any]:
    locator = {
        "kind": "table",
        "cloud": "gcp",
        "name": "orders",
        "project": PROJECT,
        "database": "(default)",
        "collection": unique("orders"),
        "partition_key": "pk",
        "sort_key": "sk",
        "key_types": {"pk": "string", "sk": "string", "status": "string", "placed": "number"},
        "indexes": [{"name": "by-status", "partition_key": "status", "sort_key": "placed"}],
        "ttl_attribute": "expires",
    }
    return {**locator, **overrides}


@pytest.fixture
def orders(firestore_env: Emulator) -> FirestoreTable:
    return FirestoreTable(table_locator())


def keys(page) -> list[str]:
    return [item["sk"] for item in page]


def test_put_get_delete_round_trip(orders: FirestoreTable) -> None:
    item = {"pk": "c#1", "sk": "o#1", "total": 12.5, "qty": 3, "tags": ["a", "b"], "meta": {"gift": True}}
    orders.put(item)
    assert orders.get({"pk": "c#1", "sk": "o#1"}) == item
    assert orders.get({"pk": "c#1", "sk": "o#2"}) is None
    orders.delete({"pk": "c#1", "sk": "o#1"})
    assert orders.get({"pk": "c#1", "sk": "o#1"}) is None
    orders.delete({"pk": "c#1", "sk": "o#1"})  # absent: no error


def test_put_replaces_the_whole_item(orders: FirestoreTable) -> None:
    orders.put({"pk": "p", "sk": "s", "a": 1, "b": 2})
    orders.put({"pk": "p", "sk": "s", "a": 3})
    assert orders.get({"pk": "p", "sk": "s"}) == {"pk": "p", "sk": "s", "a": 3}


def test_one_document_per_key_whose_id_is_deterministic_and_slash_free(orders: FirestoreTable) -> None:
    orders.put({"pk": "a/b", "sk": "c/d?#", "v": 1})
    [snapshot] = list(orders.client.collection(orders.collection_id).stream())
    assert "/" not in snapshot.id
    assert snapshot.id == clients.document_id(["a/b", "c/d?#"])
    assert json.loads(base64.urlsafe_b64decode(snapshot.id + "==")) == ["a/b", "c/d?#"]


def test_integral_float_and_int_keys_address_the_same_item(firestore_env: Emulator) -> None:
    table = FirestoreTable(table_locator(key_types={"pk": "number", "sk": "number"}))
    table.put({"pk": 1, "sk": 2.0, "v": "x"})
    assert table.get({"pk": 1.0, "sk": 2})["v"] == "x"  # type: ignore[index]


def test_key_types_and_missing_keys_are_checked(orders: FirestoreTable) -> None:
    with pytest.raises(ValueError, match="'sk' is missing"):
        orders.put({"pk": "p"})
    with pytest.raises(ValueError, match="string key"):
        orders.get({"pk": 1, "sk": "s"})
    with pytest.raises(ValueError, match="string or a number"):
        orders.get({"pk": True, "sk": "s"})


def test_table_without_sort_key(firestore_env: Emulator) -> None:
    table = FirestoreTable(table_locator(sort_key=None, indexes=[], key_types={"pk": "string"}))
    table.put({"pk": "solo", "v": 1})
    assert table.get({"pk": "solo"}) == {"pk": "solo", "v": 1}
    assert table.query("solo").items == [{"pk": "solo", "v": 1}]
    with pytest.raises(ValueError, match="needs a sort key"):
        table.query("solo", sort=Sort.eq("x"))


def test_put_if_absent_fails_when_the_item_exists(orders: FirestoreTable) -> None:
    orders.put({"pk": "p", "sk": "s", "v": 1}, condition="absent")
    with pytest.raises(ConditionFailed):
        orders.put({"pk": "p", "sk": "s", "v": 2}, condition="absent")
    assert orders.get({"pk": "p", "sk": "s"})["v"] == 1  # type: ignore[index]


def test_optimistic_put_succeeds_only_on_the_expected_version(orders: FirestoreTable) -> None:
    orders.put({"pk": "p", "sk": "s", "version": 1, "state": "new"})
    orders.put({"pk": "p", "sk": "s", "version": 2, "state": "paid"}, condition={"version": 1})
    with pytest.raises(ConditionFailed):
        orders.put({"pk": "p", "sk": "s", "version": 2, "state": "lost update"}, condition={"version": 1})
    assert orders.get({"pk": "p", "sk": "s"}) == {"pk": "p", "sk": "s", "version": 2, "state": "paid"}
    with pytest.raises(ConditionFailed):
        orders.put({"pk": "p", "sk": "nope", "version": 1}, condition={"version": 0})
    assert orders.get({"pk": "p", "sk": "nope"}) is None


def test_conditions_tell_booleans_from_numbers(orders: FirestoreTable) -> None:
    orders.put({"pk": "p", "sk": "s", "flag": True})
    with pytest.raises(ConditionFailed):
        orders.put({"pk": "p", "sk": "s", "flag": False}, condition={"flag": 1})
    orders.put({"pk": "p", "sk": "s", "flag": False}, condition={"flag": True})


def test_conditional_delete(orders: FirestoreTable) -> None:
    orders.put({"pk": "p", "sk": "s", "version": 3})
    with pytest.raises(ConditionFailed):
        orders.delete({"pk": "p", "sk": "s"}, condition={"version": 2})
    with pytest.raises(ConditionFailed):
        orders.delete({"pk": "p", "sk": "s"}, condition="absent")
    assert orders.get({"pk": "p", "sk": "s"}) is not None
    orders.delete({"pk": "p", "sk": "s"}, condition={"version": 3})
    assert orders.get({"pk": "p", "sk": "s"}) is None
    orders.delete({"pk": "p", "sk": "s"}, condition="absent")
    with pytest.raises(ConditionFailed):
        orders.delete({"pk": "p", "sk": "s"}, condition={"version": 3})


def test_ttl_attribute_is_a_firestore_timestamp_read_back_as_epoch_seconds(orders: FirestoreTable) -> None:
    expires = 1_900_000_000
    orders.put({"pk": "p", "sk": "s", "expires": expires})
    stored = orders.client.collection(orders.collection_id).document(clients.document_id(["p", "s"])).get()
    assert stored.get("expires") == datetime.fromtimestamp(expires, UTC)  # what TTL policies need
    assert orders.get({"pk": "p", "sk": "s"}) == {"pk": "p", "sk": "s", "expires": expires}
    orders.put({"pk": "p", "sk": "t", "expires": 1_900_000_000.25})
    assert orders.get({"pk": "p", "sk": "t"})["expires"] == 1_900_000_000.25  # type: ignore[index]
    assert orders.query("p", sort=Sort.eq("s")).items[0]["expires"] == expires


@pytest.fixture
def filled(orders: FirestoreTable) -> FirestoreTable:
    for sk in ("a", "b", "ba", "bb", "b\U0001f600", "c", "d"):
        orders.put({"pk": "p1", "sk": sk})
    orders.put({"pk": "p2", "sk": "a"})
    return orders


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, ["a", "b", "ba", "bb", "b\U0001f600", "c", "d"]),
        (Sort.eq("ba"), ["ba"]),
        (Sort.lt("b"), ["a"]),
        (Sort.le("b"), ["a", "b"]),
        (Sort.gt("bb"), ["b\U0001f600", "c", "d"]),
        (Sort.ge("c"), ["c", "d"]),
        (Sort.between("b", "bb"), ["b", "ba", "bb"]),
        (Sort.begins_with("b"), ["b", "ba", "bb", "b\U0001f600"]),  # even past U+F8FF
        (Sort.begins_with(""), ["a", "b", "ba", "bb", "b\U0001f600", "c", "d"]),
    ],
)
def test_every_sort_condition(filled: FirestoreTable, sort: Sort | None, expected: list[str]) -> None:
    assert keys(filled.query("p1", sort=sort)) == expected
    assert keys(filled.query("p1", sort=sort, descending=True)) == expected[::-1]


def test_query_reads_only_its_partition(filled: FirestoreTable) -> None:
    assert [(i["pk"], i["sk"]) for i in filled.query("p2")] == [("p2", "a")]
    assert filled.query("nobody").items == []


def test_pagination_walks_every_item_once(filled: FirestoreTable) -> None:
    for descending in (False, True):
        seen, cursor, pages = [], None, 0
        while True:
            page = filled.query("p1", limit=3, cursor=cursor, descending=descending)
            seen += keys(page)
            pages += 1
            cursor = page.cursor
            if cursor is None:
                break
        expected = ["a", "b", "ba", "bb", "b\U0001f600", "c", "d"]
        assert seen == (expected[::-1] if descending else expected)
        assert pages == 3


def test_pagination_with_a_sort_condition_and_an_exact_last_page(filled: FirestoreTable) -> None:
    first = filled.query("p1", sort=Sort.begins_with("b"), limit=2)
    assert keys(first) == ["b", "ba"]
    second = filled.query("p1", sort=Sort.begins_with("b"), limit=2, cursor=first.cursor)
    assert keys(second) == ["bb", "b\U0001f600"]
    assert second.cursor is None  # exactly full: no empty extra page


def test_a_foreign_cursor_is_rejected(filled: FirestoreTable) -> None:
    with pytest.raises(ValueError, match="cursor"):
        filled.query("p1", cursor="not-a-cursor!")


def test_index_query_uses_the_index_keys_and_breaks_ties(orders: FirestoreTable) -> None:
    orders.put({"pk": "c1", "sk": "o1", "status": "open", "placed": 30})
    orders.put({"pk": "c1", "sk": "o2", "status": "open", "placed": 10})
    orders.put({"pk": "c2", "sk": "o3", "status": "open", "placed": 20})
    orders.put({"pk": "c2", "sk": "o4", "status": "open", "placed": 20})  # same index sort key
    orders.put({"pk": "c3", "sk": "o5", "status": "shipped", "placed": 5})
    orders.put({"pk": "c3", "sk": "o6", "placed": 1})  # not in the index: no status

    # Equal index sort keys are ordered by document id, so the order is total and stable.
    tied = sorted(["o3", "o4"], key=lambda sk: clients.document_id(["c2", sk]))
    assert keys(orders.query("open", index="by-status")) == ["o2", *tied, "o1"]
    assert keys(orders.query("open", index="by-status", sort=Sort.ge(20), descending=True)) == ["o1", *tied[::-1]]
    page1 = orders.query("open", index="by-status", limit=2)
    page2 = orders.query("open", index="by-status", limit=2, cursor=page1.cursor)
    assert sorted(keys(page1) + keys(page2)) == ["o1", "o2", "o3", "o4"]  # ties split across pages, none lost
    assert page2.cursor is None
    assert keys(orders.query("shipped", index="by-status")) == ["o5"]
    with pytest.raises(ValueError, match="no index 'by-date'"):
        orders.query("open", index="by-date")
    with pytest.raises(ValueError, match="number key"):
        orders.query("open", index="by-status", sort=Sort.gt("20"))


def test_key_names_with_dots_and_dashes_are_literal_field_names(firestore_env: Emulator) -> None:
    table = FirestoreTable(
        table_locator(partition_key="customer-id", sort_key="placed.at", key_types={}, indexes=[], ttl_attribute=None)
    )
    for n in range(5):
        table.put({"customer-id": "c1", "placed.at": n, "n": n})
    assert table.get({"customer-id": "c1", "placed.at": 3}) == {"customer-id": "c1", "placed.at": 3, "n": 3}
    first = table.query("c1", sort=Sort.ge(1), limit=2, descending=True)
    rest = table.query("c1", sort=Sort.ge(1), limit=10, descending=True, cursor=first.cursor)
    assert [item["n"] for item in [*first, *rest]] == [4, 3, 2, 1]


def test_equal_index_sort_keys_paginate_without_loss(orders: FirestoreTable) -> None:
    for n in range(5):
        orders.put({"pk": f"c{n}", "sk": "o", "status": "open", "placed": 7})
    seen, cursor = [], None
    while True:
        page = orders.query("open", index="by-status", sort=Sort.eq(7), limit=2, cursor=cursor, descending=True)
        seen += [item["pk"] for item in page]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert sorted(seen) == [f"c{n}" for n in range(5)]
    assert len(seen) == 5


def test_runtime_table_finds_the_gcp_client_from_the_link(firestore_env: Emulator, monkeypatch) -> None:
    locator = table_locator()
    monkeypatch.setenv("OMNICLOUD_LINK_TABLE_ORDERS_GCP_TEST", json.dumps(locator))
    table = linked_table("orders-gcp-test")
    assert isinstance(table, FirestoreTable)
    table.put({"pk": "p", "sk": "s"})
    assert table.get({"pk": "p", "sk": "s"}) == {"pk": "p", "sk": "s"}


def test_named_database_is_used(firestore_env: Emulator) -> None:
    other = FirestoreTable(table_locator(database="omnicloud-db"))
    other.put({"pk": "p", "sk": "s"})
    default = FirestoreTable(table_locator(collection=other.collection_id))
    assert default.get({"pk": "p", "sk": "s"}) is None
    assert other.get({"pk": "p", "sk": "s"}) == {"pk": "p", "sk": "s"}


def test_prefix_end_is_the_next_string_after_the_prefix() -> None:
    assert clients._prefix_end("ab") == "ac"
    assert clients._prefix_end("a\U0010ffff") == "b"
    assert clients._prefix_end("\ud7ff") == "\ue000"
    assert clients._prefix_end("") is None


# --- Workflows -------------------------------------------------------------------------------

WORKFLOW = f"projects/{PROJECT}/locations/europe-west1/workflows/checkout"
CREATE_EXECUTION = "/google.cloud.workflows.executions.v1.Executions/CreateExecution"


class ExecutionsRecorder:
    """The Workflow Executions gRPC service on 127.0.0.1: records each ``CreateExecution``
    (the request as the SDK's own message type, and its metadata) and answers as the service
    does, with the new execution (``<workflow>/executions/<uuid>``, state ACTIVE) or, when
    ``fail_with`` is set, that status."""

    def __init__(self) -> None:
        from concurrent import futures

        import grpc
        from google.cloud.workflows.executions_v1 import CreateExecutionRequest, Execution

        self.calls: list[tuple[Any, dict[str, str]]] = []
        self.fail_with: Any = None
        recorder = self

        def create_execution(request: Any, context: Any) -> Any:
            recorder.calls.append((request, dict(context.invocation_metadata())))
            if recorder.fail_with is not None:
                context.abort(recorder.fail_with, f"Resource '{request.parent}' was not found")
            return Execution(
                name=f"{request.parent}/executions/{uuid.uuid4()}",
                argument=request.execution.argument,
                state=Execution.State.ACTIVE,
                workflow_revision_id="000001-abc",
            )

        service, method = CREATE_EXECUTION.strip("/").split("/")
        handler = grpc.unary_unary_rpc_method_handler(
            create_execution,
            request_deserializer=CreateExecutionRequest.deserialize,
            response_serializer=Execution.serialize,
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {method: handler}),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def sdk_client(self) -> Any:
        """The official ``ExecutionsClient`` with its gRPC transport on a channel to this server."""
        import grpc
        from google.cloud.workflows.executions_v1 import ExecutionsClient
        from google.cloud.workflows.executions_v1.services.executions.transports import ExecutionsGrpcTransport

        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return ExecutionsClient(transport=ExecutionsGrpcTransport(channel=channel))

    def stop(self) -> None:
        self._server.stop(grace=None)


@pytest.fixture
def executions() -> Iterator[ExecutionsRecorder]:
    recorder = ExecutionsRecorder()
    try:
        yield recorder
    finally:
        recorder.stop()


def workflow_locator() -> dict[str, Any]:
    return {"kind": "workflow", "cloud": "gcp", "name": "checkout", "id": WORKFLOW}


def test_start_creates_an_execution_with_the_input_as_its_argument(executions: ExecutionsRecorder) -> None:
    checkout = WorkflowsExecutions(workflow_locator(), client=executions.sdk_client())
    order = {"order": {"id": "o-1", "lines": [{"sku": "a", "qty": 2}], "total": 9.5, "gift": None}, "note": "Zoë"}

    name = checkout.start(order)

    [(request, metadata)] = executions.calls
    assert request.parent == WORKFLOW
    assert json.loads(request.execution.argument) == order
    # Only the argument is set: the latest revision runs, at the workflow's own call-log level.
    assert (request.execution.name, request.execution.call_log_level, request.execution.labels) == ("", 0, {})
    # The routing header the front end routes on (the gRPC form of the REST path's parent).
    assert metadata["x-goog-request-params"] == "parent=" + WORKFLOW
    assert name.startswith(WORKFLOW + "/executions/")
    assert str(uuid.UUID(name.rsplit("/", 1)[1])) == name.rsplit("/", 1)[1]


def test_each_start_is_a_new_execution_and_no_input_is_an_empty_object(executions: ExecutionsRecorder) -> None:
    checkout = WorkflowsExecutions(workflow_locator(), client=executions.sdk_client())

    first, second = checkout.start(), checkout.start({"n": 2})

    assert first != second
    assert [json.loads(request.execution.argument) for request, _ in executions.calls] == [{}, {"n": 2}]


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ([1, 2], TypeError, "JSON object"),
        ({1: "a"}, TypeError, "keys are strings"),
        ({"x": float("inf")}, ValueError, "infinities"),
        ({"x": object()}, TypeError, "must be JSON"),
    ],
)
def test_input_that_is_not_a_json_object_is_rejected_before_any_request(
    executions: ExecutionsRecorder, bad: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        WorkflowsExecutions(workflow_locator(), client=executions.sdk_client()).start(bad)
    assert executions.calls == []


def test_start_of_a_missing_workflow_raises_the_service_error(executions: ExecutionsRecorder) -> None:
    import grpc
    from google.api_core import exceptions

    executions.fail_with = grpc.StatusCode.NOT_FOUND
    with pytest.raises(exceptions.NotFound, match="was not found"):
        WorkflowsExecutions(workflow_locator(), client=executions.sdk_client()).start({"x": 1})
    assert len(executions.calls) == 1  # CreateExecution is not retried: a retry could start it twice


def test_a_locator_without_a_workflow_full_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a workflow's full name"):
        WorkflowsExecutions({"name": "checkout", "id": "checkout"})


def test_runtime_workflow_finds_the_gcp_client_from_the_link(
    executions: ExecutionsRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from google.cloud.workflows import executions_v1

    from components import runtime
    from components.runtime import clients as runtime_clients

    # The client the runtime builds itself (ExecutionsClient(), default credentials), with
    # only its transport swapped for a channel to the recorder.
    transport = executions.sdk_client().transport
    monkeypatch.setattr(
        executions_v1, "ExecutionsClient", functools.partial(executions_v1.ExecutionsClient, transport=transport)
    )
    monkeypatch.setenv("OMNICLOUD_LINK_WORKFLOW_CHECKOUT", json.dumps(workflow_locator()))
    runtime_clients._client.cache_clear()
    try:
        checkout = runtime.workflow("checkout")
        name = checkout.start({"via": "link"})
    finally:
        runtime_clients._client.cache_clear()
    assert isinstance(checkout, WorkflowClient) and isinstance(checkout, WorkflowsExecutions)
    [(request, _)] = executions.calls
    assert (request.parent, json.loads(request.execution.argument)) == (WORKFLOW, {"via": "link"})
    assert name.startswith(WORKFLOW + "/executions/")


# --- cold start -----------------------------------------------------------------------------


def test_importing_the_gcp_clients_loads_no_sdk() -> None:
    from tests.runtime.test_runtime_imports import HEAVY, matching, newly_imported

    loaded = newly_imported(
        "components.runtime.clients.gcp",
        then=(
            "components.runtime.clients.gcp.table_client({'project': 'p', 'collection': 'c', 'partition_key': 'pk'}); "
            "components.runtime.clients.gcp.workflow_client({'id': 'projects/p/locations/r/workflows/w'})"
        ),
    )
    # Building a client is free too: the SDK is imported on first use.
    assert matching(loaded, (*HEAVY, "google", "grpc")) == []
