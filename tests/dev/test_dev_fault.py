"""A crash never loses an accepted message: `omnicloud dev` SIGKILLed at random moments, several
times, while a producer keeps sending; afterwards every message was handled or dead-lettered."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import pytest

from components import runtime
from components.runtime.clients import _client, link_env_name
from components.runtime.local.database import Database
from components.runtime.local.queue_store import QueueStore
from tests.dev.devserver import DevProcess, wait_for

pytestmark = pytest.mark.slow

FAULT_APP = Path(__file__).parent / "fault_app"
MESSAGES = int(os.environ.get("OMNICLOUD_FAULT_MESSAGES", "10000"))
KILLS = int(os.environ.get("OMNICLOUD_FAULT_KILLS", "5"))
POISON_EVERY = 97
"""Every 97th message always fails, so dead-lettering is part of what must add up."""


def test_every_accepted_message_is_handled_or_dead_lettered_across_sigkills(tmp_path, monkeypatch):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    data = tmp_path / "data"
    server = DevProcess(FAULT_APP, data).start()
    database = data / "dev-local.db"
    # The test is a producer with the public runtime API, through the link a function would get.
    locator = {"kind": "queue", "cloud": "local", "name": "work", "database": str(database), "fifo": False}
    monkeypatch.setenv(link_env_name("queue", "work"), json.dumps(locator))
    table_locator = {"kind": "table", "cloud": "local", "name": "handled", "database": str(database)}
    monkeypatch.setenv(link_env_name("table", "handled"), json.dumps(table_locator))
    _client.cache_clear()
    accepted: dict[int, bool] = {}

    def produce() -> None:
        queue = runtime.queue("work")
        for n in range(MESSAGES):
            poison = n % POISON_EVERY == 0
            queue.send({"n": n, "poison": poison})
            accepted[n] = poison  # only once send() returned: accepted

    producer = threading.Thread(target=produce)
    started = time.monotonic()
    producer.start()
    store = QueueStore(Database(database))
    pending_at_kill = []
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.5))
            server.kill()
            pending_at_kill.append(store.depth("work").total)
            time.sleep(rng.uniform(0, 0.3))
            server.start()
        producer.join()
        wait_for(
            lambda: store.depth("work").total == 0,
            timeout_s=600,
            what=f"queue 'work' to drain (seed {seed})",
            interval_s=0.5,
        )
    finally:
        server.stop()
        _client.cache_clear()
    elapsed = time.monotonic() - started

    assert len(accepted) == MESSAGES
    handled = _handled_numbers()
    dead = {json.loads(message.body)["n"] for message in store.dead_letters("work")}
    lost = sorted(n for n in accepted if n not in handled and n not in dead)
    assert not lost, f"seed {seed}: {len(lost)} accepted messages lost, e.g. {lost[:10]}"
    poison = {n for n, bad in accepted.items() if bad}
    assert poison <= dead and not (poison & handled), f"seed {seed}"
    # Healthy messages are dead-lettered only when kills interrupted them max_receive_count times.
    assert len(dead - poison) <= MESSAGES // 100, f"seed {seed}: {len(dead - poison)} healthy messages dead-lettered"
    # The kills landed while work was outstanding, or the test proved nothing.
    assert any(pending_at_kill), f"seed {seed}: every kill found an empty queue: {pending_at_kill}"
    print(f"\n{MESSAGES} messages, {KILLS} SIGKILLs (seed {seed}), pending at kills {pending_at_kill}, {elapsed:.1f} s")


def _handled_numbers() -> set[int]:
    """Every ``n`` recorded in table ``handled``, read with the public client (one partition
    per item: the table has no sort key)."""
    table = runtime.table("handled")
    return {n for n in range(MESSAGES) if table.get({"n": n}) is not None}


def test_a_partial_batch_failure_retries_only_the_failed_messages(tmp_path, monkeypatch):
    data = tmp_path / "data"
    server = DevProcess(FAULT_APP, data).start()
    database = data / "dev-local.db"
    monkeypatch.setenv(
        link_env_name("queue", "work"),
        json.dumps({"kind": "queue", "cloud": "local", "name": "work", "database": str(database), "fifo": False}),
    )
    monkeypatch.setenv(
        link_env_name("table", "handled"),
        json.dumps({"kind": "table", "cloud": "local", "name": "handled", "database": str(database)}),
    )
    _client.cache_clear()
    store = QueueStore(Database(database))
    try:
        queue = runtime.queue("work")
        for n in range(30):
            queue.send({"n": n, "poison": n in (3, 17)})
        wait_for(lambda: store.depth("work").total == 0, timeout_s=60, what="queue 'work' to drain")
        table = runtime.table("handled")
        healthy = [table.get({"n": n}) for n in range(30) if n not in (3, 17)]
        # Each healthy message was handled in its first delivery: the batch's failures did not
        # send it round again.
        assert [item["attempt"] for item in healthy if item] == [1] * 28
        dead = store.dead_letters("work")
        assert sorted(json.loads(m.body)["n"] for m in dead) == [3, 17]
        assert {m.receive_count for m in dead} == {3}  # max_receive_count deliveries, then the DLQ
        partial = [r for r in server.records("invocation") if r["outcome"] == "partial"]
        assert partial and all(r["function"] == "consumer" for r in partial)
    finally:
        server.stop()
        _client.cache_clear()
