"""EventBus on AWS: an EventBridge custom bus, a rule per subscription, optional archive.

What gets registered (children of the component):

* ``aws:cloudwatch/eventBus:EventBus`` ``<name>``: a custom bus (events encrypted at rest
  with an AWS-owned key).
* ``aws:cloudwatch/eventArchive:EventArchive`` ``<name>-archive`` when
  ``archive_retention_days`` is set: every event kept that long, for replay.

``bus.subscribe(sub, target, pattern=...)`` adds, under the bus component:

* ``aws:cloudwatch/eventRule:EventRule`` ``<bus>-<sub>``: named ``<sub>`` on this bus (rule
  names are per bus, and the bus name is unique per stack), the pattern compiled by
  :mod:`providers.aws.patterns`.
* ``aws:sqs/queue:Queue`` + ``aws:sqs/queuePolicy:QueuePolicy`` ``<bus>-<sub>-dlq``: events
  EventBridge could not deliver after the retry policy, sendable only by this rule.
* ``aws:cloudwatch/eventTarget:EventTarget`` ``<bus>-<sub>``: retry policy
  (``max_retries``, ``max_event_age_s``) and that dead-letter queue.
* A Function target: ``aws:lambda/permission:Permission`` ``<bus>-<sub>`` (EventBridge, from
  this rule only). EventBridge invokes Lambda asynchronously, so an exception in the
  handler is retried by Lambda, not EventBridge: unless the function already has an async
  failure destination (a scheduled function's), ``<fn>-bus-async`` sends events that
  still fail to ``<fn>-bus-dlq``.
* A Queue target: the target queue gets one ``aws:sqs/queuePolicy:QueuePolicy``
  ``<queue>-from-buses`` with one statement per subscription delivering to it (SQS keeps a
  single policy per queue, so separate policies would overwrite each other); FIFO queues
  get one message group per subscription.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components.errors import require
from components.event_bus import BusSubscription, EventBusArgs
from providers.aws import grants, naming
from providers.aws.patterns import compile_pattern_json, unsupported
from providers.aws.queue import DLQ_RETENTION_S, function_target_arn
from providers.protocols import ComponentOutputs
from providers.shared import LateBound, apply_overrides, tags_for, triggers_of

if TYPE_CHECKING:
    from components.event_bus import EventBus
    from components.function import Function
    from components.queue import Queue

LAMBDA_ASYNC_RETRIES = 2
"""Lambda's own retries of a failed asynchronous invocation (its maximum)."""
LAMBDA_ASYNC_MAX_AGE_S = 21600
"""Lambda keeps an asynchronous event at most 6 h."""


@dataclass(frozen=True)
class AwsEventBusResources:
    """The native resources behind an EventBus on AWS."""

    bus: aws.cloudwatch.EventBus
    archive: aws.cloudwatch.EventArchive | None = None


@dataclass(frozen=True)
class AwsBusSubscriptionResources:
    """What ``bus.subscribe(...)`` created."""

    rule: aws.cloudwatch.EventRule
    target: aws.cloudwatch.EventTarget
    dead_letter_queue: aws.sqs.Queue
    dead_letter_policy: aws.sqs.QueuePolicy
    permission: aws.lambda_.Permission | None = None
    """Function targets: EventBridge may invoke the function (from this rule only)."""
    queue_policy: aws.sqs.QueuePolicy | None = None
    """Queue targets: the target queue's policy (shared by every subscription to it)."""
    async_config: aws.lambda_.FunctionEventInvokeConfig | None = None
    """Function targets: where the function's failed asynchronous invocations go."""


class AwsEventBusProvider:
    """Builds :class:`components.EventBus` on EventBridge."""

    def validate(self, name: str, args: EventBusArgs) -> None:
        component = f"EventBus '{name}'"
        naming.check_bus_name(component, name, archived=args.archive_retention_days is not None)
        apply_overrides(component, "aws", aws.cloudwatch.EventBus, {}, args.overrides)
        naming.check_tags(component, name, args)

    def create(self, name: str, args: EventBusArgs, parent: pulumi.ComponentResource) -> ComponentOutputs:
        child = pulumi.ResourceOptions(parent=parent)
        bus_kwargs = apply_overrides(
            f"EventBus '{name}'",
            "aws",
            aws.cloudwatch.EventBus,
            {"description": f"omnicloud EventBus '{name}'", "tags": tags_for(name, args)},
            args.overrides,
        )
        bus = aws.cloudwatch.EventBus(name, **bus_kwargs, opts=child)
        archive = None
        if args.archive_retention_days is not None:
            archive = aws.cloudwatch.EventArchive(
                f"{name}-archive",
                event_source_arn=bus.arn,
                retention_days=args.archive_retention_days,
                description=f"Every event of omnicloud EventBus '{name}'",
                opts=child,
            )
        locator = pulumi.Output.all(bus_name=bus.name, arn=bus.arn).apply(
            lambda v: {
                "kind": "bus",
                "cloud": "aws",
                "name": name,
                "bus_name": v["bus_name"],
                "arn": v["arn"],
                "region": naming.region_of(v["arn"]),
            }
        )
        return ComponentOutputs(
            name=bus.name,
            resource_id=bus.arn,
            locator=locator,
            resources=AwsEventBusResources(bus=bus, archive=archive),
        )

    def validate_subscription(self, name: str, args: EventBusArgs, subscription: BusSubscription) -> None:
        component = f"EventBus '{name}'"
        for where, why in unsupported(subscription.pattern):
            require(False, component, f"subscribe('{subscription.name}').pattern.{where}", subscription.pattern, why)
        naming.check_queue_name(component, "subscribe.name", f"{name}-{subscription.name}", suffix="-dlq", fifo=False)
        if subscription.target.KIND == "function":
            naming.check_queue_name(
                component,
                f"subscribe('{subscription.name}').target",
                subscription.target.logical_name,
                suffix="-bus-dlq",
                fifo=False,
            )

    def subscribe(self, bus: EventBus, subscription: BusSubscription) -> AwsBusSubscriptionResources:
        base = f"{bus.logical_name}-{subscription.name}"
        target_component = subscription.target
        child = pulumi.ResourceOptions(parent=bus)
        tags = tags_for(bus.logical_name, bus.args)
        bus_name: pulumi.Output[str] = bus.name
        rule = aws.cloudwatch.EventRule(
            base,
            name=subscription.name,
            event_bus_name=bus_name,
            event_pattern=compile_pattern_json(subscription.pattern),
            state="ENABLED",
            description=f"omnicloud EventBus '{bus.logical_name}' subscription '{subscription.name}'",
            tags=tags,
            opts=child,
        )
        dead_letters = aws.sqs.Queue(
            f"{base}-dlq",
            message_retention_seconds=DLQ_RETENTION_S,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        dead_letter_policy = aws.sqs.QueuePolicy(
            f"{base}-dlq",
            queue_url=dead_letters.url,
            policy=grants.policy_document([events_may_send(dead_letters.arn, rule.arn, "DeadLetters")]),
            opts=child,
        )
        permission = queue_policy = async_config = None
        sqs_target = None
        if target_component.KIND == "function":
            function: Function = target_component
            target_arn = function_target_arn(function)
            alias = getattr(function.resources, "alias", None)
            permission = aws.lambda_.Permission(
                base,
                action="lambda:InvokeFunction",
                function=function.name,
                qualifier=alias.name if alias is not None else None,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=child,
            )
            async_config = _async_failure_destination(function, bus, subscription)
            triggers_of(function).add(
                {"kind": "bus", "name": bus.logical_name, "subscription": subscription.name, "source": rule.arn}
            )
            depends: list[pulumi.Resource] = [permission]
        else:
            queue: Queue = target_component
            target_arn = queue.resource_id
            queue_policy = _bus_statements_of(queue).add(
                events_may_send(queue.resource_id, rule.arn, f"{bus.logical_name}-{subscription.name}")
            )
            if queue.args.fifo:
                # EventBridge's SQS parameters take a fixed group: one per subscription keeps
                # its events in order (and serialises them).
                sqs_target = aws.cloudwatch.EventTargetSqsTargetArgs(message_group_id=base)
            depends = [queue_policy]
        target = aws.cloudwatch.EventTarget(
            base,
            rule=rule.name,
            event_bus_name=bus_name,
            target_id=subscription.name,
            arn=target_arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=subscription.max_retries,
                maximum_event_age_in_seconds=subscription.max_event_age_s,
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dead_letters.arn),
            sqs_target=sqs_target,
            opts=pulumi.ResourceOptions(parent=bus, depends_on=[*depends, dead_letter_policy]),
        )
        return AwsBusSubscriptionResources(
            rule=rule,
            target=target,
            dead_letter_queue=dead_letters,
            dead_letter_policy=dead_letter_policy,
            permission=permission,
            queue_policy=queue_policy,
            async_config=async_config,
        )


def events_may_send(queue_arn: pulumi.Input[str], rule_arn: pulumi.Input[str], label: str) -> dict[str, Any]:
    """A queue-policy statement: EventBridge may send to ``queue_arn`` for ``rule_arn`` only."""
    return {
        "Sid": grants.sid("events", label),
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    }


class _QueueBusPolicy:
    """The single policy of a queue that buses deliver to, fed by every subscription."""

    def __init__(self, queue: Queue) -> None:
        self.statements = LateBound(f"the bus policy of Queue '{queue.logical_name}'")
        self.count = 0
        self.policy = aws.sqs.QueuePolicy(
            f"{queue.logical_name}-from-buses",
            queue_url=queue.resources.queue.url,
            policy=self.statements.output().apply(
                lambda items: json.dumps({"Version": "2012-10-17", "Statement": json.loads(items)}, sort_keys=True)
            ),
            opts=pulumi.ResourceOptions(parent=queue),
        )

    def add(self, statement: dict[str, Any]) -> aws.sqs.QueuePolicy:
        # Sids must be unique in the policy; labels alone could collide ("a-b"+"c", "a"+"b-c").
        self.count += 1
        self.statements.add({**statement, "Sid": f"{statement['Sid']}{self.count}"})
        return self.policy


def _bus_statements_of(queue: Queue) -> _QueueBusPolicy:
    existing = getattr(queue, "_omnicloud_aws_bus_policy", None)
    if existing is None:
        existing = _QueueBusPolicy(queue)
        queue._omnicloud_aws_bus_policy = existing  # type: ignore[attr-defined]
    return existing


def _async_failure_destination(
    function: Function, bus: EventBus, subscription: BusSubscription
) -> aws.lambda_.FunctionEventInvokeConfig:
    """The function's async-invocation config: Lambda retries, then a dead-letter queue.

    A Function has one such config (per qualifier). A scheduled function already has one
    sending failures to its schedule's dead-letter queue; reuse it. Otherwise the first bus
    subscription creates ``<fn>-bus-async`` and every later one shares it.
    """
    existing = getattr(function.resources, "async_invoke_config", None) or getattr(
        function, "_omnicloud_aws_bus_async", None
    )
    if existing is not None:
        return existing
    name = function.logical_name
    opts = pulumi.ResourceOptions(parent=bus)
    dead_letters = aws.sqs.Queue(
        f"{name}-bus-dlq",
        message_retention_seconds=DLQ_RETENTION_S,
        sqs_managed_sse_enabled=True,
        tags=tags_for(name, function.args),
        opts=opts,
    )
    policy = grants.grant_access(
        f"{name}-bus-dlq",
        function.resources.role,
        [grants.Access("trigger:dead-letter", ("send",), {"send": [dead_letters.arn]})],
        "trigger",
        opts,
    )
    alias = getattr(function.resources, "alias", None)
    config = aws.lambda_.FunctionEventInvokeConfig(
        f"{name}-bus-async",
        function_name=function.name,
        qualifier=alias.name if alias is not None else None,
        maximum_retry_attempts=LAMBDA_ASYNC_RETRIES,
        maximum_event_age_in_seconds=min(subscription.max_event_age_s, LAMBDA_ASYNC_MAX_AGE_S),
        destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
            on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(destination=dead_letters.arn)
        ),
        opts=pulumi.ResourceOptions(parent=bus, depends_on=[policy]),
    )
    function._omnicloud_aws_bus_async = config  # type: ignore[attr-defined]
    return config
