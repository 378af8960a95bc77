"""Azure role definitions omnicloud assigns: built-in Azure RBAC roles and Cosmos DB data roles.

Built-in role GUIDs are the same in every tenant and subscription
(learn.microsoft.com/azure/role-based-access-control/built-in-roles), so the full role
definition ID is built from the subscription of the scope, without an invoke: a lookup would
make every ``pulumi preview`` call Azure and every mocked test provide a fake result.

Cosmos DB for NoSQL has its own data-plane RBAC (``sqlRoleDefinitions`` /
``sqlRoleAssignments`` on the account), separate from Azure RBAC. Its two built-in roles are
coarse (Data Contributor is ``containers/*`` and ``items/*``: whoever may write may also
delete and run stored procedures), so omnicloud defines one custom role per verb with the
exact data actions (:data:`COSMOS_DATA_ACTIONS`), once per stack account, and assigns them at
container scope. Data actions: learn.microsoft.com/azure/cosmos-db/nosql/security/reference-data-plane-actions.
"""

from __future__ import annotations

import uuid

import pulumi

BUILT_IN_ROLES: dict[str, str] = {
    # Read, write, delete blobs and containers, and set POSIX ACLs. The Functions host needs
    # it on AzureWebJobsStorage for identity-based host storage (keys, timer locks, package).
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    # Read, write and delete blobs: Event Grid's identity on the dead-letter container.
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    # Send messages (and schedule them) to a queue or topic; nothing else.
    "Azure Service Bus Data Sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    # Receive, peek, complete, abandon and dead-letter; no send, no management.
    "Azure Service Bus Data Receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    # Publish events to an Event Grid topic.
    "EventGrid Data Sender": "d5a91429-5739-47e2-a06b-3470a27159e7",
    # Add messages to a Storage queue, nothing else: a caller starting a workflow.
    "Storage Queue Data Message Sender": "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
    # Queues and messages: the Durable Task hub's control and work-item queues.
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    # Tables and entities: the Durable Task hub's history and instance tables.
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
}

_COSMOS = "Microsoft.DocumentDB/databaseAccounts"
_ITEMS = f"{_COSMOS}/sqlDatabases/containers/items"
_CONTAINERS = f"{_COSMOS}/sqlDatabases/containers"

COSMOS_DATA_ACTIONS: dict[str, tuple[str, ...]] = {
    # Point reads and queries (of the table and its indexes, which are the same container).
    "read": (f"{_COSMOS}/readMetadata", f"{_ITEMS}/read", f"{_CONTAINERS}/executeQuery"),
    # Create, replace, upsert. A conditional put compares the stored item first (Cosmos has no
    # server-side attribute conditions, only ETag preconditions), hence items/read.
    "write": (
        f"{_COSMOS}/readMetadata",
        f"{_ITEMS}/read",
        f"{_ITEMS}/create",
        f"{_ITEMS}/replace",
        f"{_ITEMS}/upsert",
    ),
    # Delete, with the same read for conditional deletes.
    "delete": (f"{_COSMOS}/readMetadata", f"{_ITEMS}/read", f"{_ITEMS}/delete"),
    # A change-feed trigger on the monitored container: the feed and nothing else.
    "change-feed": (f"{_COSMOS}/readMetadata", f"{_CONTAINERS}/readChangeFeed"),
    # The trigger's lease container: the change feed processor creates, renews, queries,
    # releases and deletes (on partition split/merge) its lease documents.
    "leases": (
        f"{_COSMOS}/readMetadata",
        f"{_ITEMS}/read",
        f"{_ITEMS}/create",
        f"{_ITEMS}/replace",
        f"{_ITEMS}/upsert",
        f"{_ITEMS}/delete",
        f"{_CONTAINERS}/executeQuery",
    ),
}
"""Exact Cosmos DB data actions per omnicloud data role (no wildcards)."""

_GUID_NAMESPACE = uuid.UUID("6f0c5a53-8a43-4f8e-9a53-6f6d6e69636c")
"""Namespace of the deterministic GUIDs below (name-based UUIDv5, like Bicep's ``guid()``)."""


def role_definition_id(role: str, scope_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """``/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>``.

    ``scope_id`` is any resource ID inside the subscription (``/subscriptions/<sub>/...``).
    """
    guid = BUILT_IN_ROLES[role]
    return pulumi.Output.from_input(scope_id).apply(
        lambda resource_id: (
            f"/subscriptions/{subscription_of(resource_id)}"
            f"/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        )
    )


def subscription_of(resource_id: str) -> str:
    """The subscription ID in an Azure resource ID."""
    parts = resource_id.strip("/").split("/")
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise ValueError(f"not an Azure resource ID inside a subscription: {resource_id!r}")
    return parts[1]


def stable_guid(*parts: str) -> str:
    """A GUID derived from ``parts``: the same inputs give the same resource name on every run."""
    return str(uuid.uuid5(_GUID_NAMESPACE, "/".join(parts)))


def cosmos_role_name(role: str) -> str:
    """The custom Cosmos DB role's display name, e.g. ``omnicloud table write``."""
    if role not in COSMOS_DATA_ACTIONS:
        raise KeyError(f"no Cosmos DB data role {role!r}; known: {sorted(COSMOS_DATA_ACTIONS)}")
    return f"omnicloud table {role}"


def cosmos_data_scope(account_id: str, database: str, container: str) -> str:
    """The data-plane scope of one container: ``<account id>/dbs/<db>/colls/<container>``."""
    return f"{account_id}/dbs/{database}/colls/{container}"
