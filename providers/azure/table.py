"""Table on Azure: a Cosmos DB for NoSQL container in the stack's serverless account.

What gets registered:

* ``azure-native:cosmosdb:DatabaseAccount`` + ``SqlResourceSqlDatabase`` once per stack
  (see :mod:`.stack`: serverless, Session consistency, continuous 7-day backup, Entra ID only).
* ``azure-native:cosmosdb:SqlResourceSqlContainer`` ``<name>`` (child of the component, id =
  the table's name): partition key path ``/<partition_key>`` (hash, version 2, so values up
  to 2 KB), automatic consistent indexing of every path, and composite indexes
  ``(partition key ASC, sort key ASC)`` and ``(partition key ASC, sort key DESC)`` for the
  table and for each index with a sort key, which serve ``WHERE pk = @v ORDER BY pk, sk``
  (ascending or descending) without a cross-partition sort. Indexes are not separate
  structures on Cosmos: an index query is a query of the same container on other attributes
  (cross-partition), eventually consistent like an index elsewhere.
  With ``ttl_attribute``, ``defaultTtl`` is ``-1``: items never expire unless they carry
  Cosmos' own ``ttl`` property.

Data model (the runtime client's side of the contract): an item's Cosmos ``id`` is its sort
key value, escaped so it is a valid id (``_`` when the table has no sort key).

Semantic differences (documented for the support matrix):

* TTL: Cosmos expires an item ``ttl`` *seconds after its last write*, not at an absolute
  time. The runtime client sets ``ttl`` from ``ttl_attribute`` (epoch seconds) at every
  write; expiry is then exact to the second, but the item is deleted by Cosmos only when the
  background process runs (expired items are no longer returned, as on DynamoDB).
* Point-in-time recovery is an account setting on Cosmos DB: every table of an Azure stack is
  backed up continuously (7 days), whatever its ``point_in_time_recovery``.
* ``id``, ``ttl`` and Cosmos' system properties (``_rid``, ``_self``, ``_etag``,
  ``_attachments``, ``_ts``, ``_lsn``) cannot be key attributes, and ``ttl`` not the TTL
  attribute: Cosmos gives them their own meaning.

``table.on_change(fn)`` adds, under the table component:

* ``azure-native:cosmosdb:SqlResourceSqlContainer`` ``<table>-leases-<fn>`` (id
  ``<table>.leases.<fn>``, partition key ``/id``): the change feed processor's lease
  container, one per trigger, so two functions watching the same table never share leases;
* two ``azure-native:cosmosdb:SqlResourceSqlRoleAssignment`` for the function's identity: the
  ``change-feed`` role on the table's container and the ``leases`` role on the lease container;
* the trigger descriptor ``{"kind": "table", "name", "database", "container",
  "lease_container", "endpoint", "batch_size"}`` (the app settings then carry
  ``OMNICLOUD_COSMOS__accountEndpoint``). The Cosmos DB trigger reads the change feed in
  *latest version* mode: it delivers inserts and updates with the new image only. Deletes
  (including TTL expiry) and old images are not delivered (the "all versions and deletes"
  mode is in preview and not available to the Functions trigger), and several updates of one
  item between two reads arrive as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import cosmosdb

from components.errors import require
from components.table import ChangeSubscription, TableArgs
from providers.azure import grants, roles
from providers.azure.function import check_tags
from providers.azure.stack import AzureCosmos, cosmos, stack_resources
from providers.protocols import ComponentOutputs
from providers.shared import apply_overrides, tags_for, triggers_of

if TYPE_CHECKING:
    from components.function import Function
    from components.table import Table

CLOUD = "azure"
TABLE_NAME_MAX = 128
"""Container ids allow 255 characters; the lease containers add ``.leases.<function>``."""
_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
RESERVED_ATTRIBUTES = frozenset({"id", "ttl", "_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"})
"""Item properties Cosmos DB defines itself."""
LEASE_PARTITION_KEY = "/id"
"""What the change feed processor requires of a lease container."""


@dataclass(frozen=True)
class AzureTableResources:
    """The native resources behind a Table on Azure."""

    container: cosmosdb.SqlResourceSqlContainer
    cosmos: AzureCosmos
    """The stack's account and database (shared by every Table of the stack)."""
    data_scope: pulumi.Output[str]
    """The container's Cosmos DB data-plane scope, ``<account id>/dbs/<db>/colls/<name>``."""


@dataclass(frozen=True)
class AzureTableTrigger:
    """What ``table.on_change(fn)`` registered on Azure."""

    lease_container: cosmosdb.SqlResourceSqlContainer
    descriptor: dict[str, Any]
    role_assignments: list[pulumi.CustomResource] = field(default_factory=list)


class AzureTableProvider:
    """Builds :class:`components.Table` as a Cosmos DB for NoSQL container."""

    LIMITATIONS = {
        "change_feed_deletes_and_old_images": (
            "the Cosmos DB change feed (latest-version mode, the GA one) delivers no deletes "
            "(TTL expiry included) and no old image, and merges updates made between two reads"
        ),
    }
    """Semantic gaps that deploy fine but behave differently; listed in the support matrix."""

    def validate(self, name: str, args: TableArgs) -> None:
        component = f"Table '{name}'"
        require(bool(_TABLE_NAME.match(name)) and len(name) <= TABLE_NAME_MAX, component, "name", name,
                f"Cosmos DB container names here are letters, digits, '-' and '_', at most {TABLE_NAME_MAX} "
                "characters", cloud=CLOUD)
        for attribute in sorted(args.key_attributes()):
            require(attribute not in RESERVED_ATTRIBUTES, component, "key attribute", attribute,
                    f"Cosmos DB reserves {', '.join(sorted(RESERVED_ATTRIBUTES))}; rename the attribute",
                    cloud=CLOUD)
        if args.ttl_attribute is not None:
            require(args.ttl_attribute not in RESERVED_ATTRIBUTES, component, "ttl_attribute", args.ttl_attribute,
                    "Cosmos DB's own 'ttl' property holds seconds until expiry; keep the absolute expiry "
                    "time in another attribute", cloud=CLOUD)
        check_tags(component, name, args)
        apply_overrides(component, CLOUD, cosmosdb.SqlResourceSqlContainer, {}, args.overrides)

    def create(self, name: str, args: TableArgs, parent: pulumi.ComponentResource) -> ComponentOutputs:
        component = f"Table '{name}'"
        account = cosmos()
        kwargs = apply_overrides(
            component, CLOUD, cosmosdb.SqlResourceSqlContainer,
            {
                "resource_group_name": stack_resources().resource_group.name,
                "account_name": account.account.name,
                "database_name": account.database.name,
                "container_name": name,
                "resource": cosmosdb.SqlContainerResourceArgs(
                    id=name,
                    partition_key=_partition_key(f"/{args.partition_key}"),
                    # -1: per-item TTL is on, and items without a ttl property never expire.
                    default_ttl=-1 if args.ttl_attribute else None,
                    indexing_policy=indexing_policy(args),
                ),
                "tags": tags_for(name, args),
            },
            args.overrides,
        )
        # The container's id is its name: a replacement (a new partition key) must delete first.
        container = cosmosdb.SqlResourceSqlContainer(
            name, **kwargs, opts=pulumi.ResourceOptions(parent=parent, delete_before_replace=True)
        )
        scope = _data_scope(account, container.name)
        locator = pulumi.Output.all(account.endpoint, account.database.name, container.name).apply(
            lambda values: {
                "kind": "table",
                "cloud": CLOUD,
                "name": name,
                "endpoint": values[0],
                "database": values[1],
                "container": values[2],
                **key_schema(args),
            }
        )
        return ComponentOutputs(
            name=container.name,
            resource_id=container.id,
            locator=locator,
            resources=AzureTableResources(container=container, cosmos=account, data_scope=scope),
        )

    def validate_subscription(self, name: str, args: TableArgs, options: ChangeSubscription) -> None:
        """Any batch size: it becomes the trigger's ``maxItemsPerInvocation``."""

    def on_change(self, table: Table, function: Function, options: ChangeSubscription) -> AzureTableTrigger:
        resources: AzureTableResources = table.resources
        account = resources.cosmos
        child = pulumi.ResourceOptions(parent=table)
        lease_name = lease_container_name(table.logical_name, function.logical_name)
        leases = cosmosdb.SqlResourceSqlContainer(
            f"{table.logical_name}-leases-{function.logical_name}",
            resource_group_name=stack_resources().resource_group.name,
            account_name=account.account.name,
            database_name=account.database.name,
            container_name=lease_name,
            resource=cosmosdb.SqlContainerResourceArgs(
                id=lease_name, partition_key=_partition_key(LEASE_PARTITION_KEY)
            ),
            opts=pulumi.ResourceOptions(parent=table, delete_before_replace=True),
        )
        reason = f"Function '{function.logical_name}' is triggered by Table '{table.logical_name}'"
        assignments = [
            *grants.grant_kind(
                f"{function.logical_name}-on-table-{table.logical_name}", "trigger:table", "consume",
                principal_id=function.identity, scope=resources.data_scope, reason=reason, opts=child,
            ),
            *grants.grant_kind(
                f"{function.logical_name}-on-table-{table.logical_name}-leases", "trigger:table-leases", "consume",
                principal_id=function.identity, scope=_data_scope(account, leases.name), reason=reason, opts=child,
            ),
        ]
        descriptor: dict[str, Any] = {
            "kind": "table",
            "name": table.logical_name,
            "database": account.database.name,
            "container": resources.container.name,
            "lease_container": leases.name,
            "endpoint": account.endpoint,
            "batch_size": options.batch_size,
        }
        triggers_of(function).add(descriptor)
        return AzureTableTrigger(lease_container=leases, descriptor=descriptor, role_assignments=assignments)


def lease_container_name(table: str, function: str) -> str:
    """``<table>.leases.<function>``: a '.' no table name has, so it never collides with one."""
    return f"{table}.leases.{function}"


def key_schema(args: TableArgs) -> dict[str, Any]:
    """The key schema every table locator carries (see the runtime contract)."""
    return {
        "partition_key": args.partition_key,
        "sort_key": args.sort_key,
        "key_types": {attribute: args.key_type(attribute) for attribute in sorted(args.key_attributes())},
        "indexes": [
            {"name": index.name, "partition_key": index.partition_key, "sort_key": index.sort_key}
            for index in args.indexes
        ],
        "ttl_attribute": args.ttl_attribute,
    }


def indexing_policy(args: TableArgs) -> cosmosdb.IndexingPolicyArgs:
    """Every path indexed, plus composite (partition, sort) indexes in both sort orders."""
    pairs = [(args.partition_key, args.sort_key)] if args.sort_key else []
    pairs += [(index.partition_key, index.sort_key) for index in args.indexes if index.sort_key]
    composite: list[list[cosmosdb.CompositePathArgs]] = []
    seen: set[tuple[str, str, str]] = set()
    for partition, sort in pairs:
        for order in (cosmosdb.CompositePathSortOrder.ASCENDING, cosmosdb.CompositePathSortOrder.DESCENDING):
            if (partition, sort, order.value) in seen:
                continue
            seen.add((partition, sort, order.value))
            composite.append([
                cosmosdb.CompositePathArgs(path=f"/{partition}", order=cosmosdb.CompositePathSortOrder.ASCENDING),
                cosmosdb.CompositePathArgs(path=f"/{sort}", order=order),
            ])
    return cosmosdb.IndexingPolicyArgs(
        automatic=True,
        indexing_mode=cosmosdb.IndexingMode.CONSISTENT,
        included_paths=[cosmosdb.IncludedPathArgs(path="/*")],
        # Cosmos' own default exclusion: the ETag is never queried.
        excluded_paths=[cosmosdb.ExcludedPathArgs(path='/"_etag"/?')],
        composite_indexes=composite or None,
    )


def _partition_key(path: str) -> cosmosdb.ContainerPartitionKeyArgs:
    # Version 2: hashes partition key values up to 2 KB (version 1 only the first 100 bytes).
    return cosmosdb.ContainerPartitionKeyArgs(paths=[path], kind=cosmosdb.PartitionKind.HASH, version=2)


def _data_scope(account: AzureCosmos, container: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.all(account.account.id, account.database.name, container).apply(
        lambda values: roles.cosmos_data_scope(values[0], values[1], values[2])
    )
