"""Queue on Azure: a Service Bus queue in one of the stack's namespaces, with its native dead-letter queue.

What gets registered:

* ``azure-native:servicebus:Namespace`` at most twice per stack (see :mod:`.stack`; Entra ID
  only, TLS 1.2): a **Basic** namespace for non-FIFO queues and, only once a FIFO queue
  exists, a **Standard** namespace for FIFO queues. Basic has no base charge and bills per
  operation, so an app without FIFO queues pays nothing while idle; Standard has a fixed
  hourly base charge and is there only because Basic has no sessions and no duplicate
  detection.
* ``azure-native:servicebus:Queue`` ``<name>`` (child of the component, auto-named
  ``<name><8 chars>``): lock duration from ``visibility_timeout_s``, max delivery count from
  ``max_receive_count``, default time-to-live from ``retention_s``, expired messages
  dead-lettered; for ``fifo``, sessions plus duplicate detection over 5 minutes (like SQS
  FIFO's deduplication window). A non-FIFO queue sets no Standard-only property at all.

What Basic lacks, and so what a non-FIFO Queue cannot ask for (checked before deploy):
sessions, duplicate detection, a time-to-live over 14 days (``retention_s``), auto-delete on
idle, auto-forwarding (``forward_to``, ``forward_dead_lettered_messages_to``) and express
entities (in ``overrides``). Everything else a Queue uses works the same on both tiers: the
dead-letter sub-queue, peek-lock with a 5 s - 5 min lock, 1-2000 deliveries, scheduled
messages (``delay_s``), 256 KB messages, and the Functions trigger (which uses no
transactions).

The dead-letter queue is not a separate resource: every Service Bus queue has a built-in
sub-queue ``<queue>/$DeadLetterQueue`` that receives messages after ``max_delivery_count``
deliveries (and, here, expired ones). ``dead_letter`` is the queue's resource ID plus
``/$DeadLetterQueue``; dead-lettered messages never expire.

``delay_s`` has no queue-level equivalent on Service Bus: the locator carries it and the
runtime client schedules every message it sends ``delay_s`` later
(``scheduled_enqueue_time_utc``). Messages sent by other tools are not delayed. The locator's
``namespace`` is the queue's own namespace (Basic or Standard).

``queue.subscribe(fn, batch_size=n)`` adds no trigger resource (the Service Bus trigger lives
in the package, registered by the Azure adapter from ``OMNICLOUD_TRIGGERS``), only:

* a trigger descriptor ``{"kind": "queue", "name", "queue", "fifo", "batch_size",
  "namespace", "connection"}`` on the function. ``namespace`` is the queue's namespace and
  ``connection`` the identity-based connection prefix the trigger uses for it:
  ``OMNICLOUD_SB`` (Basic) or ``OMNICLOUD_SB_FIFO`` (Standard); the function's app settings
  carry ``<connection>__fullyQualifiedNamespace``. The Functions host resolves one namespace
  per connection prefix, so each namespace needs its own. Until the function provider and the
  adapter both honour ``connection``, one Function may consume queues of one namespace only
  (FIFO or not), and a subscription that would mix them fails before deploy;
* ``azure-native:authorization:RoleAssignment`` ``<fn>-on-queue-<name>``: Azure Service Bus
  Data Receiver for the function's identity on this queue only. The trigger renews message
  locks while the handler runs, so a lock shorter than the function timeout is fine. Without
  the Manage right (Data Owner) the scale controller sizes the app from the oldest message's
  age rather than the queue length, which omnicloud accepts to keep the grant narrow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import servicebus

from components.errors import require
from components.queue import QueueArgs, QueueSubscription
from providers.azure import grants
from providers.azure.function import SERVICE_BUS_CONNECTION, check_tags
from providers.azure.stack import BASIC, STANDARD, AzureServiceBus, Tier, service_bus, stack_resources
from providers.protocols import QueueOutputs
from providers.shared import apply_overrides, triggers_of

if TYPE_CHECKING:
    from components.function import Function
    from components.queue import Queue

CLOUD = "azure"
# Service Bus quotas (learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas) and
# queue properties (the ARM reference of Microsoft.ServiceBus/namespaces/queues).
LOCK_DURATION_S = (5, 300)
"""Peek-lock duration: 5 seconds to 5 minutes."""
MAX_DELIVERY_COUNT = (1, 2000)
"""What the Azure portal accepts for a queue's maximum delivery count."""
MESSAGE_KB_MAX = 256
"""Largest message on the Basic and Standard tiers (Premium allows up to 100 MB)."""
BASIC_TTL_MAX_S = 14 * 86400
"""A Basic namespace's default (and largest) message time-to-live: 14 days
(learn.microsoft.com/azure/service-bus-messaging/message-expiration)."""
STANDARD_ONLY_PROPERTIES = (
    "auto_delete_on_idle",
    "duplicate_detection_history_time_window",
    "enable_express",
    "forward_dead_lettered_messages_to",
    "forward_to",
    "requires_duplicate_detection",
    "requires_session",
)
"""Queue properties a Basic namespace rejects (service-bus-resource-manager-exceptions,
service-bus-auto-forwarding): an override setting one needs a FIFO (Standard) queue."""
CONNECTIONS: dict[Tier, str] = {BASIC: SERVICE_BUS_CONNECTION, STANDARD: f"{SERVICE_BUS_CONNECTION}_FIFO"}
"""Trigger connection prefix per namespace: the host reads ``<prefix>__fullyQualifiedNamespace``."""
QUEUE_NAME_MAX = 260
DUPLICATE_DETECTION_WINDOW = "PT5M"
# The Service Bus trigger delivers at most maxMessageBatchSize messages per invocation
# (host.json extensions.serviceBus, default 1000); the adapter splits them into batch_size.
BATCH_SIZE = (1, 1000)
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DEAD_LETTER_SUFFIX = "/$DeadLetterQueue"


@dataclass(frozen=True)
class AzureQueueResources:
    """The native resources behind a Queue on Azure."""

    queue: servicebus.Queue
    service_bus: AzureServiceBus
    """The queue's namespace: the stack's Basic one, or its Standard one for a FIFO queue."""


@dataclass(frozen=True)
class AzureQueueTrigger:
    """What ``queue.subscribe(fn)`` registered on Azure."""

    descriptor: dict[str, Any]
    role_assignments: list[pulumi.CustomResource] = field(default_factory=list)


class AzureQueueProvider:
    """Builds :class:`components.Queue` as a Service Bus queue."""

    LIMITATIONS = {
        "partial_batch_failure": (
            "a failed message makes the whole batch retry, unless the handler's requirements.txt "
            "adds the preview package azurefunctions-extensions-bindings-servicebus (per-message "
            "settlement)"
        ),
    }
    """Semantic gaps that deploy fine but behave differently; listed in the support matrix."""

    def validate(self, name: str, args: QueueArgs) -> None:
        component = f"Queue '{name}'"
        require(bool(_QUEUE_NAME.match(name)) and len(name) <= QUEUE_NAME_MAX - 8, component, "name", name,
                "Service Bus queue names are letters, digits, '.', '-' and '_', starting with a letter "
                f"or digit, at most {QUEUE_NAME_MAX - 8} characters (8 are added to make them unique)",
                cloud=CLOUD)
        low, high = LOCK_DURATION_S
        require(low <= args.visibility_timeout_s <= high, component, "visibility_timeout_s",
                args.visibility_timeout_s, f"a Service Bus lock lasts {low}-{high} s", cloud=CLOUD)
        low, high = MAX_DELIVERY_COUNT
        require(low <= args.max_receive_count <= high, component, "max_receive_count", args.max_receive_count,
                f"Service Bus max delivery count is {low}-{high}", cloud=CLOUD)
        require(args.max_message_kb <= MESSAGE_KB_MAX, component, "max_message_kb", args.max_message_kb,
                f"Service Bus Basic and Standard carry messages up to {MESSAGE_KB_MAX} KB", cloud=CLOUD)
        if not args.fifo:
            _check_basic(component, args)
        check_tags(component, name, args)
        apply_overrides(component, CLOUD, servicebus.Queue, {}, args.overrides)

    def create(self, name: str, args: QueueArgs, parent: pulumi.ComponentResource) -> QueueOutputs:
        component = f"Queue '{name}'"
        bus = service_bus(fifo=args.fifo)
        # A Basic namespace refuses these properties outright, so a non-FIFO queue (in Basic)
        # leaves them out: both default to off.
        fifo_properties: dict[str, Any] = {}
        if args.fifo:
            fifo_properties = {
                "requires_session": True,
                "requires_duplicate_detection": True,
                "duplicate_detection_history_time_window": DUPLICATE_DETECTION_WINDOW,
            }
        kwargs = apply_overrides(
            component, CLOUD, servicebus.Queue,
            {
                "resource_group_name": stack_resources().resource_group.name,
                "namespace_name": bus.namespace.name,
                "lock_duration": iso_duration(args.visibility_timeout_s),
                "max_delivery_count": args.max_receive_count,
                "default_message_time_to_live": iso_duration(args.retention_s),
                # Expired messages go to the dead-letter queue instead of vanishing.
                "dead_lettering_on_message_expiration": True,
                **fifo_properties,
            },
            args.overrides,
        )
        queue = servicebus.Queue(name, **kwargs, opts=pulumi.ResourceOptions(parent=parent))
        locator = pulumi.Output.all(bus.fully_qualified_namespace, queue.name).apply(
            lambda values: {
                "kind": "queue",
                "cloud": CLOUD,
                "name": name,
                "namespace": values[0],
                "queue": values[1],
                "fifo": args.fifo,
                "delay_s": args.delay_s,
            }
        )
        return QueueOutputs(
            name=queue.name,
            resource_id=queue.id,
            dead_letter=queue.id.apply(lambda queue_id: queue_id + DEAD_LETTER_SUFFIX),
            locator=locator,
            resources=AzureQueueResources(queue=queue, service_bus=bus),
        )

    def validate_subscription(self, name: str, args: QueueArgs, options: QueueSubscription) -> None:
        component = f"Queue '{name}'"
        low, high = BATCH_SIZE
        require(low <= options.batch_size <= high, component, "batch_size", options.batch_size,
                f"the Service Bus trigger delivers {low}-{high} messages per invocation", cloud=CLOUD)
        require(options.max_batching_window_s == 0, component, "max_batching_window_s",
                options.max_batching_window_s,
                "the Service Bus trigger has no per-function batching window: it invokes as soon as "
                "messages are available; leave it at 0", cloud=CLOUD)

    def subscribe(self, queue: Queue, function: Function, options: QueueSubscription) -> AzureQueueTrigger:
        resources: AzureQueueResources = queue.resources
        connection = CONNECTIONS[resources.service_bus.tier]
        descriptor: dict[str, Any] = {
            "kind": "queue",
            "name": queue.logical_name,
            "queue": resources.queue.name,
            "fifo": queue.args.fifo,
            "batch_size": options.batch_size,
            "namespace": resources.service_bus.fully_qualified_namespace,
            "connection": connection,
        }
        triggers_of(function).add(descriptor)
        assignments = grants.grant_kind(
            f"{function.logical_name}-on-queue-{queue.logical_name}",
            "trigger:queue",
            "consume",
            principal_id=function.identity,
            scope=queue.resource_id,
            reason=f"Function '{function.logical_name}' is triggered by Queue '{queue.logical_name}'",
            opts=pulumi.ResourceOptions(parent=queue),
        )
        return AzureQueueTrigger(descriptor=descriptor, role_assignments=assignments)


def _check_basic(component: str, args: QueueArgs) -> None:
    """A non-FIFO Queue lives in the Basic namespace: nothing it asks for may need Standard."""
    days = BASIC_TTL_MAX_S // 86400
    require(args.retention_s <= BASIC_TTL_MAX_S, component, "retention_s", args.retention_s,
            f"non-FIFO queues use the Service Bus Basic tier (no base charge), which keeps a message "
            f"at most {BASIC_TTL_MAX_S} s ({days} days)", cloud=CLOUD)
    for key, value in args.overrides.get(CLOUD, {}).items():
        require(key not in STANDARD_ONLY_PROPERTIES, component,
                f"overrides.{CLOUD}.{key}", value,
                "non-FIFO queues use the Service Bus Basic tier (no base charge), which does not "
                f"support {key}; only FIFO queues get a Standard namespace", cloud=CLOUD)


def iso_duration(seconds: int) -> str:
    """Seconds as the ISO 8601 duration Service Bus stores (``P4D``, ``PT1M30S``, ``PT0S``)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    date = f"{days}D" if days else ""
    time = "".join(f"{value}{unit}" for value, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if value)
    if not date and not time:
        return "PT0S"
    return "P" + date + (f"T{time}" if time else "")
