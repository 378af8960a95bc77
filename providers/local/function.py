"""Function on the local target: nothing is created in any cloud.

The component records what the embedded runtime needs (handler, HTTP access, schedule,
environment) in :class:`LocalFunctionResources`; its URL is a loopback address under the
local server's port (stack config ``omnicloud:localPort``, default 8787), and ``omnicloud dev``
serves it from :func:`providers.local.common.local_app`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi

from components.errors import require
from components.function_args import FunctionArgs
from providers.local.common import local_app, local_id, local_port
from providers.protocols import FunctionOutputs
from providers.shared import TRIGGERS_ENV, cross_cloud_links, runtime_environment, triggers_of

# The name is a URL path segment on the local server.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class LocalFunctionResources:
    """What the local runtime serves for one Function."""

    handler: str
    http: str | None
    schedule: str | None
    timeout_s: int
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    secrets: dict[str, pulumi.Input[str]] = field(default_factory=dict)


class LocalFunctionProvider:
    """Builds :class:`components.Function` for the embedded local runtime."""

    LIMITATIONS = {
        "private_http": "private functions are served on loopback without authentication "
        "(only this machine reaches them; there is no identity to check locally)",
    }

    def validate(self, name: str, args: FunctionArgs) -> None:
        require(
            bool(NAME.match(name)),
            f"Function '{name}'",
            "name",
            name,
            "local names are 1-63 letters, digits, '-' or '_' (they are URL path segments)",
            cloud="local",
        )
        cross_cloud_links(f"Function '{name}'", "local", args.links)

    def create(self, name: str, args: FunctionArgs, parent: pulumi.ComponentResource) -> FunctionOutputs:
        url = f"http://127.0.0.1:{local_port()}/{name}/" if args.http else None
        resources = LocalFunctionResources(
            handler=args.handler,
            http=args.http,
            schedule=args.schedule,
            timeout_s=args.timeout_s,
            environment={**runtime_environment("local", name, args), TRIGGERS_ENV: triggers_of(parent).output()},
            secrets=dict(args.secrets),
        )
        local_app().functions.append(parent)
        return FunctionOutputs(
            name=pulumi.Output.from_input(name),
            resource_id=pulumi.Output.from_input(local_id("function", name)),
            url=pulumi.Output.from_input(url),
            identity=pulumi.Output.from_input(f"local:{name}"),
            resources=resources,
        )
