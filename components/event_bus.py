"""``EventBus``: CloudEvents routed by content to Functions and Queues."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import Field

from components._args import ComponentArgs, coerce_args
from components._component import OmnicloudComponent
from components.errors import InvalidArgsError, require
from components.patterns import Pattern, PatternError, parse_pattern

if TYPE_CHECKING:
    from components.function import Function
    from components.queue import Queue

_SUBSCRIPTION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


class EventBusArgs(ComponentArgs):
    """Arguments of :class:`EventBus`."""

    archive_retention_days: int | None = Field(
        default=None, ge=1, description="Keep every published event this long for replay (where the cloud archives)."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags / labels on every resource.")
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class BusSubscription:
    """One subscription: events matching ``pattern`` go to ``target``."""

    name: str
    target: Any
    """A Function or a Queue."""
    pattern: Pattern | None
    """None delivers every event."""
    max_retries: int = 8
    max_event_age_s: int = 86400


class EventBus(OmnicloudComponent):
    """A bus of CloudEvents 1.0. Verbs for :meth:`allow`: ``publish``."""

    KIND = "bus"
    VERBS = ("publish",)

    name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    resources: Any
    args: EventBusArgs

    def __init__(
        self,
        name: str,
        args: EventBusArgs | dict[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        cloud: str | None = None,
    ) -> None:
        self.args = coerce_args(f"EventBus '{name}'", EventBusArgs, args if args is not None else EventBusArgs())
        self._impl = self._start(name, self.args, opts, cloud)
        built = self._impl.create(name, self.args, self)
        self.name = built.name
        self.resource_id = built.resource_id
        self.locator = built.locator
        self.resources = built.resources
        self._subscriptions: set[str] = set()
        self.register_outputs({"name": self.name, "resource_id": self.resource_id})

    def subscribe(
        self,
        name: str,
        target: Function | Queue,
        *,
        pattern: dict[str, Any] | None = None,
        max_retries: int = 8,
        max_event_age_s: int = 86400,
    ) -> Any:
        """Route events matching ``pattern`` (see :mod:`components.patterns`) to ``target``.

        Undeliverable events are retried, then dead-lettered. Returns the target's resources.
        """
        component = f"EventBus '{self.logical_name}'"
        require(
            bool(_SUBSCRIPTION_NAME.match(name)),
            component,
            "subscribe.name",
            name,
            "1-40 lowercase letters, digits or '-', starting with a letter",
        )
        require(name not in self._subscriptions, component, "subscribe.name", name, "already subscribed")
        require(
            getattr(target, "KIND", None) in ("function", "queue"),
            component,
            "subscribe.target",
            target,
            "a Function or a Queue",
        )
        require(0 <= max_retries <= 185, component, "max_retries", max_retries, "0-185")
        require(60 <= max_event_age_s <= 86400, component, "max_event_age_s", max_event_age_s, "60-86400 s")
        self._same_cloud(target, "subscribe.target")
        try:
            parsed = parse_pattern(pattern) if pattern is not None else None
        except PatternError as exc:
            raise InvalidArgsError(component, f"subscribe('{name}').pattern", pattern, str(exc)) from None
        subscription = BusSubscription(name, target, parsed, max_retries, max_event_age_s)
        self._impl.validate_subscription(self.logical_name, self.args, subscription)
        self._subscriptions.add(name)
        return self._impl.subscribe(self, subscription)
