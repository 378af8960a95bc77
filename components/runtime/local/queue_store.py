"""A durable queue engine on one SQLite file: the storage behind the ``local`` target's queues.

One :class:`QueueStore` file holds any number of queues. Every queue declared with
:meth:`QueueStore.declare` gets a dead-letter queue named ``<name>-dlq``, as on the clouds.

Semantics (SQS's where the clouds differ; see the notes on each method):

* **At-least-once delivery.** :meth:`~QueueStore.receive` hides each message for the queue's
  visibility timeout and hands out a *receipt*; :meth:`~QueueStore.ack` with that receipt
  deletes it, :meth:`~QueueStore.release` makes it visible again at once (or after a delay).
  A message not acked in time is delivered again, with a new receipt; the old one is stale.
* **Dead letters.** A receive that would deliver a message for the ``max_receive_count + 1``-th
  time moves it to ``<name>-dlq`` instead, in the same transaction.
* **FIFO.** Messages carry a group; a group is delivered in send order and is blocked while any
  of its messages is invisible (in flight, or released with a delay), so at most one batch
  per group is in flight. ``dedup_id`` drops repeats of a send for five minutes.
* **Retention.** A message older than ``retention_s`` is dropped when its queue is received from.

Durability and concurrency: the store lives on a :class:`~.database.Database` (WAL,
``synchronous=FULL``), so a ``send`` that returned is on disk and survives ``kill -9`` and power
loss. Every state change is one ``BEGIN IMMEDIATE`` transaction, so a crash anywhere leaves each
message exactly once in storage: visible, invisible with a receipt, acked (gone) or
dead-lettered. Dead-lettering moves the row (one ``UPDATE``), so it cannot be both lost and
duplicated. :meth:`QueueStore.send_in` joins a caller's transaction, so another store's write and
the messages it causes (a table's change events, a bus's routed events) commit together.

Times are seconds since the epoch as floats, from ``clock`` (default :func:`time.time`); every
method that depends on time also takes ``now=`` so tests can drive visibility and delays
without sleeping.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from components.runtime.local.database import Database

__all__ = [
    "DEAD_LETTER_RETENTION_S",
    "DEAD_LETTER_SUFFIX",
    "DEDUP_WINDOW_S",
    "Depth",
    "Message",
    "QueueNotFound",
    "QueueSettings",
    "QueueStore",
    "Received",
    "StaleReceipt",
]

DEAD_LETTER_SUFFIX = "-dlq"
"""``declare("jobs", ...)`` also declares ``jobs-dlq``."""

DEAD_LETTER_RETENTION_S = 14 * 86400
"""How long dead letters are kept: the AWS provider's DLQ retention (SQS's maximum)."""

DEDUP_WINDOW_S = 300.0
"""SQS FIFO's deduplication interval: a repeated ``dedup_id`` is dropped for five minutes."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    visibility_timeout_s REAL NOT NULL,
    max_receive_count INTEGER,          -- NULL: never dead-letters (a dead-letter queue)
    delay_s REAL NOT NULL,
    fifo INTEGER NOT NULL,
    retention_s REAL NOT NULL,
    max_message_bytes INTEGER NOT NULL,
    dead_letter_queue TEXT              -- NULL on a dead-letter queue
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,            -- send order, by which FIFO groups are delivered
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,           -- JSON object of str -> str
    grp TEXT,
    sent_at REAL NOT NULL,
    visible_at REAL NOT NULL,           -- hidden (delayed or in flight) until then
    expires_at REAL NOT NULL,
    receive_count INTEGER NOT NULL,
    receipt TEXT                        -- the latest delivery's receipt, NULL once released
);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue, seq);
CREATE INDEX IF NOT EXISTS messages_by_group ON messages (queue, grp, visible_at);
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (queue, expires_at);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_receipt ON messages (receipt);
CREATE TABLE IF NOT EXISTS dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);
"""

_PAGE = 100
"""Candidates read per query while filling a batch."""

_COLUMNS = "seq, id, body, attributes, grp, sent_at, receive_count"


class QueueNotFound(LookupError):
    """The queue was never declared in this store."""


class StaleReceipt(LookupError):
    """The receipt no longer names the caller's delivery of a message.

    The message was received again after its visibility timeout expired, released, acked,
    dead-lettered or dropped by retention. Its current holder (if any) owns it now.
    """


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """One queue's settings, as declared."""

    name: str
    visibility_timeout_s: float
    max_receive_count: int | None
    """``None`` on a dead-letter queue: its messages are never dead-lettered again."""
    delay_s: float
    fifo: bool
    retention_s: float
    max_message_bytes: int
    dead_letter_queue: str | None
    """``<name>-dlq``, or ``None`` on a dead-letter queue."""


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message (see :meth:`QueueStore.dead_letters`)."""

    id: str
    body: str
    attributes: dict[str, str]
    receive_count: int
    """Deliveries so far; a dead letter keeps the count it reached in its source queue."""
    sent_at: float
    """When the original ``send`` was accepted (clock seconds)."""
    group: str | None = None
    """The FIFO group, on FIFO queues."""


@dataclass(frozen=True, slots=True)
class Received(Message):
    """One delivery from :meth:`QueueStore.receive`; ``receipt`` acks or releases it."""

    receipt: str = ""


@dataclass(frozen=True, slots=True)
class Depth:
    """How many messages a queue holds, by state (SQS's three ``ApproximateNumberOf...``)."""

    visible: int = 0
    """Ready to be received now."""
    in_flight: int = 0
    """Received and not yet acked, released or timed out."""
    delayed: int = 0
    """Sent or released with a delay that has not elapsed."""

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


class QueueStore:
    """Queues in one SQLite file, safe for several threads and processes at once.

    Args:
        path: The database file; created (with its schema) if missing.
        clock: Returns the current time in seconds; replace it to test without sleeping.
        busy_timeout_s: How long a writer waits for another one's transaction to end before
            ``sqlite3.OperationalError: database is locked``. Transactions here are short
            (one fsync each), so the default is generous.
    """

    def __init__(
        self,
        path: str | Path | Database,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.database = path if isinstance(path, Database) else Database(path, busy_timeout_s=busy_timeout_s)
        self.path = self.database.path
        self._clock = clock
        self.database.create_schema(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return self.database.connection()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.database.write()

    def close(self) -> None:
        """Close the database's connections (in every thread). Idempotent."""
        self.database.close()

    def __enter__(self) -> QueueStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    # -- queues --------------------------------------------------------------------------------

    def declare(
        self,
        name: str,
        *,
        visibility_timeout_s: float,
        max_receive_count: int,
        delay_s: float = 0,
        fifo: bool = False,
        retention_s: float,
        max_message_kb: int = 256,
    ) -> QueueSettings:
        """Create queue ``name`` and its dead-letter queue ``<name>-dlq``, or update their settings.

        Idempotent: declaring again with the same settings changes nothing; with other
        settings it updates them (as a Pulumi update would), and messages already queued keep
        the visibility and expiry they were given. The limits of :class:`components.QueueArgs`
        are checked there; here only values that make no sense are refused.

        Raises:
            ValueError: a value out of range; ``fifo`` differs from the existing queue's (no
                cloud converts a queue in place); ``name`` or its ``-dlq`` is already used by a
                queue of the other role (a queue cannot also be another's dead-letter queue).
        """
        if not name:
            raise ValueError("queue name must not be empty")
        for label, value, low in (
            ("visibility_timeout_s", visibility_timeout_s, 0),
            ("delay_s", delay_s, 0),
            ("max_receive_count", max_receive_count, 1),
            ("max_message_kb", max_message_kb, 1),
        ):
            if value < low:
                raise ValueError(f"queue '{name}': {label}={value} must be at least {low}")
        if retention_s <= 0:
            raise ValueError(f"queue '{name}': retention_s={retention_s} must be positive")
        dlq = name + DEAD_LETTER_SUFFIX
        max_bytes = max_message_kb * 1024
        settings = QueueSettings(
            name, visibility_timeout_s, max_receive_count, delay_s, fifo, retention_s, max_bytes, dlq
        )
        # The DLQ mirrors the source (FIFO stays FIFO, as SQS requires) but never dead-letters.
        dead = QueueSettings(dlq, visibility_timeout_s, None, 0, fifo, DEAD_LETTER_RETENTION_S, max_bytes, None)
        with self._write() as db:
            for wanted in (settings, dead):
                existing = self._settings(db, wanted.name)
                if existing is not None:
                    if existing.fifo != wanted.fifo:
                        raise ValueError(
                            f"queue '{wanted.name}' exists with fifo={existing.fifo}; a queue cannot change "
                            "between FIFO and standard (use a new name)"
                        )
                    if (existing.dead_letter_queue is None) != (wanted.dead_letter_queue is None):
                        role = "a dead-letter queue" if existing.dead_letter_queue is None else "a source queue"
                        raise ValueError(f"queue '{wanted.name}' already exists as {role}; choose another name")
                db.execute(
                    "INSERT INTO queues VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                    "visibility_timeout_s = excluded.visibility_timeout_s, "
                    "max_receive_count = excluded.max_receive_count, delay_s = excluded.delay_s, "
                    "retention_s = excluded.retention_s, max_message_bytes = excluded.max_message_bytes, "
                    "dead_letter_queue = excluded.dead_letter_queue",
                    (
                        wanted.name,
                        wanted.visibility_timeout_s,
                        wanted.max_receive_count,
                        wanted.delay_s,
                        int(wanted.fifo),
                        wanted.retention_s,
                        wanted.max_message_bytes,
                        wanted.dead_letter_queue,
                    ),
                )
        return settings

    def settings(self, name: str) -> QueueSettings:
        """The settings of queue ``name`` (a dead-letter queue's too).

        Raises:
            QueueNotFound: ``name`` was never declared.
        """
        found = self._settings(self._conn(), name)
        if found is None:
            raise QueueNotFound(self._not_found(name))
        return found

    def queues(self) -> list[str]:
        """Every queue in the file, dead-letter queues included, sorted by name."""
        return [row[0] for row in self._conn().execute("SELECT name FROM queues ORDER BY name")]

    @staticmethod
    def _settings(db: sqlite3.Connection, name: str) -> QueueSettings | None:
        row = db.execute(
            "SELECT name, visibility_timeout_s, max_receive_count, delay_s, fifo, retention_s, "
            "max_message_bytes, dead_letter_queue FROM queues WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return QueueSettings(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7])

    def _require(self, db: sqlite3.Connection, name: str) -> QueueSettings:
        found = self._settings(db, name)
        if found is None:
            raise QueueNotFound(self._not_found(name))
        return found

    def _not_found(self, name: str) -> str:
        return f"queue '{name}' is not declared in {self.path} (declare it first)"

    # -- messages ------------------------------------------------------------------------------

    def send(
        self,
        name: str,
        body: str,
        *,
        attributes: Mapping[str, str] | None = None,
        delay_s: float | None = None,
        group: str | None = None,
        dedup_id: str | None = None,
        now: float | None = None,
    ) -> str:
        """Queue ``body``; return the message id once it is durably stored.

        ``delay_s`` overrides the queue's delay for this message (``None``: the queue's).
        On a FIFO queue ``group`` is required and ``dedup_id`` optional: a send repeating a
        ``dedup_id`` accepted in the last :data:`DEDUP_WINDOW_S` seconds stores nothing and
        returns the first send's id (SQS: the window runs from the first send and is not
        extended by repeats, and it outlives the message being acked).

        Raises:
            QueueNotFound: the queue was never declared.
            ValueError: ``group`` or ``dedup_id`` on a standard queue, no ``group`` on a FIFO
                one, a per-message ``delay_s`` on a FIFO queue (SQS has none there: the
                queue's ``delay_s`` applies), a negative delay, a body over the queue's
                ``max_message_kb`` (UTF-8 bytes plus attributes, as SQS counts), or
                attributes that are not ``str`` to ``str``.
        """
        with self._write() as db:
            return self.send_in(
                db, name, body, attributes=attributes, delay_s=delay_s, group=group, dedup_id=dedup_id, now=now
            )

    def send_in(
        self,
        db: sqlite3.Connection,
        name: str,
        body: str,
        *,
        attributes: Mapping[str, str] | None = None,
        delay_s: float | None = None,
        group: str | None = None,
        dedup_id: str | None = None,
        now: float | None = None,
    ) -> str:
        """:meth:`send` inside the caller's open write transaction ``db`` (from
        ``self.database.write()``): the message is stored when, and only if, that commits."""
        at = self._now(now)
        attrs = dict(attributes or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
            raise ValueError(f"queue '{name}': attributes must map str to str, got {attrs!r}")
        if delay_s is not None and delay_s < 0:
            raise ValueError(f"queue '{name}': delay_s={delay_s} must be at least 0")
        encoded = json.dumps(attrs, sort_keys=True, separators=(",", ":"))
        size = len(body.encode()) + sum(len(k.encode()) + len(v.encode()) for k, v in attrs.items())
        queue = self._require(db, name)
        if queue.fifo:
            if not group:
                raise ValueError(f"queue '{name}' is FIFO: send(..., group=...) is required")
            if delay_s:
                raise ValueError(
                    f"queue '{name}' is FIFO: there is no per-message delay on FIFO queues "
                    "(declare the queue with delay_s instead)"
                )
        else:
            if group is not None:
                raise ValueError(f"queue '{name}' is not FIFO, so it would not order by group={group!r}")
            if dedup_id is not None:
                raise ValueError(f"queue '{name}' is not FIFO: dedup_id only de-duplicates on FIFO queues")
        if size > queue.max_message_bytes:
            raise ValueError(f"queue '{name}': message is {size} bytes, over the queue's {queue.max_message_bytes}")
        if dedup_id is not None:
            db.execute("DELETE FROM dedup WHERE queue = ? AND expires_at <= ?", (name, at))
            seen = db.execute(
                "SELECT message_id FROM dedup WHERE queue = ? AND dedup_id = ?", (name, dedup_id)
            ).fetchone()
            if seen is not None:
                return seen[0]
        message_id = str(uuid.uuid4())
        delay = queue.delay_s if delay_s is None else delay_s
        db.execute(
            "INSERT INTO messages (id, queue, body, attributes, grp, sent_at, visible_at, expires_at, "
            "receive_count, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)",
            (message_id, name, body, encoded, group, at, at + delay, at + queue.retention_s),
        )
        if dedup_id is not None:
            db.execute("INSERT INTO dedup VALUES (?, ?, ?, ?)", (name, dedup_id, message_id, at + DEDUP_WINDOW_S))
        return message_id

    def receive(self, name: str, max_messages: int = 10, *, now: float | None = None) -> list[Received]:
        """Deliver up to ``max_messages`` visible messages, oldest first, hiding each for the
        queue's visibility timeout.

        Each delivery increments ``receive_count`` and gets a fresh receipt. A message whose
        count would exceed ``max_receive_count`` moves to ``<name>-dlq`` in this same
        transaction and is not returned; expired messages (older than ``retention_s``) are
        deleted first. On a FIFO queue only groups with no invisible message are served, each
        in send order, so a group has at most one batch in flight.

        Raises:
            QueueNotFound: the queue was never declared.
            ValueError: ``max_messages`` below 1.
        """
        if max_messages < 1:
            raise ValueError(f"max_messages={max_messages} must be at least 1")
        at = self._now(now)
        delivered: list[Received] = []
        with self._write() as db:
            queue = self._require(db, name)
            db.execute("DELETE FROM messages WHERE queue = ? AND expires_at <= ?", (name, at))
            dead = self._settings(db, queue.dead_letter_queue) if queue.dead_letter_queue else None
            blocked: set[str] = set()
            if queue.fifo:
                # A group with any invisible message (in flight or released with a delay) is
                # blocked: delivering a later message would break its order. Computed once,
                # before this batch, so a group can contribute several messages to it.
                blocked = {
                    grp
                    for (grp,) in db.execute(
                        "SELECT DISTINCT grp FROM messages WHERE queue = ? AND visible_at > ?", (name, at)
                    )
                }
            last_seq = -1
            # Page through candidates by seq: dead-lettered and blocked ones do not fill the
            # batch, and the seq cursor (not visibility) keeps a 0 s visibility timeout from
            # repeating a message within one batch.
            while len(delivered) < max_messages:
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM messages WHERE queue = ? AND visible_at <= ? AND seq > ? "
                    "ORDER BY seq LIMIT ?",
                    (name, at, last_seq, max(max_messages - len(delivered), _PAGE)),
                ).fetchall()
                if not rows:
                    break
                for seq, message_id, body, attributes, grp, sent_at, count in rows:
                    if len(delivered) == max_messages:
                        break
                    last_seq = seq
                    if grp in blocked:
                        continue
                    if queue.max_receive_count is not None and count + 1 > queue.max_receive_count:
                        assert dead is not None  # every source queue has its DLQ, declared together
                        db.execute(
                            "UPDATE messages SET queue = ?, visible_at = ?, expires_at = ?, receipt = NULL "
                            "WHERE seq = ?",
                            (dead.name, at, at + dead.retention_s, seq),
                        )
                        continue
                    receipt = f"{message_id}:{uuid.uuid4().hex}"
                    db.execute(
                        "UPDATE messages SET receive_count = ?, receipt = ?, visible_at = ? WHERE seq = ?",
                        (count + 1, receipt, at + queue.visibility_timeout_s, seq),
                    )
                    delivered.append(
                        Received(message_id, body, json.loads(attributes), count + 1, sent_at, grp, receipt)
                    )
        return delivered

    def ack(self, name: str, receipt: str) -> None:
        """Delete the message delivered with ``receipt``: it has been handled.

        A receipt stays valid after its visibility timeout as long as nobody received the
        message again (SQS's behaviour), so a slow consumer's ack still lands when it can.

        Raises:
            StaleReceipt: the receipt is not the message's current one (see its docstring).
            QueueNotFound: the queue was never declared.
        """
        with self._write() as db:
            self._require(db, name)
            gone = db.execute("DELETE FROM messages WHERE queue = ? AND receipt = ?", (name, receipt)).rowcount
            if not gone:
                raise StaleReceipt(self._why_stale(db, name, receipt, "ack"))

    def ack_many(self, name: str, receipts: list[str]) -> list[str]:
        """:meth:`ack` several deliveries in one transaction (one fsync for a whole batch, as
        SQS's ``DeleteMessageBatch``); returns the receipts that were stale, whose messages were
        left alone.

        Raises:
            QueueNotFound: the queue was never declared.
        """
        stale = []
        with self._write() as db:
            self._require(db, name)
            for receipt in receipts:
                if not db.execute("DELETE FROM messages WHERE queue = ? AND receipt = ?", (name, receipt)).rowcount:
                    stale.append(receipt)
        return stale

    def release(self, name: str, receipt: str, *, delay_s: float = 0, now: float | None = None) -> None:
        """Give a received message back: visible again after ``delay_s`` (0: at once).

        For the failed messages of a partly handled batch (SQS ``ChangeMessageVisibility``,
        Service Bus abandon, Pub/Sub nack). The delivery still counts toward
        ``max_receive_count``, and ``receipt`` becomes stale.

        Raises:
            StaleReceipt: the receipt is not the message's current one.
            QueueNotFound: the queue was never declared.
            ValueError: a negative ``delay_s``.
        """
        if delay_s < 0:
            raise ValueError(f"delay_s={delay_s} must be at least 0")
        at = self._now(now)
        with self._write() as db:
            self._require(db, name)
            changed = db.execute(
                "UPDATE messages SET visible_at = ?, receipt = NULL WHERE queue = ? AND receipt = ?",
                (at + delay_s, name, receipt),
            ).rowcount
            if not changed:
                raise StaleReceipt(self._why_stale(db, name, receipt, "release"))

    def release_in_flight(self, name: str, *, now: float | None = None) -> int:
        """Make every in-flight message of queue ``name`` visible at once; return how many.

        For a consumer that restarts knowing no earlier delivery can still be running (the
        local server holds its data directory's lock, so whatever was in flight belonged to a
        process that is gone): its work resumes now instead of after the visibility timeout.
        The interrupted deliveries still count toward ``max_receive_count``.

        Raises:
            QueueNotFound: the queue was never declared.
        """
        at = self._now(now)
        with self._write() as db:
            self._require(db, name)
            return db.execute(
                "UPDATE messages SET visible_at = ?, receipt = NULL WHERE queue = ? AND receipt IS NOT NULL "
                "AND visible_at > ?",
                (at, name, at),
            ).rowcount

    @staticmethod
    def _why_stale(db: sqlite3.Connection, name: str, receipt: str, verb: str) -> str:
        message_id = receipt.partition(":")[0]
        row = db.execute("SELECT queue, receipt FROM messages WHERE id = ?", (message_id,)).fetchone()
        prefix = f"cannot {verb} on queue '{name}': receipt {receipt!r} is stale:"
        if row is None:
            return f"{prefix} message {message_id!r} is no longer stored (already acked, or expired by retention)"
        queue, current = row
        if queue != name:
            return f"{prefix} message {message_id!r} is in queue '{queue}' (dead-lettered, or another queue's)"
        if current is None:
            return f"{prefix} message {message_id!r} was released and is waiting to be received again"
        return (
            f"{prefix} message {message_id!r} was received again after its visibility timeout expired; "
            "the new receiver owns it"
        )

    # -- inspection ----------------------------------------------------------------------------

    def depth(self, name: str, *, now: float | None = None) -> Depth:
        """How many unexpired messages queue ``name`` holds, by state.

        Raises:
            QueueNotFound: the queue was never declared.
        """
        at = self._now(now)
        db = self._conn()
        self._require(db, name)
        # One statement: a consistent snapshot even while other connections write.
        visible, in_flight, delayed = db.execute(
            "SELECT "
            "COALESCE(SUM(visible_at <= ?), 0), "
            "COALESCE(SUM(visible_at > ? AND receipt IS NOT NULL), 0), "
            "COALESCE(SUM(visible_at > ? AND receipt IS NULL), 0) "
            "FROM messages WHERE queue = ? AND expires_at > ?",
            (at, at, at, name, at),
        ).fetchone()
        return Depth(visible, in_flight, delayed)

    def dead_letters(self, name: str, *, now: float | None = None) -> list[Message]:
        """The messages dead-lettered from queue ``name`` (read from ``<name>-dlq`` without
        receiving them), in the order they were first sent.

        Raises:
            QueueNotFound: ``name`` was never declared.
            ValueError: ``name`` is itself a dead-letter queue.
        """
        at = self._now(now)
        db = self._conn()
        queue = self._require(db, name)
        if queue.dead_letter_queue is None:
            raise ValueError(f"queue '{name}' is a dead-letter queue; it has no dead-letter queue of its own")
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE queue = ? AND expires_at > ? ORDER BY seq",
            (queue.dead_letter_queue, at),
        ).fetchall()
        return [
            Message(message_id, body, json.loads(attributes), count, sent_at, grp)
            for _, message_id, body, attributes, grp, sent_at, count in rows
        ]
