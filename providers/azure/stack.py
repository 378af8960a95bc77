"""Per-stack shared Azure resources: created once, owned by no Function.

Registered under their own ``omnicloud:azure:StackResources`` component at the stack root, so
removing a Function never deletes infrastructure other Functions use:

* ``azure-native:resources:ResourceGroup``: every omnicloud resource of the stack. Its
  location is the provider's (``azure-native:location``), so nothing sets one explicitly.
* ``azure-native:storage:StorageAccount``: AzureWebJobsStorage of every Function App and the
  home of their deployment containers. StorageV2, Standard_LRS, HTTPS only, TLS 1.2, no
  anonymous blob access and no shared keys: every caller (the Functions host, the Flex
  deployment fetch, and azure-native's blob upload) authenticates with Entra ID. The identity
  running ``pulumi up`` therefore needs a blob data role (e.g. Storage Blob Data Contributor)
  on the account, resource group or subscription to upload packages.
* ``azure-native:operationalinsights:Workspace``: the Log Analytics workspace behind every
  Function's workspace-based Application Insights (PerGB2018, 30 days).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import operationalinsights, resources, storage

from providers.azure import naming
from providers.shared import stack_singleton

COMPONENT_TYPE = "omnicloud:azure:StackResources"
WORKSPACE_RETENTION_DAYS = 30


@dataclass(frozen=True)
class AzureStackResources:
    """The shared resources every Function on Azure in this stack uses."""

    component: pulumi.ComponentResource
    resource_group: resources.ResourceGroup
    storage_account: storage.StorageAccount
    workspace: operationalinsights.Workspace


class _StackComponent(pulumi.ComponentResource):
    """Parent of the stack's shared Azure resources (at the stack root)."""

    def __init__(self, name: str) -> None:
        super().__init__(COMPONENT_TYPE, name, None, None)


def stack_resources() -> AzureStackResources:
    """The stack's shared Azure resources, created on first use."""
    return stack_singleton("azure:stack", _create)


def stack_tags() -> dict[str, str]:
    """Tags on the shared resources: which project and stack they serve."""
    return {"omnicloud-project": pulumi.get_project(), "omnicloud-stack": pulumi.get_stack()}


def _create() -> AzureStackResources:
    project, stack = pulumi.get_project(), pulumi.get_stack()
    component = _StackComponent("azure-shared")
    child = pulumi.ResourceOptions(parent=component)
    tags = stack_tags()
    group = resources.ResourceGroup(
        naming.resource_group_logical_name(project, stack),
        tags=tags,
        opts=child,
    )
    account = storage.StorageAccount(
        naming.storage_account_logical_name(project, stack),
        resource_group_name=group.name,
        kind=storage.Kind.STORAGE_V2,
        sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
        enable_https_traffic_only=True,
        minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
        allow_blob_public_access=False,
        allow_shared_key_access=False,
        tags=tags,
        opts=child,
    )
    workspace = operationalinsights.Workspace(
        naming.workspace_logical_name(project, stack),
        resource_group_name=group.name,
        sku=operationalinsights.WorkspaceSkuArgs(
            name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
        ),
        retention_in_days=WORKSPACE_RETENTION_DAYS,
        tags=tags,
        opts=child,
    )
    component.register_outputs(
        {
            "resource_group": group.name,
            "storage_account": account.name,
            "workspace_id": workspace.id,
        }
    )
    return AzureStackResources(
        component=component, resource_group=group, storage_account=account, workspace=workspace
    )
