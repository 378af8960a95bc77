"""The local target's durable queue store: delivery rules, a model check, crashes, threads."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from components.runtime.local.queue_store import (
    DEAD_LETTER_RETENTION_S,
    DEDUP_WINDOW_S,
    Depth,
    QueueNotFound,
    QueueStore,
    StaleReceipt,
)
from tests.conftest import REPO_ROOT
from tests.runtime import local_queue_crash_worker as worker
from tests.runtime.test_runtime_imports import newly_imported


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock):
    with QueueStore(tmp_path / "queues.db", clock=clock) as opened:
        opened.declare("jobs", visibility_timeout_s=30, max_receive_count=3, retention_s=3600)
        opened.declare("ordered", visibility_timeout_s=30, max_receive_count=3, retention_s=3600, fifo=True)
        yield opened


def ids(messages) -> list[str]:
    return [m.id for m in messages]


# -- basics ------------------------------------------------------------------------------------


def test_received_message_carries_body_attributes_count_sent_time_and_a_receipt(store, clock):
    sent = store.send("jobs", '{"n": 1}', attributes={"kind": "order"})
    clock.advance(2)

    [message] = store.receive("jobs")

    assert (message.id, message.body, message.attributes) == (sent, '{"n": 1}', {"kind": "order"})
    assert message.receive_count == 1
    assert message.sent_at == clock.now - 2
    assert message.group is None
    assert message.receipt


def test_receive_returns_oldest_first_up_to_max_messages(store):
    sent = [store.send("jobs", f"m{i}") for i in range(5)]

    assert ids(store.receive("jobs", 3)) == sent[:3]
    assert ids(store.receive("jobs", 3)) == sent[3:]
    assert store.receive("jobs", 3) == []


def test_a_received_message_is_invisible_until_its_visibility_timeout_then_redelivered(store, clock):
    sent = store.send("jobs", "x")
    first = store.receive("jobs")
    clock.advance(29.9)
    assert store.receive("jobs") == []
    assert store.depth("jobs") == Depth(visible=0, in_flight=1, delayed=0)

    clock.advance(0.1)
    [again] = store.receive("jobs")

    assert again.id == sent
    assert again.receive_count == 2
    assert again.receipt != first[0].receipt


def test_ack_deletes_the_message_for_good(store, clock):
    store.send("jobs", "x")
    [message] = store.receive("jobs")

    store.ack("jobs", message.receipt)
    clock.advance(3600)

    assert store.receive("jobs") == []
    assert store.depth("jobs") == Depth()
    assert store.dead_letters("jobs") == []


def test_release_makes_a_message_visible_again_now_or_after_a_delay(store, clock):
    a, b = store.send("jobs", "a"), store.send("jobs", "b")
    ra, rb = store.receive("jobs")

    store.release("jobs", ra.receipt)
    store.release("jobs", rb.receipt, delay_s=10)

    assert store.depth("jobs") == Depth(visible=1, in_flight=0, delayed=1)
    [again] = store.receive("jobs")
    assert (again.id, again.receive_count) == (a, 2)  # a release still counts as a delivery
    clock.advance(10)
    assert ids(store.receive("jobs")) == [b]


def test_visibility_timeout_of_zero_still_delivers_each_message_once_per_batch(store):
    store.declare("hot", visibility_timeout_s=0, max_receive_count=5, retention_s=3600)
    sent = [store.send("hot", str(i)) for i in range(3)]

    assert ids(store.receive("hot", 10)) == sent
    assert [m.receive_count for m in store.receive("hot", 10)] == [2, 2, 2]


# -- dead letters ------------------------------------------------------------------------------


def test_the_delivery_after_max_receive_count_dead_letters_instead(store, clock):
    sent = store.send("jobs", "poison", attributes={"a": "1"})
    for count in (1, 2, 3):
        [message] = store.receive("jobs")
        assert message.receive_count == count
        clock.advance(30)

    assert store.receive("jobs") == []

    assert store.depth("jobs") == Depth()
    [dead] = store.dead_letters("jobs")
    assert (dead.id, dead.body, dead.attributes, dead.receive_count) == (sent, "poison", {"a": "1"}, 3)
    assert store.depth("jobs-dlq") == Depth(visible=1)


def test_dead_lettered_messages_do_not_use_up_the_batch(store, clock):
    poison = store.send("jobs", "poison")
    for _ in range(3):
        store.receive("jobs", 1)
        clock.advance(30)
    fresh = [store.send("jobs", f"ok{i}") for i in range(2)]

    assert ids(store.receive("jobs", 2)) == fresh
    assert ids(store.dead_letters("jobs")) == [poison]


def test_a_dead_letter_queue_can_be_received_from_and_never_dead_letters_further(store, clock):
    sent = store.send("jobs", "poison")
    for _ in range(4):
        store.receive("jobs")
        clock.advance(30)

    for count in (4, 5, 6, 7):  # way past max_receive_count=3: a DLQ has no DLQ of its own
        [dead] = store.receive("jobs-dlq")
        assert (dead.id, dead.receive_count) == (sent, count)
        clock.advance(30)
    store.ack("jobs-dlq", store.receive("jobs-dlq")[0].receipt)
    assert store.dead_letters("jobs") == []
    with pytest.raises(ValueError, match="is a dead-letter queue"):
        store.dead_letters("jobs-dlq")


def test_dead_letters_keep_the_dead_letter_retention_not_the_source_queue(store, clock):
    store.declare("brief", visibility_timeout_s=10, max_receive_count=1, retention_s=60)
    store.send("brief", "x")
    store.receive("brief")
    clock.advance(10)
    store.receive("brief")  # moves it

    clock.advance(3600)
    assert len(store.dead_letters("brief")) == 1
    clock.advance(DEAD_LETTER_RETENTION_S)
    assert store.dead_letters("brief") == []


# -- delay -------------------------------------------------------------------------------------


def test_queue_delay_applies_unless_the_message_overrides_it(store, clock):
    store.declare("later", visibility_timeout_s=30, max_receive_count=3, retention_s=3600, delay_s=60)
    default = store.send("later", "default")
    immediate = store.send("later", "now", delay_s=0)
    short = store.send("later", "short", delay_s=5)

    def take() -> list[str]:
        batch = store.receive("later")
        for message in batch:
            store.ack("later", message.receipt)
        return ids(batch)

    assert take() == [immediate]
    assert store.depth("later") == Depth(visible=0, in_flight=0, delayed=2)
    clock.advance(4.9)
    assert take() == []
    clock.advance(0.1)
    assert take() == [short]
    clock.advance(54.9)
    assert take() == []
    clock.advance(0.1)
    assert take() == [default]


def test_negative_delays_are_refused(store):
    with pytest.raises(ValueError, match="delay_s=-1"):
        store.send("jobs", "x", delay_s=-1)
    store.send("jobs", "x")
    [message] = store.receive("jobs")
    with pytest.raises(ValueError, match="delay_s=-1"):
        store.release("jobs", message.receipt, delay_s=-1)


# -- FIFO --------------------------------------------------------------------------------------


def test_fifo_delivers_each_group_in_order_and_blocks_it_while_a_batch_is_in_flight(store):
    a1, a2, a3 = (store.send("ordered", f"a{i}", group="a") for i in (1, 2, 3))
    b1 = store.send("ordered", "b1", group="b")

    first = store.receive("ordered", 2)
    assert ids(first) == [a1, a2]
    assert all(m.group == "a" for m in first)
    assert ids(store.receive("ordered")) == [b1]  # a3 waits: group a has a batch in flight
    store.ack("ordered", first[0].receipt)
    assert store.receive("ordered") == []  # a2 is still in flight
    store.ack("ordered", first[1].receipt)

    assert ids(store.receive("ordered")) == [a3]


def test_fifo_a_batch_spans_groups_in_send_order(store):
    a1 = store.send("ordered", "a1", group="a")
    b1 = store.send("ordered", "b1", group="b")
    a2 = store.send("ordered", "a2", group="a")

    assert ids(store.receive("ordered", 10)) == [a1, b1, a2]


def test_fifo_a_released_message_comes_back_before_later_ones_of_its_group(store, clock):
    sent = [store.send("ordered", f"m{i}", group="g") for i in range(3)]
    batch = store.receive("ordered", 3)
    store.ack("ordered", batch[0].receipt)
    store.release("ordered", batch[1].receipt, delay_s=5)
    store.release("ordered", batch[2].receipt)

    assert store.receive("ordered") == []  # the group is blocked while m1 waits out its delay
    clock.advance(5)
    assert ids(store.receive("ordered", 10)) == sent[1:]


def test_fifo_visibility_expiry_redelivers_the_group_in_order(store, clock):
    sent = [store.send("ordered", f"m{i}", group="g") for i in range(3)]
    first = store.receive("ordered", 2)
    store.ack("ordered", first[0].receipt)

    clock.advance(30)
    again = store.receive("ordered", 10)

    assert ids(again) == sent[1:]
    assert [m.receive_count for m in again] == [2, 1]


def test_fifo_dead_letters_an_exhausted_head_and_moves_on_to_the_next(store, clock):
    head = store.send("ordered", "head", group="g")
    for _ in range(3):
        store.receive("ordered", 1)
        clock.advance(30)
    nxt = store.send("ordered", "next", group="g")

    assert ids(store.receive("ordered")) == [nxt]
    assert ids(store.dead_letters("ordered")) == [head]
    assert store.settings("ordered-dlq").fifo  # SQS: a FIFO queue's DLQ is FIFO too


def test_group_and_dedup_rules_follow_sqs(store):
    with pytest.raises(ValueError, match=r"is FIFO: send\(\.\.\., group=\.\.\.\) is required"):
        store.send("ordered", "x")
    with pytest.raises(ValueError, match="no per-message delay on FIFO"):
        store.send("ordered", "x", group="g", delay_s=5)
    with pytest.raises(ValueError, match="not FIFO, so it would not order by group='g'"):
        store.send("jobs", "x", group="g")
    with pytest.raises(ValueError, match="dedup_id only de-duplicates on FIFO"):
        store.send("jobs", "x", dedup_id="d")
    assert store.depth("jobs").total == store.depth("ordered").total == 0


def test_dedup_id_drops_repeats_for_five_minutes_from_the_first_send(store, clock):
    first = store.send("ordered", "x", group="g", dedup_id="order-42")
    clock.advance(DEDUP_WINDOW_S - 1)
    repeat = store.send("ordered", "x again", group="g", dedup_id="order-42")
    other = store.send("ordered", "y", group="g", dedup_id="order-43")

    assert repeat == first
    [message, _] = store.receive("ordered", 10)
    assert message.body == "x"
    store.ack("ordered", message.receipt)
    assert store.send("ordered", "x", group="g", dedup_id="order-42") == first  # acked, still deduped

    clock.advance(1)  # the window runs from the first send, not the repeats
    fresh = store.send("ordered", "x", group="g", dedup_id="order-42")
    assert fresh not in (first, other)
    assert store.depth("ordered") == Depth(visible=1, in_flight=1)


# -- receipts ----------------------------------------------------------------------------------


def test_a_receipt_still_acks_after_its_timeout_if_nobody_received_the_message_again(store, clock):
    store.send("jobs", "x")
    [message] = store.receive("jobs")
    clock.advance(300)

    store.ack("jobs", message.receipt)

    assert store.depth("jobs") == Depth()


def test_a_stale_receipt_is_rejected_once_the_message_was_received_again(store, clock):
    store.send("jobs", "x")
    [old] = store.receive("jobs")
    clock.advance(30)
    [new] = store.receive("jobs")

    with pytest.raises(StaleReceipt, match="received again after its visibility timeout expired"):
        store.ack("jobs", old.receipt)
    with pytest.raises(StaleReceipt, match="received again"):
        store.release("jobs", old.receipt)
    assert store.depth("jobs") == Depth(in_flight=1)  # the new holder's delivery is untouched
    store.ack("jobs", new.receipt)


def test_receipts_go_stale_on_ack_release_and_dead_lettering(store, clock):
    store.send("jobs", "x")
    [message] = store.receive("jobs")
    store.release("jobs", message.receipt)
    with pytest.raises(StaleReceipt, match="was released"):
        store.ack("jobs", message.receipt)

    [message] = store.receive("jobs")
    store.ack("jobs", message.receipt)
    with pytest.raises(StaleReceipt, match="no longer stored"):
        store.ack("jobs", message.receipt)

    store.declare("once", visibility_timeout_s=30, max_receive_count=1, retention_s=3600)
    store.send("once", "x")
    [message] = store.receive("once")
    clock.advance(30)
    store.receive("once")
    with pytest.raises(StaleReceipt, match="is in queue 'once-dlq'"):
        store.ack("once", message.receipt)


# -- retention ---------------------------------------------------------------------------------


def test_messages_past_retention_are_dropped_whether_visible_or_in_flight(store, clock):
    store.declare("short", visibility_timeout_s=100, max_receive_count=3, retention_s=60)
    store.send("short", "in flight")
    [held] = store.receive("short")
    clock.advance(30)
    kept = store.send("short", "younger")
    clock.advance(30)

    assert store.depth("short") == Depth(visible=1)  # the first one is 60 s old: gone
    assert ids(store.receive("short")) == [kept]
    with pytest.raises(StaleReceipt, match="no longer stored"):
        store.ack("short", held.receipt)
    clock.advance(30)
    assert store.receive("short") == []
    assert store.depth("short") == Depth()


# -- one file, many queues; reopening ----------------------------------------------------------


def test_queues_in_one_file_are_independent(store):
    store.declare("other", visibility_timeout_s=30, max_receive_count=3, retention_s=3600)
    mine = store.send("jobs", "mine")
    theirs = store.send("other", "theirs")

    [message] = store.receive("jobs", 10)
    assert message.id == mine
    with pytest.raises(StaleReceipt, match="is in queue 'jobs'"):
        store.ack("other", message.receipt)
    assert ids(store.receive("other", 10)) == [theirs]
    assert store.queues() == ["jobs", "jobs-dlq", "ordered", "ordered-dlq", "other", "other-dlq"]


def test_reopening_the_file_keeps_messages_receipts_dead_letters_and_dedup(tmp_path, clock):
    path = tmp_path / "queues.db"
    with QueueStore(path, clock=clock) as first:
        first.declare("jobs", visibility_timeout_s=30, max_receive_count=1, retention_s=3600)
        first.declare("ordered", visibility_timeout_s=30, max_receive_count=3, retention_s=3600, fifo=True)
        dead = first.send("jobs", "dead")
        first.receive("jobs")
        clock.advance(30)
        first.receive("jobs")
        held = first.send("jobs", "held")
        [receipt] = [m.receipt for m in first.receive("jobs")]
        waiting = first.send("jobs", "waiting", delay_s=100)
        deduped = first.send("ordered", "x", group="g", dedup_id="d")

    with QueueStore(path, clock=clock) as second:
        assert second.settings("jobs").max_receive_count == 1
        assert ids(second.dead_letters("jobs")) == [dead]
        assert second.depth("jobs") == Depth(in_flight=1, delayed=1)
        second.ack("jobs", receipt)
        assert held not in ids(second.receive("jobs"))
        clock.advance(100)
        assert ids(second.receive("jobs")) == [waiting]
        assert second.send("ordered", "x", group="g", dedup_id="d") == deduped
        assert second.depth("ordered") == Depth(visible=1)


def test_the_file_is_in_wal_mode_with_full_sync(store):
    with sqlite3.connect(store.path) as probe:
        assert probe.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store._conn().execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


# -- declare and errors ------------------------------------------------------------------------


def test_declare_is_idempotent_and_updates_changed_settings(store):
    held = store.send("jobs", "x")
    store.declare("jobs", visibility_timeout_s=30, max_receive_count=3, retention_s=3600)
    store.declare("jobs", visibility_timeout_s=90, max_receive_count=7, retention_s=7200)

    assert store.settings("jobs").visibility_timeout_s == 90
    assert store.settings("jobs").max_receive_count == 7
    assert store.settings("jobs-dlq").visibility_timeout_s == 90
    assert ids(store.receive("jobs")) == [held]
    assert store.queues().count("jobs") == 1


def test_declare_refuses_a_fifo_switch_and_a_name_used_in_the_other_role(store):
    with pytest.raises(ValueError, match="cannot change between FIFO and standard"):
        store.declare("jobs", visibility_timeout_s=30, max_receive_count=3, retention_s=3600, fifo=True)
    with pytest.raises(ValueError, match="'jobs-dlq' already exists as a dead-letter queue"):
        store.declare("jobs-dlq", visibility_timeout_s=30, max_receive_count=3, retention_s=3600)
    store.declare("x-dlq", visibility_timeout_s=30, max_receive_count=3, retention_s=3600)
    with pytest.raises(ValueError, match="'x-dlq' already exists as a source queue"):
        store.declare("x", visibility_timeout_s=30, max_receive_count=3, retention_s=3600)
    assert "x" not in store.queues()  # the failed declare left nothing behind


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("visibility_timeout_s", -1, "visibility_timeout_s=-1"),
        ("max_receive_count", 0, "max_receive_count=0"),
        ("retention_s", 0, "retention_s=0"),
        ("delay_s", -5, "delay_s=-5"),
    ],
)
def test_declare_refuses_values_that_make_no_sense(store, field, value, message):
    args = {"visibility_timeout_s": 30, "max_receive_count": 3, "retention_s": 3600, field: value}
    with pytest.raises(ValueError, match=message):
        store.declare("bad", **args)
    assert "bad" not in store.queues()


def test_unknown_queues_are_named_in_the_error(store):
    for call in (
        lambda: store.send("nope", "x"),
        lambda: store.receive("nope"),
        lambda: store.ack("nope", "r"),
        lambda: store.depth("nope"),
        lambda: store.dead_letters("nope"),
    ):
        with pytest.raises(QueueNotFound, match="queue 'nope' is not declared"):
            call()


def test_messages_over_max_message_kb_and_non_string_attributes_are_refused(store):
    store.declare("tiny", visibility_timeout_s=30, max_receive_count=3, retention_s=3600, max_message_kb=1)
    store.send("tiny", "x" * 1000, attributes={"k": "v" * 23})  # exactly 1024 bytes
    with pytest.raises(ValueError, match="1025 bytes, over the queue's 1024"):
        store.send("tiny", "é" * 512 + "x")  # counted in UTF-8 bytes
    with pytest.raises(ValueError, match="attributes must map str to str"):
        store.send("tiny", "x", attributes={"n": 1})  # type: ignore[dict-item]
    assert store.depth("tiny").total == 1


def test_a_closed_store_refuses_further_use(tmp_path):
    opened = QueueStore(tmp_path / "q.db")
    opened.close()
    opened.close()
    with pytest.raises(RuntimeError, match="is closed"):
        opened.queues()


@pytest.mark.slow
def test_importing_the_store_loads_only_the_standard_library():
    loaded = newly_imported("components.runtime.local.queue_store")

    outside_stdlib = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names)
    assert outside_stdlib <= {"components"}, outside_stdlib
    assert "components.runtime.local.queue_store" in loaded


# -- model check -------------------------------------------------------------------------------


@dataclass
class ModelMessage:
    id: str
    seq: int
    queue: str
    group: str | None
    visible_at: float
    expires_at: float
    receive_count: int = 0
    receipt: str | None = None


@dataclass(frozen=True)
class ModelQueue:
    visibility_timeout_s: float
    max_receive_count: int | None
    delay_s: float
    fifo: bool
    retention_s: float
    dead_letter_queue: str | None


MODEL_QUEUES = {
    "std": ModelQueue(30, 1, 3, False, 1000, "std-dlq"),
    "std-dlq": ModelQueue(30, None, 0, False, DEAD_LETTER_RETENTION_S, None),
    "fifo": ModelQueue(30, 2, 0, True, 1000, "fifo-dlq"),
    "fifo-dlq": ModelQueue(30, None, 0, True, DEAD_LETTER_RETENTION_S, None),
}


class QueueModel:
    """The store's rules, written as plainly as possible over a list of messages."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.messages: list[ModelMessage] = []
        self.dedup: dict[tuple[str, str], tuple[str, float]] = {}
        self.seqs = itertools.count()

    def send(self, queue: str, message_id: str, group: str | None, delay_s: float | None) -> None:
        q = MODEL_QUEUES[queue]
        delay = q.delay_s if delay_s is None else delay_s
        seq = next(self.seqs)
        self.messages.append(ModelMessage(message_id, seq, queue, group, self.now + delay, self.now + q.retention_s))

    def dedup_hit(self, queue: str, dedup_id: str) -> str | None:
        found = self.dedup.get((queue, dedup_id))
        return found[0] if found and found[1] > self.now else None

    def receive(self, queue: str, max_messages: int) -> list[tuple[str, int]]:
        q = MODEL_QUEUES[queue]
        self.messages = [m for m in self.messages if not (m.queue == queue and m.expires_at <= self.now)]
        mine = [m for m in self.messages if m.queue == queue]
        blocked = {m.group for m in mine if m.visible_at > self.now} if q.fifo else set()
        out: list[tuple[str, int]] = []
        for m in sorted(mine, key=lambda m: m.seq):
            if len(out) == max_messages:
                break
            if m.visible_at > self.now or m.group in blocked:
                continue
            if q.max_receive_count is not None and m.receive_count >= q.max_receive_count:
                assert q.dead_letter_queue is not None
                m.queue, m.visible_at, m.receipt = q.dead_letter_queue, self.now, None
                m.expires_at = self.now + MODEL_QUEUES[q.dead_letter_queue].retention_s
                continue
            m.receive_count += 1
            m.visible_at = self.now + q.visibility_timeout_s
            out.append((m.id, m.receive_count))
        return out

    def holder(self, queue: str, receipt: str) -> ModelMessage | None:
        return next((m for m in self.messages if m.queue == queue and m.receipt == receipt), None)

    def depth(self, queue: str) -> Depth:
        live = [m for m in self.messages if m.queue == queue and m.expires_at > self.now]
        return Depth(
            visible=sum(m.visible_at <= self.now for m in live),
            in_flight=sum(m.visible_at > self.now and m.receipt is not None for m in live),
            delayed=sum(m.visible_at > self.now and m.receipt is None for m in live),
        )


class QueueStoreMachine(RuleBasedStateMachine):
    """Random sends, receives, acks, releases and clock moves agree with :class:`QueueModel`."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="queue-model-")
        self.clock = FakeClock()
        self.store = QueueStore(Path(self.dir) / "q.db", clock=self.clock)
        for name in ("std", "fifo"):
            q = MODEL_QUEUES[name]
            assert q.max_receive_count is not None
            self.store.declare(
                name,
                visibility_timeout_s=q.visibility_timeout_s,
                max_receive_count=q.max_receive_count,
                delay_s=q.delay_s,
                fifo=q.fifo,
                retention_s=q.retention_s,
            )
        self.model = QueueModel(self.clock.now)
        self.receipts: list[tuple[str, str]] = []  # every (queue, receipt) ever handed out
        self.counter = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(delay=st.sampled_from([None, 0, 10]))
    def send_standard(self, delay: int | None) -> None:
        self.counter += 1
        message_id = self.store.send("std", f"s{self.counter}", delay_s=delay)
        self.model.send("std", message_id, None, delay)

    @rule(group=st.sampled_from(["a", "b", "c"]), dedup=st.none() | st.sampled_from(["d1", "d2"]))
    def send_fifo(self, group: str, dedup: str | None) -> None:
        self.counter += 1
        expected = self.model.dedup_hit("fifo", dedup) if dedup else None
        message_id = self.store.send("fifo", f"f{self.counter}", group=group, dedup_id=dedup)
        if expected is not None:
            assert message_id == expected
            return
        self.model.send("fifo", message_id, group, None)
        if dedup:
            self.model.dedup[("fifo", dedup)] = (message_id, self.clock.now + DEDUP_WINDOW_S)

    @rule(seconds=st.sampled_from([1, 10, 29, 31, 31, 120, 301, 1000]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.model.now = self.clock.now

    # The source queues twice as often as their DLQs: that is where the rules are.
    @rule(queue=st.sampled_from(["std", "std", "fifo", "fifo", "std-dlq", "fifo-dlq"]), max_messages=st.integers(1, 4))
    def receive(self, queue: str, max_messages: int) -> None:
        expected = self.model.receive(queue, max_messages)
        got = self.store.receive(queue, max_messages)
        assert [(m.id, m.receive_count) for m in got] == expected
        by_id = {m.id: m for m in self.model.messages}
        for message in got:
            assert message.group == by_id[message.id].group
            by_id[message.id].receipt = message.receipt
            self.receipts.append((queue, message.receipt))

    @precondition(lambda self: self.receipts)
    @rule(pick=st.integers(0, 10**6))
    def ack(self, pick: int) -> None:
        queue, receipt = self.receipts[pick % len(self.receipts)]
        holder = self.model.holder(queue, receipt)
        if holder is None:
            with pytest.raises(StaleReceipt):
                self.store.ack(queue, receipt)
        else:
            self.store.ack(queue, receipt)
            self.model.messages.remove(holder)

    @precondition(lambda self: self.receipts)
    @rule(pick=st.integers(0, 10**6), delay=st.sampled_from([0, 5]))
    def release(self, pick: int, delay: int) -> None:
        queue, receipt = self.receipts[pick % len(self.receipts)]
        holder = self.model.holder(queue, receipt)
        if holder is None:
            with pytest.raises(StaleReceipt):
                self.store.release(queue, receipt, delay_s=delay)
        else:
            self.store.release(queue, receipt, delay_s=delay)
            holder.visible_at, holder.receipt = self.clock.now + delay, None

    @invariant()
    def depths_and_dead_letters_agree(self) -> None:
        for queue in MODEL_QUEUES:
            assert self.store.depth(queue) == self.model.depth(queue), queue
        for queue in ("std", "fifo"):
            dlq = f"{queue}-dlq"
            expected = [m.id for m in sorted(self.model.messages, key=lambda m: m.seq) if m.queue == dlq]
            assert ids(self.store.dead_letters(queue)) == [m for m in expected if m in self._live(dlq)]

    def _live(self, queue: str) -> set[str]:
        return {m.id for m in self.model.messages if m.queue == queue and m.expires_at > self.model.now}


TestQueueStoreAgainstModel = QueueStoreMachine.TestCase
TestQueueStoreAgainstModel.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- threads -----------------------------------------------------------------------------------


def test_concurrent_receivers_never_share_a_message_within_its_visibility_window(tmp_path):
    with QueueStore(tmp_path / "q.db") as store:
        # Real clock; a window far longer than the test, so any second delivery is a double one.
        store.declare("jobs", visibility_timeout_s=600, max_receive_count=5, retention_s=3600)
        sent = {store.send("jobs", str(i)) for i in range(600)}
        start = threading.Barrier(6)
        seen: list[list[str]] = [[] for _ in range(6)]
        acked: list[str] = []
        errors: list[BaseException] = []

        def consume(slot: int) -> None:
            try:
                start.wait()
                while batch := store.receive("jobs", 7):
                    seen[slot].extend(m.id for m in batch)
                    for message in batch[::2]:  # ack some, hold the rest: both must stay single
                        store.ack("jobs", message.receipt)
                        acked.append(message.id)
                    time.sleep(0.002)  # "work" outside the store, so the others get their turn
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=consume, args=(slot,)) for slot in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert errors == []
        delivered = Counter(m for ids_ in seen for m in ids_)
        assert [m for m, n in delivered.items() if n > 1] == []
        assert set(delivered) == sent
        assert sum(bool(s) for s in seen) > 1  # the receivers really did compete
        assert store.depth("jobs") == Depth(in_flight=len(sent) - len(acked))


# -- crashes -----------------------------------------------------------------------------------


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.local_queue_crash_worker", *args],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("messages", "kills"), [(2000, 5)])
def test_no_accepted_message_is_lost_when_producer_and_consumer_are_killed(tmp_path, messages, kills):
    rng = random.Random(20240611 + messages)
    db, accepted, processed = str(tmp_path / "q.db"), tmp_path / "accepted", tmp_path / "processed"
    producer = spawn("produce", db, str(accepted), str(messages))
    consumer = spawn("consume", db, str(processed), str(rng.randrange(2**32)))
    producer_kills = 0
    for _ in range(kills):
        time.sleep(rng.uniform(0.05, 0.4))
        victims = rng.choice(["producer", "consumer", "both"])
        if victims in ("producer", "both") and producer.poll() is None:
            os.kill(producer.pid, signal.SIGKILL)
            producer.wait()
            producer_kills += 1
            producer = spawn("produce", db, str(accepted), str(messages))
        if victims in ("consumer", "both"):
            os.kill(consumer.pid, signal.SIGKILL)
            consumer.wait()
            consumer = spawn("consume", db, str(processed), str(rng.randrange(2**32)))
        assert consumer.poll() is None, consumer.stderr.read() if consumer.stderr else ""

    _, producer_errors = producer.communicate(timeout=60)
    assert producer.returncode == 0, producer_errors.decode()
    os.kill(consumer.pid, signal.SIGKILL)  # one last kill, mid-consumption
    consumer.wait()
    assert producer_kills >= 1, "no kill hit the producer: lengthen the run"

    # Drain what is left with a clean consumer (held messages come back after 0.5 s).
    store = worker.open_store(db)
    fd = os.open(processed, os.O_WRONLY | os.O_APPEND)
    deadline = time.monotonic() + 30
    while store.depth(worker.QUEUE).total and time.monotonic() < deadline:
        batch = store.receive(worker.QUEUE, 10)
        if not batch:
            time.sleep(0.05)
        for message in batch:
            worker.append(fd, message.id)
            store.ack(worker.QUEUE, message.receipt)
    os.close(fd)

    recorded = [line.split() for line in worker.complete_lines(accepted)]
    assert [int(index) for index, _ in recorded] == list(range(messages))
    dead = {m.id for m in store.dead_letters(worker.QUEUE)}
    handled = set(worker.complete_lines(processed))
    lost = {message_id for _, message_id in recorded} - handled - dead
    assert lost == set()
    assert store.depth(worker.QUEUE) == Depth()
    assert dead, "the consumer's failures should have dead-lettered some messages"
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store.close()


def test_ack_many_deletes_a_batch_in_one_call_and_reports_stale_receipts(tmp_path):
    store = QueueStore(tmp_path / "q.db")
    store.declare("jobs", visibility_timeout_s=30, max_receive_count=5, retention_s=3600)
    for n in range(5):
        store.send("jobs", f"m{n}")
    received = store.receive("jobs", 5)
    stale = "not-a-receipt"
    assert store.ack_many("jobs", [m.receipt for m in received[:3]] + [stale]) == [stale]
    assert store.depth("jobs").in_flight == 2
    assert sorted(m.body for m in store.receive("jobs", 5, now=time.time() + 31)) == ["m3", "m4"]
