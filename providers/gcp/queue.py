"""Queue on GCP: a Pub/Sub topic with one subscription, dead-lettered to a second topic.

What gets registered (children of the Queue):

* ``gcp:pubsub/topic:Topic`` ``<name>``: where messages are sent.
* ``gcp:pubsub/subscription:Subscription`` ``<name>``: the queue's single consumer group. Its ack
  deadline is the visibility timeout, its retention the queue's, ordering on for FIFO, acked
  messages not kept, never expiring, redelivery with exponential backoff, and a dead-letter
  policy moving a message to the DLQ topic after ``max_receive_count`` deliveries. It is a
  *pull* subscription until ``queue.subscribe(fn)``; then this same subscription pushes to the
  function (a second subscription would deliver every message twice).
* ``gcp:pubsub/topic:Topic`` ``<name>-dlq`` and a subscription on it (``<name>-dlq``), so dead
  letters are kept (7 days, the most Pub/Sub allows) and can be inspected or replayed.
* The IAM dead-lettering needs, for Pub/Sub's service agent only: ``roles/pubsub.publisher`` on
  the DLQ topic, ``roles/pubsub.subscriber`` on the source subscription (to ack what it moved).

``queue.subscribe(fn)`` adds a push service account for the queue, ``roles/run.invoker`` for it
on the function's Cloud Run service, and ``roles/iam.serviceAccountTokenCreator`` on that account
for Pub/Sub's agent (which signs the push requests' OIDC tokens with it). Pub/Sub then POSTs to
``<function url>/_omnicloud/queue/<queue>`` one message per request, in the standard push
wrapper::

    {"message": {"data": "<base64>", "attributes": {...}, "messageId": "...",
                 "publishTime": "<RFC 3339>", "orderingKey": "..."},
     "subscription": "projects/<p>/subscriptions/<s>", "deliveryAttempt": <n>}

A 2xx answer acks it; anything else (or no answer within the ack deadline) redelivers it,
until ``max_receive_count`` deliveries have failed and it is dead-lettered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_gcp as gcp

from components.errors import InvalidArgsError, require
from components.queue import QueueArgs, QueueSubscription
from providers.gcp import naming
from providers.gcp.deferred import Deferred, add_trigger
from providers.gcp.delivery import delivery_identity
from providers.gcp.stack import pubsub_agent, scope
from providers.protocols import QueueOutputs
from providers.shared import apply_overrides, tags_for

if TYPE_CHECKING:
    from components.function import Function
    from components.queue import Queue

CLOUD = "gcp"
VISIBILITY_TIMEOUT_S = (10, 600)
"""Pub/Sub ack deadlines are 10-600 s."""
RETENTION_S = (600, 7 * 86400)
"""A subscription keeps unacked messages 10 minutes to 7 days."""
MAX_DELIVERY_ATTEMPTS = (5, 100)
"""A dead-letter policy's max delivery attempts are 5-100."""
MAX_MESSAGE_KB = 10240
"""A publish request (data and attributes) is at most 10 MiB."""
DEAD_LETTER_RETENTION = f"{RETENTION_S[1]}s"
MIN_BACKOFF = "10s"
MAX_BACKOFF = "600s"
PUSH_PATH = "/_omnicloud/queue/"
PUBSUB_NAME_MAX = 255
# Topic and subscription IDs: a letter, then letters, digits and - _ . ~ + %.
_PUBSUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._~+%-]*$")
_AUTONAME_AND_SUFFIX = len("-dlq") + naming.AUTONAME_SUFFIX


@dataclass(frozen=True)
class GcpQueueSubscriptionResources:
    """What ``queue.subscribe(fn)`` adds on GCP."""

    function: str
    """The subscribed Function's logical name."""
    push_account: gcp.serviceaccount.Account
    """The identity Pub/Sub signs push requests with (``identity`` in ``OMNICLOUD_TRIGGERS``)."""
    invoker: gcp.cloudrunv2.ServiceIamMember
    token_creator: gcp.serviceaccount.IAMMember


@dataclass(frozen=True)
class GcpQueueResources:
    """The native resources behind a Queue on GCP."""

    topic: gcp.pubsub.Topic
    subscription: gcp.pubsub.Subscription
    dead_letter_topic: gcp.pubsub.Topic
    dead_letter_subscription: gcp.pubsub.Subscription
    agent_dead_letter_publisher: gcp.pubsub.TopicIAMMember
    agent_subscriber: gcp.pubsub.SubscriptionIAMMember
    push_config: Deferred[Any] = field(repr=False, compare=False)
    """None (pull) until ``subscribe``; then the push configuration."""
    subscriptions: list[GcpQueueSubscriptionResources] = field(default_factory=list)


class GcpQueueProvider:
    """Builds :class:`components.Queue` on Pub/Sub."""

    LIMITATIONS = {
        "batches": "Pub/Sub push delivers one message per request: a subscription's batches hold one message",
        "one_consumer": "a queue has one subscriber function (its one subscription pushes to one endpoint)",
        "dead_letter_retention": "dead letters are kept 7 days (Pub/Sub's longest subscription retention)",
        "max_message_kb": "Pub/Sub caps requests at 10 MiB only; the client enforces max_message_kb",
    }
    """Semantic gaps that deploy fine but behave differently; listed in the support matrix."""

    def validate(self, name: str, args: QueueArgs) -> None:
        component = f"Queue '{name}'"
        require(bool(_PUBSUB_NAME.match(name)) and not name.lower().startswith("goog"), component, "name", name,
                "Pub/Sub names start with a letter (not 'goog') and use letters, digits and - _ . ~ + %",
                cloud=CLOUD)
        limit = PUBSUB_NAME_MAX - _AUTONAME_AND_SUFFIX
        require(len(name) <= limit, component, "name", name,
                f"at most {limit} characters (Pub/Sub names are at most {PUBSUB_NAME_MAX}, and the "
                f"dead-letter topic adds '-dlq' and Pulumi an {naming.AUTONAME_SUFFIX}-character suffix)",
                cloud=CLOUD)
        low, high = VISIBILITY_TIMEOUT_S
        require(low <= args.visibility_timeout_s <= high, component, "visibility_timeout_s",
                args.visibility_timeout_s, f"Pub/Sub ack deadlines are {low}-{high} s", cloud=CLOUD)
        low, high = RETENTION_S
        require(low <= args.retention_s <= high, component, "retention_s", args.retention_s,
                f"Pub/Sub subscriptions retain messages {low}-{high} s (10 minutes to 7 days)",
                cloud=CLOUD)
        low, high = MAX_DELIVERY_ATTEMPTS
        require(low <= args.max_receive_count <= high, component, "max_receive_count",
                args.max_receive_count,
                f"Pub/Sub dead-letter policies allow {low}-{high} delivery attempts", cloud=CLOUD)
        require(args.delay_s == 0, component, "delay_s", args.delay_s,
                "Pub/Sub has no delivery delay (messages are deliverable as soon as published); leave it at 0",
                cloud=CLOUD)
        require(args.max_message_kb <= MAX_MESSAGE_KB, component, "max_message_kb", args.max_message_kb,
                f"at most {MAX_MESSAGE_KB} KB (a Pub/Sub publish request is at most 10 MiB)",
                cloud=CLOUD)
        naming.check_labels(component, tags_for(name, args))
        # Names in the escape hatch are checked now, before anything is registered.
        apply_overrides(component, CLOUD, gcp.pubsub.Subscription, {}, args.overrides)

    def create(self, name: str, args: QueueArgs, parent: pulumi.ComponentResource) -> QueueOutputs:
        child = pulumi.ResourceOptions(parent=parent)
        labels = naming.labels(tags_for(name, args))
        agent = pubsub_agent()
        topic = gcp.pubsub.Topic(name, labels=labels, opts=child)
        dead_letter_topic = gcp.pubsub.Topic(f"{name}-dlq", labels=labels, opts=child)
        dead_letter_subscription = gcp.pubsub.Subscription(
            f"{name}-dlq",
            topic=dead_letter_topic.id,
            ack_deadline_seconds=args.visibility_timeout_s,
            message_retention_duration=DEAD_LETTER_RETENTION,
            retain_acked_messages=False,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            enable_message_ordering=args.fifo,
            labels=labels,
            opts=child,
        )
        # Pub/Sub's agent publishes dead letters; granted before the policy names the topic.
        publisher = gcp.pubsub.TopicIAMMember(
            f"{name}-dlq-agent",
            project=dead_letter_topic.project,
            topic=dead_letter_topic.name,
            role="roles/pubsub.publisher",
            member=agent.member,
            opts=child,
        )
        push_config = Deferred[Any](f"the push configuration of Queue '{name}'", None)
        settings: dict[str, Any] = {
            "topic": topic.id,
            "ack_deadline_seconds": args.visibility_timeout_s,
            "message_retention_duration": f"{args.retention_s}s",
            "retain_acked_messages": False,
            "enable_message_ordering": args.fifo,
            # An idle queue must not lose its subscription (Pub/Sub's default expiry: 31 days).
            "expiration_policy": gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            "dead_letter_policy": gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
                dead_letter_topic=dead_letter_topic.id,
                max_delivery_attempts=args.max_receive_count,
            ),
            "retry_policy": gcp.pubsub.SubscriptionRetryPolicyArgs(
                minimum_backoff=MIN_BACKOFF, maximum_backoff=MAX_BACKOFF
            ),
            # Pull until a function subscribes (decided after the program body, see subscribe).
            "push_config": push_config.output(),
            "labels": labels,
        }
        # The subscription is where the queue's behaviour lives: overrides go there.
        settings = apply_overrides(f"Queue '{name}'", CLOUD, gcp.pubsub.Subscription, settings, args.overrides)
        subscription = gcp.pubsub.Subscription(
            name, **settings, opts=pulumi.ResourceOptions(parent=parent, depends_on=[publisher])
        )
        subscriber = gcp.pubsub.SubscriptionIAMMember(
            f"{name}-agent",
            project=subscription.project,
            subscription=subscription.name,
            role="roles/pubsub.subscriber",
            member=agent.member,
            opts=child,
        )
        resources = GcpQueueResources(
            topic=topic,
            subscription=subscription,
            dead_letter_topic=dead_letter_topic,
            dead_letter_subscription=dead_letter_subscription,
            agent_dead_letter_publisher=publisher,
            agent_subscriber=subscriber,
            push_config=push_config,
        )
        locator = pulumi.Output.all(project=topic.project, topic=topic.name, subscription=subscription.name).apply(
            lambda values: {
                "kind": "queue",
                "cloud": CLOUD,
                "name": name,
                "project": values["project"],
                "topic": values["topic"],
                "subscription": values["subscription"],
                "fifo": args.fifo,
                # Pub/Sub only caps requests at 10 MiB; the client enforces the queue's own limit.
                "max_message_kb": args.max_message_kb,
            }
        )
        return QueueOutputs(
            name=topic.name,
            resource_id=topic.id,
            dead_letter=dead_letter_topic.id,
            locator=locator,
            resources=resources,
        )

    def validate_subscription(self, name: str, args: QueueArgs, options: QueueSubscription) -> None:
        # Pub/Sub push delivers one message per request: any batch_size is honoured as batches
        # of one (a handler's failed ids then name that one message). A batching window would
        # be a promise push cannot keep.
        require(options.max_batching_window_s == 0, f"Queue '{name}'", "max_batching_window_s",
                options.max_batching_window_s,
                "Pub/Sub push delivers each message as soon as it is available, one per request; leave it at 0",
                cloud=CLOUD)

    def subscribe(self, queue: Queue, function: Function, options: QueueSubscription) -> GcpQueueSubscriptionResources:
        from providers.gcp.function import run_uri

        name = queue.logical_name
        component = f"Queue '{name}'"
        resources: GcpQueueResources = queue.resources
        if resources.subscriptions:
            raise InvalidArgsError(
                component, "subscribe", f"Function '{function.logical_name}'",
                "a queue has one consumer on GCP (its one Pub/Sub subscription pushes to one "
                f"endpoint); Function '{resources.subscriptions[0].function}' already consumes it",
                cloud=CLOUD,
            )
        timeout = function.args.timeout_s
        require(timeout <= queue.args.visibility_timeout_s, component, "visibility_timeout_s",
                queue.args.visibility_timeout_s,
                f"at least the subscribed Function '{function.logical_name}''s timeout_s ({timeout}): "
                "Pub/Sub redelivers a push message whose response takes longer than the ack deadline",
                cloud=CLOUD)
        child = pulumi.ResourceOptions(parent=queue)
        fn = function.resources.function
        identity = delivery_identity(
            (f"{name}-push", f"{name}-push-invoker", f"{name}-push-token"),
            account_id=naming.service_account_id(scope(), name, "push"),
            display_name=f"omnicloud Queue '{name}' push",
            description=f"Pub/Sub pushes Queue '{name}' to Function '{function.logical_name}' "
                        f"as this identity (stack {pulumi.get_stack()})",
            function=function,
            signer=pubsub_agent().member,
            opts=child,
        )
        account, invoker, token_creator = identity.account, identity.invoker, identity.token_creator
        uri = run_uri(fn)
        resources.push_config.set(
            gcp.pubsub.SubscriptionPushConfigArgs(
                push_endpoint=pulumi.Output.concat(uri, PUSH_PATH, name),
                oidc_token=gcp.pubsub.SubscriptionPushConfigOidcTokenArgs(
                    service_account_email=account.email,
                    # The adapter checks the audience is the function's own URL.
                    audience=uri,
                ),
            )
        )
        add_trigger(function, {"kind": "queue", "name": name, "identity": account.email})
        subscribed = GcpQueueSubscriptionResources(function=function.logical_name, push_account=account,
                                                   invoker=invoker, token_creator=token_creator)
        resources.subscriptions.append(subscribed)
        return subscribed
