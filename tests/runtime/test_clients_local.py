"""The ``local`` runtime clients: queues, buses, tables and workflows on the dev server's
SQLite file, found through link locators like every cloud's."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components.runtime import clients as runtime_clients
from components.runtime.clients import ConditionFailed, LinkNotFound, Sort
from components.runtime.clients import local as local_clients
from components.runtime.local.queue_store import QueueNotFound, QueueStore, Received, StaleReceipt
from components.runtime.local.routing import Route, bus_source, table_source
from components.runtime.local.table_store import decode_change
from components.runtime.local.workflow_store import start_queue
from tests.conftest import REPO_ROOT
from tests.runtime.test_runtime_imports import newly_imported

QUEUE_SETTINGS = {
    "visibility_timeout_s": 30,
    "retention_s": 3600,
    "max_receive_count": 3,
    "delay_s": 0,
    "fifo": False,
    "max_message_kb": 256,
}
TABLE_SCHEMA: dict[str, Any] = {
    "partition_key": "pk",
    "sort_key": "sk",
    "key_types": {"pk": "string", "sk": "string"},
    "indexes": [],
    "ttl_attribute": None,
}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "dev.db")
    yield path
    local_clients.stores(path).database.close()


@pytest.fixture
def stores(database: str) -> local_clients.LocalStores:
    return local_clients.stores(database)


def locator(kind: str, name: str, database: str, **fields: Any) -> dict[str, Any]:
    """A locator as the local provider writes it."""
    return {"kind": kind, "cloud": "local", "name": name, "database": database, **fields}


def declare(queues: QueueStore, name: str, **settings: Any) -> None:
    queues.declare(name, **{**QUEUE_SETTINGS, **settings})


def drain(queues: QueueStore, name: str) -> list[Received]:
    out: list[Received] = []
    while batch := queues.receive(name, 10):
        out += batch
        for message in batch:
            queues.ack(name, message.receipt)
    return out


# --- stores -------------------------------------------------------------------------------------


def test_stores_are_built_once_per_database_and_again_after_it_closed(database: str, tmp_path: Path) -> None:
    first = local_clients.stores(database)
    assert local_clients.stores(str(Path(database))) is first
    assert first.tables.queues is first.queues and first.routes.queues is first.queues
    assert local_clients.stores(tmp_path / "other.db") is not first
    local_clients.stores(tmp_path / "other.db").database.close()
    first.database.close()
    again = local_clients.stores(database)
    assert again is not first
    assert again.queues.queues() == []


def test_a_locator_without_name_or_database_is_a_clear_error(database: str) -> None:
    with pytest.raises(ValueError, match="no 'name'"):
        local_clients.queue_client({"kind": "queue", "cloud": "local", "database": database})
    with pytest.raises(ValueError, match="no 'database'"):
        local_clients.table_client({"kind": "table", "cloud": "local", "name": "t"})


# --- queue --------------------------------------------------------------------------------------


def test_send_receive_ack_with_text_json_and_bytes_bodies(database: str, stores: local_clients.LocalStores) -> None:
    declare(stores.queues, "jobs")
    jobs = local_clients.queue_client(locator("queue", "jobs", database, **QUEUE_SETTINGS))
    sent = [
        jobs.send("plain", attributes={"kind": "text", "n": 3}),  # type: ignore[dict-item]
        jobs.send({"order": 7, "note": "café"}),
        jobs.send([1, 2]),
        jobs.send("é".encode()),
    ]
    before = datetime.now(UTC)
    received = jobs.receive(10)
    assert [m.id for m in received] == sent
    assert [m.body for m in received] == ["plain", '{"order":7,"note":"café"}', "[1,2]", "é"]
    assert received[0].attributes == {"kind": "text", "n": "3"}
    assert received[1].json() == {"order": 7, "note": "café"}
    assert all(m.receive_count == 1 and m.group is None and m.receipt for m in received)
    assert all(m.sent_at is not None and m.sent_at.tzinfo is UTC and m.sent_at <= before for m in received)
    for message in received:
        jobs.ack(message)
    assert jobs.receive(10) == []
    with pytest.raises(StaleReceipt):
        jobs.ack(received[0])


def test_fifo_groups_delays_and_limits_follow_sqs(database: str, stores: local_clients.LocalStores) -> None:
    declare(stores.queues, "ordered", fifo=True)
    declare(stores.queues, "jobs", delay_s=30)
    fifo = local_clients.queue_client(locator("queue", "ordered", database))
    standard = local_clients.queue_client(locator("queue", "jobs", database))
    fifo.send("a1", group="a")
    fifo.send("b1", group="b")
    fifo.send("a2", group="a")
    assert [(m.body, m.group) for m in fifo.receive(10)] == [("a1", "a"), ("b1", "b"), ("a2", "a")]
    with pytest.raises(ValueError, match=r"group=\.\.\.\) is required"):
        fifo.send("x")
    with pytest.raises(ValueError, match="no per-message delay"):
        fifo.send("x", group="g", delay_s=5)
    with pytest.raises(ValueError, match="not FIFO"):
        standard.send("x", group="g")
    with pytest.raises(ValueError, match=r"0\.\.900"):
        standard.send("x", delay_s=901)
    with pytest.raises(ValueError, match="UTF-8"):
        standard.send(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"1\.\.10"):
        standard.receive(11)
    with pytest.raises(ValueError, match=r"0\.\.20"):
        standard.receive(1, wait_s=21)
    # delay_s=0 (the default) leaves the queue's own delay in force, as on SQS; a delay overrides it.
    standard.send("queue delay")
    standard.send("own delay", delay_s=1)
    assert stores.queues.depth("jobs").delayed == 2
    assert standard.receive(10) == []


def test_receive_long_polls_until_a_message_arrives(database: str, stores: local_clients.LocalStores) -> None:
    declare(stores.queues, "jobs")
    jobs = local_clients.queue_client(locator("queue", "jobs", database))
    sender = threading.Timer(0.3, lambda: jobs.send("late"))
    sender.start()
    started = time.monotonic()
    [message] = jobs.receive(1, wait_s=5)
    assert message.body == "late"
    assert 0.25 <= time.monotonic() - started < 3
    sender.join()
    started = time.monotonic()
    assert jobs.receive(1, wait_s=1) == []
    assert time.monotonic() - started >= 1


def test_a_queue_the_server_has_not_declared_is_declared_from_its_locator(
    database: str, stores: local_clients.LocalStores
) -> None:
    jobs = local_clients.queue_client(locator("queue", "jobs", database, **{**QUEUE_SETTINGS, "fifo": True}))
    jobs.send("x", group="g")
    assert stores.queues.settings("jobs").fifo is True
    assert stores.queues.settings("jobs-dlq").max_receive_count is None
    unknown = local_clients.queue_client(locator("queue", "bare", database))  # no settings to declare with
    with pytest.raises(QueueNotFound, match="'bare' is not declared"):
        unknown.send("x")


# --- bus ----------------------------------------------------------------------------------------


def test_publish_routes_the_event_only_to_matching_subscriptions(
    database: str, stores: local_clients.LocalStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNICLOUD_FUNCTION", "api")
    for name in ("all", "big-orders", "refunds"):
        declare(stores.queues, name)
    stores.routes.replace(
        bus_source("events"),
        [
            Route("all"),
            Route("big-orders", {"type": ["order.created"], "data": {"total": [{"numeric": [">=", 100]}]}}),
            Route("refunds", {"type": ["refund.created"]}),
        ],
    )
    events = local_clients.bus_client(locator("bus", "events", database))
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    big = events.publish("order.created", {"total": 250}, subject="order/1", time=at)
    small = events.publish("order.created", {"total": 5}, id="fixed-id", source="shop/api")

    assert small == "fixed-id"
    everything = [json.loads(m.body) for m in drain(stores.queues, "all")]
    assert [e["id"] for e in everything] == [big, small]
    assert everything[0] == {
        "specversion": "1.0",
        "id": big,
        "source": "omnicloud/api",
        "type": "order.created",
        "subject": "order/1",
        "time": "2025-01-02T03:04:05Z",
        "datacontenttype": "application/json",
        "data": {"total": 250},
    }
    assert everything[1]["source"] == "shop/api"
    assert [json.loads(m.body)["id"] for m in drain(stores.queues, "big-orders")] == [big]
    assert drain(stores.queues, "refunds") == []


def test_an_event_nobody_subscribes_to_is_dropped_and_bad_data_sends_nothing(
    database: str, stores: local_clients.LocalStores
) -> None:
    events = local_clients.bus_client(locator("bus", "quiet", database))
    assert events.publish("anything", {"x": 1})  # no routes: accepted, goes nowhere
    declare(stores.queues, "all")
    stores.routes.replace(bus_source("quiet"), [Route("all")])
    with pytest.raises(TypeError):
        events.publish("bad", {"when": datetime.now(UTC)})
    with pytest.raises(ValueError):
        events.publish("bad", {"x": float("nan")})
    assert stores.queues.depth("all").total == 0


def test_a_failing_route_publishes_to_no_subscriber(database: str, stores: local_clients.LocalStores) -> None:
    declare(stores.queues, "roomy")
    declare(stores.queues, "tiny", max_message_kb=1)
    stores.routes.replace(bus_source("events"), [Route("roomy"), Route("tiny")])
    events = local_clients.bus_client(locator("bus", "events", database))
    with pytest.raises(ValueError, match="over the queue's"):
        events.publish("big", {"blob": "x" * 2000})
    assert stores.queues.depth("roomy").total == 0  # all subscribers or none


# --- table --------------------------------------------------------------------------------------


def test_table_client_works_over_the_store_and_declares_from_its_locator(
    database: str, stores: local_clients.LocalStores
) -> None:
    table_locator = locator("table", "orders", database, **TABLE_SCHEMA)
    orders = local_clients.table_client(table_locator)
    assert stores.tables.schema("orders").to_dict() == TABLE_SCHEMA
    orders.put({"pk": "c", "sk": "1", "v": 1}, condition="absent")
    orders.put({"pk": "c", "sk": "2", "raw": b"\x00"})
    with pytest.raises(ConditionFailed):
        orders.put({"pk": "c", "sk": "1", "v": 9}, condition={"v": 2})
    assert orders.get({"pk": "c", "sk": "2"}) == {"pk": "c", "sk": "2", "raw": b"\x00"}
    first = orders.query("c", limit=1)
    rest = orders.query("c", limit=5, cursor=first.cursor)
    assert [i["sk"] for i in [*first, *rest]] == ["1", "2"]
    assert [i["sk"] for i in orders.query("c", sort=Sort.gt("1"), descending=True)] == ["2"]
    orders.delete({"pk": "c", "sk": "1"}, condition={"v": 1})
    assert orders.get({"pk": "c", "sk": "1"}) is None


def test_the_servers_schema_wins_over_a_stale_locator(database: str, stores: local_clients.LocalStores) -> None:
    stores.tables.declare("orders", {**TABLE_SCHEMA, "key_types": {"pk": "string", "sk": "number"}})
    orders = local_clients.table_client(locator("table", "orders", database, **TABLE_SCHEMA))
    orders.put({"pk": "c", "sk": 2})
    with pytest.raises(ValueError, match="number key"):
        orders.put({"pk": "c", "sk": "2"})


def test_table_writes_route_their_changes(database: str, stores: local_clients.LocalStores) -> None:
    declare(stores.queues, "changes", fifo=True)
    stores.routes.replace(table_source("orders"), [Route("changes")])
    orders = local_clients.table_client(locator("table", "orders", database, **TABLE_SCHEMA))
    orders.put({"pk": "c", "sk": "1", "v": 1})
    orders.put({"pk": "c", "sk": "1", "v": 2})
    orders.delete({"pk": "c", "sk": "1"})
    changes = [decode_change(m.body) for m in drain(stores.queues, "changes")]
    assert [(c.kind, c.new and c.new["v"]) for c in changes] == [("insert", 1), ("modify", 2), ("remove", None)]


# --- workflow -----------------------------------------------------------------------------------


def test_start_records_a_pending_execution_and_queues_its_start(
    database: str, stores: local_clients.LocalStores
) -> None:
    stores.queues.declare(start_queue("checkout"), visibility_timeout_s=60, max_receive_count=3, retention_s=3600)
    checkout = local_clients.workflow_client(locator("workflow", "checkout", database))
    execution_id = checkout.start({"order": 7})
    assert execution_id.startswith("checkout:")
    execution = stores.workflows.get(execution_id)
    assert (execution.status, execution.input, execution.workflow) == ("PENDING", {"order": 7}, "checkout")
    [message] = drain(stores.queues, start_queue("checkout"))
    assert json.loads(message.body) == {"execution": execution_id}
    assert stores.workflows.get(checkout.start()).input == {}


def test_a_bad_input_or_an_unserved_workflow_starts_nothing(database: str, stores: local_clients.LocalStores) -> None:
    stores.queues.declare(start_queue("checkout"), visibility_timeout_s=60, max_receive_count=3, retention_s=3600)
    checkout = local_clients.workflow_client(locator("workflow", "checkout", database))
    with pytest.raises(TypeError, match="JSON object"):
        checkout.start([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        checkout.start({"x": float("inf")})
    unserved = local_clients.workflow_client(locator("workflow", "nobody", database))
    with pytest.raises(QueueNotFound):
        unserved.start({"x": 1})
    rows = stores.database.connection().execute("SELECT COUNT(*) FROM executions").fetchone()
    assert rows == (0,)
    assert stores.queues.depth(start_queue("checkout")).total == 0


# --- links --------------------------------------------------------------------------------------


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    runtime_clients._client.cache_clear()
    yield
    runtime_clients._client.cache_clear()


def test_runtime_finds_every_local_client_through_its_link(
    database: str, stores: local_clients.LocalStores, monkeypatch: pytest.MonkeyPatch, fresh_clients: None
) -> None:
    from components import runtime

    declare(stores.queues, "jobs")
    declare(stores.queues, "subscriber")
    stores.routes.replace(bus_source("events"), [Route("subscriber")])
    stores.queues.declare(start_queue("checkout"), visibility_timeout_s=60, max_receive_count=3, retention_s=3600)
    links = {
        "OMNICLOUD_LINK_QUEUE_JOBS": locator("queue", "jobs", database, **QUEUE_SETTINGS),
        "OMNICLOUD_LINK_BUS_EVENTS": locator("bus", "events", database),
        "OMNICLOUD_LINK_TABLE_ORDERS": locator("table", "orders", database, **TABLE_SCHEMA),
        "OMNICLOUD_LINK_WORKFLOW_CHECKOUT": locator("workflow", "checkout", database),
    }
    for variable, found in links.items():
        monkeypatch.setenv(variable, json.dumps(found))

    runtime.queue("jobs").send("via link")
    runtime.bus("events").publish("ping", {})
    runtime.table("orders").put({"pk": "p", "sk": "s"})
    execution = runtime.workflow("checkout").start({"n": 1})

    assert isinstance(runtime.queue("jobs"), local_clients.LocalQueue)
    assert runtime.queue("jobs") is runtime.queue("jobs")  # cached per process
    assert [m.body for m in drain(stores.queues, "jobs")] == ["via link"]
    assert [json.loads(m.body)["type"] for m in drain(stores.queues, "subscriber")] == ["ping"]
    assert stores.tables.get("orders", {"pk": "p", "sk": "s"}) == {"pk": "p", "sk": "s"}
    assert stores.workflows.get(execution).status == "PENDING"
    with pytest.raises(LinkNotFound):
        runtime.queue("unlinked")


# --- processes ----------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from components.runtime.clients import ConditionFailed
    from components.runtime.clients.local import table_client

    locator, prefix, count, go = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    table = table_client(locator)
    retries = 0
    while not os.path.exists(go):  # start together, so the writers really contend
        time.sleep(0.002)
    for n in range(count):
        table.put({"pk": prefix, "sk": f"{n:05d}"})
        while True:  # optimistic increment of one counter every writer shares
            current = table.get({"pk": "counter", "sk": "c"})
            try:
                if current is None:
                    table.put({"pk": "counter", "sk": "c", "n": 1}, condition="absent")
                else:
                    table.put({**current, "n": current["n"] + 1}, condition={"n": current["n"]})
                break
            except ConditionFailed:
                retries += 1
        time.sleep(0.001)  # a handler's own work between writes: the lock is free now and then
    print(retries)
    """
)


@pytest.mark.slow
def test_processes_writing_one_database_at_once_lose_nothing(
    database: str, stores: local_clients.LocalStores, tmp_path: Path
) -> None:
    count = 200
    declare(stores.queues, "changes", fifo=True)
    stores.routes.replace(table_source("orders"), [Route("changes")])
    table_locator = locator("table", "orders", database, **TABLE_SCHEMA)
    local_clients.table_client(table_locator)  # declared before anyone writes
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, json.dumps(table_locator), prefix, str(count), str(go)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for prefix in ("a", "b", "c")
    ]
    time.sleep(0.5)  # let every interpreter start and open the database
    go.touch()
    retries = 0
    for writer in writers:
        out, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors.decode()
        retries += int(out)

    orders = local_clients.table_client(table_locator)
    for prefix in ("a", "b", "c"):
        items, cursor = [], None
        while True:
            page = orders.query(prefix, limit=40, cursor=cursor)
            items += page.items
            if (cursor := page.cursor) is None:
                break
        assert [item["sk"] for item in items] == [f"{n:05d}" for n in range(count)]
    assert orders.get({"pk": "counter", "sk": "c"}) == {"pk": "counter", "sk": "c", "n": 3 * count}
    # Every write's change was queued with it; the counter's arrive in version order.
    changes = [decode_change(m.body) for m in drain(stores.queues, "changes")]
    assert len(changes) == 3 * count * 2
    counter = [c.new["n"] for c in changes if c.key == {"pk": "counter", "sk": "c"} and c.new]
    assert counter == list(range(1, 3 * count + 1))
    # The writers really ran at once: their inserts interleave in commit order.
    writers_in_order = [c.key["pk"] for c in changes if c.kind == "insert" and c.key["pk"] != "counter"]
    switches = sum(a != b for a, b in itertools.pairwise(writers_in_order))
    print(f"{switches} switches between writers, {retries} optimistic retries")
    assert switches >= 10, switches


@pytest.mark.slow
def test_importing_the_local_clients_loads_only_the_standard_library() -> None:
    loaded = newly_imported("components.runtime.clients.local")
    outside_stdlib = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names)
    assert outside_stdlib <= {"components"}, outside_stdlib
    assert not [m for m in loaded if m.startswith("components.runtime.clients.") and not m.endswith(".local")]
