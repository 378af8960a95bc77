"""Per-stack GCP resources: what several components share, created on first use.

They hang off their own small component at the stack root (not off any one Function, Queue
or Table), so removing one component never deletes what the others use:

* the source-archive bucket every Function deploys from;
* the Google-managed *service agents* of Pub/Sub and Eventarc (``gcp:projects/serviceIdentity``):
  their e-mail addresses contain the project *number*, which only an invoke could look up;
  ``ServiceIdentity`` is a resource whose ``email``/``member`` outputs name the agent, so the
  IAM grants they need (dead-lettering, minting OIDC tokens) reference them without invokes;
* the Firestore database holding every Table of the stack (Firestore's unit of location,
  point-in-time recovery and deletion; a Table is a collection in it);
* the Eventarc Advanced message bus carrying every EventBus of the stack (Eventarc allows one
  bus per project and region, so each EventBus is a partition of it: see
  :mod:`providers.gcp.event_bus`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from providers.gcp import naming
from providers.gcp.deferred import Deferred
from providers.shared import stack_singleton

STACK_TYPE = "omnicloud:gcp:StackResources"
DEFAULT_REGION = "us-central1"
PITR_ENABLED = "POINT_IN_TIME_RECOVERY_ENABLED"
PITR_DISABLED = "POINT_IN_TIME_RECOVERY_DISABLED"
DATABASE_ID_MAX = 63
MESSAGE_BUS_ID_MAX = 63


@dataclass(frozen=True)
class GcpStackResources:
    """What every Function on GCP in this stack shares."""

    component: pulumi.ComponentResource
    source_bucket: gcp.storage.Bucket
    """Holds the functions' source archives, one object per content hash."""
    region: str
    """Where functions, their bucket and their schedules live (``gcp:region``)."""


@dataclass(frozen=True)
class GcpFirestore:
    """The stack's Firestore database (one collection per Table)."""

    database: gcp.firestore.Database
    location: str
    """The database's location; Eventarc triggers on it must use the same one."""
    point_in_time_recovery: Deferred[str]
    """Enabled as soon as one Table asks for it (PITR is a database-wide setting)."""


@dataclass(frozen=True)
class GcpMessageBus:
    """The stack's Eventarc Advanced bus (every EventBus is a partition of it)."""

    bus: gcp.eventarc.MessageBus
    location: str
    full_name: pulumi.Output[str]
    """``projects/<project>/locations/<location>/messageBuses/<id>``: what publishers and
    enrollments name."""


def region() -> str:
    """``gcp:region`` from stack config, else ``us-central1``."""
    return pulumi.Config("gcp").get("region") or DEFAULT_REGION


def scope() -> str:
    """``<pulumi project>/<pulumi stack>``: what project-wide names are derived from."""
    return f"{pulumi.get_project()}/{pulumi.get_stack()}"


def stack_component() -> pulumi.ComponentResource:
    """The stack-root component the shared resources hang off."""
    return stack_singleton("gcp:stack-component", _component)


def stack_resources() -> GcpStackResources:
    """The stack's shared Function resources, created on first use."""
    return stack_singleton("gcp:stack", _create)


def pubsub_agent() -> gcp.projects.ServiceIdentity:
    """Pub/Sub's service agent (``service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com``).

    It moves undeliverable messages to dead-letter topics and signs push requests' OIDC tokens
    (and those of the Eventarc triggers, whose transport is Pub/Sub).
    """
    return stack_singleton("gcp:agent:pubsub", lambda: _agent("pubsub"))


def eventarc_agent() -> gcp.projects.ServiceIdentity:
    """Eventarc's service agent: it delivers an Eventarc Advanced pipeline's events (signing
    their OIDC tokens, publishing to Pub/Sub destinations)."""
    return stack_singleton("gcp:agent:eventarc", lambda: _agent("eventarc"))


def firestore() -> GcpFirestore:
    """The stack's Firestore database, created when the first Table needs it."""
    return stack_singleton("gcp:firestore", _firestore)


def message_bus() -> GcpMessageBus:
    """The stack's Eventarc Advanced message bus, created when the first EventBus needs it."""
    return stack_singleton("gcp:message-bus", _message_bus)


def _labels() -> dict[str, str]:
    return naming.labels({"omnicloud-project": pulumi.get_project(), "omnicloud-stack": pulumi.get_stack()})


def _component() -> pulumi.ComponentResource:
    component = pulumi.ComponentResource(STACK_TYPE, "omnicloud-gcp", None, None)
    component.register_outputs({})
    return component


def _create() -> GcpStackResources:
    where = region()
    component = stack_component()
    bucket = gcp.storage.Bucket(
        "omnicloud-sources",
        # Cloud Storage reports locations upper-case; writing it so avoids a perpetual diff.
        location=where.upper(),
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        # Objects are replaced (new name per content hash) and old ones deleted by Pulumi, so
        # no lifecycle rule is needed; a non-empty bucket is never destroyed by accident.
        force_destroy=False,
        labels=_labels(),
        opts=pulumi.ResourceOptions(parent=component),
    )
    return GcpStackResources(component=component, source_bucket=bucket, region=where)


def _agent(service: str) -> gcp.projects.ServiceIdentity:
    # A ServiceIdentity "cannot be updated or destroyed" (both are no-ops): it only makes sure
    # the agent exists and reports its address.
    return gcp.projects.ServiceIdentity(
        f"omnicloud-{service}-agent",
        service=f"{service}.googleapis.com",
        opts=pulumi.ResourceOptions(parent=stack_component()),
    )


def _firestore() -> GcpFirestore:
    where = region()
    pitr = Deferred[str]("the Firestore database's point-in-time recovery setting", PITR_DISABLED)
    database = gcp.firestore.Database(
        "omnicloud-tables",
        # Database IDs are project-wide: one per stack, derived from the stack, stable.
        name=naming.scoped_id(scope(), f"omnicloud-{pulumi.get_stack()}", DATABASE_ID_MAX),
        # Native mode: documents, composite indexes, TTL and change events (Eventarc).
        type="FIRESTORE_NATIVE",
        # The functions' region: data stays where the code runs (a regional location).
        location_id=where,
        concurrency_mode="OPTIMISTIC",
        app_engine_integration_mode="DISABLED",
        point_in_time_recovery_enablement=pitr.output(),
        # Pulumi owns the database's lifecycle: `pulumi destroy` deletes it (the provider's
        # default, ABANDON, would leave it behind and block the next deployment, whose
        # database has the same ID). Firestore encrypts it at rest with Google-managed keys.
        delete_protection_state="DELETE_PROTECTION_DISABLED",
        deletion_policy="DELETE",
        opts=pulumi.ResourceOptions(parent=stack_component()),
    )
    return GcpFirestore(database=database, location=where, point_in_time_recovery=pitr)


def _message_bus() -> GcpMessageBus:
    where = region()
    bus = gcp.eventarc.MessageBus(
        "omnicloud-bus",
        location=where,
        message_bus_id=naming.scoped_id(scope(), f"omnicloud-{pulumi.get_stack()}", MESSAGE_BUS_ID_MAX),
        display_name=f"omnicloud stack {pulumi.get_stack()}"[:63],
        labels=_labels(),
        # Publishing errors (e.g. a rejected event) show up in Cloud Logging.
        logging_config=gcp.eventarc.MessageBusLoggingConfigArgs(log_severity="ERROR"),
        opts=pulumi.ResourceOptions(parent=stack_component()),
    )
    full_name = pulumi.Output.concat(
        "projects/", bus.project, "/locations/", bus.location, "/messageBuses/", bus.message_bus_id
    )
    return GcpMessageBus(bus=bus, location=where, full_name=full_name)
