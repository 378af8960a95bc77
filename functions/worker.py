"""The example app's worker: fulfils queued jobs and reacts to order events."""

from __future__ import annotations

import logging

from components import runtime
from components.runtime import Context, Event, QueueBatch

log = logging.getLogger(__name__)


def handle(event: QueueBatch | Event, ctx: Context) -> list[str] | None:
    """Jobs from the ``jobs`` queue and ``order.created`` events from the bus."""
    if isinstance(event, QueueBatch):
        return fulfil(event)
    log.info("order event %s for %s", event.type, event.subject)
    record_event(event)
    return None


def fulfil(batch: QueueBatch) -> list[str]:
    """Mark each job's order fulfilled; return the ids of the jobs that failed (retried alone)."""
    failed = []
    orders = runtime.table("orders")
    for message in batch.messages:
        job = message.json()
        key = {"pk": f"order#{job['order_id']}", "sk": "order"}
        order = orders.get(key)
        if order is None:
            failed.append(message.id)  # the write may not be visible yet: retry this one only
            continue
        orders.put({**order, "status": "fulfilled"})
    return failed


def record_event(event: Event) -> None:
    """Note on the order that its event arrived (``sk`` ``event#<type>``): proof of delivery."""
    order_id = event.data["order_id"]
    runtime.table("orders").put(
        {"pk": f"order#{order_id}", "sk": f"event#{event.type}", "event_id": event.id, "source": event.source}
    )
