"""Queue on AWS: an SQS queue with a dead-letter queue, consumed by Lambda.

What gets registered (children of the component):

* ``aws:sqs/queue:Queue`` ``<name>-dlq``: the dead-letter queue, same FIFO-ness, SSE-SQS,
  14 days' retention (the maximum: a standard queue's message keeps its original enqueue
  time when it is dead-lettered, so the DLQ must keep messages at least as long).
* ``aws:sqs/queue:Queue`` ``<name>``: SSE-SQS, the requested timeouts and sizes, and a
  redrive policy to the DLQ after ``max_receive_count`` receives.
* ``aws:sqs/redriveAllowPolicy:RedriveAllowPolicy`` ``<name>-dlq``: only this queue may use
  the DLQ (a separate resource: the DLQ cannot name its source inline without a cycle).

``queue.subscribe(fn)`` adds, under the queue component:

* ``aws:iam/rolePolicy:RolePolicy`` ``<fn>-on-queue-<name>``: receive, delete, change
  visibility and read attributes on this queue only (the verb table's ``trigger:queue``).
* ``aws:lambda/eventSourceMapping:EventSourceMapping`` ``<name>-to-<fn>``: partial batch
  responses (``ReportBatchItemFailures``), so only the failed messages come back, and are
  dead-lettered after ``max_receive_count``.

FIFO queues are auto-named ``<name>-<7 hex>.fifo`` by pulumi-aws. They have content-based
deduplication on: a send with an explicit deduplication id (what the runtime client sends)
overrides it, and EventBridge can only target FIFO queues that have it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components.errors import require
from components.queue import QueueArgs, QueueSubscription
from providers.aws import grants, naming
from providers.protocols import QueueOutputs
from providers.shared import apply_overrides, tags_for, triggers_of

if TYPE_CHECKING:
    from components.function import Function
    from components.queue import Queue

VISIBILITY_TIMEOUT_S = (0, 43200)
RETENTION_S = (60, 1209600)
DELAY_S = (0, 900)
MESSAGE_KB = (1, 1024)
"""SQS accepts 1 KiB to 1 MiB (1 MiB since 2025; the provider validates 1024-1048576 bytes)."""
MAX_RECEIVE_COUNT = (1, 1000)
DLQ_RETENTION_S = 14 * 86400
# Lambda's SQS event source mapping (Lambda "parameters for Amazon SQS event source mappings").
BATCH_STANDARD = (1, 10000)
BATCH_FIFO = (1, 10)
BATCHING_WINDOW_S = (0, 300)
BATCH_WITHOUT_WINDOW_MAX = 10
"""A batch larger than 10 needs a batching window of at least 1 s."""
MAX_CONCURRENCY = (2, 1000)
RECOMMENDED_VISIBILITY_FACTOR = 6
"""AWS recommends a visibility timeout of 6x the function timeout (retries of throttled batches)."""


@dataclass(frozen=True)
class AwsQueueResources:
    """The native resources behind a Queue on AWS."""

    queue: aws.sqs.Queue
    dead_letter_queue: aws.sqs.Queue
    redrive_allow_policy: aws.sqs.RedriveAllowPolicy


@dataclass(frozen=True)
class AwsQueueSubscriptionResources:
    """What ``queue.subscribe(fn)`` created."""

    mapping: aws.lambda_.EventSourceMapping
    policy: aws.iam.RolePolicy


class AwsQueueProvider:
    """Builds :class:`components.Queue` on SQS."""

    def validate(self, name: str, args: QueueArgs) -> None:
        component = f"Queue '{name}'"
        naming.check_queue_name(component, "name", name, suffix="-dlq", fifo=args.fifo)
        apply_overrides(component, "aws", aws.sqs.Queue, {}, args.overrides)
        _between(component, "visibility_timeout_s", args.visibility_timeout_s, VISIBILITY_TIMEOUT_S, "s")
        _between(component, "retention_s", args.retention_s, RETENTION_S, "s")
        _between(component, "delay_s", args.delay_s, DELAY_S, "s")
        _between(component, "max_message_kb", args.max_message_kb, MESSAGE_KB, "KB")
        _between(component, "max_receive_count", args.max_receive_count, MAX_RECEIVE_COUNT, "receives")
        naming.check_tags(component, name, args)

    def create(self, name: str, args: QueueArgs, parent: pulumi.ComponentResource) -> QueueOutputs:
        child = pulumi.ResourceOptions(parent=parent)
        tags = tags_for(name, args)
        fifo: dict[str, Any] = {"fifo_queue": True, "content_based_deduplication": True} if args.fifo else {}
        dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=DLQ_RETENTION_S,
            sqs_managed_sse_enabled=True,
            tags=tags,
            **fifo,
            opts=child,
        )
        queue_kwargs = apply_overrides(
            f"Queue '{name}'",
            "aws",
            aws.sqs.Queue,
            {
                "visibility_timeout_seconds": args.visibility_timeout_s,
                "message_retention_seconds": args.retention_s,
                "delay_seconds": args.delay_s,
                "max_message_size": args.max_message_kb * 1024,
                "sqs_managed_sse_enabled": True,
                "redrive_policy": dead_letters.arn.apply(
                    lambda arn: json.dumps(
                        {"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count}, sort_keys=True
                    )
                ),
                "tags": tags,
                **fifo,
            },
            args.overrides,
        )
        queue = aws.sqs.Queue(name, **queue_kwargs, opts=child)
        allow = aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq",
            queue_url=dead_letters.url,
            redrive_allow_policy=queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]}, sort_keys=True)
            ),
            opts=child,
        )
        locator = pulumi.Output.all(url=queue.url, arn=queue.arn).apply(
            lambda v: {
                "kind": "queue",
                "cloud": "aws",
                "name": name,
                "url": v["url"],
                "arn": v["arn"],
                "region": naming.region_of(v["arn"]),
                "fifo": args.fifo,
            }
        )
        return QueueOutputs(
            name=queue.name,
            resource_id=queue.arn,
            dead_letter=dead_letters.arn,
            locator=locator,
            resources=AwsQueueResources(queue=queue, dead_letter_queue=dead_letters, redrive_allow_policy=allow),
        )

    def validate_subscription(self, name: str, args: QueueArgs, options: QueueSubscription) -> None:
        component = f"Queue '{name}'"
        if args.fifo:
            _between(
                component,
                "batch_size",
                options.batch_size,
                BATCH_FIFO,
                "messages per batch from a FIFO queue",
                "Lambda",
            )
            require(
                options.max_batching_window_s == 0,
                component,
                "max_batching_window_s",
                options.max_batching_window_s,
                "Lambda has no batching window for FIFO queues; leave it 0",
                cloud="aws",
            )
            return
        _between(component, "batch_size", options.batch_size, BATCH_STANDARD, "messages per batch", "Lambda")
        _between(component, "max_batching_window_s", options.max_batching_window_s, BATCHING_WINDOW_S, "s", "Lambda")
        require(
            options.batch_size <= BATCH_WITHOUT_WINDOW_MAX or options.max_batching_window_s >= 1,
            component,
            "max_batching_window_s",
            options.max_batching_window_s,
            f"Lambda needs a batching window of at least 1 s for a batch_size above {BATCH_WITHOUT_WINDOW_MAX} "
            f"(batch_size={options.batch_size})",
            cloud="aws",
        )

    def subscribe(self, queue: Queue, function: Function, options: QueueSubscription) -> AwsQueueSubscriptionResources:
        check_visibility_covers_timeout(queue, function)
        child = pulumi.ResourceOptions(parent=queue)
        policy = grants.grant(function, queue, ("consume",), "trigger", opts=child)
        target = function_target_arn(function)
        scaling = None
        if function.args.max_instances is not None and function.args.max_instances >= MAX_CONCURRENCY[0]:
            # Without a cap the mapping scales past the function's reserved concurrency and
            # the throttled batches count as receives, dead-lettering healthy messages.
            scaling = aws.lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=min(function.args.max_instances, MAX_CONCURRENCY[1])
            )
        mapping = aws.lambda_.EventSourceMapping(
            f"{queue.logical_name}-to-{function.logical_name}",
            event_source_arn=queue.resource_id,
            function_name=target,
            batch_size=options.batch_size,
            maximum_batching_window_in_seconds=options.max_batching_window_s if not queue.args.fifo else None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=scaling,
            tags=tags_for(queue.logical_name, queue.args),
            # Lambda checks the role's SQS permissions when the mapping is created.
            opts=pulumi.ResourceOptions(parent=queue, depends_on=[policy]),
        )
        triggers_of(function).add({"kind": "queue", "name": queue.logical_name, "source": queue.resource_id})
        return AwsQueueSubscriptionResources(mapping=mapping, policy=policy)


def check_visibility_covers_timeout(queue: Queue, function: Function) -> None:
    """Lambda refuses a mapping whose queue hides messages for less than the function runs.

    AWS recommends at least six times the function timeout, so that a batch retried after
    throttling is not made visible (and received again) while still in flight; the hard
    limit is the function timeout itself, which is what fails here.
    """
    timeout = function.args.timeout_s
    require(
        queue.args.visibility_timeout_s >= timeout,
        f"Queue '{queue.logical_name}'",
        "visibility_timeout_s",
        queue.args.visibility_timeout_s,
        f"Lambda requires it to be at least Function '{function.logical_name}''s timeout_s={timeout} "
        f"(AWS recommends {RECOMMENDED_VISIBILITY_FACTOR * timeout}, six times the timeout)",
        cloud="aws",
    )


def function_target_arn(function: Function) -> pulumi.Output[str]:
    """What triggers invoke: the ``live`` alias when the function keeps warm instances."""
    alias = getattr(function.resources, "alias", None)
    return alias.arn if alias is not None else function.resource_id


def _between(component: str, field: str, value: int, bounds: tuple[int, int], unit: str, service: str = "SQS") -> None:
    low, high = bounds
    require(low <= value <= high, component, field, value, f"{service} accepts {low}-{high} {unit}", cloud="aws")
