"""Queue on Azure: a Service Bus queue in the stack's namespace, with its native dead-letter queue.

What gets registered:

* ``azure-native:servicebus:Namespace`` once per stack (see :mod:`.stack`; Standard tier,
  Entra ID only, TLS 1.2).
* ``azure-native:servicebus:Queue`` ``<name>`` (child of the component, auto-named
  ``<name><8 chars>``): lock duration from ``visibility_timeout_s``, max delivery count from
  ``max_receive_count``, default time-to-live from ``retention_s``, expired messages
  dead-lettered, sessions for ``fifo`` (plus duplicate detection over 5 minutes, like SQS
  FIFO's deduplication window).

The dead-letter queue is not a separate resource: every Service Bus queue has a built-in
sub-queue ``<queue>/$DeadLetterQueue`` that receives messages after ``max_delivery_count``
deliveries (and, here, expired ones). ``dead_letter`` is the queue's resource ID plus
``/$DeadLetterQueue``; dead-lettered messages never expire.

``delay_s`` has no queue-level equivalent on Service Bus: the locator carries it and the
runtime client schedules every message it sends ``delay_s`` later
(``scheduled_enqueue_time_utc``). Messages sent by other tools are not delayed.

``queue.subscribe(fn, batch_size=n)`` adds no trigger resource (the Service Bus trigger lives
in the package, registered by the Azure adapter from ``OMNICLOUD_TRIGGERS``), only:

* a trigger descriptor ``{"kind": "queue", "name", "queue", "fifo", "batch_size",
  "namespace"}`` on the function (the function's app settings then carry
  ``OMNICLOUD_SB__fullyQualifiedNamespace``, the trigger's identity-based connection);
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
from providers.azure.function import check_tags
from providers.azure.stack import AzureServiceBus, service_bus, stack_resources
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
MESSAGE_KB_STANDARD = 256
"""Largest message on the Standard tier (Premium allows up to 100 MB)."""
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
    """The stack's namespace (shared by every Queue of the stack)."""


@dataclass(frozen=True)
class AzureQueueTrigger:
    """What ``queue.subscribe(fn)`` registered on Azure."""

    descriptor: dict[str, Any]
    role_assignments: list[pulumi.CustomResource] = field(default_factory=list)


class AzureQueueProvider:
    """Builds :class:`components.Queue` as a Service Bus queue."""

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
        require(args.max_message_kb <= MESSAGE_KB_STANDARD, component, "max_message_kb", args.max_message_kb,
                f"Service Bus Standard carries messages up to {MESSAGE_KB_STANDARD} KB", cloud=CLOUD)
        check_tags(component, name, args)
        apply_overrides(component, CLOUD, servicebus.Queue, {}, args.overrides)

    def create(self, name: str, args: QueueArgs, parent: pulumi.ComponentResource) -> QueueOutputs:
        component = f"Queue '{name}'"
        bus = service_bus()
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
                "requires_session": args.fifo,
                "requires_duplicate_detection": args.fifo,
                **({"duplicate_detection_history_time_window": DUPLICATE_DETECTION_WINDOW} if args.fifo else {}),
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
        descriptor: dict[str, Any] = {
            "kind": "queue",
            "name": queue.logical_name,
            "queue": resources.queue.name,
            "fifo": queue.args.fifo,
            "batch_size": options.batch_size,
            "namespace": resources.service_bus.fully_qualified_namespace,
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
