"""What all five components share: validate, resolve the cloud, call the provider."""

from __future__ import annotations

from typing import Any

import pulumi

from components.cloud import Cloud, resolve_cloud

TYPE_PREFIX = "omnicloud:index:"


class OmnicloudComponent(pulumi.ComponentResource):
    """Base of every public component.

    Subclasses validate their args, then call :meth:`_start`, which resolves the target and
    runs the target's pure validation *before* the component (or anything) is registered.
    """

    cloud: Cloud
    """The target this component was built for."""

    def _start(
        self,
        kind: str,
        name: str,
        args: Any,
        opts: pulumi.ResourceOptions | None,
        cloud: str | None,
    ) -> Any:
        """Resolve the target, validate against its limits, register the component.

        Returns the target's provider, ready for ``create``.
        """
        from providers.registry import provider_for

        self.cloud = resolve_cloud(cloud)
        provider = provider_for(kind, self.cloud)
        provider.validate(name, args)
        super().__init__(TYPE_PREFIX + type(self).__name__, name, None, opts)
        return provider

    def _child_opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)
