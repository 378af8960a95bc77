"""Table on the local target: SQLite with the portable query surface and a change feed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.table import ChangeSubscription, Table, TableArgs
from providers.local.common import local_app, local_id, locator
from providers.protocols import ComponentOutputs
from providers.shared import triggers_of


@dataclass
class LocalTableResources:
    """The table's schema and who listens to its changes."""

    schema: dict[str, Any]
    listeners: list[dict[str, Any]] = field(default_factory=list)


class LocalTableProvider:
    """Builds :class:`components.Table` for the embedded local runtime."""

    LIMITATIONS = {
        "point_in_time_recovery_per_database": "no point-in-time recovery: the SQLite file is durable "
        "(WAL, fsync on every commit) but keeps no history to restore from",
    }

    def validate(self, name: str, args: TableArgs) -> None:
        """Every portable table is accepted locally."""

    def create(self, name: str, args: TableArgs, parent: pulumi.ComponentResource) -> ComponentOutputs:
        schema = args.key_schema()
        local_app().tables.append(parent)
        found = locator("table", name, **schema)
        return ComponentOutputs(
            name=pulumi.Output.from_input(name),
            resource_id=pulumi.Output.from_input(local_id("table", name)),
            locator=pulumi.Output.from_input(found),
            resources=LocalTableResources(schema=schema),
        )

    def validate_subscription(self, name: str, args: TableArgs, options: ChangeSubscription) -> None:
        """Any batch size works locally."""

    def on_change(self, table: Table, function: Any, options: ChangeSubscription) -> dict[str, Any]:
        descriptor = {"kind": "table", "name": table.logical_name, "batch_size": options.batch_size}
        triggers_of(function).add(descriptor)
        table.resources.listeners.append({"function": function.logical_name, **descriptor})
        return descriptor
