"""Feeding queued work to functions: queues, bus subscriptions, table changes, workflow starts.

Everything the local target delivers waits in a queue of the :class:`QueueStore` first (a
user's Queue, or the queue behind one bus subscription, one table listener or one workflow's
starts), so one loop, :class:`Consumer`, receives it and one of four deliveries hands it over,
each with its cloud's failure semantics:

* :class:`QueueDelivery`: a batch per call; the ids the handler returns stay in flight until
  the visibility timeout and are retried alone (SQS's partial batch response); an exception
  retries the whole batch. ``max_receive_count`` then dead-letters.
* :class:`EventDelivery`: one event per call (EventBridge's async invoke); a failure retries
  with back-off up to the subscription's ``max_retries``, then dead-letters.
* :class:`ChangeDelivery`: one change per call, in order per item (a FIFO group per key); a
  failure stops that item's stream and retries from it (DynamoDB streams), dead-lettering
  after as many retries as the AWS event source mapping allows.
* :class:`WorkflowDelivery`: one execution per message, run by :class:`WorkflowRunner`.

A message is acknowledged only after its delivery succeeded, so a server killed at any moment
loses nothing: the message becomes visible again and is delivered again (at least once).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from components.dev.output import DevLog
from components.dev.workers import InvocationError, Workers, measured
from components.runtime.local.queue_store import QueueStore, Received, StaleReceipt
from components.runtime.local.workflow_store import WorkflowStore
from components.runtime.orchestration.engine import Invoke, timeout_cause
from components.runtime.orchestration.interpreter import execute
from components.runtime.orchestration.task import TaskFailed, task_envelope

__all__ = [
    "ChangeDelivery",
    "Consumer",
    "Delivery",
    "DeliveryContext",
    "EventDelivery",
    "QueueDelivery",
    "WorkflowDelivery",
    "WorkflowRunner",
    "failure_of",
]

IDLE_POLL_MAX_S = 0.1
"""The longest pause between polls of an idle queue (the latency of a first message)."""
RETRY_BACKOFF_MAX_S = 30.0


class Delivery(Protocol):
    """Hands a received batch to a function and settles every message (ack or release)."""

    function: str

    def deliver(self, messages: list[Received]) -> None: ...


@dataclass
class DeliveryContext:
    """What every delivery uses: the queues to settle on, the processes to call, the output."""

    store: QueueStore
    workers: Workers
    log: DevLog


def failure_of(reply: dict[str, Any] | InvocationError) -> tuple[str, str, str] | None:
    """``(outcome, message, traceback)`` when an invocation failed (raised, timed out,
    crashed), else None."""
    if isinstance(reply, InvocationError):
        return reply.outcome, reply.message, reply.traceback
    if not reply.get("ok"):
        return "failed", f"{reply.get('error')}: {reply.get('message')}", reply.get("traceback", "")
    return None


def _backoff(receive_count: int) -> float:
    return min(2.0 ** (receive_count - 1), RETRY_BACKOFF_MAX_S)


class QueueDelivery:
    """A user's Queue to its subscribed function, in batches."""

    def __init__(self, deps: DeliveryContext, queue: str, function: str) -> None:
        self._deps, self.queue, self.function = deps, queue, function

    def deliver(self, messages: list[Received]) -> None:
        request = {
            "kind": "queue",
            "queue": self.queue,
            "messages": [
                {
                    "id": m.id,
                    "body": m.body,
                    "attributes": dict(m.attributes),
                    "receive_count": m.receive_count,
                    "sent_at": m.sent_at,
                    "group": m.group,
                }
                for m in messages
            ],
        }
        reply, ms = measured(lambda: self._deps.workers.invoke(self.function, request))
        trigger = f"queue {self.queue} ({len(messages)})"
        failure = failure_of(reply)
        if failure is not None:
            # Nothing acked: the whole batch comes back after the visibility timeout.
            self._deps.log.invocation(self.function, trigger, failure[0], ms)
            self._deps.log.error(self.function, trigger, failure[1], failure[2])
            return
        assert isinstance(reply, dict)
        failed = set(reply["failed"])
        # One transaction for the batch; a stale receipt means another delivery owns that message.
        self._deps.store.ack_many(self.queue, [m.receipt for m in messages if m.id not in failed])
        outcome = "partial" if failed else "ok"
        self._deps.log.invocation(self.function, trigger, outcome, ms, f"{len(failed)} to retry" if failed else "")


class EventDelivery:
    """One bus subscription's queue to its function, one event per call."""

    def __init__(self, deps: DeliveryContext, queue: str, bus: str, subscription: str, function: str) -> None:
        self._deps, self.queue, self.function = deps, queue, function
        self._trigger = f"bus {bus}/{subscription}"

    def deliver(self, messages: list[Received]) -> None:
        for message in messages:
            trigger = f"{self._trigger} {json.loads(message.body).get('type', '?')}"
            if _deliver_one(self._deps, self.function, "event", message, trigger):
                _settle(self._deps.store.ack, self.queue, message)
            else:
                _settle(self._deps.store.release, self.queue, message, delay_s=_backoff(message.receive_count))


class ChangeDelivery:
    """One table listener's queue (FIFO, a group per item) to its function, one change per call."""

    def __init__(self, deps: DeliveryContext, queue: str, table: str, function: str) -> None:
        self._deps, self.queue, self.function = deps, queue, function
        self._trigger = f"changes of {table}"

    def deliver(self, messages: list[Received]) -> None:
        stopped: set[str | None] = set()
        for message in messages:
            if message.group in stopped:
                # An earlier change of this item failed: keep its order, retry from there.
                _settle(self._deps.store.release, self.queue, message, delay_s=_backoff(message.receive_count))
                continue
            trigger = f"{self._trigger} {json.loads(message.body).get('kind', '?')}"
            if _deliver_one(self._deps, self.function, "change", message, trigger):
                _settle(self._deps.store.ack, self.queue, message)
                continue
            stopped.add(message.group)
            _settle(self._deps.store.release, self.queue, message, delay_s=_backoff(message.receive_count))


def _deliver_one(deps: DeliveryContext, function: str, kind: str, message: Received, trigger: str) -> bool:
    """Call ``function`` with one message's body as a ``kind`` request; log it; True if it
    succeeded (the caller acks) and False if not (the caller releases it for a retry)."""
    request = {"kind": kind, "body": message.body}
    reply, ms = measured(lambda: deps.workers.invoke(function, request))
    failure = failure_of(reply)
    if failure is None:
        deps.log.invocation(function, trigger, "ok", ms)
        return True
    deps.log.invocation(function, trigger, failure[0], ms, f"attempt {message.receive_count}")
    deps.log.error(function, trigger, failure[1], failure[2])
    return False


class WorkflowRunner:
    """Runs executions through the portable interpreter, calling task functions in their
    processes, with real timers."""

    def __init__(
        self, deps: DeliveryContext, executions: WorkflowStore, definitions: Mapping[str, dict[str, Any]]
    ) -> None:
        self._deps, self._executions, self._definitions = deps, executions, definitions

    def run(self, execution_id: str) -> None:
        execution = self._executions.begin(execution_id)
        name = execution.workflow
        started = time.perf_counter()

        def call(task: Invoke) -> Any:
            request = {"kind": "task", "envelope": task_envelope(name, task.step, task.payload)}
            reply, ms = measured(lambda: self._deps.workers.invoke(task.function, request, timeout_s=task.timeout_s))
            trigger = f"workflow {name} step {task.step}"
            if isinstance(reply, InvocationError):
                self._deps.log.invocation(task.function, trigger, reply.outcome, ms)
                if reply.outcome == "timeout" and task.timeout_s is not None:
                    raise TaskFailed("Timeout", timeout_cause(task.step, task.timeout_s))
                self._deps.log.error(task.function, trigger, reply.message, reply.traceback)
                raise TaskFailed("FunctionFailed", reply.message)
            answer = reply["reply"]
            if "error" in answer:
                self._deps.log.invocation(task.function, trigger, "failed", ms, answer["error"])
                raise TaskFailed(answer["error"], answer.get("cause") or "")
            self._deps.log.invocation(task.function, trigger, "ok", ms)
            return answer.get("output")

        result = execute(self._definitions[name], execution.input, call)
        self._executions.finish(
            execution_id, result.status, output=result.output, error=result.error, cause=result.cause
        )
        detail = execution_id if result.status == "SUCCEEDED" else f"{execution_id} {result.error}: {result.cause}"
        outcome = "ok" if result.status == "SUCCEEDED" else "failed"
        self._deps.log.invocation(name, "workflow execution", outcome, (time.perf_counter() - started) * 1000, detail)


class WorkflowDelivery:
    """One workflow's start queue: each message is one execution to run."""

    def __init__(self, deps: DeliveryContext, queue: str, runner: WorkflowRunner, workflow: str) -> None:
        self._deps, self.queue, self._runner, self.function = deps, queue, runner, workflow

    def deliver(self, messages: list[Received]) -> None:
        for message in messages:
            self._runner.run(json.loads(message.body)["execution"])
            _settle(self._deps.store.ack, self.queue, message)


def _settle(action: Any, queue: str, message: Received, **kwargs: Any) -> None:
    # StaleReceipt: the visibility timeout ran out during the call and someone received it
    # again; that delivery owns it now (at-least-once, as on every cloud).
    with contextlib.suppress(StaleReceipt):
        action(queue, message.receipt, **kwargs)


class Consumer(threading.Thread):
    """Receives from one queue and hands batches to a :class:`Delivery`, until stopped."""

    def __init__(
        self,
        store: QueueStore,
        queue: str,
        delivery: Delivery,
        *,
        batch_size: int,
        max_batching_window_s: float = 0,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"consumer:{queue}", daemon=True)
        self._store, self.queue, self._delivery = store, queue, delivery
        self._batch_size, self._window = batch_size, max_batching_window_s
        self._stop_event = stop

    def run(self) -> None:
        idle = 0
        while not self._stop_event.is_set():
            messages = self._batch()
            if not messages:
                idle += 1
                self._stop_event.wait(min(IDLE_POLL_MAX_S, 0.002 * 2**idle))
                continue
            idle = 0
            self._delivery.deliver(messages)

    def _batch(self) -> list[Received]:
        messages = self._store.receive(self.queue, self._batch_size)
        if not messages or self._window <= 0 or len(messages) >= self._batch_size:
            return messages
        # The batching window: wait up to that long for a fuller batch (Lambda's
        # MaximumBatchingWindowInSeconds), as long as the first message has not waited longer.
        deadline = time.monotonic() + self._window
        while len(messages) < self._batch_size and time.monotonic() < deadline and not self._stop_event.is_set():
            more = self._store.receive(self.queue, self._batch_size - len(messages))
            if more:
                messages.extend(more)
            else:
                self._stop_event.wait(0.05)
        return messages
