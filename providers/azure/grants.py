"""The Azure verb table: which data role each declared verb or trigger gets, at which exact scope.

Every grant is one role assignment to one identity at the scope of one resource, never at a
resource group or subscription:

* Azure RBAC (``azure-native:authorization:RoleAssignment``) for Service Bus, Event Grid,
  Blob storage and Storage queues: the built-in *data* roles of
  :data:`providers.azure.roles.BUILT_IN_ROLES`, scoped to the queue entity, the topic, the blob
  container or a Workflow's start queue. Their ``description`` says
  which verb or trigger of which component asked for it.
* Cosmos DB data-plane RBAC (``azure-native:cosmosdb:SqlResourceSqlRoleAssignment``) for
  tables: omnicloud's custom per-verb roles (exact data actions, see
  :data:`providers.azure.roles.COSMOS_DATA_ACTIONS`), scoped to the table's container
  (``<account id>/dbs/<db>/colls/<container>``). The role definitions exist once per stack
  account and are created when the first grant needs them.

``function`` ``invoke`` grants nothing on Azure: Functions has no data-plane role for calling a
function. A public function needs none; a private one is guarded by function keys, which a
link does not distribute (the linked locator carries the URL only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import authorization, cosmosdb

from components.errors import InvalidArgsError
from components.links import Link
from providers.azure import roles
from providers.azure.stack import AzureCosmos, cosmos, stack_resources
from providers.shared import stack_singleton

CLOUD = "azure"


@dataclass(frozen=True)
class Role:
    """One role: an Azure RBAC built-in role (by name) or an omnicloud Cosmos DB data role."""

    plane: Literal["rbac", "cosmos"]
    name: str


VERB_TABLE: dict[str, dict[str, tuple[Role, ...]]] = {
    "queue": {
        "send": (Role("rbac", "Azure Service Bus Data Sender"),),
        "receive": (Role("rbac", "Azure Service Bus Data Receiver"),),
    },
    "bus": {"publish": (Role("rbac", "EventGrid Data Sender"),)},
    "table": {
        "read": (Role("cosmos", "read"),),
        "write": (Role("cosmos", "write"),),
        "delete": (Role("cosmos", "delete"),),
    },
    # Nothing to grant: see the module docstring.
    "function": {"invoke": ()},
    # Starting a workflow is a message on its start queue (see providers.azure.workflow).
    "workflow": {"start": (Role("rbac", "Storage Queue Data Message Sender"),)},
    # What triggers need, granted to the function's identity.
    "trigger:queue": {"consume": (Role("rbac", "Azure Service Bus Data Receiver"),)},
    "trigger:table": {"consume": (Role("cosmos", "change-feed"),)},
    "trigger:table-leases": {"consume": (Role("cosmos", "leases"),)},
    # What Event Grid needs, granted to the topic's system-assigned identity.
    "delivery:queue": {"send": (Role("rbac", "Azure Service Bus Data Sender"),)},
    "delivery:dead-letter": {"write": (Role("rbac", "Storage Blob Data Contributor"),)},
}
"""``VERB_TABLE[kind][verb]``: the roles a verb grants on a component of that kind."""


def check_links(component: str, links: Iterable[Link]) -> None:
    """Fail before deploy for a link whose kind or verb has no entry in the verb table."""
    for link in links:
        verbs = VERB_TABLE.get(link.kind)
        if verbs is None:
            raise InvalidArgsError(
                component, "links", f"{link.kind} '{link.target.logical_name}'",
                f"omnicloud cannot grant access to a {link.kind} on Azure yet", cloud=CLOUD,
            )
        for verb in link.verbs:
            if verb not in verbs:
                raise InvalidArgsError(
                    component, "links", f"{link.kind} '{link.target.logical_name}'.{verb}",
                    f"verbs on a {link.kind} are {tuple(verbs)}", cloud=CLOUD,
                )


def grant(
    function: Any,
    target: Any,
    verbs: Iterable[str],
    reason: str,
    *,
    principal_id: pulumi.Input[str] | None = None,
    parent: pulumi.Resource | None = None,
) -> list[pulumi.CustomResource]:
    """Grant ``function``'s identity ``verbs`` on ``target`` (a Queue, EventBus or Table).

    ``principal_id`` defaults to ``function.identity`` (pass it while the Function is still
    being built); ``parent`` defaults to the function component. Returns the assignments.
    """
    principal: pulumi.Input[str] = principal_id if principal_id is not None else function.identity
    opts = pulumi.ResourceOptions(parent=parent if parent is not None else function)
    created: list[pulumi.CustomResource] = []
    for verb in verbs:
        name = f"{function.logical_name}-{target.KIND}-{target.logical_name}-{verb}"
        description = f"omnicloud: {reason} ({target.KIND} '{target.logical_name}' {verb})"
        for role in VERB_TABLE[target.KIND][verb]:
            if role.plane == "rbac":
                created.append(assign_rbac(name, principal, role.name, _rbac_scope(target), description, opts))
            else:
                table = target.resources
                created.append(assign_cosmos(name, principal, role.name, table.cosmos, table.data_scope, opts))
    return created


def _rbac_scope(target: Any) -> pulumi.Input[str]:
    """Where a verb's RBAC role is assigned: the component's resource, except a Workflow, which
    is started through its start queue (the queue, not the app, is what a caller may touch)."""
    if target.KIND == "workflow":
        return target.resources.start_queue.id
    return target.resource_id


def grant_kind(
    name: str,
    kind: str,
    verb: str,
    *,
    principal_id: pulumi.Input[str],
    scope: pulumi.Input[str],
    reason: str,
    opts: pulumi.ResourceOptions,
) -> list[pulumi.CustomResource]:
    """Grant a trigger's or a delivery's roles (``VERB_TABLE[kind][verb]``) at ``scope``.

    For Cosmos roles ``scope`` is a data-plane scope (``<account>/dbs/<db>/colls/<c>``).
    """
    created: list[pulumi.CustomResource] = []
    for role in VERB_TABLE[kind][verb]:
        if role.plane == "rbac":
            created.append(assign_rbac(name, principal_id, role.name, scope, f"omnicloud: {reason}", opts))
        else:
            created.append(assign_cosmos(name, principal_id, role.name, cosmos(), scope, opts))
    return created


def assign_rbac(
    name: str,
    principal_id: pulumi.Input[str],
    role: str,
    scope: pulumi.Input[str],
    description: str,
    opts: pulumi.ResourceOptions,
) -> authorization.RoleAssignment:
    """One built-in data role for one service principal at one resource's scope."""
    return authorization.RoleAssignment(
        name,
        principal_id=principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=roles.role_definition_id(role, scope),
        scope=scope,
        description=description,
        opts=opts,
    )


def assign_cosmos(
    name: str,
    principal_id: pulumi.Input[str],
    role: str,
    account: AzureCosmos,
    scope: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> cosmosdb.SqlResourceSqlRoleAssignment:
    """One omnicloud Cosmos DB data role for one principal at one container's scope."""
    definition = cosmos_role_definition(role)
    # The assignment's name is a GUID; derive it from what it grants so re-runs keep it.
    assignment_id = pulumi.Output.all(pulumi.Output.from_input(scope), pulumi.Output.from_input(principal_id)).apply(
        lambda values: roles.stable_guid("cosmos-assignment", role, *values)
    )
    return cosmosdb.SqlResourceSqlRoleAssignment(
        name,
        resource_group_name=stack_resources().resource_group.name,
        account_name=account.account.name,
        role_assignment_id=assignment_id,
        role_definition_id=definition.id,
        principal_id=principal_id,
        scope=scope,
        opts=opts,
    )


def cosmos_role_definition(role: str) -> cosmosdb.SqlResourceSqlRoleDefinition:
    """The stack account's custom data role ``role`` (a key of ``COSMOS_DATA_ACTIONS``)."""

    def create() -> cosmosdb.SqlResourceSqlRoleDefinition:
        account = cosmos().account
        shared = stack_resources()
        return cosmosdb.SqlResourceSqlRoleDefinition(
            f"cosmos-role-{role}",
            resource_group_name=shared.resource_group.name,
            account_name=account.name,
            role_definition_id=account.id.apply(lambda account_id: roles.stable_guid("cosmos-role", role, account_id)),
            role_name=roles.cosmos_role_name(role),
            type=cosmosdb.RoleDefinitionType.CUSTOM_ROLE,
            # Assignable anywhere in this account; each assignment narrows it to a container.
            assignable_scopes=[account.id],
            permissions=[cosmosdb.PermissionArgs(data_actions=list(roles.COSMOS_DATA_ACTIONS[role]))],
            opts=pulumi.ResourceOptions(parent=shared.component),
        )

    return stack_singleton(f"azure:cosmos-role:{role}", create)
