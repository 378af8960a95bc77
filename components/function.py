"""``Function``: one handler, deployed as Lambda, an Azure Function App or a Cloud Function."""

from __future__ import annotations

import functools
from typing import Any

import pulumi

from components._args import coerce_args
from components._component import OmnicloudComponent
from components.function_args import FunctionArgs
from components.packaging import locate_handler


class Function(OmnicloudComponent):
    """A serverless function running ``args.handler`` on the stack's cloud.

    Outputs (same names on every cloud):

    * ``name``: the native function's name.
    * ``resource_id``: Lambda ARN / Azure resource ID / GCP full resource name.
    * ``url``: the HTTPS endpoint when ``http`` is set, else None.
    * ``identity``: role ARN / managed identity principal ID / service account email.
    * ``resources``: the target's typed dataclass of child resources (the escape hatch).
    """

    KIND = "function"
    VERBS = ("invoke",)

    name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    url: pulumi.Output[str | None]
    identity: pulumi.Output[str]
    resources: Any
    args: FunctionArgs

    @functools.cached_property
    def locator(self) -> pulumi.Output[dict[str, Any]]:  # type: ignore[override]
        """Where a linked caller finds this function; built only when something links to it."""
        return pulumi.Output.all(name=self.name, resource_id=self.resource_id, url=self.url).apply(
            lambda values: {"kind": "function", "cloud": self.cloud, **values}
        )

    def __init__(
        self,
        name: str,
        args: FunctionArgs | dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
        *,
        cloud: str | None = None,
    ) -> None:
        self.args = coerce_args(f"Function '{name}'", FunctionArgs, args)
        # Same check on every target: the handler's module must exist in the project.
        locate_handler(self.args.handler, f"Function '{name}'")
        provider = self._start(name, self.args, opts, cloud)
        functions_in_program()[name] = self
        built = provider.create(name, self.args, self)
        self.name = built.name
        self.resource_id = built.resource_id
        self.url = built.url
        self.identity = built.identity
        self.resources = built.resources
        self.register_outputs(
            {
                "name": self.name,
                "resource_id": self.resource_id,
                "url": self.url,
                "identity": self.identity,
            }
        )


def functions_in_program() -> dict[str, Function]:
    """The Functions created so far by the running program (per stack), by logical name.

    A Workflow resolves its tasks' function names here.
    """
    from providers.shared import stack_singleton

    registry: dict[str, Function] = stack_singleton("functions", dict)
    return registry
