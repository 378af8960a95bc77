"""The shared shape of every component's ``*Args``: a frozen pydantic model, ``extra="forbid"``."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from components.errors import InvalidArgsError

ArgsT = TypeVar("ArgsT", bound="ComponentArgs")


class ComponentArgs(BaseModel):
    """Base for component arguments: immutable, unknown fields rejected, Outputs allowed."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


def coerce_args(component: str, model: type[ArgsT], args: ArgsT | dict[str, Any]) -> ArgsT:
    """Accept a model or a plain dict; turn pydantic's error into one naming the component."""
    if isinstance(args, model):
        return args
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "<args>"
        limit = first["msg"].removeprefix("Value error, ")
        raise InvalidArgsError(component, field, first.get("input"), limit) from None


def is_output_like(value: object) -> bool:
    """True for a ``pulumi.Output``, checked without importing pulumi eagerly."""
    return type(value).__name__ == "Output" and hasattr(value, "apply")
