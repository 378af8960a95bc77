"""The AWS verb table and the policies it produces: exact actions on exact ARNs, nothing else.

Also the example app's wiring on AWS (the program ``__main__.py`` will hold): every link and
trigger becomes exactly the grants, triggers and environment the runtime expects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import EventBus, Function, FunctionArgs, Queue, QueueArgs, Table, TableArgs
from components.errors import InvalidArgsError
from components.links import Link
from components.table import IndexArgs
from components.testing import STREAM_LABEL, MockStack, RecordedResource
from providers.aws import grants

API = "functions.api.handle"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
LAMBDA = "aws:lambda/function:Function"
TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
BUS = "aws:cloudwatch/eventBus:EventBus"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
MANAGED_POLICY_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/policy:Policy",
)


def statements(resource: RecordedResource) -> list[dict[str, Any]]:
    return json.loads(resource.inputs["policy"])["Statement"]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# -- the verb table -----------------------------------------------------------------------------


def test_the_verb_table_grants_exactly_these_actions() -> None:
    assert grants.ACTIONS == {
        "table": {
            "read": ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"),
            "write": ("dynamodb:PutItem", "dynamodb:UpdateItem"),
            "delete": ("dynamodb:DeleteItem",),
        },
        "queue": {
            "send": ("sqs:SendMessage", "sqs:GetQueueAttributes"),
            "receive": (
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ),
        },
        "bus": {"publish": ("events:PutEvents",)},
        "function": {"invoke": ("lambda:InvokeFunction",)},
        "workflow": {"start": ("states:StartExecution",)},
        "trigger:queue": {
            "consume": (
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            )
        },
        "trigger:table": {
            "consume": (
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            )
        },
        "trigger:dead-letter": {"send": ("sqs:SendMessage",)},
    }


def test_write_cannot_delete_through_batch_writes() -> None:
    # BatchWriteItem carries DeleteRequests: a write-only function must not get it.
    assert all(
        "BatchWriteItem" not in action for verbs in grants.ACTIONS.values() for a in verbs.values() for action in a
    )


def test_every_component_verb_has_an_aws_grant() -> None:
    for component in (Table, Queue, EventBus, Function):
        for verb in component.VERBS:
            assert grants.actions(component.KIND, verb)


def test_sids_are_alphanumeric_camel_case_of_reason_kind_and_verb() -> None:
    assert grants.sid("link", "table", "read") == "LinkTableRead"
    assert grants.sid("trigger", "dead-letter", "send") == "TriggerDeadLetterSend"


# -- link policies ---------------------------------------------------------------------------------


def test_table_reads_reach_the_table_and_each_index_by_its_exact_arn(project_root: Path) -> None:
    args = TableArgs(partition_key="pk", indexes=[IndexArgs(name="by-customer", partition_key="c")])
    with MockStack(cloud="aws", root=project_root) as stack:
        orders = Table("orders", args)
        Function("api", FunctionArgs(handler=API, links=[orders.allow("read", "write", "delete")]))
        table_arn = stack.one(TABLE).outputs["arn"]
        policy = stack.one(ROLE_POLICY, "api-table-orders")
    assert statements(policy) == [
        {
            "Sid": "LinkTableRead",
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query"],
            "Resource": [table_arn, f"{table_arn}/index/by-customer"],
        },
        {
            "Sid": "LinkTableWrite",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
            "Resource": [table_arn],
        },
        {"Sid": "LinkTableDelete", "Effect": "Allow", "Action": ["dynamodb:DeleteItem"], "Resource": [table_arn]},
    ]


def test_only_the_declared_verbs_are_granted(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs")
        Function("api", FunctionArgs(handler=API, links=[jobs.allow("send")]))
        queue_arn = stack.one(QUEUE, "jobs").outputs["arn"]
        policy = stack.one(ROLE_POLICY, "api-queue-jobs")
    assert statements(policy) == [
        {
            "Sid": "LinkQueueSend",
            "Effect": "Allow",
            "Action": ["sqs:GetQueueAttributes", "sqs:SendMessage"],
            "Resource": [queue_arn],
        }
    ]


def test_invoking_a_warm_function_is_granted_on_the_function_and_its_alias(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        worker = Function("worker", FunctionArgs(handler=API, min_instances=1))
        Function("api", FunctionArgs(handler=API, links=[worker.allow("invoke")]))
        worker_arn = stack.one(LAMBDA, "worker").outputs["arn"]
        alias_arn = stack.one("aws:lambda/alias:Alias").outputs["arn"]
        policy = stack.one(ROLE_POLICY, "api-function-worker")
    assert statements(policy)[0]["Resource"] == [worker_arn, alias_arn]
    assert statements(policy)[0]["Action"] == ["lambda:InvokeFunction"]


def test_link_policies_sit_on_the_linking_functions_role_and_precede_the_function(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        events = EventBus("events")
        api = Function("api", FunctionArgs(handler=API, links=[events.allow("publish")]))
        role = stack.one("aws:iam/role:Role", "api-role")
        policy = stack.one(ROLE_POLICY, "api-bus-events")
        component = stack.one("omnicloud:index:Function")
    assert policy.inputs["role"].endswith(role.outputs["name"])
    assert policy.parent == component.urn
    assert api.resources.link_policies and len(api.resources.link_policies) == 1
    assert statements(policy)[0]["Resource"] == [stack.one(BUS).outputs["arn"]]


def test_links_inject_the_locators_and_an_empty_trigger_list(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs")
        api = Function("api", FunctionArgs(handler=API, links=[jobs.allow("send")]))
        locator = stack.resolve(jobs.locator)
        env = stack.one(LAMBDA).inputs["environment"]["variables"]
    assert json.loads(env["OMNICLOUD_LINK_QUEUE_JOBS"]) == locator
    assert env["OMNICLOUD_TRIGGERS"] == "[]"
    assert api.resources.link_policies


def test_secrets_keep_the_whole_environment_secret_with_the_trigger_list(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        worker = Function("worker", FunctionArgs(handler=API, secrets={"TOKEN": "s3cret"}))
        jobs.subscribe(worker)
        fn = stack.one(LAMBDA)
    assert "environment" in fn.secret_inputs
    assert fn.inputs["environment"]["variables"]["TOKEN"] == "s3cret"
    assert json.loads(fn.inputs["environment"]["variables"]["OMNICLOUD_TRIGGERS"])[0]["kind"] == "queue"


def test_a_link_to_a_component_on_another_cloud_fails_before_anything_is_registered(project_root: Path) -> None:
    class Elsewhere:
        KIND = "queue"
        cloud = "gcp"
        logical_name = "jobs"

    with MockStack(cloud="aws", root=project_root) as stack, pytest.raises(InvalidArgsError) as caught:
        Function("api", FunctionArgs(handler=API, links=[Link(Elsewhere(), ("send",))]))
    assert (caught.value.field, caught.value.cloud) == ("links", "aws")
    assert "gcp" in str(caught.value)
    assert stack.resources == []


# -- the example app on AWS --------------------------------------------------------------------------


def example_app(project_root: Path) -> MockStack:
    """The issue's example program (handlers stand in for the not-yet-written worker)."""
    with MockStack(cloud="aws", root=project_root) as stack:
        orders = Table("orders", TableArgs(partition_key="pk", sort_key="sk", ttl_attribute="expires"))
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60, max_receive_count=5))
        events = EventBus("events")
        Function(
            "api",
            FunctionArgs(
                handler=API,
                http="public",
                links=[orders.allow("read", "write"), jobs.allow("send"), events.allow("publish")],
            ),
        )
        worker = Function("worker", FunctionArgs(handler=API, links=[orders.allow("write")]))
        jobs.subscribe(worker, batch_size=10)
        events.subscribe("on-order", worker, pattern={"type": ["order.created"]})
        orders.on_change(worker)
        stack.settle()
    return stack


def test_example_app_wires_every_link_and_trigger_on_aws(project_root: Path) -> None:
    stack = example_app(project_root)
    table, queue, bus = stack.one(TABLE), stack.one(QUEUE, "jobs"), stack.one(BUS)
    worker = stack.one(LAMBDA, "worker")
    api_env = stack.one(LAMBDA, "api").inputs["environment"]["variables"]
    worker_env = worker.inputs["environment"]["variables"]
    assert {"OMNICLOUD_LINK_TABLE_ORDERS", "OMNICLOUD_LINK_QUEUE_JOBS", "OMNICLOUD_LINK_BUS_EVENTS"} <= set(api_env)
    assert json.loads(api_env["OMNICLOUD_TRIGGERS"]) == []
    rule_arn = f"{bus.outputs['arn'].replace(':event-bus/', ':rule/')}/on-order"
    assert json.loads(worker_env["OMNICLOUD_TRIGGERS"]) == [
        {"kind": "queue", "name": "jobs", "source": queue.outputs["arn"]},
        {"kind": "bus", "name": "events", "subscription": "on-order", "source": rule_arn},
        {"kind": "table", "name": "orders", "source": f"{table.outputs['arn']}/stream/{STREAM_LABEL}"},
    ]
    sources = {m.inputs["eventSourceArn"] for m in stack.find(MAPPING)}
    assert sources == {queue.outputs["arn"], f"{table.outputs['arn']}/stream/{STREAM_LABEL}"}
    assert stack.one(TARGET).inputs["arn"] == worker.outputs["arn"]
    assert sorted(p.name for p in stack.find(ROLE_POLICY)) == [
        "api-bus-events",
        "api-logs",
        "api-queue-jobs",
        "api-table-orders",
        "worker-bus-dlq",
        "worker-logs",
        "worker-on-queue-jobs",
        "worker-on-table-orders",
        "worker-table-orders",
    ]


def test_example_app_has_no_wildcard_and_no_managed_policy_anywhere(project_root: Path) -> None:
    stack = example_app(project_root)
    assert not [r for r in stack.find() if r.type in MANAGED_POLICY_TYPES]
    documents = [*stack.find(ROLE_POLICY), *stack.find(QUEUE_POLICY)]
    assert documents
    for document in documents:
        for statement in statements(document):
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                assert "*" not in action, (document.name, action)
            for resource in as_list(statement["Resource"]):
                assert resource and resource.startswith("arn:aws:"), (document.name, resource)
                # The log policy's ":*" is the log group's streams, the only allowed suffix.
                assert "*" not in resource.removesuffix(":*") and (
                    not resource.endswith(":*") or ":log-group:" in resource
                ), (document.name, resource)


def test_every_grant_in_the_example_app_traces_to_a_verb_or_a_trigger(project_root: Path) -> None:
    stack = example_app(project_root)
    allowed: dict[str, set[str]] = {}
    for kind, verbs in grants.ACTIONS.items():
        for verb, actions in verbs.items():
            for reason in ("link", "trigger"):
                sid = grants.sid(reason, kind.removeprefix(f"{reason}:"), verb)
                allowed.setdefault(sid, set()).update(actions)
    for policy in stack.find(ROLE_POLICY):
        if policy.name.endswith("-logs"):
            continue
        for statement in statements(policy):
            assert statement["Sid"] in allowed, (policy.name, statement["Sid"])
            assert set(statement["Action"]) <= allowed[statement["Sid"]]
    sids = {s["Sid"] for p in stack.find(ROLE_POLICY) if not p.name.endswith("-logs") for s in statements(p)}
    assert sids == {
        "LinkTableRead",
        "LinkTableWrite",
        "LinkQueueSend",
        "LinkBusPublish",
        "TriggerQueueConsume",
        "TriggerTableConsume",
        "TriggerDeadLetterSend",
    }
