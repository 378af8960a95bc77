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

Created only when the first component that needs them is built (same parent):

* ``azure-native:servicebus:Namespace`` ``sb-basic-<project>-<stack>`` (first non-FIFO
  Queue): Basic tier. Basic has no base charge and bills per operation, so a stack whose
  queues sit idle costs nothing (DESIGN.md principle 6); Standard carries a fixed hourly base
  charge whether or not a message ever moves. Basic keeps what a plain queue needs: the
  dead-letter sub-queue, lock duration, max delivery count, scheduled messages and a default
  time-to-live, but at most 14 days. It lacks sessions (FIFO), duplicate detection, auto-delete
  on idle, auto-forwarding (``forward_to``, ``forward_dead_lettered_messages_to``), express
  entities, transactions and topics; :mod:`.queue` rejects a non-FIFO Queue that would need one.
* ``azure-native:servicebus:Namespace`` ``sb-<project>-<stack>`` (first FIFO Queue only):
  Standard tier, for sessions and duplicate detection. An app without FIFO queues never gets
  one, so never pays its base charge. (The logical name is the one the single Standard
  namespace had before the split, so an existing stack keeps its FIFO queues where they are.)

  Both namespaces: local (SAS) auth disabled, so only Entra ID identities reach them; TLS 1.2
  minimum. Service Bus encrypts at rest with Microsoft-managed keys (customer-managed keys
  need Premium). Event Grid delivers to a queue in either tier (its destination is the queue's
  resource ID).
* ``azure-native:cosmosdb:DatabaseAccount`` + ``SqlResourceSqlDatabase`` (first Table):
  NoSQL, serverless (billed per request unit, nothing while idle), Session consistency, one
  region (serverless accounts are single-region), continuous backup with the 7-day tier
  (point-in-time restore; the 7-day tier has no backup storage charge), local (key) auth and
  key-based metadata writes disabled, TLS 1.2. Cosmos DB always encrypts at rest.
* ``azure-native:storage:BlobContainer`` ``deadletters`` (first EventBus subscription): in
  the stack storage account, where Event Grid writes undeliverable events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import pulumi
from pulumi_azure_native import cosmosdb, operationalinsights, resources, servicebus, storage

from providers.azure import naming
from providers.shared import stack_singleton

COMPONENT_TYPE = "omnicloud:azure:StackResources"
WORKSPACE_RETENTION_DAYS = 30

# Microsoft.ServiceBus/namespaces: 6-50 letters, digits and hyphens, starting with a letter,
# ending with a letter or digit, global (<name>.servicebus.windows.net).
NAMESPACE_MAX = 50
# Microsoft.DocumentDB/databaseAccounts: 3-44 lowercase letters, digits and hyphens, global
# (<name>.documents.azure.com).
COSMOS_ACCOUNT_MAX = 44
COSMOS_DATABASE = "omnicloud"
"""The stack's one SQL database; every Table is a container in it."""
DEAD_LETTER_CONTAINER = "deadletters"


@dataclass(frozen=True)
class AzureStackResources:
    """The shared resources every Function on Azure in this stack uses."""

    component: pulumi.ComponentResource
    resource_group: resources.ResourceGroup
    storage_account: storage.StorageAccount
    workspace: operationalinsights.Workspace


Tier = Literal["Basic", "Standard"]
BASIC: Tier = "Basic"
"""Plain queues: no base charge, billed per operation."""
STANDARD: Tier = "Standard"
"""FIFO queues: sessions and duplicate detection, at a fixed hourly base charge."""


@dataclass(frozen=True)
class AzureServiceBus:
    """One of the stack's Service Bus namespaces: Basic for plain queues, Standard for FIFO."""

    namespace: servicebus.Namespace
    fully_qualified_namespace: pulumi.Output[str]
    """``<namespace>.servicebus.windows.net``: what SDK clients and trigger connections take."""
    tier: Tier
    """:data:`BASIC` or :data:`STANDARD`."""


@dataclass(frozen=True)
class AzureCosmos:
    """The stack's Cosmos DB for NoSQL account and its database (every Table is a container)."""

    account: cosmosdb.DatabaseAccount
    database: cosmosdb.SqlResourceSqlDatabase
    database_name: str
    endpoint: pulumi.Output[str]
    """``https://<account>.documents.azure.com:443/``."""


class _StackComponent(pulumi.ComponentResource):
    """Parent of the stack's shared Azure resources (at the stack root)."""

    def __init__(self, name: str) -> None:
        super().__init__(COMPONENT_TYPE, name, None, None)


def stack_resources() -> AzureStackResources:
    """The stack's shared Azure resources, created on first use."""
    return stack_singleton("azure:stack", _create)


def service_bus(*, fifo: bool = False) -> AzureServiceBus:
    """The namespace a Queue goes in, created when the first Queue of its kind needs it.

    Non-FIFO queues share the stack's Basic namespace (no base charge); FIFO queues share its
    Standard namespace (sessions and duplicate detection), which exists only if one does.
    """
    if fifo:
        return stack_singleton("azure:servicebus:standard", lambda: _create_service_bus(STANDARD))
    return stack_singleton("azure:servicebus:basic", lambda: _create_service_bus(BASIC))


def cosmos() -> AzureCosmos:
    """The stack's Cosmos DB account and database, created when the first Table needs them."""
    return stack_singleton("azure:cosmos", _create_cosmos)


def dead_letter_container() -> storage.BlobContainer:
    """The stack's ``deadletters`` blob container, created for the first bus subscription."""
    return stack_singleton("azure:deadletters", _create_dead_letter_container)


_NAMESPACE_PREFIX: dict[Tier, str] = {BASIC: "sb-basic", STANDARD: "sb"}


def namespace_logical_name(project: str, stack: str, tier: Tier = STANDARD) -> str:
    """``sb-basic-<project>-<stack>`` (Basic) or ``sb-<project>-<stack>`` (Standard): starts
    with a letter and leaves room for the auto-name suffix."""
    return _fit(f"{_NAMESPACE_PREFIX[tier]}-{_lower_hyphenated(f'{project}-{stack}')}".rstrip("-"),
                NAMESPACE_MAX - naming.AUTONAME_SUFFIX)


def cosmos_account_logical_name(project: str, stack: str) -> str:
    """``cosmos-<project>-<stack>``, lowercase, leaving room for the auto-name suffix."""
    return _fit(f"cosmos-{_lower_hyphenated(f'{project}-{stack}')}".rstrip("-"),
                COSMOS_ACCOUNT_MAX - naming.AUTONAME_SUFFIX)


def host_of(endpoint: str) -> str:
    """``https://ns.servicebus.windows.net:443/`` -> ``ns.servicebus.windows.net``."""
    host = urlsplit(endpoint).hostname
    if not host:
        raise ValueError(f"not an endpoint URL: {endpoint!r}")
    return host


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


def _shared_child() -> tuple[AzureStackResources, pulumi.ResourceOptions]:
    shared = stack_resources()
    return shared, pulumi.ResourceOptions(parent=shared.component)


def _create_service_bus(tier: Tier) -> AzureServiceBus:
    shared, child = _shared_child()
    namespace = servicebus.Namespace(
        namespace_logical_name(pulumi.get_project(), pulumi.get_stack(), tier),
        resource_group_name=shared.resource_group.name,
        # Basic bills per operation only; Standard (a base charge) only for sessions (FIFO).
        sku=servicebus.SBSkuArgs(name=servicebus.SkuName(tier), tier=servicebus.SkuTier(tier)),
        # No SAS keys: every sender and receiver is an Entra ID identity with a data role.
        disable_local_auth=True,
        minimum_tls_version=servicebus.TlsVersion.TLS_VERSION_1_2,
        tags=stack_tags(),
        opts=child,
    )
    return AzureServiceBus(
        namespace=namespace,
        fully_qualified_namespace=namespace.service_bus_endpoint.apply(host_of),
        tier=tier,
    )


def _create_cosmos() -> AzureCosmos:
    shared, child = _shared_child()
    group = shared.resource_group
    logical = cosmos_account_logical_name(pulumi.get_project(), pulumi.get_stack())
    account = cosmosdb.DatabaseAccount(
        logical,
        resource_group_name=group.name,
        kind=cosmosdb.DatabaseAccountKind.GLOBAL_DOCUMENT_DB,
        database_account_offer_type=cosmosdb.DatabaseAccountOfferType.STANDARD,
        # Serverless: billed per request unit consumed and storage, nothing while idle.
        capabilities=[cosmosdb.CapabilityArgs(name="EnableServerless")],
        # A serverless account runs in exactly one region: the stack's.
        locations=[
            cosmosdb.LocationArgs(location_name=group.location, failover_priority=0, is_zone_redundant=False)
        ],
        consistency_policy=cosmosdb.ConsistencyPolicyArgs(
            default_consistency_level=cosmosdb.DefaultConsistencyLevel.SESSION
        ),
        # Backup is per account, not per container, and cannot go back from continuous to
        # periodic; the 7-day tier is free, so every account gets point-in-time restore.
        backup_policy=cosmosdb.ContinuousModeBackupPolicyArgs(
            type="Continuous",
            continuous_mode_properties=cosmosdb.ContinuousModePropertiesArgs(
                tier=cosmosdb.ContinuousTier.CONTINUOUS7_DAYS
            ),
        ),
        # Entra ID only: no primary keys for data, none for metadata writes either.
        disable_local_auth=True,
        disable_key_based_metadata_write_access=True,
        minimal_tls_version=cosmosdb.MinimalTlsVersion.TLS12,
        tags=stack_tags(),
        opts=child,
    )
    database = cosmosdb.SqlResourceSqlDatabase(
        f"{logical}-db",
        resource_group_name=group.name,
        account_name=account.name,
        database_name=COSMOS_DATABASE,
        resource=cosmosdb.SqlDatabaseResourceArgs(id=COSMOS_DATABASE),
        tags=stack_tags(),
        opts=child,
    )
    return AzureCosmos(
        account=account,
        database=database,
        database_name=COSMOS_DATABASE,
        endpoint=account.document_endpoint,
    )


def _create_dead_letter_container() -> storage.BlobContainer:
    shared, child = _shared_child()
    return storage.BlobContainer(
        "deadletters",
        resource_group_name=shared.resource_group.name,
        account_name=shared.storage_account.name,
        container_name=DEAD_LETTER_CONTAINER,
        public_access=storage.PublicAccess.NONE,
        opts=child,
    )


def _lower_hyphenated(text: str) -> str:
    """Lowercase letters, digits and single hyphens, no hyphen at either end."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def _fit(text: str, limit: int) -> str:
    """``text`` if it fits, else a prefix plus a hash of the whole, so it stays unique."""
    if len(text) <= limit:
        return text
    suffix = naming.short_hash(text)
    return f"{text[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"
