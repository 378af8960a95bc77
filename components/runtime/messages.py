"""The portable event types of queues, buses and tables.

Handlers receive them exactly as they receive :class:`~components.runtime.HttpRequest`:

* :class:`QueueBatch` → return the ``id`` of every message that failed (an iterable of str),
  or None when all succeeded; only the failed ones are retried, and each is dead-lettered
  after the queue's ``max_receive_count``. An exception fails the whole batch.
* :class:`Event` (CloudEvents 1.0) → return value ignored; an exception retries the event
  (then dead-letters it).
* :class:`TableChange` → one change per call, in order per item; an exception stops the
  stream at that change and retries from it.

Standard library only, like the rest of :mod:`components.runtime`.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["ChangeKind", "Event", "QueueBatch", "QueueMessage", "TableChange"]

ChangeKind = Literal["insert", "modify", "remove"]


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One queued message.

    Attributes:
        id: The id to return from a batch handler when this message failed.
        body: The message text (a dict/list sent with ``send`` arrives as JSON text).
        attributes: String attributes sent with the message.
        receive_count: How many times it has been delivered, this time included (1 = first).
        sent_at: When it was sent, if the cloud says.
        group: The FIFO message group, for FIFO queues.
    """

    id: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    receive_count: int = 1
    sent_at: datetime | None = None
    group: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.body)


@dataclass(frozen=True, slots=True)
class QueueBatch:
    """Messages delivered together from the queue named ``queue`` (the logical name)."""

    queue: str
    messages: tuple[QueueMessage, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """A CloudEvents 1.0 event.

    Attributes:
        id: Unique per source.
        source: Who emitted it, e.g. ``"shop/api"``.
        type: What happened, e.g. ``"order.created"``.
        subject: What it is about, e.g. ``"order/42"``, if given.
        time: When it happened, if given (timezone-aware).
        data: The JSON payload.
    """

    id: str
    source: str
    type: str
    subject: str | None = None
    time: datetime | None = None
    data: Any = None
    specversion: str = "1.0"
    datacontenttype: str = "application/json"

    def to_dict(self) -> dict[str, Any]:
        """The event in CloudEvents JSON form (attributes that are None left out)."""
        out: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "datacontenttype": self.datacontenttype,
            "data": self.data,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        if self.time is not None:
            out["time"] = self.time.isoformat().replace("+00:00", "Z")
        return out


@dataclass(frozen=True, slots=True)
class TableChange:
    """One item of table ``table`` was inserted, modified or removed.

    Attributes:
        kind: ``"insert"``, ``"modify"`` or ``"remove"``.
        key: The item's key attributes.
        old: The item before the change (None for inserts).
        new: The item after the change (None for removals).
        id: The change's id in the cloud's feed.
        time: When the change happened, if the cloud says.
    """

    table: str
    kind: ChangeKind
    key: Mapping[str, Any]
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    id: str = ""
    time: datetime | None = None
