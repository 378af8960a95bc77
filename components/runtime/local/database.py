"""The one SQLite file behind a local stack: connections, durability settings, transactions.

Every local store (:mod:`.queue_store`, :mod:`.table_store`, :mod:`.routing`,
:mod:`.workflow_store`) works on a :class:`Database`, so a table write and the change events it
routes to listener queues commit in **one** transaction: a crash can lose neither half.

The file runs in WAL mode with ``synchronous=FULL``: a transaction that committed is on disk and
survives ``kill -9`` and power loss. A :class:`Database` opens **one connection per thread** (no
Python-level lock): SQLite's file locks and a busy timeout serialise writers across threads and
processes alike, so the dev server and every handler process may use one file at once. Do not
carry a :class:`Database` across ``fork()``: open a new one in the child.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Database", "open_database"]


class _Connections(threading.local):
    conn: sqlite3.Connection | None = None


class Database:
    """One SQLite file, safe for several threads and processes at once.

    Args:
        path: The database file; created if missing (its directory too).
        busy_timeout_s: How long a writer waits for another one's transaction to end before
            ``sqlite3.OperationalError: database is locked``. Transactions here are short (one
            fsync each), so the default is generous.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        self._local = _Connections()
        # Every connection opened, so close() can close the other threads' ones too.
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: reads see the latest committed state)."""
        if self._closed:
            raise RuntimeError(f"Database({str(self.path)!r}) is closed")
        conn = self._local.conn
        if conn is None:
            # isolation_level=None: the sqlite3 module opens no implicit transactions; each
            # state change opens its own BEGIN IMMEDIATE. check_same_thread=False only so
            # close() may close this connection from another thread; it is never shared.
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            # WAL: readers never block the writer. Persistent in the file; setting it again is a
            # no-op. FULL: fsync the WAL on every commit, so an accepted write survives power
            # loss, not only a crash of this process (NORMAL would only survive the latter).
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock up front, so two writers never
        both read and then deadlock upgrading to write; the loser waits (busy timeout).

        Not re-entrant: code that must join a caller's transaction takes its connection.
        """
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def create_schema(self, schema: str) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements (``;``-separated, no ``;`` in comments)
        in one transaction, so concurrent openers are safe."""
        with self.write() as db:
            # Split by hand: executescript() would COMMIT the transaction first.
            for statement in schema.split(";"):
                if statement.strip():
                    db.execute(statement)

    def close(self) -> None:
        """Close every connection this object opened (in any thread). Idempotent."""
        self._closed = True
        with self._all_lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()


_OPEN: dict[Path, Database] = {}
_OPEN_LOCK = threading.Lock()


def open_database(path: str | Path) -> Database:
    """The process-wide :class:`Database` of ``path`` (one per file, shared by every store and
    client in this process, so they reuse connections)."""
    resolved = Path(path).resolve()
    with _OPEN_LOCK:
        found = _OPEN.get(resolved)
        if found is None or found._closed:
            found = _OPEN[resolved] = Database(resolved)
        return found
