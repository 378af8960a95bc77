"""The Azure runtime clients on the official SDKs.

* Cosmos DB: ``azure-cosmos`` against ``@vercel/cosmosdb-server`` (see :mod:`.azure_emulators`).
* Event Grid: ``azure-eventgrid``'s publisher client against a loopback HTTPS endpoint that
  records the CloudEvents batch it receives.
* Workflow start queue: ``azure-storage-queue`` against Azurite's Queue service over HTTPS with
  bearer tokens (see :mod:`.azure_emulators`).
* Service Bus: no emulator runs here, so the client's messages are checked as the SDK objects
  it hands to a recording sender, and received messages are real SDK messages decoded from
  AMQP bytes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from components.runtime import clients
from components.runtime.clients import ConditionFailed, Sort
from components.runtime.clients import azure as az

from .azure_emulators import (
    REPO_ROOT,
    AzuriteQueue,
    CosmosEmulator,
    HostMessage,
    HttpsRecorder,
    StaticTokenCredential,
    azurite_fixture,  # noqa: F401 - the session fixture "azurite"
    fake_storage_token,
    host_sdk_messages,
    running,
)

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


# --- Cosmos DB ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cosmos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosEmulator]:
    yield from running(CosmosEmulator(tmp_path_factory.mktemp("cosmos")))


@pytest.fixture(scope="module")
def database(cosmos: CosmosEmulator) -> Any:
    return cosmos.sdk_client().create_database_if_not_exists("omnicloud")


def table_locator(cosmos: CosmosEmulator, container: str, **schema: Any) -> dict[str, Any]:
    return {
        "kind": "table",
        "cloud": "azure",
        "name": "orders",
        "endpoint": cosmos.endpoint,
        "database": "omnicloud",
        "container": container,
        "partition_key": "pk",
        "sort_key": "sk",
        "key_types": {},
        "indexes": [],
        "ttl_attribute": None,
        **schema,
    }


class Table:
    """A fresh container with the layout the deploy side creates, and a client on it."""

    def __init__(self, cosmos: CosmosEmulator, database: Any, **schema: Any) -> None:
        from azure.cosmos import PartitionKey

        name = f"t{uuid.uuid4().hex[:12]}"
        self.locator = table_locator(cosmos, name, **schema)
        path = "/" + az.cosmos_property(self.locator["partition_key"])
        self.container = database.create_container(name, partition_key=PartitionKey(path))
        self.credential = StaticTokenCredential()
        self.client = az.table_client(self.locator, credential=self.credential, **cosmos.client_options())

    def raw(self, doc_id: str, partition: Any) -> dict[str, Any]:
        """The stored document, as Cosmos holds it."""
        return self.container.read_item(doc_id, partition_key=partition)


@pytest.fixture
def orders(cosmos: CosmosEmulator, database: Any) -> Table:
    return Table(
        cosmos,
        database,
        key_types={"pk": "string", "sk": "string", "status": "string", "at": "number"},
        indexes=[{"name": "by-status", "partition_key": "status", "sort_key": "at"}],
        ttl_attribute="expires",
    )


def test_put_then_get_round_trips_the_item_with_reserved_attribute_names(orders: Table) -> None:
    item = {
        "pk": "customer-1",
        "sk": "order-1",
        "id": "the user's own id",
        "ttl": "not an expiry",
        "_private": True,
        "value": 12.5,
        "count": 3,
        "lines": [{"sku": "A-1", "qty": 2}],
        "note": None,
    }
    orders.client.put(item)

    assert orders.client.get({"pk": "customer-1", "sk": "order-1"}) == item
    raw = orders.raw("order-1", "customer-1")
    assert (raw["id"], raw["_uid"], raw["_uttl"], raw["_u_private"]) == (
        "order-1",
        "the user's own id",
        "not an expiry",
        True,
    )
    assert "ttl" not in raw  # a user attribute named ttl must not expire the item
    assert isinstance(raw["count"], int) and raw["value"] == 12.5


def test_the_client_authenticates_with_an_entra_token_for_the_account(orders: Table) -> None:
    orders.client.get({"pk": "x", "sk": "y"})
    # Cosmos asks for the account's own scope (https://<account host>/.default).
    assert orders.credential.scopes
    assert set(orders.credential.scopes) == {("https://127.0.0.1/.default",)}


def test_get_of_a_missing_item_is_none(orders: Table) -> None:
    assert orders.client.get({"pk": "nobody", "sk": "nothing"}) is None


def test_sort_keys_with_characters_cosmos_forbids_in_ids_stay_distinct(orders: Table) -> None:
    keys = ["a/b", "a%2Fb", "q?x", "h#1", "back\\slash", "100%"]
    for sk in keys:
        orders.client.put({"pk": "p", "sk": sk, "original": sk})

    assert [orders.client.get({"pk": "p", "sk": sk}) for sk in keys] == [
        {"pk": "p", "sk": sk, "original": sk} for sk in keys
    ]
    assert orders.raw("a%2Fb", "p")["sk"] == "a/b"
    assert orders.raw("a%252Fb", "p")["sk"] == "a%2Fb"
    assert orders.raw("back%5Cslash", "p")["sk"] == "back\\slash"


def test_number_keys_are_canonical_so_5_and_5_point_0_are_one_item(cosmos: CosmosEmulator, database: Any) -> None:
    table = Table(cosmos, database, key_types={"pk": "number", "sk": "number"})
    table.client.put({"pk": 7, "sk": 5, "v": "first"})
    table.client.put({"pk": 7, "sk": 5.0, "v": "second"})

    assert table.client.get({"pk": 7, "sk": 5}) == {"pk": 7, "sk": 5.0, "v": "second"}
    assert [item["v"] for item in table.client.query(7).items] == ["second"]
    assert table.raw("5", 7)["pk"] == 7


def test_a_table_without_sort_key_holds_one_item_per_partition(cosmos: CosmosEmulator, database: Any) -> None:
    table = Table(cosmos, database, sort_key=None)
    table.client.put({"pk": "u1", "name": "Ada"})
    table.client.put({"pk": "u1", "name": "Grace"})

    assert table.client.get({"pk": "u1"}) == {"pk": "u1", "name": "Grace"}
    assert table.raw(az.NO_SORT_KEY_ID, "u1")["name"] == "Grace"
    assert table.client.query("u1").items == [{"pk": "u1", "name": "Grace"}]
    with pytest.raises(ValueError, match="no sort key"):
        table.client.query("u1", sort=Sort.eq("x"))


def test_delete_removes_the_item_and_a_missing_item_is_no_error(orders: Table) -> None:
    orders.client.put({"pk": "p", "sk": "s"})
    orders.client.delete({"pk": "p", "sk": "s"})
    orders.client.delete({"pk": "p", "sk": "s"})
    assert orders.client.get({"pk": "p", "sk": "s"}) is None


def test_put_if_absent_creates_once_then_fails(orders: Table) -> None:
    orders.client.put({"pk": "p", "sk": "s", "v": 1}, condition="absent")
    with pytest.raises(ConditionFailed):
        orders.client.put({"pk": "p", "sk": "s", "v": 2}, condition="absent")
    assert orders.client.get({"pk": "p", "sk": "s"})["v"] == 1  # type: ignore[index]


def test_put_with_attribute_condition_replaces_only_a_matching_item(orders: Table) -> None:
    key = {"pk": "p", "sk": "s"}
    orders.client.put({**key, "version": 1})

    orders.client.put({**key, "version": 2}, condition={"version": 1})
    with pytest.raises(ConditionFailed):
        orders.client.put({**key, "version": 3}, condition={"version": 1})
    with pytest.raises(ConditionFailed):
        orders.client.put({**key, "version": 3}, condition={"missing_attribute": None})
    with pytest.raises(ConditionFailed):
        orders.client.put({"pk": "p", "sk": "absent", "version": 1}, condition={})
    orders.client.put({**key, "version": 3}, condition={})  # {}: it must merely exist

    assert orders.client.get(key) == {**key, "version": 3}


def test_a_write_between_the_conditions_read_and_the_replace_is_detected(orders: Table) -> None:
    key = {"pk": "p", "sk": "s"}
    orders.client.put({**key, "version": 1})
    container = orders.client._container
    read = container.read_item

    def read_then_someone_else_writes(*args: Any, **kwargs: Any) -> Any:
        seen = read(*args, **kwargs)
        container.upsert_item({**seen, "version": 1, "other": "writer"})
        return seen

    container.read_item = read_then_someone_else_writes
    try:
        with pytest.raises(ConditionFailed, match="changed"):
            orders.client.put({**key, "version": 2}, condition={"version": 1})
    finally:
        container.read_item = read
    assert orders.client.get(key) == {**key, "version": 1, "other": "writer"}


def test_delete_honours_its_condition(orders: Table) -> None:
    key = {"pk": "p", "sk": "s"}
    orders.client.put({**key, "version": 1})

    with pytest.raises(ConditionFailed):
        orders.client.delete(key, condition={"version": 2})
    with pytest.raises(ConditionFailed):
        orders.client.delete(key, condition="absent")
    orders.client.delete(key, condition={"version": 1})
    assert orders.client.get(key) is None
    orders.client.delete(key, condition="absent")
    with pytest.raises(ConditionFailed):
        orders.client.delete(key, condition={"version": 1})


SORTED = ["a", "ab", "abc", "b", "c"]


@pytest.fixture
def sorted_items(orders: Table) -> Table:
    for position, sk in enumerate(reversed(SORTED)):
        orders.client.put({"pk": "p", "sk": sk, "n": position})
    orders.client.put({"pk": "other", "sk": "a"})
    return orders


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (Sort.eq("ab"), ["ab"]),
        (Sort.lt("b"), ["a", "ab", "abc"]),
        (Sort.le("b"), ["a", "ab", "abc", "b"]),
        (Sort.gt("ab"), ["abc", "b", "c"]),
        (Sort.ge("ab"), ["ab", "abc", "b", "c"]),
        (Sort.between("ab", "b"), ["ab", "abc", "b"]),
        (Sort.begins_with("ab"), ["ab", "abc"]),
        (None, SORTED),
    ],
)
def test_query_applies_the_sort_condition_within_the_partition_in_order(
    sorted_items: Table, sort: Sort | None, expected: list[str]
) -> None:
    page = sorted_items.client.query("p", sort=sort)
    assert [item["sk"] for item in page.items] == expected
    assert page.cursor is None


def test_query_descending_reverses_the_order(sorted_items: Table) -> None:
    page = sorted_items.client.query("p", sort=Sort.lt("c"), descending=True)
    assert [item["sk"] for item in page.items] == ["b", "abc", "ab", "a"]


@pytest.mark.parametrize("descending", [False, True])
def test_query_pages_follow_the_cursor_to_the_end(sorted_items: Table, descending: bool) -> None:
    seen: list[list[str]] = []
    cursor = None
    for _ in range(10):
        page = sorted_items.client.query("p", limit=2, cursor=cursor, descending=descending)
        seen.append([item["sk"] for item in page.items])
        cursor = page.cursor
        if cursor is None:
            break
    expected = list(reversed(SORTED)) if descending else SORTED
    assert seen == [expected[0:2], expected[2:4], expected[4:]]


def test_number_sort_keys_order_numerically(cosmos: CosmosEmulator, database: Any) -> None:
    table = Table(cosmos, database, key_types={"sk": "number"})
    for sk in (10, 2, 33, 1.5):
        table.client.put({"pk": "p", "sk": sk})
    assert [item["sk"] for item in table.client.query("p").items] == [1.5, 2, 10, 33]
    assert [item["sk"] for item in table.client.query("p", sort=Sort.between(2, 10)).items] == [2, 10]
    with pytest.raises(ValueError, match="string sort key"):
        table.client.query("p", sort=Sort.begins_with("1"))


def test_index_query_spans_partitions_in_index_order_with_pages(orders: Table) -> None:
    rows = [("c1", "o1", "new", 30), ("c2", "o1", "new", 10), ("c3", "o9", "new", 20), ("c1", "o2", "paid", 5)]
    for pk, sk, status, at in rows:
        orders.client.put({"pk": pk, "sk": sk, "status": status, "at": at})
    orders.client.put({"pk": "c4", "sk": "o1"})  # no index keys: not in the index

    first = orders.client.query("new", index="by-status", limit=2)
    second = orders.client.query("new", index="by-status", limit=2, cursor=first.cursor)
    ranged = orders.client.query("new", index="by-status", sort=Sort.ge(20), descending=True)

    assert [(i["pk"], i["at"]) for i in first.items] == [("c2", 10), ("c3", 20)]
    assert [(i["pk"], i["at"]) for i in second.items] == [("c1", 30)]
    assert second.cursor is None
    assert [i["at"] for i in ranged.items] == [30, 20]


@pytest.mark.parametrize("descending", [False, True])
def test_index_pages_never_repeat_or_skip_items_that_share_a_sort_value(orders: Table, descending: bool) -> None:
    ats = {"c1": 1, "c2": 1, "c3": 1, "c4": 2, "c5": 2, "c6": 3}
    for pk, at in ats.items():
        orders.client.put({"pk": pk, "sk": "o", "status": "new", "at": at})
    orders.client.put({"pk": "c7", "sk": "o", "status": "new"})  # no index sort key: not in the index

    pages: list[list[tuple[str, int]]] = []
    cursor = None
    for _ in range(10):
        page = orders.client.query("new", index="by-status", limit=2, cursor=cursor, descending=descending)
        pages.append([(item["pk"], item["at"]) for item in page.items])
        cursor = page.cursor
        if cursor is None:
            break

    returned = [entry for page in pages for entry in page]
    assert [len(page) for page in pages] == [2, 2, 2]
    assert sorted(returned) == sorted(ats.items())
    assert [at for _, at in returned] == sorted(ats.values(), reverse=descending)


def test_an_index_without_sort_key_pages_in_document_id_order(cosmos: CosmosEmulator, database: Any) -> None:
    table = Table(cosmos, database, indexes=[{"name": "by-owner", "partition_key": "owner"}])
    for pk in ("a", "b", "c"):
        for sk in ("x", "y"):
            table.client.put({"pk": pk, "sk": sk, "owner": "ada"})
    first = table.client.query("ada", index="by-owner", limit=4)
    second = table.client.query("ada", index="by-owner", limit=4, cursor=first.cursor)
    returned = [(item["pk"], item["sk"]) for item in [*first.items, *second.items]]
    assert sorted(returned) == [(pk, sk) for pk in ("a", "b", "c") for sk in ("x", "y")]
    assert [sk for _, sk in returned] == ["x", "x", "x", "y", "y", "y"]
    assert second.cursor is None


def test_invalid_queries_and_keys_are_rejected_before_any_request(orders: Table) -> None:
    with pytest.raises(ValueError, match="no index 'nope'"):
        orders.client.query("p", index="nope")
    with pytest.raises(ValueError, match="limit"):
        orders.client.query("p", limit=0)
    with pytest.raises(ValueError, match="not a cursor"):
        orders.client.query("p", cursor="%%%")
    with pytest.raises(ValueError, match="missing"):
        orders.client.get({"pk": "p"})
    with pytest.raises(TypeError, match="'at' is a number"):
        orders.client.query("new", index="by-status", sort=Sort.eq("10"))
    with pytest.raises(TypeError, match="'sk' is a string"):
        orders.client.put({"pk": "p", "sk": 3})
    with pytest.raises(ValueError, match="empty"):
        orders.client.put({"pk": "p", "sk": ""})


def test_ttl_attribute_becomes_cosmos_ttl_in_seconds_from_the_write(orders: Table) -> None:
    now = time.time()
    orders.client.put({"pk": "p", "sk": "later", "expires": now + 3600})
    orders.client.put({"pk": "p", "sk": "past", "expires": now - 60})
    orders.client.put({"pk": "p", "sk": "never"})
    orders.client.put({"pk": "p", "sk": "not-a-time", "expires": "tomorrow"})

    assert 3590 <= orders.raw("later", "p")["ttl"] <= 3600
    assert orders.raw("past", "p")["ttl"] == 1
    assert "ttl" not in orders.raw("never", "p")
    assert "ttl" not in orders.raw("not-a-time", "p")
    assert orders.client.get({"pk": "p", "sk": "later"})["expires"] == pytest.approx(now + 3600)  # type: ignore[index]


def test_only_writes_that_create_the_item_carry_the_created_marker(orders: Table) -> None:
    key = {"pk": "p", "sk": "s"}
    orders.client.put({**key, "v": 1})
    created = orders.raw("s", "p")
    orders.client.put({**key, "v": 2})
    replaced = orders.raw("s", "p")
    orders.client.put({**key, "v": 3}, condition={"v": 2})
    conditional = orders.raw("s", "p")
    orders.client.put({"pk": "p", "sk": "t"}, condition="absent")

    assert az.CREATED_MARKER in created
    assert az.CREATED_MARKER not in replaced
    assert az.CREATED_MARKER not in conditional
    assert az.CREATED_MARKER in orders.raw("t", "p")
    assert orders.client.get(key) == {**key, "v": 3}


# --- Event Grid --------------------------------------------------------------------------------


@pytest.fixture
def event_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpsRecorder]:
    recorder = HttpsRecorder(tmp_path)
    # The basic-topic publisher takes no transport options, so it trusts the loopback
    # certificate through requests' standard CA bundle variable.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(recorder.cert))
    yield from running(recorder)


def bus_locator(recorder: HttpsRecorder) -> dict[str, Any]:
    return {"kind": "bus", "cloud": "azure", "name": "events", "endpoint": f"{recorder.url}/api/events", "topic": "t"}


def test_publish_sends_one_cloudevent_in_a_batch_with_an_entra_token(event_grid: HttpsRecorder) -> None:
    credential = StaticTokenCredential(token="tok-123")
    bus = az.bus_client(bus_locator(event_grid), credential=credential)
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)

    event_id = bus.publish(
        "order.created", {"order": 42, "total": 9.5}, source="shop/api", subject="order/42", id="evt-1", time=when
    )

    [request] = event_grid.requests
    assert event_id == "evt-1"
    assert request.path == "/api/events?api-version=2018-01-01"
    assert request.headers["content-type"] == "application/cloudevents-batch+json; charset=utf-8"
    assert request.headers["authorization"] == "Bearer tok-123"
    assert credential.scopes == [("https://eventgrid.azure.net/.default",)]
    assert request.json() == [
        {
            "specversion": "1.0",
            "id": "evt-1",
            "source": "shop/api",
            "type": "order.created",
            "subject": "order/42",
            "time": "2025-03-04T05:06:07.000Z",
            "datacontenttype": "application/json",
            "data": {"order": 42, "total": 9.5},
        }
    ]


def test_publish_defaults_the_id_time_and_source(event_grid: HttpsRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNICLOUD_FUNCTION", "api")
    bus = az.bus_client(bus_locator(event_grid), credential=StaticTokenCredential())
    before = datetime.now(UTC)

    event_id = bus.publish("order.paid", ["a", 1])

    [sent] = event_grid.requests[0].json()
    assert sent["id"] == event_id and uuid.UUID(event_id)
    assert sent["source"] == "omnicloud/api"
    assert "subject" not in sent
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(sent["time"]) <= datetime.now(UTC)
    assert sent["data"] == ["a", 1]


def test_publish_raises_when_event_grid_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.core.exceptions import HttpResponseError

    recorder = HttpsRecorder(tmp_path, status=401)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(recorder.cert))
    try:
        bus = az.bus_client(bus_locator(recorder), credential=StaticTokenCredential())
        with pytest.raises(HttpResponseError):
            bus.publish("order.created", {})
    finally:
        recorder.stop()


# --- Workflow start queue (Azurite) -----------------------------------------------------------


class StartQueue:
    """A fresh queue in Azurite standing in for a workflow's start queue: the workflow's
    locator, the credential the client gets, and a receiver that reads messages as the
    workflow app's queue trigger does."""

    def __init__(self, azurite: AzuriteQueue) -> None:
        self.azurite = azurite
        self.url = azurite.create_queue("checkout-start")
        self.locator = {"kind": "workflow", "cloud": "azure", "name": "checkout", "queue_url": self.url}
        self.credential = StaticTokenCredential(fake_storage_token())

    def client(self) -> az.StartQueueWorkflow:
        return az.workflow_client(self.locator, credential=self.credential, **self.azurite.client_options())

    def _queue(self, **options: Any) -> Any:
        from azure.storage.queue import QueueClient

        return QueueClient.from_queue_url(
            self.url, credential=StaticTokenCredential(fake_storage_token()), **self.azurite.client_options(), **options
        )

    def raw_messages(self) -> list[str]:
        """The text of every message, as stored (peeked, so they stay queued)."""
        return [message.content for message in self._queue().peek_messages(max_messages=32)]

    def started(self) -> list[tuple[str, dict[str, Any]]]:
        """``(instance id, input)`` of every message, read as the workflow app's trigger reads
        them: the text as is (``messageEncoding`` ``none``), parsed by its own parser."""
        from components.runtime.adapters import azure_workflow

        assert azure_workflow.START_MESSAGE_ENCODING == "none"
        return [azure_workflow.parse_start(message.content) for message in self._queue().receive_messages()]


@pytest.fixture
def start_queue(azurite: AzuriteQueue) -> StartQueue:
    return StartQueue(azurite)


def test_start_queues_the_instance_id_and_input_as_the_workflow_app_reads_them(start_queue: StartQueue) -> None:
    order = {"order": {"id": "o-1", "lines": [{"sku": "a", "qty": 2}], "total": 9.5, "gift": None}, "note": "Zoë"}

    instance_id = start_queue.client().start(order)

    assert re.fullmatch(r"[0-9a-f]{32}", instance_id)
    [raw] = start_queue.raw_messages()
    assert json.loads(raw) == {"id": instance_id, "input": order}
    assert start_queue.started() == [(instance_id, order)]
    # Entra ID for Azure Storage: the data-plane role on the queue is the only grant involved.
    assert set(start_queue.credential.scopes) == {("https://storage.azure.com/.default",)}


def test_each_start_is_a_new_instance_and_no_input_is_an_empty_object(start_queue: StartQueue) -> None:
    checkout = start_queue.client()

    first, second = checkout.start(), checkout.start({"n": 2})

    assert first != second
    assert start_queue.started() == [(first, {}), (second, {"n": 2})]


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ([1, 2], TypeError, "JSON object"),
        ("order", TypeError, "JSON object"),
        ({("a", 1): "b"}, TypeError, "keys are strings"),
        ({"raw": b"bytes"}, TypeError, "must be JSON"),
        ({"x": float("-inf")}, ValueError, "not JSON"),
    ],
)
def test_input_that_is_not_a_json_object_is_rejected_before_anything_is_queued(
    start_queue: StartQueue, bad: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        start_queue.client().start(bad)
    assert start_queue.raw_messages() == []


def test_the_largest_input_storage_accepts_starts_and_one_byte_more_is_refused_first(start_queue: StartQueue) -> None:
    # A message is at most 64 KiB of UTF-8 text; "é" is two bytes of it.
    envelope = len(az.start_message("0" * 32, {"blob": ""}).encode())
    largest = {"blob": "é" * ((65536 - envelope) // 2) + "x" * ((65536 - envelope) % 2)}
    checkout = start_queue.client()

    instance_id = checkout.start(largest)  # Azurite enforces Azure's limit, so this proves it fits

    with pytest.raises(ValueError, match="too large to start on Azure"):
        checkout.start({"blob": largest["blob"] + "x"})
    assert start_queue.started() == [(instance_id, largest)]


def test_start_without_the_role_is_refused_by_storage(start_queue: StartQueue) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    expired = StaticTokenCredential(fake_storage_token(lifetime_s=-600))
    client = az.workflow_client(start_queue.locator, credential=expired, **start_queue.azurite.client_options())
    with pytest.raises(ClientAuthenticationError):
        client.start({"x": 1})
    assert start_queue.raw_messages() == []


def test_runtime_workflow_starts_through_the_link_with_the_default_credential(
    start_queue: StartQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a deployed function does: no credential or SDK option passed. The managed identity
    # is replaced by the test credential and Azurite's certificate is trusted via the
    # environment (azure-core's requests transport honours REQUESTS_CA_BUNDLE).
    monkeypatch.setattr(az, "default_credential", lambda: start_queue.credential)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(start_queue.azurite.cert))
    monkeypatch.setenv("OMNICLOUD_LINK_WORKFLOW_CHECKOUT", json.dumps(start_queue.locator))
    clients._client.cache_clear()
    try:
        from components import runtime

        instance_id = runtime.workflow("checkout").start({"via": "link"})
    finally:
        clients._client.cache_clear()
    assert start_queue.started() == [(instance_id, {"via": "link"})]


def test_start_messages_are_encoded_as_the_workflow_apps_host_json_decodes_them() -> None:
    from components.runtime.adapters import azure_workflow

    host = json.loads(azure_workflow.entry_files()["host.json"])
    assert host["extensions"]["queues"]["messageEncoding"] == az.START_MESSAGE_ENCODING == "none"


# --- Service Bus (no emulator: the SDK objects the client builds and reads) ----------------------


class RecordingServiceBus:
    """Stands in for ``ServiceBusClient`` where no Service Bus emulator exists: records what
    the client hands the sender and serves prepared batches of real SDK messages."""

    def __init__(self, batches: list[list[Any]] | None = None) -> None:
        self.sent: list[Any] = []
        self.batches = list(batches or [])
        self.receivers: list[RecordingReceiver] = []

    def get_queue_sender(self, queue: str) -> RecordingServiceBus:
        self.sender_queue = queue
        return self

    def send_messages(self, message: Any) -> None:
        self.sent.append(message)

    def get_queue_receiver(self, queue: str, **options: Any) -> RecordingReceiver:
        receiver = RecordingReceiver(self, queue, options)
        self.receivers.append(receiver)
        return receiver

    def close(self) -> None:
        pass


class RecordingReceiver:
    def __init__(self, bus: RecordingServiceBus, queue: str, options: dict[str, Any]) -> None:
        self.bus, self.queue, self.options = bus, queue, options
        self.completed: list[Any] = []
        self.closed = False

    def receive_messages(self, max_message_count: int, max_wait_time: float) -> list[Any]:
        self.last_call = (max_message_count, max_wait_time)
        return self.bus.batches.pop(0) if self.bus.batches else []

    def complete_message(self, message: Any) -> None:
        self.completed.append(message)

    def close(self) -> None:
        self.closed = True


def queue_locator(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "queue",
        "cloud": "azure",
        "name": "jobs",
        "namespace": "shop.servicebus.windows.net",
        "queue": "jobs-q",
        "fifo": False,
        **extra,
    }


def test_send_builds_the_service_bus_message() -> None:
    bus = RecordingServiceBus()
    queue = az.ServiceBusQueue(queue_locator(), client=bus)

    message_id = queue.send({"job": "resize", "n": 1}, attributes={"priority": "high", "try": 2})  # type: ignore[dict-item]

    [sent] = bus.sent
    assert bus.sender_queue == "jobs-q"
    assert sent.message_id == message_id and uuid.UUID(message_id)
    assert str(sent) == '{"job":"resize","n":1}'
    assert sent.content_type == "application/json"
    assert sent.application_properties == {"priority": "high", "try": "2"}
    assert sent.session_id is None
    assert sent.scheduled_enqueue_time_utc is None


def test_text_and_utf8_bytes_bodies_are_sent_as_text_and_other_bytes_refused() -> None:
    bus = RecordingServiceBus()
    queue = az.ServiceBusQueue(queue_locator(), client=bus)
    queue.send("plain")
    queue.send("grüße".encode())
    with pytest.raises(ValueError, match="UTF-8"):
        queue.send(b"\xff\xfe")
    assert [str(m) for m in bus.sent] == ["plain", "grüße"]
    assert [m.content_type for m in bus.sent] == [None, None]


def test_fifo_sends_need_a_group_which_becomes_the_session() -> None:
    bus = RecordingServiceBus()
    fifo = az.ServiceBusQueue(queue_locator(fifo=True), client=bus)
    fifo.send("x", group="customer-7")
    with pytest.raises(ValueError, match="group"):
        fifo.send("x")
    with pytest.raises(ValueError, match="not FIFO"):
        az.ServiceBusQueue(queue_locator(), client=bus).send("x", group="g")
    assert [m.session_id for m in bus.sent] == ["customer-7"]


def test_delay_schedules_the_enqueue_time_with_the_queue_default_as_fallback() -> None:
    bus = RecordingServiceBus()
    queue = az.ServiceBusQueue(queue_locator(delay_s=30), client=bus)
    start = datetime.now(UTC)
    queue.send("own delay", delay_s=120)
    queue.send("queue default")
    with pytest.raises(ValueError, match="delay_s"):
        queue.send("x", delay_s=-1)

    own, default = (m.scheduled_enqueue_time_utc for m in bus.sent)
    assert start + timedelta(seconds=119) <= own <= datetime.now(UTC) + timedelta(seconds=120)
    assert start + timedelta(seconds=29) <= default <= datetime.now(UTC) + timedelta(seconds=30)


def test_receive_converts_sdk_messages_and_ack_completes_them_on_the_same_link() -> None:
    first = HostMessage(
        "m-1", b'{"a":1}', {"priority": "high"}, delivery_count=0, enqueued=datetime(2025, 1, 2, tzinfo=UTC)
    )
    second = HostMessage("m-2", "grüße".encode(), delivery_count=2)
    bus = RecordingServiceBus([host_sdk_messages([first, second], many=True)])
    queue = az.ServiceBusQueue(queue_locator(), client=bus)

    received = queue.receive(5, wait_s=3)
    queue.ack(received[1])

    [receiver] = bus.receivers
    assert receiver.options["receive_mode"].name == "PEEK_LOCK"
    assert receiver.last_call == (5, 3)
    assert [(m.id, m.body, dict(m.attributes), m.receive_count) for m in received] == [
        ("m-1", '{"a":1}', {"priority": "high"}, 1),
        ("m-2", "grüße", {}, 3),
    ]
    assert received[0].sent_at == datetime(2025, 1, 2, tzinfo=UTC)
    assert received[0].receipt == str(first.lock_token)
    assert [m.message_id for m in receiver.completed] == ["m-2"]
    with pytest.raises(ValueError, match="not received by this client"):
        queue.ack(received[1])  # already completed


def test_zero_wait_receive_waits_the_minimum_service_bus_allows() -> None:
    bus = RecordingServiceBus()
    queue = az.ServiceBusQueue(queue_locator(), client=bus)
    assert queue.receive() == []
    assert bus.receivers[0].last_call == (10, az.RECEIVE_MIN_WAIT_S)


def test_fifo_receive_locks_the_next_session_and_releases_it_when_dry() -> None:
    message = HostMessage("m-1", b"x", session_id="g1", delivery_count=0)
    bus = RecordingServiceBus([host_sdk_messages([message], many=True), []])
    queue = az.ServiceBusQueue(queue_locator(fifo=True), client=bus)

    [got] = queue.receive(wait_s=2)
    assert queue.receive(wait_s=2) == []  # the session still has an unacked message: kept
    queue.ack(got)
    assert queue.receive(wait_s=2) == []  # dry and nothing pending: released

    from azure.servicebus import NEXT_AVAILABLE_SESSION

    [receiver] = bus.receivers
    assert receiver.options["session_id"] is NEXT_AVAILABLE_SESSION
    assert got.group == "g1"
    assert receiver.closed


def test_clients_default_to_the_managed_identity_and_link_locators(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import DefaultAzureCredential

    monkeypatch.setenv("OMNICLOUD_LINK_QUEUE_JOBS", json.dumps(queue_locator()))
    monkeypatch.setenv(
        "OMNICLOUD_LINK_BUS_EVENTS",
        json.dumps(
            {"kind": "bus", "cloud": "azure", "name": "events", "endpoint": "https://t.eventgrid.azure.net/api/events"}
        ),
    )
    clients._client.cache_clear()
    try:
        queue = clients.queue("jobs")
        bus = clients.bus("events")
    finally:
        clients._client.cache_clear()

    assert isinstance(queue, az.ServiceBusQueue) and isinstance(bus, az.EventGridBus)
    assert queue._client.fully_qualified_namespace == "shop.servicebus.windows.net"
    assert isinstance(az.default_credential(), DefaultAzureCredential)
    assert az.default_credential() is az.default_credential()


@pytest.mark.slow
def test_importing_the_azure_clients_loads_no_azure_sdk() -> None:
    # A fresh interpreter: this process has long since imported the SDKs for other tests.
    probe = (
        "import json, sys; before = set(sys.modules); import components.runtime.clients.azure; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(out.stdout)
    assert {name.split(".")[0] for name in loaded} - set(sys.stdlib_module_names) <= {"components"}
