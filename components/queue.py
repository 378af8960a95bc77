"""``Queue``: durable messages with a dead-letter queue, consumed by a Function or pulled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import Field

from components._args import ComponentArgs, coerce_args
from components._component import OmnicloudComponent
from components.errors import require

if TYPE_CHECKING:
    from components.function import Function


class QueueArgs(ComponentArgs):
    """Arguments of :class:`Queue`. Per-cloud limits are checked when the Queue is built."""

    visibility_timeout_s: int = Field(default=30, ge=0, description="How long a received message stays hidden.")
    retention_s: int = Field(default=4 * 86400, ge=60, description="How long an unconsumed message is kept.")
    max_receive_count: int = Field(default=5, ge=1, description="Receives before a message is dead-lettered.")
    delay_s: int = Field(default=0, ge=0, description="Delay before a new message becomes visible.")
    fifo: bool = Field(default=False, description="First-in-first-out per message group.")
    max_message_kb: int = Field(default=256, ge=1, description="Largest message accepted, in KB.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags / labels on every resource.")
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class QueueSubscription:
    """How a Function consumes a Queue (``queue.subscribe(fn, ...)``)."""

    batch_size: int = 10
    max_batching_window_s: int = 0


class Queue(OmnicloudComponent):
    """A queue with a dead-letter queue that always exists.

    Outputs: ``name``, ``resource_id``, ``dead_letter`` (the DLQ's resource ID), ``resources``.
    Verbs for :meth:`allow`: ``send``, ``receive``.
    """

    KIND = "queue"
    VERBS = ("send", "receive")

    name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    dead_letter: pulumi.Output[str]
    resources: Any
    args: QueueArgs

    def __init__(
        self,
        name: str,
        args: QueueArgs | dict[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        cloud: str | None = None,
    ) -> None:
        self.args = coerce_args(f"Queue '{name}'", QueueArgs, args if args is not None else QueueArgs())
        self._impl = self._start(name, self.args, opts, cloud)
        built = self._impl.create(name, self.args, self)
        self.name = built.name
        self.resource_id = built.resource_id
        self.dead_letter = built.dead_letter
        self.locator = built.locator
        self.resources = built.resources
        self.register_outputs({"name": self.name, "resource_id": self.resource_id, "dead_letter": self.dead_letter})

    def subscribe(self, function: Function, *, batch_size: int = 10, max_batching_window_s: int = 0) -> Any:
        """Deliver this queue's messages to ``function`` as a ``QueueBatch``.

        The handler returns the ids of the messages that failed; only those are retried (and
        dead-lettered after ``max_receive_count``). Returns the target's trigger resources.
        """
        component = f"Queue '{self.logical_name}'"
        require(batch_size >= 1, component, "batch_size", batch_size, "at least 1")
        require(max_batching_window_s >= 0, component, "max_batching_window_s", max_batching_window_s, "at least 0")
        self._same_cloud(function, "subscribe")
        options = QueueSubscription(batch_size, max_batching_window_s)
        self._impl.validate_subscription(self.logical_name, self.args, options)
        return self._impl.subscribe(self, function, options)
