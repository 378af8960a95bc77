"""Records each message's number in ``handled``; reports poison messages as failed."""

from __future__ import annotations

from components import runtime
from components.runtime import Context, QueueBatch


def handle(batch: QueueBatch, ctx: Context) -> list[str]:
    table = runtime.table("handled")
    failed = []
    for message in batch.messages:
        body = message.json()
        if body.get("poison"):
            failed.append(message.id)
            continue
        table.put({"n": body["n"], "attempt": message.receive_count})
    return failed
