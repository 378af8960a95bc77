"""Queue on the local target: a SQLite-backed queue served by ``omnicloud dev``.

Nothing is created in any cloud; the locator carries every setting the local runtime needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.queue import Queue, QueueArgs, QueueSubscription
from providers.local.common import local_app, local_id, locator
from providers.protocols import QueueOutputs
from providers.shared import triggers_of


@dataclass
class LocalQueueResources:
    """What the local runtime serves for one Queue."""

    settings: dict[str, Any]
    subscribers: list[dict[str, Any]] = field(default_factory=list)


class LocalQueueProvider:
    """Builds :class:`components.Queue` for the embedded local runtime (no limits beyond SQLite's)."""

    def validate(self, name: str, args: QueueArgs) -> None:
        """Every portable value is accepted locally."""

    def create(self, name: str, args: QueueArgs, parent: pulumi.ComponentResource) -> QueueOutputs:
        settings = args.model_dump(exclude={"overrides", "tags"})
        local_app().queues.append(parent)
        found = locator("queue", name, **settings)
        return QueueOutputs(
            name=pulumi.Output.from_input(name),
            resource_id=pulumi.Output.from_input(local_id("queue", name)),
            dead_letter=pulumi.Output.from_input(local_id("queue", f"{name}-dlq")),
            locator=pulumi.Output.from_input(found),
            resources=LocalQueueResources(settings=settings),
        )

    def validate_subscription(self, name: str, args: QueueArgs, options: QueueSubscription) -> None:
        """Any batch size and window work locally."""

    def subscribe(self, queue: Queue, function: Any, options: QueueSubscription) -> dict[str, Any]:
        descriptor = {
            "kind": "queue",
            "name": queue.logical_name,
            "batch_size": options.batch_size,
            "max_batching_window_s": options.max_batching_window_s,
        }
        triggers_of(function).add(descriptor)
        queue.resources.subscribers.append({"function": function.logical_name, **descriptor})
        return descriptor
