"""The contract every target implements, one protocol per component kind.

A provider validates arguments against its cloud's limits (pure, before anything is
registered) and then creates the native resources as children of the component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pulumi

if TYPE_CHECKING:
    from components.function_args import FunctionArgs


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
