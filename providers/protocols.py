"""The contract every target implements, one protocol per component kind.

A provider validates arguments against its cloud's limits (pure, before anything is
registered) and then creates the native resources as children of the component.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pulumi

if TYPE_CHECKING:
    from components.event_bus import BusSubscription, EventBus, EventBusArgs
    from components.function import Function
    from components.function_args import FunctionArgs
    from components.queue import Queue, QueueArgs, QueueSubscription
    from components.table import ChangeSubscription, Table, TableArgs
    from components.workflow import WorkflowArgs


@dataclass(frozen=True)
class FunctionOutputs:
    """What every target returns for a Function; the component exposes these as-is."""

    name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    url: pulumi.Output[str | None]
    identity: pulumi.Output[str]
    resources: Any
    """The target's typed dataclass of child resources (e.g. ``AwsFunctionResources``)."""


class FunctionProvider(Protocol):
    """Builds a :class:`components.Function` on one target."""

    def validate(self, name: str, args: FunctionArgs) -> None:
        """Raise :class:`components.errors.InvalidArgsError` for anything the target rejects."""
        ...

    def create(self, name: str, args: FunctionArgs, parent: pulumi.ComponentResource) -> FunctionOutputs:
        """Register the native resources (children of ``parent``) and return the outputs."""
        ...


@dataclass(frozen=True)
class QueueOutputs:
    """What every target returns for a Queue."""

    name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    dead_letter: pulumi.Output[str]
    """The dead-letter queue's resource ID."""
    locator: pulumi.Output[dict[str, Any]]
    """What the runtime client needs (injected into linked functions as JSON)."""
    resources: Any


@dataclass(frozen=True)
class ComponentOutputs:
    """What every target returns for an EventBus or a Table."""

    name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    locator: pulumi.Output[dict[str, Any]]
    resources: Any


class QueueProvider(Protocol):
    """Builds a :class:`components.Queue` and its subscriptions on one target."""

    def validate(self, name: str, args: QueueArgs) -> None: ...

    def create(self, name: str, args: QueueArgs, parent: pulumi.ComponentResource) -> QueueOutputs: ...

    def validate_subscription(self, name: str, args: QueueArgs, options: QueueSubscription) -> None: ...

    def subscribe(self, queue: Queue, function: Function, options: QueueSubscription) -> Any:
        """Create the trigger (and the permissions it implies); children of ``queue``."""
        ...


class EventBusProvider(Protocol):
    """Builds a :class:`components.EventBus` and its subscriptions on one target."""

    def validate(self, name: str, args: EventBusArgs) -> None: ...

    def create(self, name: str, args: EventBusArgs, parent: pulumi.ComponentResource) -> ComponentOutputs: ...

    def validate_subscription(self, name: str, args: EventBusArgs, subscription: BusSubscription) -> None:
        """Reject a pattern or option the target cannot honour faithfully (say why)."""
        ...

    def subscribe(self, bus: EventBus, subscription: BusSubscription) -> Any: ...


class TableProvider(Protocol):
    """Builds a :class:`components.Table` and its change feed on one target."""

    def validate(self, name: str, args: TableArgs) -> None: ...

    def create(self, name: str, args: TableArgs, parent: pulumi.ComponentResource) -> ComponentOutputs: ...

    def validate_subscription(self, name: str, args: TableArgs, options: ChangeSubscription) -> None: ...

    def on_change(self, table: Table, function: Function, options: ChangeSubscription) -> Any: ...


class WorkflowProvider(Protocol):
    """Builds a :class:`components.Workflow` on one target."""

    def validate(self, name: str, args: WorkflowArgs) -> None:
        """Reject a definition the target cannot run faithfully (say what and why)."""
        ...

    def create(
        self, name: str, args: WorkflowArgs, functions: Mapping[str, Function], parent: pulumi.ComponentResource
    ) -> ComponentOutputs:
        """Register the workflow, with exactly the rights to call ``functions`` (by logical name)."""
        ...
