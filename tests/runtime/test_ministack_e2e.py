"""End to end on ministack: real Lambda handlers, deployed from an archive our packager built,
triggered by real event source mappings (SQS with partial-batch failures and redrive;
DynamoDB Streams) and by an EventBridge rule, writing to DynamoDB through the runtime clients.

The emulator (its own virtualenv, one server per session) and the deploy helpers live in
:mod:`tests.runtime.ministack`; its ``ministack`` and ``cloud`` fixtures are registered for the
whole suite by ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.runtime.clients import aws as aws_clients
from tests.runtime.aws_emulators import REGION, unique
from tests.runtime.ministack import archive, create_function, create_role, eventually

pytestmark = pytest.mark.slow

# --- the app --------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    '''
    """Queue consumer: each message {"order": id} becomes an item; {"fail": true} fails."""
    from components import runtime


    def handle(batch, ctx):
        orders = runtime.table("orders")
        failed = []
        for message in batch.messages:
            body = message.json()
            if body.get("fail"):
                failed.append(message.id)
                continue
            orders.put({
                "pk": body["order"],
                "queue": batch.queue,
                "function": ctx.function,
                "receive_count": message.receive_count,
                "total": body.get("total", 0),
            })
        return failed
    '''
)

AUDITOR = textwrap.dedent(
    '''
    """Change handler: records every change of table "orders" in table "audit"."""
    from components import runtime


    def handle(change, ctx):
        runtime.table("audit").put({
            "pk": change.key["pk"],
            "sk": change.id,
            "table": change.table,
            "kind": change.kind,
            "old_total": (change.old or {}).get("total"),
            "new_total": (change.new or {}).get("total"),
        })
    '''
)


LISTENER = textwrap.dedent(
    '''
    """Bus subscriber: stores every event it receives in table "orders", keyed by event id."""
    from components import runtime


    def handle(event, ctx):
        runtime.table("orders").put({
            "pk": event.id,
            "source": event.source,
            "type": event.type,
            "subject": event.subject,
            "time": event.time.isoformat(),
            "data": event.data,
        })
    '''
)


def write_app(root: Path) -> None:
    package = root / "omni_e2e"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "worker.py").write_text(WORKER)
    (package / "auditor.py").write_text(AUDITOR)
    (package / "listener.py").write_text(LISTENER)


def create_table(client: Callable[[str], Any], *, sort_key: bool, stream: bool) -> dict[str, Any]:
    ddb = client("dynamodb")
    name = unique("orders")
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if sort_key:
        attributes.append({"AttributeName": "sk", "AttributeType": "S"})
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    table = ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=attributes,
        KeySchema=keys,
        **extra,
    )["TableDescription"]
    return {
        "kind": "table",
        "cloud": "aws",
        "table_name": name,
        "arn": table["TableArn"],
        "stream_arn": table.get("LatestStreamArn"),
        "region": REGION,
        "partition_key": "pk",
        "sort_key": "sk" if sort_key else None,
        "key_types": {"pk": "string", **({"sk": "string"} if sort_key else {})},
        "indexes": [],
        "ttl_attribute": None,
    }


def create_queue(client: Callable[[str], Any], *, max_receive_count: int) -> dict[str, Any]:
    sqs = client("sqs")
    name = unique("jobs")
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            # Short, so a failed message is redelivered (and dead-lettered) within seconds, but
            # longer than a cold start: a message whose invocation outlives its visibility is
            # received again and the first delivery's delete no longer applies (which is why
            # AWS advises a visibility timeout of several times the function's timeout).
            "VisibilityTimeout": "6",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"kind": "queue", "cloud": "aws", "name": "jobs", "url": url, "arn": arn, "region": REGION,
            "fifo": False, "dlq_url": dlq_url}  # fmt: skip


def items(client: Callable[[str], Any], table: dict[str, Any]) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    raw = client("dynamodb").scan(TableName=table["table_name"], ConsistentRead=True)["Items"]
    return [aws_clients.from_dynamo({k: TypeDeserializer().deserialize(v) for k, v in item.items()}) for item in raw]


def link(kind: str, name: str, locator: dict[str, Any]) -> dict[str, str]:
    return {f"OMNICLOUD_LINK_{kind.upper()}_{name.upper()}": json.dumps({**locator, "name": name})}


# --- the test -------------------------------------------------------------------------------


def test_queue_messages_reach_a_deployed_handler_that_writes_dynamodb_and_failures_dead_letter(
    tmp_path: Path, ministack: str, cloud: Callable[[str], Any]
) -> None:
    write_app(tmp_path)
    orders = create_table(cloud, sort_key=False, stream=False)
    queue = create_queue(cloud, max_receive_count=2)
    role = create_role(cloud)
    function = create_function(
        cloud,
        ministack,
        code=archive(tmp_path, "omni_e2e.worker.handle"),
        handler="omni_e2e.worker.handle",
        role=role,
        env={
            "OMNICLOUD_FUNCTION": "worker",
            **link("table", "orders", orders),
            "OMNICLOUD_TRIGGERS": json.dumps([{"kind": "queue", "name": "jobs", "source": queue["arn"]}]),
        },
    )
    cloud("lambda").create_event_source_mapping(
        EventSourceArn=queue["arn"],
        FunctionName=function,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    jobs = aws_clients.queue_client(queue)

    for order in ("o-1", "o-2", "o-3"):
        jobs.send({"order": order, "total": 12.5})
    poison = jobs.send({"fail": True})

    landed = eventually(lambda: (lambda got: got if len(got) == 3 else None)(items(cloud, orders)), what="3 orders")
    assert sorted(item["pk"] for item in landed) == ["o-1", "o-2", "o-3"]
    assert all(
        (item["queue"], item["function"], item["receive_count"], item["total"]) == ("jobs", "worker", 1, 12.5)
        for item in landed
    )

    # The handler reported the poison message failed every time; after maxReceiveCount
    # receives SQS moved it to the DLQ, and only it.
    dlq = aws_clients.queue_client({**queue, "url": queue["dlq_url"]})
    [dead] = eventually(lambda: dlq.receive(10), timeout_s=90, what="the failing message in the DLQ")
    assert dead.id == poison and dead.json() == {"fail": True}
    assert len(items(cloud, orders)) == 3
    assert jobs.receive(10) == []  # the handled ones were deleted, not redelivered


def test_table_changes_stream_to_a_deployed_change_handler(
    tmp_path: Path, ministack: str, cloud: Callable[[str], Any]
) -> None:
    write_app(tmp_path)
    orders = create_table(cloud, sort_key=False, stream=True)
    audit = create_table(cloud, sort_key=True, stream=False)
    assert orders["stream_arn"], "ministack returned no LatestStreamArn"
    role = create_role(cloud)
    function = create_function(
        cloud,
        ministack,
        code=archive(tmp_path, "omni_e2e.auditor.handle"),
        handler="omni_e2e.auditor.handle",
        role=role,
        env={
            "OMNICLOUD_FUNCTION": "auditor",
            **link("table", "audit", audit),
            "OMNICLOUD_TRIGGERS": json.dumps([{"kind": "table", "name": "orders", "source": orders["stream_arn"]}]),
        },
    )
    cloud("lambda").create_event_source_mapping(
        EventSourceArn=orders["stream_arn"],
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    table = aws_clients.table_client({**orders, "name": "orders"})

    table.put({"pk": "o-9", "total": 10})
    table.put({"pk": "o-9", "total": 12.5}, condition={"total": 10})
    table.delete({"pk": "o-9"})

    logged = eventually(lambda: (lambda got: got if len(got) == 3 else None)(items(cloud, audit)), what="3 changes")
    logged.sort(key=lambda item: int(item["sk"]))
    assert [(i["table"], i["kind"], i["old_total"], i["new_total"]) for i in logged] == [
        ("orders", "insert", None, 10),
        ("orders", "modify", 10, 12.5),
        ("orders", "remove", 12.5, None),
    ]


def test_bus_events_matching_a_rule_reach_a_deployed_subscriber_as_the_published_event(
    tmp_path: Path, ministack: str, cloud: Callable[[str], Any]
) -> None:
    from datetime import UTC, datetime

    from components.patterns import parse_pattern
    from providers.aws.patterns import compile_pattern

    write_app(tmp_path)
    orders = create_table(cloud, sort_key=False, stream=False)
    events = cloud("events")
    bus_name = unique("events")
    bus_arn = events.create_event_bus(Name=bus_name)["EventBusArn"]
    rule_arn = events.put_rule(
        Name="on-order",
        EventBusName=bus_name,
        EventPattern=json.dumps(
            compile_pattern(parse_pattern({"type": ["order.created"], "data": {"total": [{"numeric": [">", 100]}]}}))
        ),
    )["RuleArn"]
    function = create_function(
        cloud,
        ministack,
        code=archive(tmp_path, "omni_e2e.listener.handle"),
        handler="omni_e2e.listener.handle",
        role=create_role(cloud),
        env={
            "OMNICLOUD_FUNCTION": "listener",
            **link("table", "orders", orders),
            "OMNICLOUD_TRIGGERS": json.dumps(
                [{"kind": "bus", "name": "events", "subscription": "on-order", "source": rule_arn}]
            ),
        },
    )
    function_arn = cloud("lambda").get_function_configuration(FunctionName=function)["FunctionArn"]
    cloud("lambda").add_permission(
        FunctionName=function,
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )
    events.put_targets(Rule="on-order", EventBusName=bus_name, Targets=[{"Id": "fn", "Arn": function_arn}])
    bus = aws_clients.bus_client({"bus_name": bus_name, "arn": bus_arn, "region": REGION})
    when = datetime(2025, 3, 12, 19, 3, 58, tzinfo=UTC)

    wanted = bus.publish("order.created", {"order": 42, "total": 120.5}, source="shop/api", subject="o/42", time=when)
    bus.publish("order.created", {"order": 43, "total": 5}, source="shop/api", time=when)
    bus.publish("order.cancelled", {"order": 44, "total": 500}, source="shop/api", time=when)

    [stored] = eventually(lambda: items(cloud, orders), what="the matching event in the table")
    assert stored == {
        "pk": wanted,
        "source": "shop/api",
        "type": "order.created",
        "subject": "o/42",
        "time": when.isoformat(),
        "data": {"order": 42, "total": 120.5},
    }
    time.sleep(2)  # the non-matching two had as long to arrive, and did not
    assert len(items(cloud, orders)) == 1
