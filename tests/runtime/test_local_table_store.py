"""The local target's table store: items, keys, conditions, queries, the value codec, TTL and
the change events routed with every write."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.runtime.clients import ConditionFailed, Sort
from components.runtime.local.queue_store import QueueStore, Received
from components.runtime.local.routing import Route, Routes, table_source
from components.runtime.local.table_store import (
    EXPIRE_BATCH,
    TableNotFound,
    TableSchema,
    TableStore,
    decode_change,
    decode_value,
    encode_value,
)
from tests.runtime.test_runtime_imports import newly_imported

EMOJI = "b\U0001f600"
SCHEMA: dict[str, Any] = {
    "partition_key": "pk",
    "sort_key": "sk",
    "key_types": {"pk": "string", "sk": "string", "status": "string", "placed": "number"},
    "indexes": [{"name": "by-status", "partition_key": "status", "sort_key": "placed"}],
    "ttl_attribute": "expires",
}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queues(tmp_path: Path, clock: FakeClock) -> Iterator[QueueStore]:
    with QueueStore(tmp_path / "state.db", clock=clock) as store:
        yield store


@pytest.fixture
def routes(queues: QueueStore) -> Routes:
    return Routes(queues)


@pytest.fixture
def tables(queues: QueueStore, routes: Routes, clock: FakeClock) -> TableStore:
    store = TableStore(queues, routes, clock=clock)
    store.declare("orders", SCHEMA)
    return store


def listen(queues: QueueStore, routes: Routes, table: str, queue: str = "changes", **settings: Any) -> str:
    """Declare a FIFO listener queue and route ``table``'s changes to it."""
    queues.declare(queue, visibility_timeout_s=30, max_receive_count=3, retention_s=3600, fifo=True, **settings)
    routes.replace(table_source(table), [Route(queue)])
    return queue


def drain(queues: QueueStore, queue: str = "changes") -> list[Received]:
    """Every message of ``queue``, in delivery order, acked."""
    out: list[Received] = []
    while batch := queues.receive(queue, 10):
        out += batch
        for message in batch:
            queues.ack(queue, message.receipt)
    return out


def sks(page: Any) -> list[Any]:
    return [item["sk"] for item in page]


def walk(tables: TableStore, partition: Any, **query: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a query, following cursors; and how many pages that took."""
    seen: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        page = tables.query("orders", partition, cursor=cursor, **query)
        seen += page.items
        pages += 1
        cursor = page.cursor
        if cursor is None:
            return seen, pages


# -- items -------------------------------------------------------------------------------------


def test_put_get_delete_round_trip_every_value_type(tables: TableStore) -> None:
    item = {
        "pk": "customer#7",
        "sk": "o#1",
        "total": 0.1,
        "qty": 3,
        "whole": 2.0,
        "big": 2**80,
        "paid": True,
        "lines": [{"sku": "A-1", "price": 9.99}],
        "meta": {"nested": {"n": -1.5, "empty": {}}},
        "note": None,
        "raw": b"\x00\x01\xff",
        "tags": {"a", "b"},
    }
    tables.put("orders", item)

    got = tables.get("orders", {"pk": "customer#7", "sk": "o#1"})
    assert got == item
    assert got is not None
    assert (type(got["qty"]), type(got["whole"]), type(got["raw"]), type(got["tags"])) == (int, float, bytes, set)
    assert tables.get("orders", {"pk": "customer#7", "sk": "o#2"}) is None
    tables.delete("orders", got)  # a whole item works as its key
    assert tables.get("orders", {"pk": "customer#7", "sk": "o#1"}) is None
    tables.delete("orders", {"pk": "customer#7", "sk": "o#1"})  # absent: no error


def test_put_replaces_the_whole_item(tables: TableStore) -> None:
    tables.put("orders", {"pk": "p", "sk": "s", "a": 1, "b": 2})
    tables.put("orders", {"pk": "p", "sk": "s", "a": 3})
    assert tables.get("orders", {"pk": "p", "sk": "s"}) == {"pk": "p", "sk": "s", "a": 3}


def test_integral_float_and_int_keys_address_the_same_item_and_numbers_sort_numerically(tables: TableStore) -> None:
    tables.declare("numbers", {"partition_key": "pk", "sort_key": "sk", "key_types": {"pk": "number", "sk": "number"}})
    tables.put("numbers", {"pk": 1, "sk": 2.0, "v": "x"})
    assert tables.get("numbers", {"pk": 1.0, "sk": 2}) == {"pk": 1, "sk": 2.0, "v": "x"}
    for sk in (10, -1, 2.5, 2**62, -0.5, 3):
        tables.put("numbers", {"pk": 1, "sk": sk})
    assert sks(tables.query("numbers", 1.0)) == [-1, -0.5, 2.0, 2.5, 3, 10, 2**62]
    assert sks(tables.query("numbers", 1, sort=Sort.between(2, 3))) == [2.0, 2.5, 3]


def test_key_types_and_missing_keys_are_checked(tables: TableStore) -> None:
    with pytest.raises(ValueError, match=r"missing \['sk'\]"):
        tables.put("orders", {"pk": "p"})
    with pytest.raises(ValueError, match="string key"):
        tables.get("orders", {"pk": 1, "sk": "s"})
    with pytest.raises(ValueError, match="string or a number"):
        tables.get("orders", {"pk": True, "sk": "s"})
    with pytest.raises(ValueError, match="empty string"):
        tables.put("orders", {"pk": "", "sk": "s"})
    tables.declare("numbers", {"partition_key": "n", "key_types": {"n": "number"}})
    with pytest.raises(ValueError, match="number key"):
        tables.get("numbers", {"n": "1"})
    with pytest.raises(ValueError, match="finite"):
        tables.get("numbers", {"n": math.nan})
    with pytest.raises(ValueError, match="64-bit"):
        tables.put("numbers", {"n": 2**64})
    with pytest.raises(TableNotFound, match="'nope' is not declared"):
        tables.get("nope", {"pk": "p"})


def test_a_wrong_typed_index_key_is_refused_and_a_missing_one_leaves_the_item_out(tables: TableStore) -> None:
    with pytest.raises(ValueError, match=r"'placed' is a number key.*index 'by-status'"):
        tables.put("orders", {"pk": "p", "sk": "s", "status": "open", "placed": "yesterday"})
    assert tables.get("orders", {"pk": "p", "sk": "s"}) is None
    tables.put("orders", {"pk": "p", "sk": "s", "status": "open"})  # no sort key: not in the index
    assert tables.query("orders", "open", index="by-status").items == []


def test_table_without_sort_key_holds_one_item_per_partition(tables: TableStore) -> None:
    tables.declare("solo", {"partition_key": "pk"})
    tables.put("solo", {"pk": "a", "v": 1})
    tables.put("solo", {"pk": "a", "v": 2})
    assert tables.get("solo", {"pk": "a"}) == {"pk": "a", "v": 2}
    assert tables.query("solo", "a").items == [{"pk": "a", "v": 2}]
    with pytest.raises(ValueError, match="has no sort key"):
        tables.query("solo", "a", sort=Sort.eq("x"))


# -- conditions --------------------------------------------------------------------------------


def test_put_if_absent_and_optimistic_puts(tables: TableStore) -> None:
    key = {"pk": "c", "sk": "1"}
    tables.put("orders", {**key, "version": 1, "status": "new"}, condition="absent")
    with pytest.raises(ConditionFailed, match="absent"):
        tables.put("orders", {**key, "version": 1}, condition="absent")
    tables.put("orders", {**key, "version": 2, "status": "paid"}, condition={"version": 1})
    with pytest.raises(ConditionFailed, match="version=1"):
        tables.put("orders", {**key, "version": 3}, condition={"version": 1})
    assert tables.get("orders", key) == {**key, "version": 2, "status": "paid"}
    tables.put("orders", {**key, "version": 3}, condition={"version": 2.0, "status": "paid"})  # 2 == 2.0
    with pytest.raises(ConditionFailed, match="exist"):  # a condition on a missing item never holds
        tables.put("orders", {"pk": "c", "sk": "2"}, condition={})
    with pytest.raises(ConditionFailed, match="missing"):
        tables.put("orders", {**key, "version": 4}, condition={"nope": None})
    with pytest.raises(ValueError, match="condition must be"):
        tables.put("orders", {**key}, condition="present")  # type: ignore[arg-type]


def test_conditions_tell_booleans_from_numbers_at_every_depth(tables: TableStore) -> None:
    key = {"pk": "p", "sk": "s"}
    tables.put("orders", {**key, "flag": True, "nested": {"list": [1, False]}, "raw": b"x"})
    with pytest.raises(ConditionFailed):
        tables.put("orders", {**key, "flag": False}, condition={"flag": 1})
    with pytest.raises(ConditionFailed):
        tables.put("orders", {**key}, condition={"nested": {"list": [True, False]}})
    with pytest.raises(ConditionFailed):
        tables.put("orders", {**key}, condition={"nested": {"list": [1, 0]}})
    tables.put(
        "orders", {**key, "flag": False}, condition={"flag": True, "nested": {"list": (1.0, False)}, "raw": b"x"}
    )


def test_conditional_delete(tables: TableStore) -> None:
    key = {"pk": "p", "sk": "s"}
    tables.put("orders", {**key, "version": 3})
    with pytest.raises(ConditionFailed):
        tables.delete("orders", key, condition={"version": 2})
    with pytest.raises(ConditionFailed):
        tables.delete("orders", key, condition="absent")
    assert tables.get("orders", key) is not None
    tables.delete("orders", key, condition={"version": 3})
    assert tables.get("orders", key) is None
    tables.delete("orders", key, condition="absent")
    with pytest.raises(ConditionFailed):
        tables.delete("orders", key, condition={"version": 3})


# -- queries -----------------------------------------------------------------------------------

ALL = ["a", "b", "ba", "bb", EMOJI, "c", "d"]


@pytest.fixture
def filled(tables: TableStore) -> TableStore:
    for sk in ("d", "b", EMOJI, "a", "bb", "c", "ba"):  # stored out of order
        tables.put("orders", {"pk": "p1", "sk": sk})
    tables.put("orders", {"pk": "p2", "sk": "a"})
    return tables


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, ALL),
        (Sort.eq("ba"), ["ba"]),
        (Sort.lt("b"), ["a"]),
        (Sort.le("b"), ["a", "b"]),
        (Sort.gt("bb"), [EMOJI, "c", "d"]),
        (Sort.ge("c"), ["c", "d"]),
        (Sort.between("b", "bb"), ["b", "ba", "bb"]),
        (Sort.begins_with("b"), ["b", "ba", "bb", EMOJI]),  # code-point order, past U+FFFF too
        (Sort.begins_with(""), ALL),
        (Sort.begins_with("\U0010ffff"), []),  # no upper bound exists: still correct
    ],
)
def test_every_sort_condition_in_both_directions(filled: TableStore, sort: Sort | None, expected: list[str]) -> None:
    assert sks(filled.query("orders", "p1", sort=sort)) == expected
    assert sks(filled.query("orders", "p1", sort=sort, descending=True)) == expected[::-1]


def test_strings_order_by_code_point_like_utf8_bytes(tables: TableStore) -> None:
    keys = ["Z", "a", "\u00e9", "\uffff", "\U0001f600", "\ue000", "A"]
    for sk in keys:
        tables.put("orders", {"pk": "u", "sk": sk})
    assert sks(tables.query("orders", "u")) == sorted(keys, key=lambda s: s.encode("utf-8"))


def test_query_reads_only_its_partition(filled: TableStore) -> None:
    assert [(i["pk"], i["sk"]) for i in filled.query("orders", "p2")] == [("p2", "a")]
    assert filled.query("orders", "nobody").items == []


@pytest.mark.parametrize("descending", [False, True])
def test_pagination_walks_every_item_once(filled: TableStore, descending: bool) -> None:
    seen, pages = walk(filled, "p1", limit=3, descending=descending)
    assert sks(seen) == (ALL[::-1] if descending else ALL)
    assert pages == 3


def test_an_exact_last_page_still_carries_a_cursor_and_the_next_page_is_empty(filled: TableStore) -> None:
    first = filled.query("orders", "p1", sort=Sort.begins_with("b"), limit=2)
    assert sks(first) == ["b", "ba"]
    second = filled.query("orders", "p1", sort=Sort.begins_with("b"), limit=2, cursor=first.cursor)
    assert sks(second) == ["bb", EMOJI]
    assert second.cursor is not None  # as on DynamoDB: a full page cannot know it was the last
    third = filled.query("orders", "p1", sort=Sort.begins_with("b"), limit=2, cursor=second.cursor)
    assert (third.items, third.cursor) == ([], None)


def test_a_foreign_or_mismatched_cursor_is_rejected(filled: TableStore) -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        filled.query("orders", "p1", cursor="not-a-cursor!")
    with pytest.raises(ValueError, match="not a cursor"):
        filled.query("orders", "p1", cursor="eyJ4IjogMX0")  # base64 JSON, but not ours
    cursor = filled.query("orders", "p1", limit=2).cursor
    assert cursor is not None
    with pytest.raises(ValueError, match="another query"):
        filled.query("orders", "p2", cursor=cursor)
    with pytest.raises(ValueError, match="another query"):
        filled.query("orders", "p1", cursor=cursor, descending=True)
    with pytest.raises(ValueError, match="not a cursor"):  # a table cursor on an index
        filled.query("orders", "p1", index="by-status", cursor=cursor)


def test_invalid_queries_are_value_errors(filled: TableStore) -> None:
    for limit in (0, -1, True):
        with pytest.raises(ValueError, match="limit"):
            filled.query("orders", "p1", limit=limit)
    with pytest.raises(ValueError, match="no index 'nope'"):
        filled.query("orders", "p1", index="nope")
    with pytest.raises(ValueError, match="string key"):
        filled.query("orders", 7)
    with pytest.raises(ValueError, match="begins_with needs a string sort key"):
        filled.query("orders", "open", index="by-status", sort=Sort.begins_with("1"))
    with pytest.raises(ValueError, match="number key"):
        filled.query("orders", "open", index="by-status", sort=Sort.gt("20"))
    with pytest.raises(ValueError, match="reversed"):
        filled.query("orders", "p1", sort=Sort.between("c", "a"))
    with pytest.raises(ValueError, match="unknown sort condition"):
        filled.query("orders", "p1", sort=Sort("ne", "a"))  # type: ignore[arg-type]


@pytest.fixture
def indexed(tables: TableStore) -> TableStore:
    tables.put("orders", {"pk": "c2", "sk": "o4", "status": "open", "placed": 20})
    tables.put("orders", {"pk": "c1", "sk": "o1", "status": "open", "placed": 30})
    tables.put("orders", {"pk": "c1", "sk": "o2", "status": "open", "placed": 10})
    tables.put("orders", {"pk": "c2", "sk": "o3", "status": "open", "placed": 20})  # same index sort key
    tables.put("orders", {"pk": "c1", "sk": "o7", "status": "open", "placed": 20})  # ...and an earlier pk
    tables.put("orders", {"pk": "c3", "sk": "o5", "status": "shipped", "placed": 5})
    tables.put("orders", {"pk": "c3", "sk": "o6", "placed": 1})  # not in the index: no status
    return tables


def test_index_query_uses_the_index_keys_and_breaks_ties_by_the_table_key(indexed: TableStore) -> None:
    assert sks(indexed.query("orders", "open", index="by-status")) == ["o2", "o7", "o3", "o4", "o1"]
    descending = indexed.query("orders", "open", index="by-status", sort=Sort.ge(20), descending=True)
    assert sks(descending) == ["o1", "o4", "o3", "o7"]
    assert sks(indexed.query("orders", "open", index="by-status", sort=Sort.eq(20.0))) == ["o7", "o3", "o4"]
    assert sks(indexed.query("orders", "shipped", index="by-status")) == ["o5"]


def test_index_entries_follow_every_write(indexed: TableStore) -> None:
    indexed.put("orders", {"pk": "c1", "sk": "o2", "status": "shipped", "placed": 10})  # moves
    indexed.delete("orders", {"pk": "c2", "sk": "o3"})
    indexed.put("orders", {"pk": "c2", "sk": "o4"})  # leaves the index
    assert sks(indexed.query("orders", "open", index="by-status")) == ["o7", "o1"]
    assert sks(indexed.query("orders", "shipped", index="by-status")) == ["o5", "o2"]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_index_pages_split_ties_without_loss(indexed: TableStore, descending: bool, limit: int) -> None:
    seen, _ = walk(indexed, "open", index="by-status", limit=limit, descending=descending)
    expected = ["o2", "o7", "o3", "o4", "o1"]
    assert sks(seen) == (expected[::-1] if descending else expected)


def test_equal_index_sort_keys_paginate_without_loss(tables: TableStore) -> None:
    for n in range(7):
        tables.put("orders", {"pk": f"c{n}", "sk": "o", "status": "open", "placed": 7})
    for descending in (False, True):
        seen, _ = walk(tables, "open", index="by-status", sort=Sort.eq(7), limit=2, descending=descending)
        expected = [f"c{n}" for n in range(7)]
        assert [item["pk"] for item in seen] == (expected[::-1] if descending else expected)


def test_an_index_without_sort_key_orders_by_the_table_key(tables: TableStore) -> None:
    tables.declare(
        "flat",
        {"partition_key": "pk", "sort_key": "sk", "indexes": [{"name": "by-status", "partition_key": "status"}]},
    )
    for pk, sk in [("b", "2"), ("a", "9"), ("b", "1")]:
        tables.put("flat", {"pk": pk, "sk": sk, "status": "open"})
    first = tables.query("flat", "open", index="by-status", limit=2)
    rest = tables.query("flat", "open", index="by-status", limit=2, cursor=first.cursor)
    assert [(i["pk"], i["sk"]) for i in [*first, *rest]] == [("a", "9"), ("b", "1"), ("b", "2")]
    with pytest.raises(ValueError, match="index 'by-status' has no sort key"):
        tables.query("flat", "open", index="by-status", sort=Sort.eq("x"))


# -- value codec -------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary()
)
names = st.text() | st.sampled_from(["$bytes", "$set", "$map", "$other"])
sets = st.sets(st.text(), min_size=1) | st.sets(st.integers(), min_size=1) | st.sets(st.binary(), min_size=1)
values = st.recursive(
    scalars | sets,
    lambda children: st.lists(children) | st.dictionaries(names, children),
    max_leaves=25,
)


def identical(a: Any, b: Any) -> bool:
    """Equal with exact types at every depth (1 is not 1.0 or True; -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a.hex() == b.hex()
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@settings(max_examples=300, deadline=None)
@given(values)
def test_the_value_codec_round_trips_every_value_through_json(value: Any) -> None:
    text = json.dumps(encode_value(value), allow_nan=False)
    assert identical(decode_value(json.loads(text)), value)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(names, values, max_size=4))
def test_items_of_any_shape_round_trip_through_the_store(tables: TableStore, attributes: dict[str, Any]) -> None:
    item = {**attributes, "pk": "h", "sk": "h"}
    tables.put("orders", item)
    assert identical(tables.get("orders", item), item)
    assert identical(tables.query("orders", "h").items, [item])


def test_codec_normalises_what_the_clouds_normalise_and_refuses_the_rest() -> None:
    assert decode_value(encode_value((1, b"x"))) == [1, b"x"]
    assert decode_value(encode_value(bytearray(b"ab"))) == b"ab"
    assert decode_value(encode_value({"d": Decimal("2.50"), "i": Decimal("3")})) == {"d": 2.5, "i": 3}
    assert encode_value({"$bytes": "not bytes"}) == {"$map": {"$bytes": "not bytes"}}
    for bad in (math.inf, -math.inf, math.nan, Decimal("NaN"), set(), {1, "a"}):
        with pytest.raises(ValueError):
            encode_value(bad)
    for bad in (datetime.now(UTC), {1: "a"}, {None}, object()):
        with pytest.raises(TypeError):
            encode_value(bad)


def test_unstorable_values_write_nothing(tables: TableStore) -> None:
    with pytest.raises(TypeError):
        tables.put("orders", {"pk": "p", "sk": "s", "when": datetime.now(UTC)})
    with pytest.raises(ValueError):
        tables.put("orders", {"pk": "p", "sk": "s", "x": math.nan})
    assert tables.get("orders", {"pk": "p", "sk": "s"}) is None


# -- changes -----------------------------------------------------------------------------------


def test_each_write_routes_one_change_with_the_old_and_new_item(
    tables: TableStore, queues: QueueStore, routes: Routes, clock: FakeClock
) -> None:
    listen(queues, routes, "orders")
    key = {"pk": "p", "sk": "s"}
    tables.put("orders", {**key, "v": 1, "raw": b"\x00"})
    clock.now += 1
    tables.put("orders", {**key, "v": 2, "raw": b"\x00"})
    tables.put("orders", {**key, "v": 2, "raw": b"\x00"})  # no change: no event (as DynamoDB Streams)
    clock.now += 1
    tables.delete("orders", key)
    tables.delete("orders", key)  # nothing to delete: no event

    messages = drain(queues)
    changes = [decode_change(m.body) for m in messages]
    assert [c.kind for c in changes] == ["insert", "modify", "remove"]
    assert all(c.table == "orders" and c.key == key for c in changes)
    assert (changes[0].old, changes[0].new) == (None, {**key, "v": 1, "raw": b"\x00"})
    assert (changes[1].old, changes[1].new) == ({**key, "v": 1, "raw": b"\x00"}, {**key, "v": 2, "raw": b"\x00"})
    assert (changes[2].old, changes[2].new) == ({**key, "v": 2, "raw": b"\x00"}, None)
    assert [c.time for c in changes] == [datetime.fromtimestamp(1_700_000_000 + n, UTC) for n in (0, 1, 2)]
    assert all(c.time is not None and c.time.tzinfo is UTC for c in changes)
    assert len({c.id for c in changes}) == 3
    # Per-item FIFO: every change of one item shares one group, its canonical key.
    assert {m.group for m in messages} == {'["p","s"]'}
    assert set(json.loads(messages[0].body)) == {"table", "kind", "key", "old", "new", "id", "time"}


def test_changes_of_different_items_are_ordered_per_item(
    tables: TableStore, queues: QueueStore, routes: Routes
) -> None:
    listen(queues, routes, "numbers")
    tables.declare("numbers", {"partition_key": "n", "key_types": {"n": "number"}})
    for version in range(3):
        for n in (1, 2.0):
            tables.put("numbers", {"n": n, "version": version})
    by_group: dict[str | None, list[int]] = {}
    for message in drain(queues):
        change = decode_change(message.body)
        assert change.new is not None
        by_group.setdefault(message.group, []).append(change.new["version"])
    assert by_group == {"[1]": [0, 1, 2], "[2]": [0, 1, 2]}


def test_every_route_gets_the_change_and_unrouted_tables_emit_nothing(
    tables: TableStore, queues: QueueStore, routes: Routes
) -> None:
    for name in ("audit", "search"):
        queues.declare(name, visibility_timeout_s=30, max_receive_count=3, retention_s=3600, fifo=True)
    tables.put("orders", {"pk": "before", "sk": "routes"})
    routes.replace(table_source("orders"), [Route("audit"), Route("search")])
    tables.put("orders", {"pk": "p", "sk": "s"})
    assert [decode_change(m.body).key for m in drain(queues, "audit")] == [{"pk": "p", "sk": "s"}]
    assert [decode_change(m.body).kind for m in drain(queues, "search")] == ["insert"]


def test_a_failed_condition_routes_nothing(tables: TableStore, queues: QueueStore, routes: Routes) -> None:
    listen(queues, routes, "orders")
    tables.put("orders", {"pk": "p", "sk": "s", "v": 1})
    drain(queues)
    with pytest.raises(ConditionFailed):
        tables.put("orders", {"pk": "p", "sk": "s", "v": 2}, condition={"v": 0})
    with pytest.raises(ConditionFailed):
        tables.delete("orders", {"pk": "p", "sk": "s"}, condition="absent")
    assert drain(queues) == []


def test_a_write_whose_change_cannot_be_queued_stores_neither(
    tables: TableStore, queues: QueueStore, routes: Routes
) -> None:
    listen(queues, routes, "orders", max_message_kb=1)
    tables.put("orders", {"pk": "p", "sk": "small", "status": "open", "placed": 1})
    with pytest.raises(ValueError, match="over the queue's 1024"):
        tables.put("orders", {"pk": "p", "sk": "big", "status": "open", "placed": 2, "blob": "x" * 2000})
    with pytest.raises(ValueError, match="over the queue's 1024"):
        tables.put("orders", {"pk": "p", "sk": "small", "status": "open", "placed": 1, "blob": "x" * 2000})
    assert tables.get("orders", {"pk": "p", "sk": "big"}) is None
    assert tables.get("orders", {"pk": "p", "sk": "small"}) == {"pk": "p", "sk": "small", "status": "open", "placed": 1}
    assert sks(tables.query("orders", "open", index="by-status")) == ["small"]  # no index entry leaked
    assert [decode_change(m.body).kind for m in drain(queues)] == ["insert"]


def test_decode_change_refuses_what_is_not_a_change() -> None:
    for body in ("nope", "{}", json.dumps({"kind": "upsert"}), "[]"):
        with pytest.raises(ValueError, match="not a table change"):
            decode_change(body)


# -- TTL ---------------------------------------------------------------------------------------


def test_expire_removes_due_items_with_remove_changes(
    tables: TableStore, queues: QueueStore, routes: Routes, clock: FakeClock
) -> None:
    listen(queues, routes, "orders")
    now = clock.now
    tables.put("orders", {"pk": "p", "sk": "past", "expires": int(now) - 10, "status": "open", "placed": 1})
    tables.put("orders", {"pk": "p", "sk": "due", "expires": now})
    tables.put("orders", {"pk": "p", "sk": "future", "expires": now + 0.5})
    tables.put("orders", {"pk": "p", "sk": "text", "expires": "soon"})  # not a number: never expires
    tables.put("orders", {"pk": "p", "sk": "flag", "expires": True})  # a boolean is not a time either
    tables.put("orders", {"pk": "p", "sk": "none"})
    drain(queues)
    # Read back exactly as written: epoch seconds, int or float.
    assert tables.get("orders", {"pk": "p", "sk": "past"})["expires"] == int(now) - 10  # type: ignore[index]

    assert tables.expire("orders") == 2
    assert sks(tables.query("orders", "p")) == ["flag", "future", "none", "text"]
    assert tables.query("orders", "open", index="by-status").items == []
    changes = [decode_change(m.body) for m in drain(queues)]
    assert sorted((c.kind, c.key["sk"]) for c in changes) == [("remove", "due"), ("remove", "past")]
    assert all(c.new is None and c.old is not None for c in changes)
    assert tables.expire("orders") == 0
    assert tables.expire("orders", now=now + 1) == 1


def test_expire_sweeps_more_than_one_batch(tables: TableStore, clock: FakeClock) -> None:
    for n in range(EXPIRE_BATCH * 2 + 5):
        tables.put("orders", {"pk": "p", "sk": f"{n:04d}", "expires": clock.now - n})
    assert tables.expire("orders") == EXPIRE_BATCH * 2 + 5
    assert tables.query("orders", "p").items == []


def test_expire_finds_due_items_through_an_index(tables: TableStore) -> None:
    plan = tables.database.connection().execute(
        "EXPLAIN QUERY PLAN SELECT pk, sk, item FROM items WHERE tbl = ? AND expires IS NOT NULL AND expires <= ? "
        "ORDER BY expires LIMIT ?",
        ("orders", 1.0, 100),
    )
    assert any("items_by_expiry" in row[-1] for row in plan), "expiry would scan the table"


def test_a_table_without_ttl_attribute_never_expires(tables: TableStore) -> None:
    tables.declare("plain", {"partition_key": "pk"})
    tables.put("plain", {"pk": "a", "expires": 1})
    assert tables.expire("plain", now=10**10) == 0


# -- schema ------------------------------------------------------------------------------------


def test_declare_is_idempotent_stored_and_readable_by_another_store(
    tables: TableStore, queues: QueueStore, routes: Routes
) -> None:
    assert tables.declare("orders", SCHEMA) == TableSchema.from_mapping(SCHEMA)
    locator = {"kind": "table", "cloud": "local", "name": "t2", "database": "/x.db", **SCHEMA}
    tables.declare("t2", locator)  # a locator carries the schema too
    other = TableStore(queues, routes)
    assert other.tables() == ["orders", "t2"]
    assert other.schema("t2").to_dict() == {**SCHEMA, "indexes": [{**SCHEMA["indexes"][0]}]}
    other.put("orders", {"pk": "p", "sk": "s"})
    assert tables.get("orders", {"pk": "p", "sk": "s"}) == {"pk": "p", "sk": "s"}


def test_a_new_index_or_ttl_attribute_applies_to_stored_items(tables: TableStore) -> None:
    tables.put("orders", {"pk": "p", "sk": "1", "region": "eu", "day": 3, "until": 5})
    tables.put("orders", {"pk": "p", "sk": "2", "region": "eu", "day": "monday"})  # wrong type: left out
    tables.put("orders", {"pk": "p", "sk": "3"})
    schema = {
        **SCHEMA,
        "key_types": {**SCHEMA["key_types"], "region": "string", "day": "number"},
        "indexes": [*SCHEMA["indexes"], {"name": "by-region", "partition_key": "region", "sort_key": "day"}],
        "ttl_attribute": "until",
    }
    tables.declare("orders", schema)
    assert sks(tables.query("orders", "eu", index="by-region")) == ["1"]
    assert tables.expire("orders", now=5) == 1
    with pytest.raises(ValueError, match="number key"):
        tables.put("orders", {"pk": "p", "sk": "4", "region": "eu", "day": "tuesday"})


def test_a_changed_primary_key_needs_replace_when_items_exist(tables: TableStore) -> None:
    tables.put("orders", {"pk": "p", "sk": "s"})
    changed = {**SCHEMA, "sort_key": "placed", "key_types": {**SCHEMA["key_types"], "sk": None}}
    del changed["key_types"]["sk"]
    with pytest.raises(ValueError, match="replace=True"):
        tables.declare("orders", changed)
    assert tables.get("orders", {"pk": "p", "sk": "s"}) is not None  # nothing changed
    tables.declare("orders", changed, replace=True)
    assert tables.query("orders", "p").items == []
    tables.declare("empty", {"partition_key": "a"})
    tables.declare("empty", {"partition_key": "b"})  # no items: nothing to lose


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({}, "partition_key"),
        ({"partition_key": ""}, "partition_key"),
        ({"partition_key": "pk", "key_types": {"other": "string"}}, "not key attributes"),
        ({"partition_key": "pk", "key_types": {"pk": "binary"}}, "'string' or 'number'"),
        ({"partition_key": "pk", "ttl_attribute": "pk"}, "TTL attribute"),
        ({"partition_key": "pk", "indexes": [{"name": "i", "partition_key": "a"}] * 2}, "unique"),
        ({"partition_key": "pk", "indexes": ["i"]}, "an index is a mapping"),
    ],
)
def test_malformed_schemas_are_refused(tables: TableStore, schema: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tables.declare("bad", schema)
    assert "bad" not in tables.tables()


def test_stores_must_share_one_database(tmp_path: Path, queues: QueueStore) -> None:
    with QueueStore(tmp_path / "other.db") as other, pytest.raises(ValueError, match="one database"):
        TableStore(queues, Routes(other))


@pytest.mark.slow
def test_importing_the_table_store_loads_only_the_standard_library() -> None:
    loaded = newly_imported("components.runtime.local.table_store")
    outside_stdlib = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names)
    assert outside_stdlib <= {"components"}, outside_stdlib
