"""Fan-out inside the local database: who receives a bus's events and a table's changes.

The dev server writes one :class:`Route` per delivery target when it starts (a bus
subscription, a table's ``on_change`` listener, each backed by its own queue in the
:class:`~.queue_store.QueueStore`). Publishing an event or writing an item then *routes* inside
the caller's transaction: every matching route gets a message in its queue, committed together
with the write, so nothing is lost between "accepted" and "queued", and the queue's retries and
dead-lettering apply to every delivery the same way.

Matching uses :func:`components.patterns.matches`, the reference semantics every cloud's
compiled filter is tested against.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.patterns import Pattern, matches, parse_pattern
from components.runtime.local.queue_store import QueueStore

__all__ = ["Route", "Routes", "bus_source", "table_source"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS routes (
    source TEXT NOT NULL,               -- 'bus:<name>' or 'table:<name>'
    queue TEXT NOT NULL,                -- the delivery queue of one subscriber
    pattern TEXT,                       -- JSON event pattern, NULL for everything
    PRIMARY KEY (source, queue)
)
"""


def bus_source(bus: str) -> str:
    return f"bus:{bus}"


def table_source(table: str) -> str:
    return f"table:{table}"


@dataclass(frozen=True)
class Route:
    """Deliver what ``source`` emits (and ``pattern`` matches) to ``queue``."""

    queue: str
    pattern: Mapping[str, Any] | None = None


class Routes:
    """The route table, on the same database as the queues it fills."""

    def __init__(self, queues: QueueStore) -> None:
        self.queues = queues
        self.database = queues.database
        self.database.create_schema(_SCHEMA)
        self._parsed: dict[str, Pattern] = {}

    def replace(self, source: str, routes: Sequence[Route]) -> None:
        """Make ``routes`` the whole route list of ``source`` (what the program declares now)."""
        with self.database.write() as db:
            db.execute("DELETE FROM routes WHERE source = ?", (source,))
            for route in routes:
                self.queues.settings(route.queue)  # the queue must exist: QueueNotFound otherwise
                pattern = json.dumps(route.pattern, sort_keys=True) if route.pattern is not None else None
                db.execute("INSERT INTO routes VALUES (?, ?, ?)", (source, route.queue, pattern))

    def route_in(
        self,
        db: sqlite3.Connection,
        source: str,
        body: str,
        *,
        event: Mapping[str, Any] | None = None,
        group: str | None = None,
        now: float | None = None,
    ) -> list[str]:
        """Queue ``body`` for every route of ``source`` whose pattern matches ``event`` (a route
        without a pattern takes everything), inside the open write transaction ``db``.
        Returns the queues it went to (none: nobody listens, and it is dropped, as on a cloud)."""
        delivered = []
        for queue, pattern in db.execute("SELECT queue, pattern FROM routes WHERE source = ?", (source,)).fetchall():
            if pattern is not None and (event is None or not matches(self._pattern(pattern), event)):
                continue
            self.queues.send_in(db, queue, body, group=group, now=now)
            delivered.append(queue)
        return delivered

    def _pattern(self, text: str) -> Pattern:
        parsed = self._parsed.get(text)
        if parsed is None:
            parsed = self._parsed[text] = parse_pattern(json.loads(text))
        return parsed
