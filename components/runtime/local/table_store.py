"""Tables of the local target, in the local database: items, sparse indexes, TTL and changes.

**Storage.** One SQL table, ``items``, holds the items of every local table, keyed by (table,
partition key value, sort key value). Key values are stored as plain SQLite values, TEXT for
string keys and INTEGER or REAL for number keys, so SQLite orders them the way DynamoDB does:
strings by their UTF-8 bytes (which is code-point order), numbers numerically. The item itself
is one JSON document in the value codec below. ``index_entries`` holds, for every secondary
index, one row per item that has the index's key attributes (indexes are sparse, as DynamoDB's
global secondary indexes are), so index queries are range scans too. Equal index sort keys are
ordered by the table's key, so an index query has a total order and its cursor is exact.

**Keys.** Key attributes are strings or numbers, as declared in the schema's ``key_types``
(``"string"`` unless named); a value of the other type is a :class:`ValueError`, as on
DynamoDB, and so are empty strings and booleans. Integral floats address the same item as ints
(``2.0`` is ``2``). Number keys are finite floats or integers within 64 bits (SQLite's INTEGER).
An index key attribute of the wrong type is refused too (DynamoDB refuses the write); an item
without it is simply not in that index.

**Value codec.** An item is stored as JSON that round-trips every value the other clouds'
clients take (see :func:`encode_value`): ``None``, ``bool``, ``int`` (any size), ``float``
(finite; ``2.0`` stays a float, unlike DynamoDB's read-back), ``str``, ``bytes``, lists
(tuples read back as lists), dicts with string keys, and sets of strings, numbers or bytes
(read back as ``set``, as boto3 gives them; DynamoDB's string/number/binary sets). A
``Decimal`` is stored as the ``int`` or ``float`` DynamoDB would give back.

**Changes.** Every write that changes data (a put that inserts or modifies an item, a delete
of an existing item, a TTL expiry) routes one change (:func:`decode_change` reads it) through
:class:`~.routing.Routes` from ``table_source(table)``, in the write's own transaction: the
item and its change events commit together or not at all. The change's FIFO group is the
item's canonical key, so a FIFO listener queue delivers each item's changes in order. A put
that stores exactly what is already stored changes nothing and emits nothing, as on DynamoDB
Streams.

**TTL.** An item whose ``ttl_attribute`` holds a number (epoch seconds) is deleted by
:meth:`TableStore.expire` once that time has passed, with a ``remove`` change (DynamoDB's TTL
deletions appear in the stream as REMOVE). As on DynamoDB, an expired item stays readable until
it is deleted; the dev server calls :meth:`~TableStore.expire` periodically.

Standard library only, like the rest of :mod:`components.runtime`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, cast

from components.runtime.clients import Condition, ConditionFailed, Page, Sort
from components.runtime.local.queue_store import QueueStore
from components.runtime.local.routing import Routes, table_source
from components.runtime.messages import ChangeKind, TableChange

__all__ = [
    "IndexSchema",
    "TableNotFound",
    "TableSchema",
    "TableStore",
    "decode_change",
    "decode_value",
    "encode_value",
]

KeyType = Literal["string", "number"]
KeyValue = str | int | float

_SCHEMA = """
CREATE TABLE IF NOT EXISTS table_schemas (
    name TEXT PRIMARY KEY,
    schema TEXT NOT NULL                -- TableSchema.to_json()
);
CREATE TABLE IF NOT EXISTS items (
    tbl TEXT NOT NULL,
    pk NOT NULL,                        -- no declared type: values stay TEXT, INTEGER or REAL
    sk NOT NULL,                        -- '' in a table without a sort key
    item TEXT NOT NULL,                 -- the item in the value codec, as JSON
    expires REAL,                       -- the TTL attribute (epoch seconds), if it is a number
    PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_expiry ON items (tbl, expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS index_entries (
    tbl TEXT NOT NULL,
    idx TEXT NOT NULL,
    ipk NOT NULL,                       -- the index's partition key value
    isk NOT NULL,                       -- its sort key value, '' if the index has none
    pk NOT NULL,                        -- the item's table key: breaks ties in index order
    sk NOT NULL,
    PRIMARY KEY (tbl, idx, ipk, isk, pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS index_entries_by_item ON index_entries (tbl, pk, sk)
"""

NO_SORT_KEY = ""
"""The stored sort value of every item of a table (or index entry of an index) without a sort
key. Never a real key value: empty strings are refused as keys."""

EXPIRE_BATCH = 100
"""Expired items deleted per transaction by :meth:`TableStore.expire` (short write locks)."""

_INT64 = (-(2**63), 2**63 - 1)
_OPERATORS = {"eq": "=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_MISSING = object()


class TableNotFound(LookupError):
    """The table was never declared in this database."""


# --- schema ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexSchema:
    """A secondary index: its own partition key and optional sort key."""

    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True, slots=True)
class TableSchema:
    """A table's keys, indexes and TTL attribute: ``TableArgs.key_schema()``, validated."""

    partition_key: str
    sort_key: str | None
    key_types: Mapping[str, KeyType]
    """The type of every key attribute of the table and its indexes."""
    indexes: tuple[IndexSchema, ...] = ()
    ttl_attribute: str | None = None

    @classmethod
    def from_mapping(cls, schema: Mapping[str, Any]) -> TableSchema:
        """Read ``TableArgs.key_schema()`` (or a table locator, which carries the same fields).

        Raises:
            ValueError: a field is missing or malformed, index names repeat, ``key_types``
                names a non-key attribute or a type other than ``string``/``number``, or the
                TTL attribute is a key attribute.
        """
        partition_key = _attribute_name(schema.get("partition_key"), "partition_key")
        sort_key = _optional_name(schema.get("sort_key"), "sort_key")
        indexes = tuple(_index_schema(index) for index in schema.get("indexes") or ())
        names = [index.name for index in indexes]
        if len(names) != len(set(names)):
            raise ValueError(f"index names must be unique, got {names}")
        keys = {partition_key, *([sort_key] if sort_key else [])}
        for index in indexes:
            keys |= {index.partition_key, *([index.sort_key] if index.sort_key else [])}
        declared = dict(schema.get("key_types") or {})
        unknown = sorted(set(declared) - keys)
        if unknown:
            raise ValueError(f"key_types names {unknown}, which are not key attributes {sorted(keys)}")
        key_types: dict[str, KeyType] = {}
        for attribute in sorted(keys):
            kind = declared.get(attribute, "string")
            if kind not in ("string", "number"):
                raise ValueError(f"key_types['{attribute}'] is {kind!r}, not 'string' or 'number'")
            key_types[attribute] = kind
        ttl_attribute = _optional_name(schema.get("ttl_attribute"), "ttl_attribute")
        if ttl_attribute is not None and ttl_attribute in keys:
            raise ValueError(f"the TTL attribute '{ttl_attribute}' cannot be a key attribute")
        return cls(partition_key, sort_key, key_types, indexes, ttl_attribute)

    def to_dict(self) -> dict[str, Any]:
        """The schema in ``TableArgs.key_schema()`` form."""
        return {
            "partition_key": self.partition_key,
            "sort_key": self.sort_key,
            "key_types": dict(self.key_types),
            "indexes": [
                {"name": index.name, "partition_key": index.partition_key, "sort_key": index.sort_key}
                for index in self.indexes
            ],
            "ttl_attribute": self.ttl_attribute,
        }

    def to_json(self) -> str:
        """Canonical JSON: equal schemas give equal text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def key_type(self, attribute: str) -> KeyType:
        return self.key_types.get(attribute, "string")

    def index(self, table: str, name: str) -> IndexSchema:
        """The index called ``name``; ``ValueError`` naming the table's indexes if none is."""
        for index in self.indexes:
            if index.name == name:
                return index
        raise ValueError(f"table '{table}' has no index '{name}' (indexes: {sorted(i.name for i in self.indexes)})")

    def primary_key(self) -> tuple[str, str | None, KeyType, KeyType | None]:
        """What addresses an item: changing it makes every stored key meaningless."""
        return (
            self.partition_key,
            self.sort_key,
            self.key_type(self.partition_key),
            self.key_type(self.sort_key) if self.sort_key else None,
        )


def _attribute_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} must be a non-empty attribute name, got {value!r}")
    return value


def _optional_name(value: Any, field: str) -> str | None:
    return None if value is None else _attribute_name(value, field)


def _index_schema(index: Any) -> IndexSchema:
    if not isinstance(index, Mapping):
        raise ValueError(f"an index is a mapping with name, partition_key and sort_key, got {index!r}")
    return IndexSchema(
        _attribute_name(index.get("name"), "index name"),
        _attribute_name(index.get("partition_key"), "index partition_key"),
        _optional_name(index.get("sort_key"), "index sort_key"),
    )


# --- value codec -------------------------------------------------------------------------------

_BYTES, _SET, _MAP = "$bytes", "$set", "$map"
_TAGS = frozenset({_BYTES, _SET, _MAP})


def encode_value(value: Any) -> Any:
    """``value`` as JSON-ready data that :func:`decode_value` turns back into an equal value
    of the same types.

    Plain JSON (None, bool, int, float, str, lists, dicts) stays as it is. The rest becomes a
    one-key object: bytes ``{"$bytes": "<base64>"}``, a set ``{"$set": [...]}`` (elements
    sorted, for a canonical text); a dict that itself has exactly one key, one of those tags, is
    wrapped as ``{"$map": {...}}`` so that user data can never pass for a tag.

    Raises:
        ValueError: NaN or an infinity (no cloud stores them), an empty or mixed set.
        TypeError: a type no cloud's table stores (e.g. ``datetime``), a dict key that is not
            a string, a set element that is not a string, number or bytes.
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"tables cannot store the number {value}")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"tables cannot store the number {value}")
        # What DynamoDB gives back for it (aws.from_dynamo): an int when integral.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        encoded = {_map_key(key): encode_value(item) for key, item in value.items()}
        return {_MAP: encoded} if len(encoded) == 1 and next(iter(encoded)) in _TAGS else encoded
    if isinstance(value, list | tuple):
        return [encode_value(item) for item in value]
    if isinstance(value, set | frozenset):
        return {_SET: _encode_set(value)}
    raise TypeError(
        f"tables cannot store a {type(value).__name__} value (they hold None, bool, int, float, str, "
        "bytes, lists, dicts with string keys and sets)"
    )


def _map_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"attribute names and map keys are strings, not {type(key).__name__} {key!r}")
    return key


def _encode_set(values: Iterable[Any]) -> list[Any]:
    kinds = {_set_kind(value) for value in values}
    if not kinds:
        raise ValueError("tables cannot store an empty set (DynamoDB refuses them)")
    if len(kinds) > 1:
        raise ValueError("a set holds strings, numbers or bytes, not a mix (DynamoDB's SS, NS and BS)")
    encoded = [encode_value(value) for value in values]
    # Sorted so equal sets have equal text (the no-op check compares text).
    return sorted(encoded, key=lambda item: json.dumps(item, sort_keys=True))


def _set_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return "number"
    if isinstance(value, bytes):
        return "bytes"
    raise TypeError(f"a set holds strings, numbers or bytes, not {type(value).__name__} {value!r}")


def decode_value(data: Any) -> Any:
    """The value :func:`encode_value` encoded as ``data``."""
    if isinstance(data, list):
        return [decode_value(item) for item in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        ((tag, inner),) = data.items()
        if tag == _BYTES:
            return base64.b64decode(inner)
        if tag == _SET:
            return {decode_value(item) for item in inner}
        if tag == _MAP:
            return {key: decode_value(item) for key, item in inner.items()}
    return {key: decode_value(item) for key, item in data.items()}


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# --- keys --------------------------------------------------------------------------------------


def _key_value(table: str, attribute: str, value: Any, key_type: KeyType) -> KeyValue:
    """A key attribute's value, checked against its type, as stored (integral floats → int)."""
    where = f"table '{table}': key attribute '{attribute}'"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{where} must be a string or a number, got {type(value).__name__} {value!r}")
    if key_type == "string":
        if not isinstance(value, str):
            raise ValueError(f"{where} is a string key, got {value!r}")
        if not value:
            raise ValueError(f"{where} cannot be an empty string (no cloud takes one as a key)")
        return value
    if isinstance(value, str):
        raise ValueError(f"{where} is a number key, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number, got {value!r}")
        if value.is_integer() and _INT64[0] <= value <= _INT64[1]:
            return int(value)
        return value
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"{where}: local number keys are floats or 64-bit integers, got {value}")
    return value


def _group(partition: KeyValue, sort: KeyValue | None) -> str:
    """The item's canonical key as text: the FIFO group of its changes."""
    parts = [partition] if sort is None else [partition, sort]
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=False)


def _prefix_end(prefix: str) -> str | None:
    """The least string above every string starting with ``prefix`` (None: no bound), in
    code-point order, which is SQLite's order of UTF-8 text."""
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if 0xD800 <= point <= 0xDFFF:
            point = 0xE000  # surrogates are not characters (and not valid UTF-8): skip them
        if point <= 0x10FFFF:
            return "".join(chars) + chr(point)
    return None


# --- conditions --------------------------------------------------------------------------------


def _same(stored: Any, expected: Any) -> bool:
    """Equality as the clouds' conditions see it: booleans are not numbers; 1 == 1.0."""
    if isinstance(stored, bool) or isinstance(expected, bool):
        return type(stored) is type(expected) and stored == expected
    if isinstance(stored, Mapping) and isinstance(expected, Mapping):
        return stored.keys() == expected.keys() and all(_same(stored[k], expected[k]) for k in stored)
    if isinstance(stored, list) and isinstance(expected, list | tuple):
        return len(stored) == len(expected) and all(_same(a, b) for a, b in zip(stored, expected, strict=True))
    if isinstance(expected, bytearray | memoryview):
        expected = bytes(expected)
    return stored == expected


def _check_condition(table: str, stored: Mapping[str, Any] | None, condition: Condition, operation: str) -> None:
    """Raise :class:`ConditionFailed` unless ``stored`` (None: absent) meets ``condition``."""
    if condition is None:
        return
    if isinstance(condition, str):
        if condition != "absent":
            raise ValueError(f"condition must be None, 'absent' or a mapping of attribute values, not {condition!r}")
        if stored is not None:
            raise ConditionFailed(f"table '{table}': {operation} requires the item to be absent")
        return
    if not isinstance(condition, Mapping):
        raise ValueError(f"condition must be None, 'absent' or a mapping of attribute values, not {condition!r}")
    if stored is None:
        raise ConditionFailed(f"table '{table}': {operation} requires the item to exist")
    for name, expected in condition.items():
        found = stored.get(name, _MISSING)
        if found is _MISSING or not _same(found, expected):
            shown = "missing" if found is _MISSING else repr(found)
            raise ConditionFailed(f"table '{table}': {operation} wants {name}={expected!r}, the item has {shown}")


# --- changes -----------------------------------------------------------------------------------


def _change_body(
    table: str,
    kind: ChangeKind,
    key: Mapping[str, KeyValue],
    old: Any,
    new: Any,
    at: float,
) -> str:
    """The routed message of one change (``old``/``new``: items in the value codec)."""
    return _dumps(
        {
            "table": table,
            "kind": kind,
            "key": encode_value(dict(key)),
            "old": old,
            "new": new,
            "id": uuid.uuid4().hex,
            "time": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"),
        }
    )


def decode_change(body: str) -> TableChange:
    """The :class:`~components.runtime.messages.TableChange` a routed change message carries.

    The body is JSON ``{"table", "kind", "key", "old", "new", "id", "time"}``: ``kind`` is
    ``insert``, ``modify`` or ``remove``; ``key`` (the item's key attributes), ``old`` and
    ``new`` (the whole item before and after, ``null`` for an insert's old and a removal's
    new) are in the value codec (:func:`encode_value`); ``time`` is ISO 8601 in UTC.

    Raises:
        ValueError: the body is not such a change.
    """
    try:
        change = json.loads(body)
        kind = change["kind"]
        if kind not in ("insert", "modify", "remove"):
            raise ValueError(f"unknown change kind {kind!r}")
        return TableChange(
            table=change["table"],
            kind=cast(ChangeKind, kind),
            key=decode_value(change["key"]),
            old=decode_value(change["old"]) if change["old"] is not None else None,
            new=decode_value(change["new"]) if change["new"] is not None else None,
            id=change["id"],
            time=datetime.fromisoformat(change["time"]).astimezone(UTC),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a table change message ({exc}): {body[:200]!r}") from None


# --- the store ---------------------------------------------------------------------------------


class TableStore:
    """Every local table of one database, safe for several threads and processes at once.

    Args:
        queues: The database's queue store (its database is the tables' database).
        routes: Where each change goes (the listeners' queues), on the same database.
        clock: Returns the current time in epoch seconds: change times and TTL expiry.
    """

    def __init__(self, queues: QueueStore, routes: Routes, *, clock: Callable[[], float] = time.time) -> None:
        if routes.database is not queues.database:
            raise ValueError("the routes and the queues of a TableStore must share one database")
        self.queues = queues
        self.routes = routes
        self.database = queues.database
        self._clock = clock
        self._parsed: dict[str, TableSchema] = {}
        self.database.create_schema(_SCHEMA)

    # -- tables -----------------------------------------------------------------------------------

    def declare(self, name: str, schema: Mapping[str, Any] | TableSchema, *, replace: bool = False) -> TableSchema:
        """Create table ``name`` with ``schema`` (``TableArgs.key_schema()``, or a table locator),
        or update it. Idempotent; the schema is stored, so any process can then open the table
        by name alone.

        Changed indexes or TTL attribute apply to the items already stored (as a cloud
        backfills a new index): the index entries and expiry times are rebuilt, and an item
        whose index key attribute has the wrong type is left out of that index. A changed
        primary key (partition or sort key, or their types) would make every stored key
        meaningless: a cloud replaces the table, and so does ``replace=True`` here, dropping
        the items (without change events, as a replaced table emits none).

        Raises:
            ValueError: a malformed schema (see :meth:`TableSchema.from_mapping`), an empty
                name, or a changed primary key of a table holding items without ``replace``.
        """
        if not name:
            raise ValueError("table name must not be empty")
        wanted = schema if isinstance(schema, TableSchema) else TableSchema.from_mapping(schema)
        text = wanted.to_json()
        with self.database.write() as db:
            row = db.execute("SELECT schema FROM table_schemas WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] == text:
                return wanted
            current = self._parse(row[0]) if row is not None else None
            if current is not None and current.primary_key() != wanted.primary_key():
                self._drop_items(db, name, replace)
            db.execute(
                "INSERT INTO table_schemas (name, schema) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET schema = excluded.schema",
                (name, text),
            )
            if current is not None:
                self._rebuild(db, name, wanted)
        return wanted

    def _drop_items(self, db: sqlite3.Connection, name: str, replace: bool) -> None:
        held = db.execute("SELECT 1 FROM items WHERE tbl = ? LIMIT 1", (name,)).fetchone()
        if held is not None and not replace:
            raise ValueError(
                f"table '{name}' changed its partition or sort key and holds items, whose keys would no "
                "longer address them: declare it with replace=True to drop them (a cloud replaces the table)"
            )
        db.execute("DELETE FROM items WHERE tbl = ?", (name,))
        db.execute("DELETE FROM index_entries WHERE tbl = ?", (name,))

    def _rebuild(self, db: sqlite3.Connection, name: str, schema: TableSchema) -> None:
        """Recompute every item's index entries and expiry under a new schema."""
        db.execute("DELETE FROM index_entries WHERE tbl = ?", (name,))
        rows = db.execute("SELECT pk, sk, item FROM items WHERE tbl = ?", (name,)).fetchall()
        for pk, sk, text in rows:
            item = decode_value(json.loads(text))
            db.execute(
                "UPDATE items SET expires = ? WHERE tbl = ? AND pk = ? AND sk = ?",
                (_expiry(schema, item), name, pk, sk),
            )
            entries = _index_entries(name, schema, item, strict=False)
            _insert_entries(db, name, entries, pk, sk)

    def schema(self, name: str) -> TableSchema:
        """The declared schema of table ``name``.

        Raises:
            TableNotFound: the table was never declared.
        """
        return self._schema(self.database.connection(), name)

    def tables(self) -> list[str]:
        """Every declared table, sorted by name."""
        rows = self.database.connection().execute("SELECT name FROM table_schemas ORDER BY name")
        return [name for (name,) in rows]

    def _schema(self, db: sqlite3.Connection, name: str) -> TableSchema:
        row = db.execute("SELECT schema FROM table_schemas WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise TableNotFound(f"table '{name}' is not declared in {self.database.path} (declare it first)")
        return self._parse(row[0])

    def _parse(self, text: str) -> TableSchema:
        # Read on every operation (another process may redeclare the table), parsed once.
        found = self._parsed.get(text)
        if found is None:
            found = self._parsed[text] = TableSchema.from_mapping(json.loads(text))
        return found

    # -- items ------------------------------------------------------------------------------------

    def get(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item with this key (every key attribute; other attributes are ignored, so an item
        is its own key), or None.

        Raises:
            TableNotFound: the table was never declared.
            ValueError: a key attribute is missing or of the wrong type.
        """
        db = self.database.connection()
        schema = self._schema(db, table)
        pk, sk = _address(table, schema, key)
        text = _stored(db, table, pk, sk)
        return decode_value(json.loads(text)) if text is not None else None

    def put(self, table: str, item: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Create or replace ``item`` and route its ``insert`` or ``modify`` change.

        ``condition``: ``"absent"`` (the item must not exist) or a mapping of attribute values
        the stored item must have exactly (booleans are not numbers; ``1 == 1.0``).

        Raises:
            TableNotFound: the table was never declared.
            ConditionFailed: ``condition`` does not hold; nothing was written.
            ValueError, TypeError: a key attribute is missing or of the wrong type, or a value
                cannot be stored (see :func:`encode_value`).
        """
        if not isinstance(item, Mapping):
            raise TypeError(f"an item is a mapping of attribute names to values, not {type(item).__name__}")
        with self.database.write() as db:
            schema = self._schema(db, table)
            pk, sk = _address(table, schema, item)
            entries = _index_entries(table, schema, item, strict=True)
            new = encode_value(dict(item))
            text = _dumps(new)
            old_text = _stored(db, table, pk, sk)
            old = json.loads(old_text) if old_text is not None else None
            _check_condition(table, decode_value(old) if old is not None else None, condition, "put")
            if old_text == text:
                return  # nothing changes, so no change is emitted (as on DynamoDB Streams)
            db.execute(
                "INSERT INTO items (tbl, pk, sk, item, expires) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (tbl, pk, sk) DO UPDATE SET item = excluded.item, expires = excluded.expires",
                (table, pk, sk, text, _expiry(schema, item)),
            )
            db.execute("DELETE FROM index_entries WHERE tbl = ? AND pk = ? AND sk = ?", (table, pk, sk))
            _insert_entries(db, table, entries, pk, sk)
            kind: ChangeKind = "insert" if old is None else "modify"
            self._route(db, table, schema, kind, pk, sk, old, new, self._clock())

    def delete(self, table: str, key: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Delete the item with this key and route its ``remove`` change; an absent item is no
        error (and no change) unless ``condition`` says otherwise.

        Raises:
            TableNotFound: the table was never declared.
            ConditionFailed: ``condition`` does not hold; nothing was deleted.
            ValueError: a key attribute is missing or of the wrong type.
        """
        with self.database.write() as db:
            schema = self._schema(db, table)
            pk, sk = _address(table, schema, key)
            old_text = _stored(db, table, pk, sk)
            old = json.loads(old_text) if old_text is not None else None
            _check_condition(table, decode_value(old) if old is not None else None, condition, "delete")
            if old is not None:
                self._remove(db, table, schema, pk, sk, old, self._clock())

    def _remove(
        self, db: sqlite3.Connection, table: str, schema: TableSchema, pk: KeyValue, sk: KeyValue, old: Any, at: float
    ) -> None:
        db.execute("DELETE FROM items WHERE tbl = ? AND pk = ? AND sk = ?", (table, pk, sk))
        db.execute("DELETE FROM index_entries WHERE tbl = ? AND pk = ? AND sk = ?", (table, pk, sk))
        self._route(db, table, schema, "remove", pk, sk, old, None, at)

    def _route(
        self,
        db: sqlite3.Connection,
        table: str,
        schema: TableSchema,
        kind: ChangeKind,
        pk: KeyValue,
        sk: KeyValue,
        old: Any,
        new: Any,
        at: float,
    ) -> None:
        sort = sk if schema.sort_key is not None else None
        key = {schema.partition_key: pk} | ({schema.sort_key: sk} if schema.sort_key is not None else {})
        body = _change_body(table, kind, key, old, new, at)
        self.routes.route_in(db, table_source(table), body, group=_group(pk, sort))

    # -- queries ----------------------------------------------------------------------------------

    def query(
        self,
        table: str,
        partition: Any,
        *,
        sort: Sort | None = None,
        index: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        descending: bool = False,
    ) -> Page:
        """One page of the items of one partition of the table (or of ``index``), in sort-key
        order (reversed when ``descending``); on an index, equal sort keys are ordered by the
        table's partition and sort key.

        The cursor is opaque and belongs to this query (table, index, partition, direction).
        As on DynamoDB, every full page carries a cursor, so a page that ends exactly at the
        last item has one, and the page after it is empty with none.

        Raises:
            TableNotFound: the table was never declared.
            ValueError: an unknown index, a sort condition where there is no sort key, a
                partition or sort value of the wrong type, ``begins_with`` on a number key,
                ``between`` with its bounds reversed, ``limit`` below 1, or a cursor this query
                did not return.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit={limit!r}: must be an integer of at least 1")
        db = self.database.connection()
        schema = self._schema(db, table)
        spec = schema.index(table, index) if index is not None else None
        partition_key = spec.partition_key if spec else schema.partition_key
        sort_key = spec.sort_key if spec else schema.sort_key
        if sort is not None and sort_key is None:
            owner = f"index '{index}'" if index is not None else f"table '{table}'"
            raise ValueError(f"{owner} has no sort key, so a sort condition cannot apply")
        value = _key_value(table, partition_key, partition, schema.key_type(partition_key))
        query = _Query(table, index, value, descending)
        after = query.decode_cursor(cursor, 1 if spec is None else 3) if cursor else None
        sql, params = self._select(query, schema, sort_key, sort, after, limit)
        rows = db.execute(sql, params).fetchall()
        items = [decode_value(json.loads(row[-1])) for row in rows]
        next_cursor = query.encode_cursor(list(rows[-1][:-1])) if len(rows) == limit else None
        return Page(items=items, cursor=next_cursor)

    def _select(
        self,
        query: _Query,
        schema: TableSchema,
        sort_key: str | None,
        sort: Sort | None,
        after: list[KeyValue] | None,
        limit: int,
    ) -> tuple[str, list[Any]]:
        """The SELECT of one page: position columns, then the item."""
        direction, past = ("DESC", "<") if query.descending else ("ASC", ">")
        if query.index is None:
            sql = "SELECT sk, item FROM items WHERE tbl = ? AND pk = ?"
            params: list[Any] = [query.table, query.partition]
            sort_column, position, order = "sk", "sk", [f"sk {direction}"]
        else:
            sql = (
                "SELECT e.isk, e.pk, e.sk, i.item FROM index_entries e "
                "JOIN items i ON i.tbl = e.tbl AND i.pk = e.pk AND i.sk = e.sk "
                "WHERE e.tbl = ? AND e.idx = ? AND e.ipk = ?"
            )
            params = [query.table, query.index, query.partition]
            # Equal index sort keys fall back on the table's key: a total order, so the cursor
            # (all three columns) resumes exactly, even in the middle of a run of ties.
            sort_column, position = "e.isk", "(e.isk, e.pk, e.sk)"
            order = [f"e.isk {direction}", f"e.pk {direction}", f"e.sk {direction}"]
        if sort is not None:
            assert sort_key is not None  # checked by query()
            condition, values = _sort_sql(query.table, sort_column, sort_key, schema.key_type(sort_key), sort)
            sql += condition
            params += values
        if after is not None:
            marks = ", ".join("?" * len(after))
            sql += f" AND {position} {past} ({marks})" if len(after) > 1 else f" AND {position} {past} ?"
            params += after
        sql += f" ORDER BY {', '.join(order)} LIMIT ?"
        params.append(limit)
        return sql, params

    # -- TTL --------------------------------------------------------------------------------------

    def expire(self, table: str, *, now: float | None = None) -> int:
        """Delete the items of ``table`` whose TTL attribute (epoch seconds) is at or before
        ``now`` (default: the clock), each with a ``remove`` change; return how many.

        Runs in transactions of :data:`EXPIRE_BATCH` items (an index on the expiry finds them
        without a scan), so a large sweep never holds the write lock for long.

        Raises:
            TableNotFound: the table was never declared.
        """
        at = self._clock() if now is None else now
        removed = 0
        while True:
            with self.database.write() as db:
                schema = self._schema(db, table)
                rows = db.execute(
                    "SELECT pk, sk, item FROM items WHERE tbl = ? AND expires IS NOT NULL AND expires <= ? "
                    "ORDER BY expires LIMIT ?",
                    (table, at, EXPIRE_BATCH),
                ).fetchall()
                for pk, sk, text in rows:
                    self._remove(db, table, schema, pk, sk, json.loads(text), at)
            removed += len(rows)
            if len(rows) < EXPIRE_BATCH:
                return removed


# --- helpers -------------------------------------------------------------------------------------


def _address(table: str, schema: TableSchema, key: Mapping[str, Any]) -> tuple[KeyValue, KeyValue]:
    """The stored (partition, sort) values of the item with this key."""
    if not isinstance(key, Mapping):
        raise TypeError(f"a key is a mapping of key attributes to values, not {type(key).__name__}")
    names = [schema.partition_key] + ([schema.sort_key] if schema.sort_key else [])
    missing = [name for name in names if name not in key]
    if missing:
        raise ValueError(f"table '{table}': the key needs {names}, missing {missing}")
    pk = _key_value(table, schema.partition_key, key[schema.partition_key], schema.key_type(schema.partition_key))
    if schema.sort_key is None:
        return pk, NO_SORT_KEY
    return pk, _key_value(table, schema.sort_key, key[schema.sort_key], schema.key_type(schema.sort_key))


def _stored(db: sqlite3.Connection, table: str, pk: KeyValue, sk: KeyValue) -> str | None:
    row = db.execute("SELECT item FROM items WHERE tbl = ? AND pk = ? AND sk = ?", (table, pk, sk)).fetchone()
    return row[0] if row is not None else None


def _expiry(schema: TableSchema, item: Mapping[str, Any]) -> float | None:
    """The item's expiry time, if its TTL attribute holds a number (else TTL ignores it, as
    on DynamoDB)."""
    if schema.ttl_attribute is None:
        return None
    value = item.get(schema.ttl_attribute)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) else None


def _index_entries(
    table: str, schema: TableSchema, item: Mapping[str, Any], *, strict: bool
) -> list[tuple[str, KeyValue, KeyValue]]:
    """(index, partition value, sort value) of every index the item belongs to: those whose
    key attributes it has. ``strict``: a wrong-typed index key is a ValueError (a write), else
    the item is left out of that index (a backfill)."""
    entries = []
    for index in schema.indexes:
        if index.partition_key not in item or (index.sort_key is not None and index.sort_key not in item):
            continue  # sparse: not in this index
        try:
            ipk = _key_value(
                table, index.partition_key, item[index.partition_key], schema.key_type(index.partition_key)
            )
            isk = (
                _key_value(table, index.sort_key, item[index.sort_key], schema.key_type(index.sort_key))
                if index.sort_key is not None
                else NO_SORT_KEY
            )
        except ValueError as exc:
            if strict:
                raise ValueError(f"{exc} (a key of index '{index.name}')") from None
            continue
        entries.append((index.name, ipk, isk))
    return entries


def _insert_entries(
    db: sqlite3.Connection, table: str, entries: Sequence[tuple[str, KeyValue, KeyValue]], pk: KeyValue, sk: KeyValue
) -> None:
    db.executemany(
        "INSERT INTO index_entries (tbl, idx, ipk, isk, pk, sk) VALUES (?, ?, ?, ?, ?, ?)",
        [(table, name, ipk, isk, pk, sk) for name, ipk, isk in entries],
    )


def _sort_sql(table: str, column: str, attribute: str, key_type: KeyType, sort: Sort) -> tuple[str, list[Any]]:
    """The SQL (`` AND ...``) and parameters of a sort condition on ``column``."""
    if sort.op == "begins_with":
        if key_type != "string" or not isinstance(sort.value, str):
            raise ValueError(
                f"table '{table}': begins_with needs a string sort key and a string prefix, "
                f"got '{attribute}' ({key_type}) and {sort.value!r}"
            )
        end = _prefix_end(sort.value)
        # A range, not LIKE/substr: it uses the key order (and so the primary key index).
        if end is None:
            return f" AND {column} >= ?", [sort.value]
        return f" AND {column} >= ? AND {column} < ?", [sort.value, end]
    low = _key_value(table, attribute, sort.value, key_type)
    if sort.op in _OPERATORS:
        return f" AND {column} {_OPERATORS[sort.op]} ?", [low]
    if sort.op == "between":
        high = _key_value(table, attribute, sort.upper, key_type)
        if cast(Any, low) > high:
            raise ValueError(f"table '{table}': between({low!r}, {high!r}) has its bounds reversed")
        return f" AND {column} BETWEEN ? AND ?", [low, high]
    raise ValueError(f"unknown sort condition {sort.op!r}")


@dataclass(frozen=True, slots=True)
class _Query:
    """What a cursor belongs to: one partition of a table or index, in one direction."""

    table: str
    index: str | None
    partition: KeyValue
    descending: bool

    def _identity(self) -> dict[str, Any]:
        return {"table": self.table, "index": self.index, "partition": self.partition, "descending": self.descending}

    def encode_cursor(self, position: list[KeyValue]) -> str:
        """An opaque cursor: after ``position`` (the last item's sort columns) in this query."""
        raw = json.dumps({"v": 1, **self._identity(), "after": position}, separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")

    def decode_cursor(self, cursor: str, width: int) -> list[KeyValue]:
        """The position a cursor of this query resumes after.

        Raises:
            ValueError: not a cursor :meth:`encode_cursor` made, or one of another query.
        """
        try:
            raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
            decoded = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError, UnicodeError, AttributeError):
            decoded = None
        after = decoded.get("after") if isinstance(decoded, dict) else None
        if (
            not isinstance(decoded, dict)
            or decoded.get("v") != 1
            or not isinstance(after, list)
            or len(after) != width
            or not all(isinstance(value, str | int | float) and not isinstance(value, bool) for value in after)
        ):
            raise ValueError(f"not a cursor returned by query(): {cursor!r}")
        theirs = {name: decoded.get(name) for name in ("table", "index", "partition", "descending")}
        if not _identical(theirs, self._identity()):
            raise ValueError(
                f"this cursor belongs to another query ({theirs}), not to this one ({self._identity()}): "
                "pass each query its own cursor"
            )
        return after


def _identical(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal, with types: a cursor of partition 1 is not one of partition 1.0 or True."""
    return a.keys() == b.keys() and all(type(a[k]) is type(b[k]) and a[k] == b[k] for k in a)
