"""Table on AWS: DynamoDB on demand with keys, indexes, TTL, PITR, a stream, and on_change()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import Function, FunctionArgs, Table, TableArgs
from components.errors import InvalidArgsError
from components.table import IndexArgs
from components.testing import ACCOUNT_ID, STREAM_LABEL, MockStack, RecordedResource, assert_props
from providers.aws.table import AwsTableChangeResources, AwsTableResources

API = "functions.api.handle"
TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LAMBDA = "aws:lambda/function:Function"
COMPONENT = "omnicloud:index:Table"

ORDERS = TableArgs(
    partition_key="pk",
    sort_key="sk",
    ttl_attribute="expires",
    key_types={"total": "number"},
    indexes=[
        IndexArgs(name="by-customer", partition_key="customer", sort_key="total"),
        IndexArgs(name="by-day", partition_key="day"),
    ],
)


def table_arn(resource: RecordedResource) -> str:
    return f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/{resource.outputs['name']}"


# -- the table --------------------------------------------------------------------------------------


def test_table_is_on_demand_with_typed_keys_and_encrypted_with_the_aws_managed_key() -> None:
    with MockStack(cloud="aws") as stack:
        Table("orders", ORDERS)
        table = stack.one(TABLE)
    assert_props(
        table,
        {
            "billingMode": "PAY_PER_REQUEST",
            "hashKey": "pk",
            "rangeKey": "sk",
            "attributes": [
                {"name": "customer", "type": "S"},
                {"name": "day", "type": "S"},
                {"name": "pk", "type": "S"},
                {"name": "sk", "type": "S"},
                {"name": "total", "type": "N"},
            ],
            "serverSideEncryption": {"enabled": True},
            "deletionProtectionEnabled": False,
        },
    )


def test_each_index_is_a_gsi_with_its_own_keys_projecting_every_attribute() -> None:
    with MockStack(cloud="aws") as stack:
        Table("orders", ORDERS)
        table = stack.one(TABLE)
    assert table.inputs["globalSecondaryIndexes"] == [
        {
            "name": "by-customer",
            "projectionType": "ALL",
            "keySchemas": [
                {"attributeName": "customer", "keyType": "HASH"},
                {"attributeName": "total", "keyType": "RANGE"},
            ],
        },
        {"name": "by-day", "projectionType": "ALL", "keySchemas": [{"attributeName": "day", "keyType": "HASH"}]},
    ]


def test_ttl_pitr_and_a_new_and_old_images_stream_are_set() -> None:
    with MockStack(cloud="aws") as stack:
        Table("orders", ORDERS)
        table = stack.one(TABLE)
    assert_props(
        table,
        {
            "ttl": {"attributeName": "expires", "enabled": True},
            "pointInTimeRecovery": {"enabled": True},
            "streamEnabled": True,
            "streamViewType": "NEW_AND_OLD_IMAGES",
        },
    )


def test_a_minimal_table_has_no_sort_key_no_indexes_no_ttl_and_pitr_can_be_off() -> None:
    with MockStack(cloud="aws") as stack:
        Table("sessions", TableArgs(partition_key="id", point_in_time_recovery=False))
        table = stack.one(TABLE)
    assert_props(table, {"pointInTimeRecovery": {"enabled": False}, "attributes": [{"name": "id", "type": "S"}]})
    for absent in ("rangeKey", "globalSecondaryIndexes", "ttl"):
        assert absent not in table.inputs


def test_outputs_and_locator_carry_the_table_name_arn_region_and_key_schema() -> None:
    with MockStack(cloud="aws") as stack:
        orders = Table("orders", ORDERS)
        values = stack.resolve({"name": orders.name, "id": orders.resource_id, "locator": orders.locator})
        table = stack.one(TABLE)
    assert isinstance(orders.resources, AwsTableResources)
    assert values["name"] == table.outputs["name"]
    assert values["id"] == table_arn(table)
    assert values["locator"] == {
        "kind": "table",
        "cloud": "aws",
        "name": "orders",
        "table_name": table.outputs["name"],
        "arn": table_arn(table),
        "region": "us-east-1",
        "partition_key": "pk",
        "sort_key": "sk",
        "key_types": {"customer": "string", "day": "string", "pk": "string", "sk": "string", "total": "number"},
        "indexes": [
            {"name": "by-customer", "partition_key": "customer", "sort_key": "total"},
            {"name": "by-day", "partition_key": "day", "sort_key": None},
        ],
        "ttl_attribute": "expires",
    }


def test_tags_and_overrides_reach_the_table() -> None:
    args = TableArgs(
        partition_key="id", tags={"team": "core"}, overrides={"aws": {"deletion_protection_enabled": True}}
    )
    with MockStack(cloud="aws", project="shop", stack="prod") as stack:
        Table("orders", args)
        table = stack.one(TABLE)
    assert_props(
        table,
        {
            "deletionProtectionEnabled": True,
            "tags": {
                "omnicloud-component": "orders",
                "omnicloud-project": "shop",
                "omnicloud-stack": "prod",
                "team": "core",
            },
        },
    )


# -- limits, checked before anything is registered -------------------------------------------------


def test_more_than_20_indexes_fail_before_anything_is_registered() -> None:
    indexes = [IndexArgs(name=f"idx-{i}", partition_key=f"k{i}") for i in range(21)]
    with MockStack(cloud="aws") as stack, pytest.raises(InvalidArgsError) as caught:
        Table("orders", TableArgs(partition_key="pk", indexes=indexes))
    assert (caught.value.field, caught.value.cloud) == ("indexes", "aws")
    assert "20" in str(caught.value)
    assert stack.resources == []


def test_index_names_shorter_than_dynamodbs_three_characters_are_rejected() -> None:
    with MockStack(cloud="aws") as stack, pytest.raises(InvalidArgsError) as caught:
        Table("orders", TableArgs(partition_key="pk", indexes=[IndexArgs(name="by", partition_key="c")]))
    assert caught.value.field == "indexes.by.name"
    assert "3-255" in str(caught.value)
    assert stack.resources == []


@pytest.mark.parametrize(("name", "needle"), [("orders table", "letters, digits"), ("t" * 248, "at most 247")])
def test_table_names_follow_dynamodb_rules_with_room_for_the_autoname_suffix(name: str, needle: str) -> None:
    with MockStack(cloud="aws") as stack, pytest.raises(InvalidArgsError) as caught:
        Table(name, TableArgs(partition_key="pk"))
    assert caught.value.field == "name"
    assert needle in str(caught.value)
    assert stack.resources == []


def test_a_dotted_table_name_of_247_characters_is_accepted() -> None:
    with MockStack(cloud="aws") as stack:
        Table("v1.orders" + "t" * 238, TableArgs(partition_key="pk"))
        assert len(stack.find(TABLE)) == 1


# -- on_change --------------------------------------------------------------------------------------


def _subscribed(project_root: Path, **options: int) -> tuple[MockStack, AwsTableChangeResources]:
    with MockStack(cloud="aws", root=project_root) as stack:
        orders = Table("orders", ORDERS)
        worker = Function("worker", FunctionArgs(handler=API))
        resources = orders.on_change(worker, **options)
        stack.settle()
    return stack, resources


def test_on_change_maps_the_stream_from_latest_with_bisection_retries_and_partial_batches(project_root: Path) -> None:
    stack, resources = _subscribed(project_root, batch_size=250)
    table, fn, dlq = stack.one(TABLE), stack.one(LAMBDA, "worker"), stack.one(QUEUE, "orders-to-worker-dlq")
    mapping = stack.one(MAPPING)
    assert isinstance(resources, AwsTableChangeResources)
    assert mapping.name == "orders-to-worker"
    assert_props(
        mapping,
        {
            "eventSourceArn": f"{table_arn(table)}/stream/{STREAM_LABEL}",
            "functionName": fn.outputs["arn"],
            "startingPosition": "LATEST",
            "batchSize": 250,
            "functionResponseTypes": ["ReportBatchItemFailures"],
            "bisectBatchOnFunctionError": True,
            "maximumRetryAttempts": 10,
            "destinationConfig": {"onFailure": {"destinationArn": dlq.outputs["arn"]}},
        },
    )


def test_records_that_exhaust_retries_go_to_an_encrypted_dead_letter_queue(project_root: Path) -> None:
    stack, _ = _subscribed(project_root)
    assert_props(
        stack.one(QUEUE, "orders-to-worker-dlq"), {"messageRetentionSeconds": 14 * 86400, "sqsManagedSseEnabled": True}
    )


def test_on_change_grants_stream_reads_on_this_stream_and_sends_to_its_dead_letter_queue_only(
    project_root: Path,
) -> None:
    stack, _ = _subscribed(project_root)
    table, dlq = stack.one(TABLE), stack.one(QUEUE, "orders-to-worker-dlq")
    policy = stack.one(ROLE_POLICY, "worker-on-table-orders")
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "TriggerTableConsume",
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            "Resource": [f"{table_arn(table)}/stream/{STREAM_LABEL}"],
        },
        {
            "Sid": "TriggerDeadLetterSend",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [dlq.outputs["arn"]],
        },
    ]


def test_on_change_resources_are_children_of_the_table_and_the_trigger_is_listed(project_root: Path) -> None:
    stack, _ = _subscribed(project_root)
    component, table = stack.one(COMPONENT), stack.one(TABLE)
    names = {(r.type, r.name) for r in stack.children(component)}
    assert {
        (MAPPING, "orders-to-worker"),
        (QUEUE, "orders-to-worker-dlq"),
        (ROLE_POLICY, "worker-on-table-orders"),
    } <= names
    env = stack.one(LAMBDA, "worker").inputs["environment"]["variables"]
    assert json.loads(env["OMNICLOUD_TRIGGERS"]) == [
        {"kind": "table", "name": "orders", "source": f"{table_arn(table)}/stream/{STREAM_LABEL}"}
    ]


def test_on_change_batch_size_beyond_10000_fails_before_any_trigger_is_registered(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        orders = Table("orders", ORDERS)
        worker = Function("worker", FunctionArgs(handler=API))
        with pytest.raises(InvalidArgsError) as caught:
            orders.on_change(worker, batch_size=10001)
        assert stack.find(MAPPING) == [] and stack.find(QUEUE) == []
    assert (caught.value.field, caught.value.cloud) == ("batch_size", "aws")
    assert "1-10000" in str(caught.value)
