"""Queue on AWS: SQS with a redriven dead-letter queue, and the Lambda mapping of subscribe()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import Function, FunctionArgs, Queue, QueueArgs
from components.errors import InvalidArgsError
from components.testing import ACCOUNT_ID, MockStack, RecordedResource, assert_props
from providers.aws.queue import AwsQueueResources

API = "functions.api.handle"
QUEUE = "aws:sqs/queue:Queue"
REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LAMBDA = "aws:lambda/function:Function"
COMPONENT = "omnicloud:index:Queue"


def arn(name: str) -> str:
    return f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{name}"


def physical(resource: RecordedResource) -> str:
    return resource.outputs["name"]


def env_of(stack: MockStack, function: str) -> dict[str, str]:
    return stack.one(LAMBDA, function).inputs["environment"]["variables"]


# -- the queue and its dead-letter queue ----------------------------------------------------------


def test_queue_takes_its_timeouts_and_sizes_and_is_encrypted_with_sqs_managed_keys() -> None:
    args = QueueArgs(visibility_timeout_s=120, retention_s=3600, delay_s=5, max_message_kb=1024)
    with MockStack(cloud="aws") as stack:
        Queue("jobs", args)
        queue = stack.one(QUEUE, "jobs")
    assert_props(
        queue,
        {
            "visibilityTimeoutSeconds": 120,
            "messageRetentionSeconds": 3600,
            "delaySeconds": 5,
            "maxMessageSize": 1024 * 1024,
            "sqsManagedSseEnabled": True,
        },
    )
    assert "fifoQueue" not in queue.inputs


def test_messages_are_redriven_to_the_dead_letter_queue_after_max_receive_count() -> None:
    with MockStack(cloud="aws") as stack:
        Queue("jobs", QueueArgs(max_receive_count=7))
        queue, dlq = stack.one(QUEUE, "jobs"), stack.one(QUEUE, "jobs-dlq")
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": arn(physical(dlq)),
        "maxReceiveCount": 7,
    }


def test_dead_letter_queue_keeps_messages_14_days_encrypted_and_accepts_only_this_queue() -> None:
    with MockStack(cloud="aws") as stack:
        Queue("jobs", QueueArgs())
        queue, dlq = stack.one(QUEUE, "jobs"), stack.one(QUEUE, "jobs-dlq")
        allow = stack.one(REDRIVE_ALLOW)
    assert_props(dlq, {"messageRetentionSeconds": 14 * 86400, "sqsManagedSseEnabled": True})
    assert "redrivePolicy" not in dlq.inputs
    assert allow.inputs["queueUrl"] == dlq.outputs["url"]
    assert json.loads(allow.inputs["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [arn(physical(queue))],
    }


def test_fifo_queue_and_its_dead_letter_queue_are_both_fifo_with_content_based_deduplication() -> None:
    with MockStack(cloud="aws") as stack:
        Queue("orders", QueueArgs(fifo=True))
        queue, dlq = stack.one(QUEUE, "orders"), stack.one(QUEUE, "orders-dlq")
    for resource in (queue, dlq):
        assert_props(resource, {"fifoQueue": True, "contentBasedDeduplication": True})
        # pulumi-aws auto-names FIFO queues "<name>-<hex>.fifo"; no explicit name is needed.
        assert "name" not in resource.inputs


def test_outputs_are_the_queue_name_its_arn_the_dead_letter_arn_and_the_locator() -> None:
    with MockStack(cloud="aws") as stack:
        jobs = Queue("jobs", QueueArgs(fifo=True))
        values: dict[str, Any] = stack.resolve(
            {"name": jobs.name, "id": jobs.resource_id, "dlq": jobs.dead_letter, "locator": jobs.locator}
        )
        queue, dlq = stack.one(QUEUE, "jobs"), stack.one(QUEUE, "jobs-dlq")
    assert isinstance(jobs.resources, AwsQueueResources)
    assert values["name"] == physical(queue) and values["name"].endswith(".fifo")
    assert values["id"] == arn(physical(queue))
    assert values["dlq"] == arn(physical(dlq))
    assert values["locator"] == {
        "kind": "queue",
        "cloud": "aws",
        "name": "jobs",
        "url": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/{physical(queue)}",
        "arn": arn(physical(queue)),
        "region": "us-east-1",
        "fifo": True,
    }


def test_every_resource_is_a_tagged_child_of_the_queue_component() -> None:
    with MockStack(cloud="aws", project="shop", stack="prod") as stack:
        Queue("jobs", QueueArgs(tags={"team": "core"}))
        component = stack.one(COMPONENT)
        children = stack.children(component)
    assert sorted(r.type for r in children) == [QUEUE, QUEUE, REDRIVE_ALLOW]
    for queue in (r for r in children if r.type == QUEUE):
        assert queue.inputs["tags"] == {
            "omnicloud-component": "jobs",
            "omnicloud-project": "shop",
            "omnicloud-stack": "prod",
            "team": "core",
        }


def test_aws_overrides_reach_the_queue_and_unknown_ones_fail_before_anything_is_registered() -> None:
    with MockStack(cloud="aws") as stack:
        Queue("jobs", QueueArgs(overrides={"aws": {"receive_wait_time_seconds": 20}}))
        assert_props(stack.one(QUEUE, "jobs"), {"receiveWaitTimeSeconds": 20})
    with MockStack(cloud="aws") as stack, pytest.raises(InvalidArgsError) as caught:
        Queue("jobs", QueueArgs(overrides={"aws": {"recieve_wait_time_seconds": 20}}))
    assert caught.value.field == "overrides.aws.recieve_wait_time_seconds"
    assert stack.resources == []


# -- limits, checked before anything is registered -------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("visibility_timeout_s", 43201, "0-43200"),
        ("retention_s", 1209601, "60-1209600"),
        ("delay_s", 901, "0-900"),
        ("max_message_kb", 1025, "1-1024"),
        ("max_receive_count", 1001, "1-1000"),
    ],
)
def test_values_beyond_sqs_limits_fail_naming_field_value_and_limit(field: str, value: int, limit: str) -> None:
    with MockStack(cloud="aws") as stack, pytest.raises(InvalidArgsError) as caught:
        Queue("jobs", {field: value})
    error = caught.value
    assert (error.component, error.field, error.value, error.cloud) == ("Queue 'jobs'", field, value, "aws")
    assert limit in str(error)
    assert stack.resources == []


@pytest.mark.parametrize("fifo", [False, True])
def test_queue_names_leave_room_for_the_dead_letter_suffix_autoname_and_fifo_suffix(fifo: bool) -> None:
    longest = 80 - 8 - len("-dlq") - (5 if fifo else 0)
    with MockStack(cloud="aws"):
        Queue("q" * longest, QueueArgs(fifo=fifo))
    with MockStack(cloud="aws") as stack, pytest.raises(InvalidArgsError) as caught:
        Queue("q" * (longest + 1), QueueArgs(fifo=fifo))
    assert f"at most {longest} characters" in str(caught.value)
    assert stack.resources == []


def test_queue_names_with_dots_are_rejected() -> None:
    with MockStack(cloud="aws"), pytest.raises(InvalidArgsError, match="letters, digits, '-' and '_'"):
        Queue("jobs.v1", QueueArgs())


# -- subscribe --------------------------------------------------------------------------------------


def test_subscribe_maps_the_queue_to_the_function_with_partial_batch_responses(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        worker = Function("worker", FunctionArgs(handler=API))
        jobs.subscribe(worker, batch_size=100, max_batching_window_s=5)
        queue, fn = stack.one(QUEUE, "jobs"), stack.one(LAMBDA, "worker")
        mapping = stack.one(MAPPING)
    assert mapping.name == "jobs-to-worker"
    assert_props(
        mapping,
        {
            "eventSourceArn": arn(physical(queue)),
            "functionName": fn.outputs["arn"],
            "batchSize": 100,
            "maximumBatchingWindowInSeconds": 5,
            "functionResponseTypes": ["ReportBatchItemFailures"],
        },
    )
    assert "scalingConfig" not in mapping.inputs


def test_subscribe_grants_exactly_the_four_consume_actions_on_this_queue_only(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        worker = Function("worker", FunctionArgs(handler=API))
        jobs.subscribe(worker)
        queue, role = stack.one(QUEUE, "jobs"), stack.one("aws:iam/role:Role", "worker-role")
        policy = stack.one(ROLE_POLICY, "worker-on-queue-jobs")
    # The role's id (the mocks use its ARN as id): the worker's own role.
    assert policy.inputs["role"].endswith(role.outputs["name"])
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "TriggerQueueConsume",
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            "Resource": [arn(physical(queue))],
        }
    ]


def test_trigger_resources_are_children_of_the_queue_component(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        jobs.subscribe(Function("worker", FunctionArgs(handler=API)))
        component = stack.one(COMPONENT)
        names = {(r.type, r.name) for r in stack.children(component)}
    assert {(MAPPING, "jobs-to-worker"), (ROLE_POLICY, "worker-on-queue-jobs")} <= names


def test_the_function_environment_lists_the_queue_trigger_by_arn(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        worker = Function("worker", FunctionArgs(handler=API))
        jobs.subscribe(worker)
        queue = stack.one(QUEUE, "jobs")
        env = env_of(stack, "worker")
    assert json.loads(env["OMNICLOUD_TRIGGERS"]) == [{"kind": "queue", "name": "jobs", "source": arn(physical(queue))}]


def test_a_warm_function_is_triggered_through_its_live_alias(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        jobs.subscribe(Function("worker", FunctionArgs(handler=API, min_instances=1)))
        alias = stack.one("aws:lambda/alias:Alias")
        mapping = stack.one(MAPPING)
    assert mapping.inputs["functionName"] == alias.outputs["arn"]


def test_max_instances_caps_the_mappings_concurrency(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        jobs.subscribe(Function("worker", FunctionArgs(handler=API, max_instances=5)))
        assert_props(stack.one(MAPPING), {"scalingConfig": {"maximumConcurrency": 5}})


def test_fifo_subscription_sets_no_batching_window(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(fifo=True, visibility_timeout_s=60))
        jobs.subscribe(Function("worker", FunctionArgs(handler=API)), batch_size=10)
        mapping = stack.one(MAPPING)
    assert mapping.inputs["batchSize"] == 10
    assert "maximumBatchingWindowInSeconds" not in mapping.inputs


@pytest.mark.parametrize(
    ("queue_args", "options", "field", "needle"),
    [
        ({"fifo": True}, {"batch_size": 11}, "batch_size", "1-10"),
        ({"fifo": True}, {"batch_size": 5, "max_batching_window_s": 1}, "max_batching_window_s", "FIFO"),
        ({}, {"batch_size": 10001, "max_batching_window_s": 1}, "batch_size", "1-10000"),
        ({}, {"batch_size": 11}, "max_batching_window_s", "at least 1 s for a batch_size above 10"),
        ({}, {"batch_size": 10, "max_batching_window_s": 301}, "max_batching_window_s", "0-300"),
    ],
)
def test_subscription_limits_fail_before_any_trigger_is_registered(
    project_root: Path, queue_args: dict[str, Any], options: dict[str, int], field: str, needle: str
) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60, **queue_args))
        worker = Function("worker", FunctionArgs(handler=API))
        with pytest.raises(InvalidArgsError) as caught:
            jobs.subscribe(worker, **options)
        assert stack.find(MAPPING) == [] and stack.find(ROLE_POLICY, "worker-on-queue-jobs") == []
    assert (caught.value.field, caught.value.cloud) == (field, "aws")
    assert needle in str(caught.value)


def test_a_visibility_timeout_shorter_than_the_function_timeout_fails_and_names_the_6x_advice(
    project_root: Path,
) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=30))
        worker = Function("worker", FunctionArgs(handler=API, timeout_s=60))
        with pytest.raises(InvalidArgsError) as caught:
            jobs.subscribe(worker)
        assert stack.find(MAPPING) == [] and stack.find(ROLE_POLICY, "worker-on-queue-jobs") == []
    error = caught.value
    assert (error.component, error.field, error.value) == ("Queue 'jobs'", "visibility_timeout_s", 30)
    assert "timeout_s=60" in str(error) and "360" in str(error)


def test_a_visibility_timeout_equal_to_the_function_timeout_is_accepted(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=30))
        jobs.subscribe(Function("worker", FunctionArgs(handler=API, timeout_s=30)))
        assert len(stack.find(MAPPING)) == 1
