"""Table on GCP: a collection in the stack's Firestore database, with its indexes and TTL.

What gets registered:

* once per stack (see :mod:`providers.gcp.stack`): the ``gcp:firestore/database:Database``
  (native mode, in the functions' region). Point-in-time recovery is a *database* setting on
  Firestore: it is on as soon as one Table asks for it (the default), so a Table that opts
  out still gets it when another opts in.
* per Table (children of the Table): nothing for the collection itself (Firestore creates it
  with its first document) but the composite indexes its queries need:
  ``(partition_key ASC, sort_key ASC)`` and ``(partition_key ASC, sort_key DESC)``, and the same
  pair per secondary index with a sort key. Equality on one key alone is served by Firestore's
  automatic single-field indexes, so a key without a sort key needs none.
* ``ttl_attribute``: a ``gcp:firestore/field:Field`` with a TTL policy. Firestore expires a
  document whose TTL field holds a *timestamp* in the past (typically within 24 hours); the
  runtime client therefore stores the portable epoch-seconds value as a Firestore timestamp
  and reads it back as epoch seconds. The field is exempt from single-field indexing, which
  TTL timestamps would only turn into write hotspots.

``table.on_change(fn)`` adds an Eventarc trigger on ``google.cloud.firestore.document.v1.written``
for ``<collection>/{doc}`` in the stack's database, delivering to the function's Cloud Run
service at ``/_omnicloud/table/<table>`` (binary-mode CloudEvent, ``application/protobuf``
``DocumentEventData`` with the old and the new document), signed by a trigger service account
holding ``roles/run.invoker`` on that service and ``roles/eventarc.eventReceiver``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from components.errors import require
from components.table import ChangeSubscription, TableArgs
from providers.gcp import naming
from providers.gcp.deferred import add_trigger
from providers.gcp.delivery import delivery_identity
from providers.gcp.stack import PITR_ENABLED, firestore, pubsub_agent, scope
from providers.protocols import ComponentOutputs
from providers.shared import tags_for

if TYPE_CHECKING:
    from components.function import Function
    from components.table import Table

CLOUD = "gcp"
WRITTEN = "google.cloud.firestore.document.v1.written"
EVENT_DATA_CONTENT_TYPE = "application/protobuf"
"""Firestore events carry ``google.events.cloud.firestore.v1.DocumentEventData`` as protobuf."""
CHANGE_PATH = "/_omnicloud/table/"
TRIGGER_NAME_MAX = 63
COLLECTION_ID_MAX_BYTES = 1500
_RESERVED_ID = re.compile(r"^__.*__$")


@dataclass(frozen=True)
class GcpChangeResources:
    """What ``table.on_change(fn)`` adds on GCP."""

    function: str
    trigger: gcp.eventarc.Trigger
    account: gcp.serviceaccount.Account
    """The identity Eventarc delivers as (``identity`` in ``OMNICLOUD_TRIGGERS``)."""
    invoker: gcp.cloudrunv2.ServiceIamMember
    event_receiver: gcp.projects.IAMMember
    token_creator: gcp.serviceaccount.IAMMember


@dataclass(frozen=True)
class GcpTableResources:
    """The native resources behind a Table on GCP."""

    database: gcp.firestore.Database
    """The stack's database (shared by every Table, not a child of this one)."""
    collection: str
    indexes: list[gcp.firestore.Index] = field(default_factory=list)
    ttl: gcp.firestore.Field | None = None
    changes: list[GcpChangeResources] = field(default_factory=list)


class GcpTableProvider:
    """Builds :class:`components.Table` on Firestore (native mode)."""

    LIMITATIONS = {
        "change_trigger_dead_letter": (
            "Eventarc's Firestore trigger retries a failed delivery for up to 24 hours and then drops it: "
            "it has no dead-letter destination"
        ),
        "point_in_time_recovery_per_database": (
            "point-in-time recovery is a setting of the stack's Firestore database: a Table that turns it "
            "off still has it when another Table of the stack keeps it on"
        ),
        "change_batches": "Eventarc delivers one change per request (batches of one)",
        "ttl_delay": "Firestore deletes expired documents typically within 24 hours of their expiry time",
    }
    """Semantic gaps that deploy fine but behave differently; listed in the support matrix."""

    def validate(self, name: str, args: TableArgs) -> None:
        component = f"Table '{name}'"
        require("/" not in name and name not in (".", "..") and not _RESERVED_ID.match(name), component,
                "name", name,
                "Firestore collection IDs contain no '/', are not '.' or '..' and do not match __.*__",
                cloud=CLOUD)
        require(len(name.encode()) <= COLLECTION_ID_MAX_BYTES, component, "name", name,
                f"Firestore collection IDs are at most {COLLECTION_ID_MAX_BYTES} bytes", cloud=CLOUD)
        naming.check_labels(component, tags_for(name, args))

    def create(self, name: str, args: TableArgs, parent: pulumi.ComponentResource) -> ComponentOutputs:
        child = pulumi.ResourceOptions(parent=parent)
        shared = firestore()
        if args.point_in_time_recovery:
            shared.point_in_time_recovery.set(PITR_ENABLED)
        database = shared.database
        indexes: list[gcp.firestore.Index] = []
        key_pairs = [("", args.partition_key, args.sort_key)]
        key_pairs += [(f"-{index.name}", index.partition_key, index.sort_key) for index in args.indexes]
        for suffix, partition_key, sort_key in key_pairs:
            if sort_key is None:
                continue  # equality on one field: Firestore's automatic single-field index
            for order in ("ASCENDING", "DESCENDING"):
                indexes.append(
                    gcp.firestore.Index(
                        f"{name}{suffix}-{order.lower()}",
                        database=database.name,
                        collection=name,
                        query_scope="COLLECTION",
                        fields=[
                            gcp.firestore.IndexFieldArgs(field_path=partition_key, order="ASCENDING"),
                            gcp.firestore.IndexFieldArgs(field_path=sort_key, order=order),
                        ],
                        opts=child,
                    )
                )
        ttl = None
        if args.ttl_attribute is not None:
            ttl = gcp.firestore.Field(
                f"{name}-ttl",
                database=database.name,
                collection=name,
                field=args.ttl_attribute,
                ttl_config=gcp.firestore.FieldTtlConfigArgs(),
                # No single-field indexes on the expiry timestamp (see the module docstring).
                index_config=gcp.firestore.FieldIndexConfigArgs(),
                opts=child,
            )
        resources = GcpTableResources(database=database, collection=name, indexes=indexes, ttl=ttl)
        locator = pulumi.Output.all(project=database.project, database=database.name).apply(
            lambda values: {
                "kind": "table",
                "cloud": CLOUD,
                "name": name,
                "project": values["project"],
                "database": values["database"],
                "collection": name,
                **args.key_schema(),
            }
        )
        return ComponentOutputs(
            name=pulumi.Output.from_input(name),
            # The collection's resource name in the Firestore API.
            resource_id=pulumi.Output.concat(database.id, "/documents/", name),
            locator=locator,
            resources=resources,
        )

    def validate_subscription(self, name: str, args: TableArgs, options: ChangeSubscription) -> None:
        # Eventarc delivers one change per request: any batch_size is honoured as batches of
        # one; nothing to reject.
        return None

    def on_change(self, table: Table, function: Function, options: ChangeSubscription) -> GcpChangeResources:
        from providers.gcp.function import run_service

        name = table.logical_name
        resources: GcpTableResources = table.resources
        shared = firestore()
        child = pulumi.ResourceOptions(parent=table)
        fn = function.resources.function
        logical = f"{name}-{function.logical_name}-changes"
        # Eventarc's transport is Pub/Sub push: Pub/Sub's agent signs the OIDC tokens.
        identity = delivery_identity(
            (logical, logical, logical),
            account_id=naming.service_account_id(scope(), f"{name}-{function.logical_name}", "chg"),
            display_name=f"omnicloud Table '{name}' changes",
            description=f"Eventarc delivers Table '{name}' changes to Function "
                        f"'{function.logical_name}' as this identity (stack {pulumi.get_stack()})",
            function=function,
            signer=pubsub_agent().member,
            opts=child,
        )
        account, invoker, token_creator = identity.account, identity.invoker, identity.token_creator
        # Eventarc requires its trigger's identity to hold eventReceiver, which is only
        # grantable on a project (its lowest-level resource); it carries no data access.
        receiver = gcp.projects.IAMMember(
            logical,
            project=fn.project,
            role="roles/eventarc.eventReceiver",
            member=account.member,
            opts=child,
        )
        trigger = gcp.eventarc.Trigger(
            logical,
            name=naming.scoped_id(scope(), f"{name}-{function.logical_name}-changes", TRIGGER_NAME_MAX),
            # A Firestore trigger lives where its database does.
            location=shared.location,
            matching_criterias=[
                gcp.eventarc.TriggerMatchingCriteriaArgs(attribute="type", value=WRITTEN),
                gcp.eventarc.TriggerMatchingCriteriaArgs(attribute="database", value=resources.database.name),
                gcp.eventarc.TriggerMatchingCriteriaArgs(
                    attribute="document", value=f"{name}/{{doc}}", operator="match-path-pattern"
                ),
            ],
            event_data_content_type=EVENT_DATA_CONTENT_TYPE,
            destination=gcp.eventarc.TriggerDestinationArgs(
                cloud_run_service=gcp.eventarc.TriggerDestinationCloudRunServiceArgs(
                    service=run_service(fn),
                    region=fn.location,
                    path=f"{CHANGE_PATH}{name}",
                ),
            ),
            service_account=account.email,
            labels=naming.labels(tags_for(name, table.args)),
            opts=pulumi.ResourceOptions(parent=table, depends_on=[invoker, receiver, token_creator]),
        )
        add_trigger(function, {"kind": "table", "name": name, "identity": account.email})
        changes = GcpChangeResources(
            function=function.logical_name, trigger=trigger, account=account, invoker=invoker,
            event_receiver=receiver, token_creator=token_creator,
        )
        resources.changes.append(changes)
        return changes
