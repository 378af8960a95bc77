"""EventBus on GCP: a partition of the stack's Eventarc Advanced message bus.

**Why Eventarc Advanced, not Pub/Sub with subscription filters.** Pub/Sub filters only test
message *attributes* for equality, prefix and presence: no numeric ranges, no typed values, and
a Pub/Sub subscription cannot forward to another topic, so a bus -> Queue subscription would need
a relay function. Eventarc Advanced enrollments evaluate CEL (comparisons, ``double()``,
``startsWith``, boolean logic), and a pipeline delivers either to an HTTPS endpoint with an OIDC
token or straight into a Pub/Sub topic, i.e. a Queue. Enrollments cannot read the payload
(``message.data`` is reserved), so publishers copy the matched data fields into extension
attributes (:mod:`providers.gcp.patterns`); with that, every portable pattern is filtered by
Eventarc itself, exactly as :func:`components.patterns.matches` would.

**One bus per stack.** Eventarc allows one message bus per project and region; the stack's bus
is created with its first EventBus (:func:`providers.gcp.stack.message_bus`), each EventBus is a
partition of it, selected by the extension attribute ``omnicloudbus`` = the EventBus's logical
name, which publishers set and every enrollment requires.

Per subscription (children of the EventBus):

* ``gcp:eventarc/pipeline:Pipeline``: the destination and the retry policy
  (``max_retries + 1`` attempts, exponential backoff whose total stays within
  ``max_event_age_s``); failed deliveries are logged (``WARNING``).

  - Function target: HTTPS ``<function url>/_omnicloud/bus/<bus>/<subscription>``, CloudEvent in
    binary mode (context attributes as ``ce-*`` headers, the data as the body), with an OIDC
    token of a service account of the subscription, which holds ``roles/run.invoker`` on the
    function's service; Eventarc's agent gets ``roles/iam.serviceAccountTokenCreator`` on that
    account only (it mints the tokens).
  - Queue target: the queue's Pub/Sub topic; Eventarc's agent gets ``roles/pubsub.publisher``
    on that topic only.

* ``gcp:eventarc/enrollment:Enrollment``: the compiled CEL, routing matches to the pipeline.

Gaps (support matrix): Eventarc Advanced pipelines retry but have **no dead-letter
destination** (an event failing every attempt is dropped and logged); there is no archive or
replay, so ``archive_retention_days`` is rejected; one GCP stack with EventBuses per project and
region; a data field a pattern matches on holds at most
:data:`providers.gcp.patterns.MAX_LIST_ITEMS` items when it is a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp

from components.errors import InvalidArgsError, require
from components.event_bus import BusSubscription, EventBusArgs
from providers.gcp import naming
from providers.gcp.deferred import Deferred, add_trigger
from providers.gcp.delivery import delivery_identity
from providers.gcp.patterns import (
    BUS_ATTRIBUTE,
    MAX_LIST_ITEMS,
    FilterField,
    UnsupportedPattern,
    compile_cel,
    filter_fields,
)
from providers.gcp.stack import GcpMessageBus, eventarc_agent, message_bus, scope
from providers.protocols import ComponentOutputs
from providers.shared import tags_for

if TYPE_CHECKING:
    from components.event_bus import EventBus

CLOUD = "gcp"
BUS_PATH = "/_omnicloud/bus/"
MAX_ATTEMPTS = 100
"""Eventarc Advanced pipelines make 1-100 delivery attempts."""
RETRY_DELAY_S = (1, 600)
"""Each retry waits 1-600 s."""
DEFAULT_MIN_RETRY_DELAY_S = 5
DEFAULT_MAX_RETRY_DELAY_S = 60
RESOURCE_ID_MAX = 63
CEL_MAX_CHARS = 16_000
"""Kept well inside what an enrollment accepts; a pattern compiling to more is rejected."""


@dataclass(frozen=True)
class GcpBusSubscriptionResources:
    """What ``bus.subscribe(name, target)`` adds on GCP."""

    name: str
    cel: str
    pipeline: gcp.eventarc.Pipeline
    enrollment: gcp.eventarc.Enrollment
    account: gcp.serviceaccount.Account | None = None
    """Function targets: the identity the pipeline's OIDC token names."""
    grants: list[pulumi.CustomResource] = field(default_factory=list)


@dataclass(frozen=True)
class GcpEventBusResources:
    """The native resources behind an EventBus on GCP."""

    message_bus: GcpMessageBus
    """The stack's bus (shared by every EventBus, not a child of this one)."""
    filter_fields: Deferred[tuple[FilterField, ...]] = field(repr=False, compare=False)
    """The data fields publishers project (every subscription's pattern's), decided after the
    program body; they are part of the locator."""
    subscriptions: list[GcpBusSubscriptionResources] = field(default_factory=list)


def retry_delays(max_retries: int, max_event_age_s: int) -> tuple[int, int]:
    """(min, max) seconds between attempts such that all retries end within the event age."""
    if max_retries == 0:
        return DEFAULT_MIN_RETRY_DELAY_S, DEFAULT_MAX_RETRY_DELAY_S
    longest = min(max(max_event_age_s // max_retries, RETRY_DELAY_S[0]), RETRY_DELAY_S[1])
    return min(DEFAULT_MIN_RETRY_DELAY_S, longest), longest


class GcpEventBusProvider:
    """Builds :class:`components.EventBus` on Eventarc Advanced."""

    LIMITATIONS = {
        "dead_letter": (
            "Eventarc Advanced pipelines retry (max_retries + 1 attempts) but have no dead-letter "
            "destination: an event failing every attempt is dropped and logged"
        ),
        "one_bus_per_project_region": (
            "Eventarc allows one message bus per project and region: one GCP stack with EventBuses "
            "per project and region"
        ),
        "list_fields": (
            f"a data field a pattern matches on holds at most {MAX_LIST_ITEMS} items when it is a list "
            "(publishing a longer one fails)"
        ),
        "queue_target_order": "events routed to a FIFO queue carry no ordering key (no order between them)",
        "publish_only_through_omnicloud": (
            "data-field patterns match only events published with the omnicloud client, which projects "
            "the matched fields into extension attributes"
        ),
    }
    """Semantic gaps that deploy fine but behave differently; listed in the support matrix."""

    def validate(self, name: str, args: EventBusArgs) -> None:
        component = f"EventBus '{name}'"
        require(args.archive_retention_days is None, component, "archive_retention_days",
                args.archive_retention_days,
                "Eventarc Advanced keeps no archive of published events to replay; leave it unset", cloud=CLOUD)
        naming.check_labels(component, tags_for(name, args))

    def create(self, name: str, args: EventBusArgs, parent: pulumi.ComponentResource) -> ComponentOutputs:
        shared = message_bus()
        fields = Deferred[tuple[FilterField, ...]](f"the filtered data fields of EventBus '{name}'", ())
        resources = GcpEventBusResources(message_bus=shared, filter_fields=fields)
        locator = pulumi.Output.all(
            project=shared.bus.project, message_bus=shared.full_name, fields=fields.output()
        ).apply(
            lambda values: {
                "kind": "bus",
                "cloud": CLOUD,
                "name": name,
                "project": values["project"],
                "location": shared.location,
                "message_bus": values["message_bus"],
                # What the publisher adds (see providers.gcp.patterns): the partition attribute
                # and the projection of every data field a subscription's pattern matches on.
                "bus_attribute": BUS_ATTRIBUTE,
                "filter_fields": [item.as_json() for item in values["fields"]],
                "max_list_items": MAX_LIST_ITEMS,
            }
        )
        return ComponentOutputs(
            name=shared.bus.message_bus_id,
            resource_id=shared.full_name,
            locator=locator,
            resources=resources,
        )

    def validate_subscription(self, name: str, args: EventBusArgs, subscription: BusSubscription) -> None:
        component = f"EventBus '{name}'"
        require(subscription.max_retries + 1 <= MAX_ATTEMPTS, component, "max_retries",
                subscription.max_retries,
                f"at most {MAX_ATTEMPTS - 1} (an Eventarc Advanced pipeline makes at most {MAX_ATTEMPTS} "
                "delivery attempts)", cloud=CLOUD)
        require(subscription.max_event_age_s >= subscription.max_retries * RETRY_DELAY_S[0], component,
                "max_event_age_s", subscription.max_event_age_s,
                f"at least max_retries x {RETRY_DELAY_S[0]} s ({subscription.max_retries} s): Eventarc "
                "bounds an event's age only through its retry count and delays", cloud=CLOUD)
        try:
            cel = compile_cel(name, subscription.pattern)
        except UnsupportedPattern as exc:
            raise InvalidArgsError(component, f"subscribe('{subscription.name}').pattern",
                                   subscription.pattern.source if subscription.pattern else None,
                                   str(exc), cloud=CLOUD) from None
        require(len(cel) <= CEL_MAX_CHARS, component, f"subscribe('{subscription.name}').pattern",
                subscription.pattern.source if subscription.pattern else None,
                f"compiles to {len(cel)} characters of CEL; at most {CEL_MAX_CHARS} (fewer data fields "
                "or matchers)", cloud=CLOUD)

    def subscribe(self, bus: EventBus, subscription: BusSubscription) -> GcpBusSubscriptionResources:
        name = bus.logical_name
        resources: GcpEventBusResources = bus.resources
        shared = resources.message_bus
        logical = f"{name}-{subscription.name}"
        child = pulumi.ResourceOptions(parent=bus)
        labels = naming.labels(tags_for(name, bus.args))
        cel = compile_cel(name, subscription.pattern)
        known = {item.path: item for item in resources.filter_fields.value}
        for item in filter_fields(subscription.pattern):
            known.setdefault(item.path, item)
        resources.filter_fields.set(tuple(known.values()))

        target = subscription.target
        account: gcp.serviceaccount.Account | None = None
        grants: list[pulumi.CustomResource] = []
        if target.KIND == "function":
            account, grants, destination = _function_destination(logical, name, subscription.name, target, child)
        else:
            grants, destination = _queue_destination(logical, target, child)
        low, high = retry_delays(subscription.max_retries, subscription.max_event_age_s)
        pipeline = gcp.eventarc.Pipeline(
            logical,
            location=shared.location,
            pipeline_id=naming.scoped_id(scope(), logical, RESOURCE_ID_MAX),
            display_name=f"omnicloud {name} -> {subscription.name}"[:63],
            destinations=[destination],
            retry_policy=gcp.eventarc.PipelineRetryPolicyArgs(
                max_attempts=subscription.max_retries + 1,
                min_retry_delay=f"{low}s",
                max_retry_delay=f"{high}s",
            ),
            # No dead-letter destination exists: a delivery that fails for good is logged.
            logging_config=gcp.eventarc.PipelineLoggingConfigArgs(log_severity="WARNING"),
            labels=labels,
            opts=pulumi.ResourceOptions(parent=bus, depends_on=grants),
        )
        enrollment = gcp.eventarc.Enrollment(
            logical,
            location=shared.location,
            enrollment_id=naming.scoped_id(scope(), logical, RESOURCE_ID_MAX),
            display_name=f"omnicloud {name} -> {subscription.name}"[:63],
            message_bus=shared.bus.id,
            destination=pipeline.id,
            cel_match=cel,
            labels=labels,
            opts=child,
        )
        subscribed = GcpBusSubscriptionResources(
            name=subscription.name, cel=cel, pipeline=pipeline, enrollment=enrollment, account=account,
            grants=grants,
        )
        resources.subscriptions.append(subscribed)
        return subscribed


def _function_destination(
    logical: str, bus: str, subscription: str, function: Any, opts: pulumi.ResourceOptions
) -> tuple[gcp.serviceaccount.Account, list[pulumi.CustomResource], gcp.eventarc.PipelineDestinationArgs]:
    from providers.gcp.function import run_uri

    fn = function.resources.function
    identity = delivery_identity(
        (logical, logical, logical),
        account_id=naming.service_account_id(scope(), logical, "bus"),
        display_name=f"omnicloud EventBus '{bus}' -> {subscription}",
        description=f"Eventarc delivers EventBus '{bus}' subscription '{subscription}' to Function "
                    f"'{function.logical_name}' as this identity (stack {pulumi.get_stack()})",
        function=function,
        signer=eventarc_agent().member,
        opts=opts,
    )
    account, invoker, token_creator = identity.account, identity.invoker, identity.token_creator
    uri = run_uri(fn)
    destination = gcp.eventarc.PipelineDestinationArgs(
        http_endpoint=gcp.eventarc.PipelineDestinationHttpEndpointArgs(
            uri=pulumi.Output.concat(uri, BUS_PATH, bus, "/", subscription),
        ),
        authentication_config=gcp.eventarc.PipelineDestinationAuthenticationConfigArgs(
            google_oidc=gcp.eventarc.PipelineDestinationAuthenticationConfigGoogleOidcArgs(
                service_account=account.email,
                # The adapter checks the audience is the function's own URL.
                audience=uri,
            ),
        ),
    )
    add_trigger(function, {"kind": "bus", "name": bus, "subscription": subscription, "identity": account.email})
    return account, [invoker, token_creator], destination


def _queue_destination(
    logical: str, queue: Any, opts: pulumi.ResourceOptions
) -> tuple[list[pulumi.CustomResource], gcp.eventarc.PipelineDestinationArgs]:
    topic = queue.resources.topic
    publisher = gcp.pubsub.TopicIAMMember(
        logical,
        project=topic.project,
        topic=topic.name,
        role="roles/pubsub.publisher",
        member=eventarc_agent().member,
        opts=opts,
    )
    return [publisher], gcp.eventarc.PipelineDestinationArgs(topic=topic.id)
