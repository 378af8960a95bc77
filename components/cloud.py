"""Which target a component lands on: explicit ``cloud=`` beats stack config ``omnicloud:cloud``."""

from __future__ import annotations

from typing import Literal, cast, get_args

from components.errors import CloudSelectionError

Cloud = Literal["aws", "azure", "gcp", "local"]
CLOUDS: tuple[str, ...] = get_args(Cloud)
CONFIG_KEY = "omnicloud:cloud"


def resolve_cloud(explicit: str | None = None) -> Cloud:
    """Return the target for a component.

    ``explicit`` (the component's ``cloud=`` argument) wins; otherwise the stack config key
    ``omnicloud:cloud`` decides. A missing or unknown value raises
    :class:`~components.errors.CloudSelectionError` naming the key, the value and the choices.
    This runs before any resource is registered.
    """
    if explicit is not None:
        if explicit not in CLOUDS:
            raise CloudSelectionError("cloud=", explicit, CLOUDS)
        return cast(Cloud, explicit)
    import pulumi

    value = pulumi.Config("omnicloud").get("cloud")
    if value not in CLOUDS:
        raise CloudSelectionError(CONFIG_KEY, value, CLOUDS)
    return cast(Cloud, value)
