"""Producer and consumer processes for the local queue store's crash test.

Run as ``python -m tests.runtime.local_queue_crash_worker produce|consume ...``; the test kills
them with SIGKILL at random moments and starts them again. Both keep their progress in
append-only files, written with one ``os.write`` per line, which a SIGKILL cannot lose once
the call returned (the page cache belongs to the kernel, not the process):

* ``produce DB ACCEPTED N``: sends ``m0`` .. ``m<N-1>``, appending ``<index> <message id>`` to
  ACCEPTED only after ``send`` returned; on restart it resumes after the last recorded index.
  A message sent but not yet recorded when the kill came is simply sent again (at-least-once).
* ``consume DB PROCESSED SEED``: receives forever; each message is "handled" by appending its
  id to PROCESSED *before* the ack (so an acked message is always recorded), or, with
  probability ``FAIL_RATE``, released as failed, which drives some messages to the DLQ.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from components.runtime.local.queue_store import QueueStore, StaleReceipt

QUEUE = "jobs"
VISIBILITY_TIMEOUT_S = 0.5
MAX_RECEIVE_COUNT = 3
FAIL_RATE = 0.3


def open_store(db: str) -> QueueStore:
    store = QueueStore(db)
    store.declare(
        QUEUE, visibility_timeout_s=VISIBILITY_TIMEOUT_S, max_receive_count=MAX_RECEIVE_COUNT, retention_s=3600
    )
    return store


def complete_lines(path: Path) -> list[str]:
    """The file's whole lines; a torn last line (killed mid-write) is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        with path.open("r+b") as handle:
            handle.truncate(keep)
    return data[:keep].decode().splitlines()


def append(fd: int, line: str) -> None:
    os.write(fd, (line + "\n").encode())


def produce(db: str, accepted: Path, total: int) -> None:
    start = len(complete_lines(accepted))
    store = open_store(db)
    fd = os.open(accepted, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for index in range(start, total):
        message_id = store.send(QUEUE, f"m{index}", attributes={"index": str(index)})
        append(fd, f"{index} {message_id}")


def consume(db: str, processed: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = open_store(db)
    fd = os.open(processed, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    while True:
        batch = store.receive(QUEUE, 10)
        if not batch:
            time.sleep(0.01)
        for message in batch:
            try:
                if rng.random() < FAIL_RATE:
                    store.release(QUEUE, message.receipt)
                else:
                    append(fd, message.id)
                    store.ack(QUEUE, message.receipt)
            except StaleReceipt:
                # A stall past the visibility timeout (a loaded machine): someone else owns the
                # message now, which at-least-once delivery allows.
                continue


if __name__ == "__main__":
    mode, database, log, arg = sys.argv[1:5]
    if mode == "produce":
        produce(database, Path(log), int(arg))
    else:
        consume(database, Path(log), int(arg))
