"""EventBus on AWS: an EventBridge bus, a rule + target + DLQ per subscription, the archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import EventBus, EventBusArgs, Function, FunctionArgs, Queue, QueueArgs
from components.errors import InvalidArgsError
from components.testing import ACCOUNT_ID, MockStack, RecordedResource, assert_props
from providers.aws.event_bus import AwsBusSubscriptionResources, AwsEventBusResources

API = "functions.api.handle"
NIGHTLY = "functions.nightly.handle"
BUS = "aws:cloudwatch/eventBus:EventBus"
ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
PERMISSION = "aws:lambda/permission:Permission"
ASYNC = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LAMBDA = "aws:lambda/function:Function"
COMPONENT = "omnicloud:index:EventBus"


def bus_arn(bus: RecordedResource) -> str:
    return f"arn:aws:events:us-east-1:{ACCOUNT_ID}:event-bus/{bus.outputs['name']}"


def rule_arn(stack: MockStack, name: str) -> str:
    bus = stack.one(BUS)
    return f"arn:aws:events:us-east-1:{ACCOUNT_ID}:rule/{bus.outputs['name']}/{name}"


def statements(resource: RecordedResource) -> list[dict[str, Any]]:
    return json.loads(resource.inputs["policy"])["Statement"]


def events_statement(queue_arn: str, source_arn: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
    }


def without_sid(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k != "Sid"}


# -- the bus ----------------------------------------------------------------------------------------


def test_bus_is_a_custom_eventbridge_bus_without_archive_by_default() -> None:
    with MockStack(cloud="aws") as stack:
        events = EventBus("events", EventBusArgs(tags={"team": "core"}))
        values = stack.resolve({"name": events.name, "id": events.resource_id, "locator": events.locator})
        bus = stack.one(BUS)
    assert isinstance(events.resources, AwsEventBusResources) and events.resources.archive is None
    assert stack.find(ARCHIVE) == []
    assert_props(bus, {"tags": {"omnicloud-component": "events", "team": "core"}})
    assert values["name"] == bus.outputs["name"]
    assert values["id"] == bus_arn(bus)
    assert values["locator"] == {
        "kind": "bus",
        "cloud": "aws",
        "name": "events",
        "bus_name": bus.outputs["name"],
        "arn": bus_arn(bus),
        "region": "us-east-1",
    }


def test_archive_retention_days_archives_every_event_of_the_bus() -> None:
    with MockStack(cloud="aws") as stack:
        EventBus("events", EventBusArgs(archive_retention_days=30))
        bus, archive = stack.one(BUS), stack.one(ARCHIVE)
    assert_props(archive, {"eventSourceArn": bus_arn(bus), "retentionDays": 30})
    assert "eventPattern" not in archive.inputs


@pytest.mark.parametrize(
    ("name", "args", "needle"),
    [
        ("events/v1", {}, "letters, digits"),
        ("e" * 33, {"archive_retention_days": 7}, "at most 32 characters"),
        ("e" * 249, {}, "at most 248 characters"),
    ],
)
def test_bus_names_follow_eventbridge_rules_before_anything_is_registered(
    name: str, args: dict[str, Any], needle: str
) -> None:
    with MockStack(cloud="aws") as stack, pytest.raises(InvalidArgsError) as caught:
        EventBus(name, EventBusArgs(**args))
    assert (caught.value.field, caught.value.cloud) == ("name", "aws")
    assert needle in str(caught.value)
    assert stack.resources == []


# -- a subscription to a function -------------------------------------------------------------------


def _to_worker(project_root: Path, **function_args: Any) -> tuple[MockStack, AwsBusSubscriptionResources]:
    with MockStack(cloud="aws", root=project_root) as stack:
        events = EventBus("events")
        worker = Function("worker", FunctionArgs(handler=API, **function_args))
        resources = events.subscribe(
            "on-order", worker, pattern={"type": ["order.created"]}, max_retries=3, max_event_age_s=3600
        )
        stack.settle()
    return stack, resources


def test_subscription_is_a_rule_on_the_bus_with_the_compiled_pattern(project_root: Path) -> None:
    stack, resources = _to_worker(project_root)
    bus, rule = stack.one(BUS), stack.one(RULE)
    assert isinstance(resources, AwsBusSubscriptionResources)
    assert rule.name == "events-on-order"
    assert_props(rule, {"name": "on-order", "eventBusName": bus.outputs["name"], "state": "ENABLED"})
    assert json.loads(rule.inputs["eventPattern"]) == {"detail-type": ["order.created"]}


def test_target_invokes_the_function_with_the_retry_policy_and_a_dead_letter_queue(project_root: Path) -> None:
    stack, _ = _to_worker(project_root)
    bus, fn, dlq = stack.one(BUS), stack.one(LAMBDA, "worker"), stack.one(QUEUE, "events-on-order-dlq")
    assert_props(
        stack.one(TARGET),
        {
            "rule": "on-order",
            "eventBusName": bus.outputs["name"],
            "targetId": "on-order",
            "arn": fn.outputs["arn"],
            "retryPolicy": {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600},
            "deadLetterConfig": {"arn": dlq.outputs["arn"]},
        },
    )
    assert_props(dlq, {"sqsManagedSseEnabled": True, "messageRetentionSeconds": 14 * 86400})


def test_only_this_rule_may_send_to_the_subscription_dead_letter_queue(project_root: Path) -> None:
    stack, _ = _to_worker(project_root)
    dlq = stack.one(QUEUE, "events-on-order-dlq")
    policy = stack.one(QUEUE_POLICY, "events-on-order-dlq")
    assert policy.inputs["queueUrl"] == dlq.outputs["url"]
    assert [without_sid(s) for s in statements(policy)] == [
        events_statement(dlq.outputs["arn"], rule_arn(stack, "on-order"))
    ]


def test_eventbridge_may_invoke_the_function_from_this_rule_only(project_root: Path) -> None:
    stack, _ = _to_worker(project_root)
    fn = stack.one(LAMBDA, "worker")
    permission = stack.one(PERMISSION, "events-on-order")
    assert_props(
        permission,
        {
            "action": "lambda:InvokeFunction",
            "function": fn.outputs["name"],
            "principal": "events.amazonaws.com",
            "sourceArn": rule_arn(stack, "on-order"),
        },
    )
    assert "qualifier" not in permission.inputs


def test_events_the_handler_keeps_failing_on_go_to_the_functions_bus_dead_letter_queue(project_root: Path) -> None:
    stack, resources = _to_worker(project_root)
    fn, dlq = stack.one(LAMBDA, "worker"), stack.one(QUEUE, "worker-bus-dlq")
    config = stack.one(ASYNC, "worker-bus-async")
    assert resources.async_config is not None
    assert_props(
        config,
        {
            "functionName": fn.outputs["name"],
            "maximumRetryAttempts": 2,
            "maximumEventAgeInSeconds": 3600,
            "destinationConfig": {"onFailure": {"destination": dlq.outputs["arn"]}},
        },
    )
    policy = stack.one(ROLE_POLICY, "worker-bus-dlq")
    assert statements(policy) == [
        {
            "Sid": "TriggerDeadLetterSend",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [dlq.outputs["arn"]],
        }
    ]


def test_the_function_environment_lists_the_bus_subscription_by_rule_arn(project_root: Path) -> None:
    stack, _ = _to_worker(project_root)
    env = stack.one(LAMBDA, "worker").inputs["environment"]["variables"]
    assert json.loads(env["OMNICLOUD_TRIGGERS"]) == [
        {"kind": "bus", "name": "events", "subscription": "on-order", "source": rule_arn(stack, "on-order")}
    ]


def test_subscription_resources_are_children_of_the_bus_component(project_root: Path) -> None:
    stack, _ = _to_worker(project_root)
    names = {(r.type, r.name) for r in stack.children(stack.one(COMPONENT))}
    assert {
        (RULE, "events-on-order"),
        (TARGET, "events-on-order"),
        (QUEUE, "events-on-order-dlq"),
        (QUEUE_POLICY, "events-on-order-dlq"),
        (PERMISSION, "events-on-order"),
        (ASYNC, "worker-bus-async"),
    } <= names


def test_a_warm_function_is_targeted_and_permitted_through_its_live_alias(project_root: Path) -> None:
    stack, _ = _to_worker(project_root, min_instances=1)
    alias = stack.one("aws:lambda/alias:Alias")
    assert stack.one(TARGET).inputs["arn"] == alias.outputs["arn"]
    assert stack.one(PERMISSION, "events-on-order").inputs["qualifier"] == "live"
    assert stack.one(ASYNC, "worker-bus-async").inputs["qualifier"] == "live"


def test_a_scheduled_function_keeps_its_schedule_dead_letter_queue_for_failed_events(project_root: Path) -> None:
    stack, resources = _to_worker(project_root, schedule="rate(1 hour)")
    assert [r.name for r in stack.find(ASYNC)] == ["worker-async"]
    assert stack.find(QUEUE, "worker-bus-dlq") == []
    assert resources.async_config is not None


def test_two_subscriptions_of_one_function_share_one_async_failure_destination(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        events, audit = EventBus("events"), EventBus("audit")
        worker = Function("worker", FunctionArgs(handler=API))
        events.subscribe("on-order", worker, pattern={"type": ["order.created"]})
        audit.subscribe("everything", worker)
        configs = stack.find(ASYNC)
        env = stack.one(LAMBDA, "worker").inputs["environment"]["variables"]
    assert [c.name for c in configs] == ["worker-bus-async"]
    assert [t["subscription"] for t in json.loads(env["OMNICLOUD_TRIGGERS"])] == ["on-order", "everything"]


def test_no_pattern_matches_every_event_with_an_empty_source_prefix(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        EventBus("events").subscribe("all", Function("worker", FunctionArgs(handler=API)))
        rule = stack.one(RULE)
    assert json.loads(rule.inputs["eventPattern"]) == {"source": [{"prefix": ""}]}


# -- a subscription to a queue ----------------------------------------------------------------------


def test_queue_targets_share_one_queue_policy_with_a_statement_per_rule(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        events = EventBus("events")
        jobs = Queue("jobs")
        first = events.subscribe("created", jobs, pattern={"type": ["order.created"]})
        second = events.subscribe("paid", jobs, pattern={"type": ["order.paid"]})
        queue = stack.one(QUEUE, "jobs")
        policies = stack.find(QUEUE_POLICY, "jobs-from-buses")
        targets = {t.inputs["targetId"]: t for t in stack.find(TARGET)}
    assert len(policies) == 1 and first.queue_policy is second.queue_policy
    assert policies[0].inputs["queueUrl"] == queue.outputs["url"]
    assert policies[0].parent == stack.one("omnicloud:index:Queue").urn
    found = statements(policies[0])
    assert [without_sid(s) for s in found] == [
        events_statement(queue.outputs["arn"], rule_arn(stack, "created")),
        events_statement(queue.outputs["arn"], rule_arn(stack, "paid")),
    ]
    assert len({s["Sid"] for s in found}) == 2
    for target in targets.values():
        assert target.inputs["arn"] == queue.outputs["arn"]
        assert "sqsTarget" not in target.inputs
    assert first.permission is None and first.async_config is None


def test_a_fifo_queue_target_gets_one_message_group_per_subscription(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        EventBus("events").subscribe("created", Queue("jobs", QueueArgs(fifo=True)))
        target = stack.one(TARGET)
    assert_props(target, {"sqsTarget": {"messageGroupId": "events-created"}})


# -- limits -----------------------------------------------------------------------------------------


def test_numeric_bounds_beyond_eventbridges_5e9_fail_before_the_rule_is_registered(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        events = EventBus("events")
        worker = Function("worker", FunctionArgs(handler=API))
        with pytest.raises(InvalidArgsError) as caught:
            events.subscribe("big", worker, pattern={"data": {"total": [{"numeric": [">", 6e9]}]}})
        assert stack.find(RULE) == [] and stack.find(QUEUE) == []
    assert caught.value.field == "subscribe('big').pattern.data.total"
    assert "5.0e+09" in str(caught.value)


def test_a_pattern_compiling_beyond_4096_characters_is_rejected(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root):
        events = EventBus("events")
        worker = Function("worker", FunctionArgs(handler=API))
        with pytest.raises(InvalidArgsError, match="4096"):
            events.subscribe("many", worker, pattern={"type": [f"order.type-{i:04d}" for i in range(300)]})


def test_subscription_and_bus_names_leave_room_for_the_dead_letter_queue_name(project_root: Path) -> None:
    bus = "b" * 30
    with MockStack(cloud="aws", root=project_root):
        events = EventBus(bus)
        worker = Function("worker", FunctionArgs(handler=API))
        with pytest.raises(InvalidArgsError) as caught:
            events.subscribe("s" * 40, worker)
    assert "at most 68 characters" in str(caught.value)
