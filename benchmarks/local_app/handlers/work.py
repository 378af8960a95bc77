"""The benchmark's handlers: trivial work, so the numbers measure the platform around them.

``consume`` is also what the moto side of ``benchmarks/local_dev.py`` calls on each batch it
receives from SQS (as a :class:`QueueBatch` built from the SQS messages), so both sides run
the same handler code.
"""

from __future__ import annotations

import json

from components.runtime import Context, HttpRequest, QueueBatch

BODY = "hello from omnicloud\n"
"""What ``hello`` answers, and what the bare HTTP server of the benchmark answers too."""


def consume(batch: QueueBatch, ctx: Context) -> None:
    """Parse each message's JSON; nothing fails, so every message is deleted."""
    for message in batch.messages:
        json.loads(message.body)


def hello(event: HttpRequest, ctx: Context) -> str:
    return BODY
