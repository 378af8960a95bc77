"""What all five components share: validate, resolve the cloud, call the provider, links."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi

from components.cloud import Cloud, resolve_cloud
from components.errors import InvalidArgsError
from components.links import Link

TYPE_PREFIX = "omnicloud:index:"


class OmnicloudComponent(pulumi.ComponentResource):
    """Base of every public component.

    Subclasses validate their args, then call :meth:`_start`, which resolves the target and
    runs the target's pure validation *before* the component (or anything) is registered.
    """

    KIND: ClassVar[str]
    """The kind in the provider registry and in link variable names ("queue", "table", ...)."""
    VERBS: ClassVar[tuple[str, ...]] = ()
    """What a Function may be allowed to do with this component (see :meth:`allow`)."""

    cloud: Cloud
    """The target this component was built for."""
    logical_name: str
    """The name given in the program (``Table("orders", ...)`` -> ``"orders"``)."""
    locator: pulumi.Output[dict[str, Any]]
    """Where the runtime finds the resource (injected into linked functions)."""

    def _start(
        self,
        name: str,
        args: Any,
        opts: pulumi.ResourceOptions | None,
        cloud: str | None,
    ) -> Any:
        """Resolve the target, validate against its limits, register the component.

        Returns the target's provider, ready for ``create``.
        """
        from providers.registry import provider_for

        self.logical_name = name
        self.cloud = resolve_cloud(cloud)
        provider = provider_for(self.KIND, self.cloud)
        from providers.shared import cross_cloud_links

        cross_cloud_links(f"{type(self).__name__} '{name}'", self.cloud, getattr(args, "links", []))
        provider.validate(name, args)
        super().__init__(TYPE_PREFIX + type(self).__name__, name, None, opts)
        return provider

    def allow(self, *verbs: str) -> Link:
        """Grant a Function these verbs on this component: ``FunctionArgs(links=[...])``."""
        component = f"{type(self).__name__} '{self.logical_name}'"
        if not verbs:
            raise InvalidArgsError(component, "allow", verbs, f"name at least one of {self.VERBS}")
        for verb in verbs:
            if verb not in self.VERBS:
                raise InvalidArgsError(component, "allow", verb, f"verbs are {self.VERBS}")
        return Link(self, tuple(dict.fromkeys(verbs)))

    def _same_cloud(self, other: OmnicloudComponent, field: str) -> None:
        if other.cloud != self.cloud:
            raise InvalidArgsError(
                f"{type(self).__name__} '{self.logical_name}'",
                field,
                f"{type(other).__name__} '{other.logical_name}'",
                f"it is on {other.cloud}, this is on {self.cloud}; wiring across clouds is not supported",
            )
