"""EventBus on Azure: an Event Grid custom topic (CloudEvents 1.0) with one event subscription
per ``bus.subscribe``.

What gets registered:

* ``azure-native:eventgrid:Topic`` ``<name>`` (auto-named): CloudEvents v1.0 input schema,
  local (SAS key) auth disabled so publishers need EventGrid Data Sender, TLS 1.2, reachable
  on the public endpoint (Flex Consumption apps have no private network by default), and a
  system-assigned identity: Event Grid delivers to queues and writes dead letters with it,
  so no key or SAS URL is stored anywhere. Event Grid encrypts events at rest.

``bus.subscribe(name, target, pattern=...)`` adds, under the bus component:

* ``azure-native:eventgrid:EventSubscription`` ``<bus>-<name>`` (named ``<name>`` on the
  topic): CloudEvents delivery, the filter compiled by :mod:`.patterns`, a retry policy
  (``max_retries + 1`` delivery attempts, ``max_event_age_s`` as time-to-live) and dead
  letters written with the topic's identity to the stack's ``deadletters`` blob container.
  The destination is

  - a Function: ``<app id>/functions/bus_<name with '_' for '-'>``, the Event Grid trigger
    the Azure adapter registers from the descriptor ``{"kind": "bus", "name": <bus>,
    "subscription": <name>}`` added to the function's ``OMNICLOUD_TRIGGERS``; one event per
    invocation. Event Grid checks that the function exists when the subscription is created,
    so the subscription waits for the app, and a first deployment can fail if the host has not
    finished indexing the new package yet (running ``pulumi up`` again succeeds);
  - a Queue: the Service Bus queue, delivered with the topic's identity; the message body is
    the CloudEvent JSON. A FIFO (session) queue gets the subscription's name as session id,
    so its events keep their order as one group.

* ``azure-native:authorization:RoleAssignment``: for the topic's identity, Storage Blob Data
  Contributor on the ``deadletters`` container (once per bus) and Azure Service Bus Data Sender
  on each target queue (once per bus and queue).

Gaps: Event Grid has no archive or replay, so ``archive_retention_days`` is rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import eventgrid

from components.errors import InvalidArgsError, require
from components.event_bus import BusSubscription, EventBusArgs
from providers.azure import grants
from providers.azure.function import check_tags
from providers.azure.patterns import UnsupportedPattern, compile_filter
from providers.azure.stack import DEAD_LETTER_CONTAINER, dead_letter_container, stack_resources
from providers.protocols import ComponentOutputs
from providers.shared import apply_overrides, tags_for, triggers_of

if TYPE_CHECKING:
    from components.event_bus import EventBus

CLOUD = "azure"
# Microsoft.EventGrid/topics: 3-50 letters, digits and hyphens; 8 go to the auto-name suffix.
TOPIC_NAME_MAX = 50 - 8
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9-]+$")
# Microsoft.EventGrid eventSubscriptions: 3-64 letters, digits and hyphens.
SUBSCRIPTION_NAME_MIN = 3
# Event Grid retry policy (learn.microsoft.com/azure/event-grid/delivery-and-retry).
MAX_DELIVERY_ATTEMPTS = 30
EVENT_TTL_MINUTES = (1, 1440)
BUS_FUNCTION_PREFIX = "bus_"


def bus_function_name(subscription: str) -> str:
    """The Azure function the adapter registers for a bus subscription: ``bus_<name>``."""
    return BUS_FUNCTION_PREFIX + subscription.replace("-", "_")


@dataclass(frozen=True)
class AzureEventBusResources:
    """The native resources behind an EventBus on Azure."""

    topic: eventgrid.Topic
    principal_id: pulumi.Output[str]
    """The topic's system-assigned identity (delivers to queues, writes dead letters)."""
    dead_letter_grant: list[pulumi.CustomResource] = field(default_factory=list)
    """Filled by the first subscription: the topic's role on the ``deadletters`` container."""
    queue_grants: dict[str, list[pulumi.CustomResource]] = field(default_factory=dict)
    """Per target queue: the topic's Data Sender role on it."""


@dataclass(frozen=True)
class AzureBusSubscription:
    """What ``bus.subscribe`` registered on Azure."""

    event_subscription: eventgrid.EventSubscription
    filter: eventgrid.EventSubscriptionFilterArgs | None
    role_assignments: list[pulumi.CustomResource]
    descriptor: dict[str, Any] | None
    """The trigger descriptor added to a target Function (None for a Queue target)."""


class AzureEventBusProvider:
    """Builds :class:`components.EventBus` as an Event Grid topic."""

    def validate(self, name: str, args: EventBusArgs) -> None:
        component = f"EventBus '{name}'"
        require(bool(_TOPIC_NAME.match(name)) and len(name) <= TOPIC_NAME_MAX, component, "name", name,
                f"Event Grid topic names are letters, digits and '-', at most {TOPIC_NAME_MAX} characters "
                "(8 are added to make them unique)", cloud=CLOUD)
        require(args.archive_retention_days is None, component, "archive_retention_days",
                args.archive_retention_days,
                "Event Grid keeps no archive of published events and cannot replay them; leave it unset",
                cloud=CLOUD)
        check_tags(component, name, args)
        apply_overrides(component, CLOUD, eventgrid.Topic, {}, args.overrides)

    def create(self, name: str, args: EventBusArgs, parent: pulumi.ComponentResource) -> ComponentOutputs:
        component = f"EventBus '{name}'"
        kwargs = apply_overrides(
            component, CLOUD, eventgrid.Topic,
            {
                "resource_group_name": stack_resources().resource_group.name,
                "input_schema": eventgrid.InputSchema.CLOUD_EVENT_SCHEMA_V1_0,
                # Entra ID only: publishers need EventGrid Data Sender on this topic.
                "disable_local_auth": True,
                "minimum_tls_version_allowed": eventgrid.TlsVersion.TLS_VERSION_1_2,
                "public_network_access": eventgrid.PublicNetworkAccess.ENABLED,
                "identity": eventgrid.IdentityInfoArgs(type=eventgrid.IdentityType.SYSTEM_ASSIGNED),
                "tags": tags_for(name, args),
            },
            args.overrides,
        )
        topic = eventgrid.Topic(name, **kwargs, opts=pulumi.ResourceOptions(parent=parent))
        locator = pulumi.Output.all(topic.endpoint, topic.name).apply(
            lambda values: {"kind": "bus", "cloud": CLOUD, "name": name, "endpoint": values[0], "topic": values[1]}
        )
        return ComponentOutputs(
            name=topic.name,
            resource_id=topic.id,
            locator=locator,
            resources=AzureEventBusResources(topic=topic, principal_id=topic.identity.apply(_principal_id)),
        )

    def validate_subscription(self, name: str, args: EventBusArgs, subscription: BusSubscription) -> None:
        component = f"EventBus '{name}'"
        field_name = f"subscribe('{subscription.name}')"
        require(len(subscription.name) >= SUBSCRIPTION_NAME_MIN, component, f"{field_name}.name",
                subscription.name, f"Event Grid subscription names have at least {SUBSCRIPTION_NAME_MIN} characters",
                cloud=CLOUD)
        require(subscription.max_retries + 1 <= MAX_DELIVERY_ATTEMPTS, component, f"{field_name}.max_retries",
                subscription.max_retries,
                f"Event Grid makes at most {MAX_DELIVERY_ATTEMPTS} delivery attempts "
                f"(0-{MAX_DELIVERY_ATTEMPTS - 1} retries)",
                cloud=CLOUD)
        low, high = EVENT_TTL_MINUTES
        require(subscription.max_event_age_s % 60 == 0 and low <= subscription.max_event_age_s // 60 <= high,
                component, f"{field_name}.max_event_age_s", subscription.max_event_age_s,
                f"Event Grid's event time-to-live is whole minutes, {low}-{high} (60-86400 s in steps of 60)",
                cloud=CLOUD)
        if subscription.pattern is not None:
            try:
                compile_filter(subscription.pattern)
            except UnsupportedPattern as exc:
                raise InvalidArgsError(component, f"{field_name}.pattern", dict(subscription.pattern.source),
                                       str(exc), cloud=CLOUD) from None
        target = subscription.target
        if target.KIND == "function":
            function_name = bus_function_name(subscription.name)
            taken = getattr(target, "_azure_bus_functions", {})
            require(function_name not in taken, component, f"{field_name}.target", target.logical_name,
                    f"Function '{target.logical_name}' already has an Event Grid trigger named {function_name} "
                    f"(from EventBus '{taken.get(function_name)}'); subscription names become function names "
                    "on Azure, so use another name", cloud=CLOUD)

    def subscribe(self, bus: EventBus, subscription: BusSubscription) -> AzureBusSubscription:
        resources: AzureEventBusResources = bus.resources
        child = pulumi.ResourceOptions(parent=bus)
        assignments = _dead_letter_grant(bus)
        target = subscription.target
        event_filter = compile_filter(subscription.pattern) if subscription.pattern is not None else None
        delivery: dict[str, Any]
        descriptor: dict[str, Any] | None = None
        if target.KIND == "function":
            function_name = bus_function_name(subscription.name)
            taken = getattr(target, "_azure_bus_functions", None)
            if taken is None:
                taken = {}
                target._azure_bus_functions = taken
            taken[function_name] = bus.logical_name
            descriptor = {"kind": "bus", "name": bus.logical_name, "subscription": subscription.name}
            triggers_of(target).add(descriptor)
            delivery = {
                "destination": eventgrid.AzureFunctionEventSubscriptionDestinationArgs(
                    endpoint_type="AzureFunction",
                    resource_id=pulumi.Output.concat(target.resource_id, "/functions/", function_name),
                    # The adapter hands the handler one Event per invocation.
                    max_events_per_batch=1,
                )
            }
            depends_on: list[pulumi.Resource] = [target.resources.app]
        else:
            queue_grant = _queue_grant(bus, target)
            assignments = [*assignments, *queue_grant]
            delivery = {
                "delivery_with_resource_identity": eventgrid.DeliveryWithResourceIdentityArgs(
                    identity=eventgrid.EventSubscriptionIdentityArgs(
                        type=eventgrid.EventSubscriptionIdentityType.SYSTEM_ASSIGNED
                    ),
                    destination=eventgrid.ServiceBusQueueEventSubscriptionDestinationArgs(
                        endpoint_type="ServiceBusQueue",
                        resource_id=target.resource_id,
                        delivery_attribute_mappings=_session(subscription) if target.args.fifo else None,
                    ),
                )
            }
            depends_on = list(queue_grant)
        account = stack_resources().storage_account
        event_subscription = eventgrid.EventSubscription(
            f"{bus.logical_name}-{subscription.name}",
            scope=resources.topic.id,
            event_subscription_name=subscription.name,
            event_delivery_schema=eventgrid.EventDeliverySchema.CLOUD_EVENT_SCHEMA_V1_0,
            filter=event_filter,
            retry_policy=eventgrid.RetryPolicyArgs(
                max_delivery_attempts=subscription.max_retries + 1,
                event_time_to_live_in_minutes=subscription.max_event_age_s // 60,
            ),
            dead_letter_with_resource_identity=eventgrid.DeadLetterWithResourceIdentityArgs(
                identity=eventgrid.EventSubscriptionIdentityArgs(
                    type=eventgrid.EventSubscriptionIdentityType.SYSTEM_ASSIGNED
                ),
                dead_letter_destination=eventgrid.StorageBlobDeadLetterDestinationArgs(
                    endpoint_type="StorageBlob",
                    resource_id=account.id,
                    blob_container_name=DEAD_LETTER_CONTAINER,
                ),
            ),
            **delivery,
            opts=child.merge(pulumi.ResourceOptions(depends_on=[*depends_on, *resources.dead_letter_grant])),
        )
        return AzureBusSubscription(
            event_subscription=event_subscription,
            filter=event_filter,
            role_assignments=assignments,
            descriptor=descriptor,
        )


def _session(subscription: BusSubscription) -> list[eventgrid.StaticDeliveryAttributeMappingArgs]:
    """A session queue rejects messages without a session id: one per subscription."""
    return [
        eventgrid.StaticDeliveryAttributeMappingArgs(
            type="Static", name="SessionId", value=subscription.name, is_secret=False
        )
    ]


def _dead_letter_grant(bus: EventBus) -> list[pulumi.CustomResource]:
    """The topic's write access to the ``deadletters`` container, created once per bus."""
    resources: AzureEventBusResources = bus.resources
    if not resources.dead_letter_grant:
        container = dead_letter_container()
        resources.dead_letter_grant.extend(
            grants.grant_kind(
                f"{bus.logical_name}-dead-letters",
                "delivery:dead-letter",
                "write",
                principal_id=resources.principal_id,
                scope=container.id,
                reason=f"EventBus '{bus.logical_name}' dead-letters undeliverable events",
                opts=pulumi.ResourceOptions(parent=bus),
            )
        )
    return list(resources.dead_letter_grant)


def _queue_grant(bus: EventBus, queue: Any) -> list[pulumi.CustomResource]:
    """The topic's send access to one target queue, created once per bus and queue."""
    resources: AzureEventBusResources = bus.resources
    if queue.logical_name not in resources.queue_grants:
        resources.queue_grants[queue.logical_name] = grants.grant_kind(
            f"{bus.logical_name}-to-queue-{queue.logical_name}",
            "delivery:queue",
            "send",
            principal_id=resources.principal_id,
            scope=queue.resource_id,
            reason=f"EventBus '{bus.logical_name}' delivers to Queue '{queue.logical_name}'",
            opts=pulumi.ResourceOptions(parent=bus),
        )
    return resources.queue_grants[queue.logical_name]


def _principal_id(identity: Any) -> str:
    if identity is None or not identity.principal_id:
        raise ValueError("the Event Grid topic has no system-assigned identity")
    return identity.principal_id
