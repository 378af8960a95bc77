"""The GCP verb table: what ``<component>.allow(verb)`` grants a Function's service account.

Every grant names the function's own service account and the narrowest scope IAM offers for
that resource:

============  ========  ====================================================================
kind          verb      grant
============  ========  ====================================================================
queue         send      ``roles/pubsub.publisher`` on the queue's topic
queue         receive   ``roles/pubsub.subscriber`` on the queue's subscription (pull, ack,
                        extend deadlines; nothing on the topic or the dead letters)
bus           publish   ``roles/eventarc.messageBusUser`` on the **project** (see below)
table         read      custom role ``datastore.entities.get/list`` on the project,
                        **conditioned** on the stack's Firestore database
table         write     custom role ``datastore.entities.create/update`` + ``entities.get`` and
                        ``databases.get`` (a conditional put reads the item inside a
                        transaction), same condition
table         delete    custom role ``datastore.entities.delete`` + ``entities.get`` and
                        ``databases.get`` (conditional delete), same condition
function      invoke    ``roles/run.invoker`` on the function's Cloud Run service
workflow      start     ``roles/workflows.invoker`` on the **project** (see below)
============  ========  ====================================================================

Where IAM has no resource-level binding, the binding is project-level, and says why:

* Firestore has no per-database IAM policy; the documented way to scope a grant to one database
  is an IAM *condition* ``resource.name == "projects/<project>/databases/<database>"`` on a
  project binding (Firestore is one of the services whose requests carry ``resource.name``).
  The predefined ``datastore.*`` roles bundle read, write and delete, so each verb gets its own
  custom role (one per stack and verb) holding exactly that verb's permissions.
* An Eventarc Advanced message bus has an IAM policy in the API, but pulumi-gcp 10 has no
  resource to bind on it, and Eventarc does not evaluate ``resource.name`` in conditions. The
  role is therefore granted on the project; Eventarc allows one bus per project and region, so
  it reaches this stack's bus and buses of other regions of the project, nothing else.
* Workflows has no per-workflow IAM policy: the lowest level its roles can be granted at is the
  project (IAM's Workflows roles reference). ``roles/workflows.invoker`` is the narrowest
  predefined role that creates executions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp

from providers.gcp import naming
from providers.gcp.stack import scope, stack_component
from providers.shared import stack_singleton

if TYPE_CHECKING:
    from components.links import Link

QUEUE_ROLES = {"send": "roles/pubsub.publisher", "receive": "roles/pubsub.subscriber"}
BUS_ROLES = {"publish": "roles/eventarc.messageBusUser"}
FUNCTION_ROLES = {"invoke": "roles/run.invoker"}
WORKFLOW_ROLES = {"start": "roles/workflows.invoker"}
TABLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "read": ("datastore.entities.get", "datastore.entities.list"),
    "write": (
        "datastore.databases.get",
        "datastore.entities.create",
        "datastore.entities.get",
        "datastore.entities.update",
    ),
    "delete": ("datastore.databases.get", "datastore.entities.delete", "datastore.entities.get"),
}
CUSTOM_ROLE_ID_MAX = 64


@dataclass(frozen=True)
class Grant:
    """One binding and why it exists (the policy test traces every grant to a verb)."""

    kind: str
    verb: str
    resource: pulumi.CustomResource


def grant_links(
    function: str, links: list[Link], account: gcp.serviceaccount.Account, opts: pulumi.ResourceOptions
) -> list[Grant]:
    """Bind what each link's verbs need to ``account`` (children per ``opts``)."""
    granted: list[Grant] = []
    for link in links:
        for verb in link.verbs:
            logical = f"{function}-{link.kind}-{link.target.logical_name}-{verb}"
            granted.append(Grant(link.kind, verb, grant_one(logical, link.target, verb, account, opts)))
    return granted


def grant_one(
    logical: str, target: Any, verb: str, account: gcp.serviceaccount.Account, opts: pulumi.ResourceOptions
) -> pulumi.CustomResource:
    """Bind ``verb`` on the component ``target`` to ``account``: one resource named ``logical``."""
    return _GRANTERS[target.KIND](logical, target, verb, account, opts)


def table_role(verb: str) -> gcp.projects.IAMCustomRole:
    """The stack's custom role holding exactly ``verb``'s Firestore permissions."""
    return stack_singleton(f"gcp:table-role:{verb}", lambda: _table_role(verb))


def database_condition(database: gcp.firestore.Database) -> gcp.projects.IAMMemberConditionArgs:
    """Scope a project binding to one Firestore database."""
    return gcp.projects.IAMMemberConditionArgs(
        title="omnicloud: this stack's Firestore database only",
        description="Firestore has no per-database IAM policy; this condition is the documented scope.",
        expression=pulumi.Output.concat(
            'resource.name == "projects/', database.project, "/databases/", database.name, '"'
        ),
    )


def _queue(logical: str, target: Any, verb: str, account: gcp.serviceaccount.Account,
           opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    resources = target.resources
    if verb == "send":
        return gcp.pubsub.TopicIAMMember(
            logical,
            project=resources.topic.project,
            topic=resources.topic.name,
            role=QUEUE_ROLES[verb],
            member=account.member,
            opts=opts,
        )
    return gcp.pubsub.SubscriptionIAMMember(
        logical,
        project=resources.subscription.project,
        subscription=resources.subscription.name,
        role=QUEUE_ROLES[verb],
        member=account.member,
        opts=opts,
    )


def _bus(logical: str, target: Any, verb: str, account: gcp.serviceaccount.Account,
         opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    bus = target.resources.message_bus.bus
    return gcp.projects.IAMMember(
        logical,
        project=bus.project,
        role=BUS_ROLES[verb],
        member=account.member,
        opts=opts,
    )


def _table(logical: str, target: Any, verb: str, account: gcp.serviceaccount.Account,
           opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    database = target.resources.database
    role = table_role(verb)
    return gcp.projects.IAMMember(
        logical,
        project=database.project,
        role=role.name,
        member=account.member,
        condition=database_condition(database),
        opts=opts,
    )


def _function(logical: str, target: Any, verb: str, account: gcp.serviceaccount.Account,
              opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    from providers.gcp.function import run_service

    fn = target.resources.function
    return gcp.cloudrunv2.ServiceIamMember(
        logical,
        project=fn.project,
        location=fn.location,
        name=run_service(fn),
        role=FUNCTION_ROLES[verb],
        member=account.member,
        opts=opts,
    )


def _workflow(logical: str, target: Any, verb: str, account: gcp.serviceaccount.Account,
              opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    return gcp.projects.IAMMember(
        logical,
        project=target.resources.workflow.project,
        role=WORKFLOW_ROLES[verb],
        member=account.member,
        opts=opts,
    )


_Granter = Callable[[str, Any, str, gcp.serviceaccount.Account, pulumi.ResourceOptions], pulumi.CustomResource]
_GRANTERS: dict[str, _Granter] = {
    "queue": _queue,
    "bus": _bus,
    "table": _table,
    "function": _function,
    "workflow": _workflow,
}


def _table_role(verb: str) -> gcp.projects.IAMCustomRole:
    # Role IDs are project-wide ([a-zA-Z0-9_.], 3-64): one per stack and verb. Deleting a custom
    # role keeps its ID reserved for a while; the provider undeletes it when it is declared again.
    readable = naming.scoped_id(scope(), f"omnicloud-table-{verb}", CUSTOM_ROLE_ID_MAX)
    return gcp.projects.IAMCustomRole(
        f"omnicloud-table-{verb}",
        role_id=readable.replace("-", "_"),
        title=f"omnicloud table {verb} ({pulumi.get_stack()})"[:100],
        description=f"Firestore permissions of the '{verb}' verb on omnicloud Tables "
                    f"(stack {pulumi.get_stack()}); always bound with a condition on the stack's database",
        permissions=list(TABLE_PERMISSIONS[verb]),
        stage="GA",
        opts=pulumi.ResourceOptions(parent=stack_component()),
    )

