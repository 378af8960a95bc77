"""Maps (component kind, target) to its provider class, imported only when first used.

Importing a target's module imports that cloud's Pulumi SDK, so nothing here imports a
target until a component asks for it: a stack on AWS never loads the Azure or GCP SDKs.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

# "module:Class" per kind and target. Adding a target means adding a column here.
_IMPLEMENTATIONS: dict[str, dict[str, str]] = {
    "function": {
        "aws": "providers.aws.function:AwsFunctionProvider",
        "azure": "providers.azure.function:AzureFunctionProvider",
        "gcp": "providers.gcp.function:GcpFunctionProvider",
        "local": "providers.local.function:LocalFunctionProvider",
    },
    "queue": {
        "aws": "providers.aws.queue:AwsQueueProvider",
        "azure": "providers.azure.queue:AzureQueueProvider",
        "gcp": "providers.gcp.queue:GcpQueueProvider",
        "local": "providers.local.queue:LocalQueueProvider",
    },
    "bus": {
        "aws": "providers.aws.event_bus:AwsEventBusProvider",
        "azure": "providers.azure.event_bus:AzureEventBusProvider",
        "gcp": "providers.gcp.event_bus:GcpEventBusProvider",
        "local": "providers.local.event_bus:LocalEventBusProvider",
    },
    "table": {
        "aws": "providers.aws.table:AwsTableProvider",
        "azure": "providers.azure.table:AzureTableProvider",
        "gcp": "providers.gcp.table:GcpTableProvider",
        "local": "providers.local.table:LocalTableProvider",
    },
    "workflow": {
        "aws": "providers.aws.workflow:AwsWorkflowProvider",
        "azure": "providers.azure.workflow:AzureWorkflowProvider",
        "gcp": "providers.gcp.workflow:GcpWorkflowProvider",
        "local": "providers.local.workflow:LocalWorkflowProvider",
    },
}


def kinds() -> tuple[str, ...]:
    """Every component kind the registry knows."""
    return tuple(_IMPLEMENTATIONS)


def targets(kind: str) -> tuple[str, ...]:
    """Every target that implements ``kind``."""
    return tuple(_IMPLEMENTATIONS[kind])


@cache
def provider_for(kind: str, target: str) -> Any:
    """The (stateless, shared) provider instance for ``kind`` on ``target``."""
    try:
        path = _IMPLEMENTATIONS[kind][target]
    except KeyError:
        raise LookupError(f"no provider for {kind!r} on {target!r}") from None
    module_name, _, class_name = path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()
