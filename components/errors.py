"""Errors raised before anything is deployed.

Every error names what a user needs to fix it: the component, the field, the value and
the limit (on which cloud). They subclass ``ValueError`` so callers that already guard
configuration mistakes keep working.
"""

from __future__ import annotations

from typing import Any


class OmnicloudError(ValueError):
    """Base class for every error omnicloud raises on bad input."""


class CloudSelectionError(OmnicloudError):
    """The target cloud is missing or unknown."""

    def __init__(self, key: str, value: object, choices: tuple[str, ...]) -> None:
        self.key = key
        self.value = value
        self.choices = choices
        shown = "<not set>" if value is None else repr(value)
        super().__init__(
            f"config key '{key}' is {shown}; set it to one of: {', '.join(choices)} "
            f"(e.g. `pulumi config set {key} {choices[0]}`), or pass cloud=... to the component"
        )


class InvalidArgsError(OmnicloudError):
    """A component argument is outside what the selected cloud (or omnicloud) accepts."""

    def __init__(
        self,
        component: str,
        field: str,
        value: Any,
        limit: str,
        *,
        cloud: str | None = None,
    ) -> None:
        self.component = component
        self.field = field
        self.value = value
        self.limit = limit
        self.cloud = cloud
        where = f" on {cloud}" if cloud else ""
        super().__init__(f"{component}: {field}={value!r} is invalid{where}: {limit}")


def require(ok: bool, component: str, field: str, value: Any, limit: str, *, cloud: str | None = None) -> None:
    """Raise :class:`InvalidArgsError` unless ``ok``; the one way validators state a limit."""
    if not ok:
        raise InvalidArgsError(component, field, value, limit, cloud=cloud)
