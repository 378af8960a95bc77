"""Workflow on the local target: the portable interpreter, run by ``omnicloud dev``.

Nothing is created in any cloud; the locator carries the definition the local runtime runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.workflow import WorkflowArgs
from providers.local.common import local_app, local_id, locator
from providers.protocols import ComponentOutputs


@dataclass(frozen=True)
class LocalWorkflowResources:
    """What the local runtime runs for one Workflow."""

    definition: dict[str, Any]
    functions: tuple[str, ...]


class LocalWorkflowProvider:
    """Builds :class:`components.Workflow` for the embedded local runtime."""

    LIMITATIONS = {
        "task_once_per_attempt": "an execution cut off by a stopped or killed server runs again from its "
        "first step when the server restarts, so a task may run more than once per attempt",
    }

    def validate(self, name: str, args: WorkflowArgs) -> None:
        """The interpreter is the reference semantics: every valid definition runs locally."""

    def create(
        self, name: str, args: WorkflowArgs, functions: Mapping[str, Any], parent: pulumi.ComponentResource
    ) -> ComponentOutputs:
        definition = args.definition()
        local_app().workflows.append(parent)
        found = locator("workflow", name)
        return ComponentOutputs(
            name=pulumi.Output.from_input(name),
            resource_id=pulumi.Output.from_input(local_id("workflow", name)),
            locator=pulumi.Output.from_input(found),
            resources=LocalWorkflowResources(definition=definition, functions=tuple(sorted(functions))),
        )
