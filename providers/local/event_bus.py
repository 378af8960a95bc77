"""EventBus on the local target: an in-process router using the portable matcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.errors import require
from components.event_bus import BusSubscription, EventBus, EventBusArgs
from providers.local.common import local_app, local_id, locator
from providers.protocols import ComponentOutputs
from providers.shared import triggers_of


@dataclass
class LocalEventBusResources:
    """The subscriptions the local router delivers to."""

    subscriptions: list[dict[str, Any]] = field(default_factory=list)


class LocalEventBusProvider:
    """Builds :class:`components.EventBus` for the embedded local runtime."""

    def validate(self, name: str, args: EventBusArgs) -> None:
        """The local bus routes events as they are published and keeps no archive to replay."""
        require(
            args.archive_retention_days is None,
            f"EventBus '{name}'",
            "archive_retention_days",
            args.archive_retention_days,
            "the local bus keeps no archive of published events to replay; leave it unset",
            cloud="local",
        )

    def create(self, name: str, args: EventBusArgs, parent: pulumi.ComponentResource) -> ComponentOutputs:
        local_app().buses.append(parent)
        found = locator("bus", name)
        return ComponentOutputs(
            name=pulumi.Output.from_input(name),
            resource_id=pulumi.Output.from_input(local_id("bus", name)),
            locator=pulumi.Output.from_input(found),
            resources=LocalEventBusResources(),
        )

    def validate_subscription(self, name: str, args: EventBusArgs, subscription: BusSubscription) -> None:
        """The local router evaluates the portable pattern itself: everything is expressible."""

    def subscribe(self, bus: EventBus, subscription: BusSubscription) -> dict[str, Any]:
        target = subscription.target
        record = {
            "kind": "bus",
            "name": bus.logical_name,
            "subscription": subscription.name,
            "pattern": dict(subscription.pattern.source) if subscription.pattern else None,
            "target": {"kind": target.KIND, "name": target.logical_name},
            "max_retries": subscription.max_retries,
            "max_event_age_s": subscription.max_event_age_s,
        }
        if target.KIND == "function":
            triggers_of(target).add(record)
        bus.resources.subscriptions.append(record)
        return record
