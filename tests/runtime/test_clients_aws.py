"""The AWS runtime clients and the Lambda adapter against moto's server (SQS, DynamoDB and its
streams, EventBridge → SQS), reached over HTTP through ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from components.runtime import Event, QueueBatch, TableChange
from components.runtime import clients as runtime_clients
from components.runtime.adapters import aws as adapter
from components.runtime.clients import ConditionFailed, Sort
from components.runtime.clients import aws as aws_clients
from components.runtime.handler import _clear_cache
from tests.conftest import REPO_ROOT

from .aws_emulators import ACCOUNT, REGION, Aws, aws_fixture, moto_endpoint_fixture, unique  # noqa: F401

LAMBDA_CONTEXT = SimpleNamespace(function_name="worker-fn", aws_request_id="req-1")


# --- arranging ------------------------------------------------------------------------------


def make_queue(aws: Aws, *, fifo: bool = False, max_receive_count: int = 2) -> dict[str, Any]:
    """A queue with its DLQ (redrive after ``max_receive_count``); returns its locator + DLQ url."""
    sqs = aws.client("sqs")
    suffix = ".fifo" if fifo else ""
    fifo_attrs = {"FifoQueue": "true"} if fifo else {}
    name = unique("jobs")
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=fifo_attrs)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name + suffix,
        Attributes={
            **fifo_attrs,
            # Zero visibility timeout: an unacknowledged message is receivable again at once,
            # so redrive can be observed without sleeping.
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {
        "kind": "queue",
        "cloud": "aws",
        "name": "jobs",
        "url": url,
        "arn": arn,
        "region": REGION,
        "fifo": fifo,
        "dlq_url": dlq_url,
    }


def make_table(aws: Aws, *, stream: bool = False) -> dict[str, Any]:
    """Table pk (S) + sk (N) with GSI ``by_customer`` (customer S, created S); its locator."""
    name = unique("orders")
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    aws.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "created", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_customer",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "created", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        **extra,
    )
    return {
        "kind": "table",
        "cloud": "aws",
        "name": "orders",
        "table_name": name,
        "arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "region": REGION,
        "partition_key": "pk",
        "sort_key": "sk",
        "key_types": {"pk": "string", "sk": "number", "customer": "string", "created": "string"},
        "indexes": [{"name": "by_customer", "partition_key": "customer", "sort_key": "created"}],
        "ttl_attribute": None,
    }


# --- SQS ------------------------------------------------------------------------------------


def test_unacknowledged_message_is_dead_lettered_after_max_receive_count(aws: Aws) -> None:
    locator = make_queue(aws, max_receive_count=2)
    jobs = aws_clients.queue_client(locator)
    dlq = aws_clients.queue_client({**locator, "url": locator["dlq_url"]})
    message_id = jobs.send({"job": 1})

    first = jobs.receive()
    second = jobs.receive()
    third = jobs.receive()

    assert [(m.id, m.receive_count) for m in first] == [(message_id, 1)]
    assert [(m.id, m.receive_count) for m in second] == [(message_id, 2)]
    assert third == []
    [dead] = dlq.receive()
    assert (dead.id, dead.json()) == (message_id, {"job": 1})


def test_acknowledged_message_is_gone_for_good(aws: Aws) -> None:
    jobs = aws_clients.queue_client(make_queue(aws))
    jobs.send("once")
    [message] = jobs.receive()
    jobs.ack(message)
    assert jobs.receive() == []


def test_json_body_attributes_and_sent_time_round_trip(aws: Aws) -> None:
    jobs = aws_clients.queue_client(make_queue(aws))
    before = datetime.now(UTC) - timedelta(seconds=5)
    jobs.send({"order": 42, "lines": ["a", "b"], "note": "größer"}, attributes={"tenant": "acme"})
    jobs.send(b"raw bytes")
    messages = jobs.receive(10, wait_s=1)
    by_body = {m.body: m for m in messages}
    [as_json] = [m for m in messages if m.body.startswith("{")]
    assert as_json.json() == {"order": 42, "lines": ["a", "b"], "note": "größer"}
    assert as_json.attributes == {"tenant": "acme"}
    assert as_json.sent_at is not None and before <= as_json.sent_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert as_json.receipt and as_json.group is None
    assert "raw bytes" in by_body


def test_delayed_message_is_invisible_until_its_delay_passes(aws: Aws) -> None:
    jobs = aws_clients.queue_client(make_queue(aws))
    jobs.send("later", delay_s=2)
    assert jobs.receive() == []
    time.sleep(2.2)
    assert [m.body for m in jobs.receive()] == ["later"]


def test_fifo_queue_keeps_order_within_a_group_and_two_equal_sends_are_two_messages(aws: Aws) -> None:
    locator = make_queue(aws, fifo=True)
    jobs = aws_clients.queue_client(locator)
    for i in range(5):
        jobs.send({"step": i}, group="order-42")
    jobs.send({"step": 0}, group="order-42")  # identical body: not deduplicated away

    received = []
    for _ in range(6):
        batch = jobs.receive(10)
        for message in batch:
            jobs.ack(message)
        received += batch
        if len(received) >= 6:
            break
    assert [m.json()["step"] for m in received] == [0, 1, 2, 3, 4, 0]
    assert {m.group for m in received} == {"order-42"}


def test_queue_send_rules_are_checked_before_calling_sqs(aws: Aws) -> None:
    fifo = aws_clients.queue_client(make_queue(aws, fifo=True))
    standard = aws_clients.queue_client(make_queue(aws))
    with pytest.raises(ValueError, match=r"group=\.\.\.\) is required"):
        fifo.send("x")
    with pytest.raises(ValueError, match="no per-message delay"):
        fifo.send("x", group="g", delay_s=5)
    with pytest.raises(ValueError, match="not FIFO"):
        standard.send("x", group="g")
    with pytest.raises(ValueError, match=r"0\.\.900"):
        standard.send("x", delay_s=901)
    with pytest.raises(ValueError, match=r"UTF-8"):
        standard.send(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"1\.\.10"):
        standard.receive(11)


def test_runtime_queue_finds_its_queue_through_the_link_variable(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    locator = make_queue(aws)
    monkeypatch.setenv("OMNICLOUD_LINK_QUEUE_JOBS", json.dumps(locator))
    runtime_clients._client.cache_clear()
    try:
        from components import runtime

        runtime.queue("jobs").send("via link")
        assert [m.body for m in aws_clients.queue_client(locator).receive()] == ["via link"]
    finally:
        runtime_clients._client.cache_clear()


# --- DynamoDB -------------------------------------------------------------------------------


def test_put_get_delete_round_trip_plain_values(aws: Aws) -> None:
    orders = aws_clients.table_client(make_table(aws))
    item = {
        "pk": "customer#7",
        "sk": 1,
        "total": 0.1,
        "qty": 3,
        "big": 2**62,
        "paid": True,
        "lines": [{"sku": "A-1", "price": 9.99}],
        "meta": {"nested": {"n": -1.5}},
        "note": None,
        "raw": b"\x00\x01",
    }
    orders.put(item)

    got = orders.get({"pk": "customer#7", "sk": 1})
    assert got == item
    assert got is not None and type(got["qty"]) is int and type(got["total"]) is float
    assert orders.get({"pk": "customer#7", "sk": 2}) is None
    orders.delete(got)  # a whole item works as its key
    assert orders.get({"pk": "customer#7", "sk": 1}) is None
    orders.delete({"pk": "customer#7", "sk": 1})  # absent: no error


def test_conditional_writes_raise_condition_failed(aws: Aws) -> None:
    orders = aws_clients.table_client(make_table(aws))
    key = {"pk": "c", "sk": 1}
    orders.put({**key, "version": 1, "status": "new"}, condition="absent")
    with pytest.raises(ConditionFailed):
        orders.put({**key, "version": 1}, condition="absent")

    orders.put({**key, "version": 2, "status": "paid"}, condition={"version": 1})
    with pytest.raises(ConditionFailed):  # stale version
        orders.put({**key, "version": 3}, condition={"version": 1})
    with pytest.raises(ConditionFailed):  # "status" is a reserved word: placeholders keep it working
        orders.delete(key, condition={"status": "new"})
    assert orders.get(key) == {**key, "version": 2, "status": "paid"}
    orders.delete(key, condition={"version": 2, "status": "paid"})
    assert orders.get(key) is None
    with pytest.raises(ConditionFailed):  # a condition on a missing item never holds
        orders.put({**key, "version": 1}, condition={})


def test_key_attributes_are_required(aws: Aws) -> None:
    orders = aws_clients.table_client(make_table(aws))
    with pytest.raises(ValueError, match="missing \\['sk'\\]"):
        orders.get({"pk": "c"})


@pytest.fixture
def five_orders(aws: Aws) -> aws_clients.DynamoDbTable:
    orders = aws_clients.table_client(make_table(aws))
    for n in range(1, 6):
        orders.put({"pk": "c", "sk": n, "customer": "acme", "created": f"2025-0{n}-01"})
    orders.put({"pk": "other", "sk": 3, "customer": "zeta", "created": "2025-03-01"})
    return orders


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, [1, 2, 3, 4, 5]),
        (Sort.eq(3), [3]),
        (Sort.lt(3), [1, 2]),
        (Sort.le(3), [1, 2, 3]),
        (Sort.gt(3), [4, 5]),
        (Sort.ge(3), [3, 4, 5]),
        (Sort.between(2, 4), [2, 3, 4]),
    ],
)
def test_query_applies_each_sort_condition(
    five_orders: aws_clients.DynamoDbTable, sort: Sort | None, expected: list[int]
) -> None:
    assert [item["sk"] for item in five_orders.query("c", sort=sort)] == expected


def test_query_descending_reverses_sort_order(five_orders: aws_clients.DynamoDbTable) -> None:
    assert [item["sk"] for item in five_orders.query("c", descending=True)] == [5, 4, 3, 2, 1]


def test_query_pages_through_a_partition_with_cursors(five_orders: aws_clients.DynamoDbTable) -> None:
    pages = []
    cursor = None
    for _ in range(10):
        page = five_orders.query("c", limit=2, cursor=cursor)
        pages.append([item["sk"] for item in page])
        cursor = page.cursor
        if cursor is None:
            break
    assert [sk for page in pages for sk in page] == [1, 2, 3, 4, 5]
    assert all(len(page) <= 2 for page in pages)
    assert pages[:3] == [[1, 2], [3, 4], [5]]


def test_query_on_a_global_index_uses_its_own_keys(five_orders: aws_clients.DynamoDbTable) -> None:
    page = five_orders.query("acme", index="by_customer", sort=Sort.begins_with("2025-0"), descending=True)
    assert [item["created"] for item in page] == ["2025-05-01", "2025-04-01", "2025-03-01", "2025-02-01", "2025-01-01"]
    march = five_orders.query("acme", index="by_customer", sort=Sort.between("2025-02", "2025-03-31"))
    assert [item["sk"] for item in march] == [2, 3]
    with pytest.raises(ValueError, match="no index 'nope'"):
        five_orders.query("acme", index="nope")


def test_malformed_cursor_is_a_clear_error(five_orders: aws_clients.DynamoDbTable) -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        five_orders.query("c", cursor="%%%")


def read_stream(aws: Aws, table_name: str) -> tuple[str, list[dict[str, Any]]]:
    """Every record of the table's stream so far, via the DynamoDB Streams API."""
    stream_arn = aws.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    streams = aws.client("dynamodbstreams")
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return stream_arn, records


def as_lambda_stream_event(stream_arn: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """What Lambda's event source mapping would deliver for these GetRecords records: the same
    records plus ``eventSourceARN``, with the creation time as epoch seconds (JSON)."""
    out = []
    for record in records:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.timestamp()
        out.append({**record, "dynamodb": change, "eventSourceARN": stream_arn})
    return {"Records": out}


CHANGE_HANDLER = """
CHANGES = []
FAIL_ON = set()


def handle(change, ctx):
    if change.kind in FAIL_ON:
        raise RuntimeError("cannot handle " + change.kind)
    CHANGES.append(change)
"""


@pytest.fixture
def change_handler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    name = "omni_change_handler_" + tmp_path.name.replace("-", "_")
    (tmp_path / f"{name}.py").write_text(CHANGE_HANDLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OMNICLOUD_HANDLER", f"{name}.handle")
    _clear_cache()
    module = __import__(name)
    yield module
    _clear_cache()
    sys.modules.pop(name, None)


def test_stream_records_from_moto_reach_the_handler_as_table_changes(
    aws: Aws, change_handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    locator = make_table(aws, stream=True)
    orders = aws_clients.table_client(locator)
    key = {"pk": "c", "sk": 1}
    orders.put({**key, "status": "new", "total": 9.5})
    orders.put({**key, "status": "paid", "total": 9.5}, condition={"status": "new"})
    orders.delete(key)
    stream_arn, records = read_stream(aws, locator["table_name"])
    monkeypatch.setenv(adapter.TRIGGERS, json.dumps([{"kind": "table", "name": "orders", "source": stream_arn}]))

    result = adapter.handler(as_lambda_stream_event(stream_arn, records), LAMBDA_CONTEXT)

    assert result == {"batchItemFailures": []}
    changes: list[TableChange] = change_handler.CHANGES
    assert [(c.table, c.kind) for c in changes] == [("orders", "insert"), ("orders", "modify"), ("orders", "remove")]
    assert all(c.key == key for c in changes)
    assert (changes[0].old, changes[0].new) == (None, {**key, "status": "new", "total": 9.5})
    assert (changes[1].old, changes[1].new) == (
        {**key, "status": "new", "total": 9.5},
        {**key, "status": "paid", "total": 9.5},
    )
    assert (changes[2].old, changes[2].new) == ({**key, "status": "paid", "total": 9.5}, None)
    assert [c.id for c in changes] == [r["dynamodb"]["SequenceNumber"] for r in records]
    assert all(c.time is not None for c in changes)

    # A failing change is reported by its sequence number; the ones before it stay handled.
    change_handler.CHANGES.clear()
    change_handler.FAIL_ON.add("modify")
    result = adapter.handler(as_lambda_stream_event(stream_arn, records), LAMBDA_CONTEXT)
    assert result == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert [c.kind for c in change_handler.CHANGES] == ["insert"]


# --- EventBridge → SQS ----------------------------------------------------------------------

PORTABLE_PATTERN = {"type": ["order.created"], "data": {"total": [{"numeric": [">", 100]}]}}


def eventbridge_pattern(source: str) -> dict[str, Any]:
    """The rule pattern for PORTABLE_PATTERN (+ source), from the AWS pattern compiler."""
    from components.patterns import parse_pattern
    from providers.aws.patterns import compile_pattern

    return compile_pattern(parse_pattern({**PORTABLE_PATTERN, "source": [source]}))


def test_bus_delivers_only_matching_events_to_an_sqs_target_as_the_eventbridge_envelope(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = aws.client("events")
    bus_name = unique("events")
    bus_arn = events.create_event_bus(Name=bus_name)["EventBusArn"]
    queue = make_queue(aws)
    source = "omnicloud/api"
    events.put_rule(Name="on-order", EventBusName=bus_name, EventPattern=json.dumps(eventbridge_pattern(source)))
    events.put_targets(Rule="on-order", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": queue["arn"]}])
    bus = aws_clients.bus_client(
        {"kind": "bus", "cloud": "aws", "name": "events", "bus_name": bus_name, "arn": bus_arn, "region": REGION}
    )
    when = datetime(2025, 3, 12, 19, 3, 58, tzinfo=UTC)

    matching_id = bus.publish(
        "order.created", {"order": 42, "total": 120.5}, source=source, subject="order/42", time=when
    )
    bus.publish("order.created", {"order": 43, "total": 50}, source=source, subject="order/43", time=when)
    bus.publish("order.cancelled", {"order": 44, "total": 500}, source=source, time=when)

    jobs = aws_clients.queue_client(queue)
    [message] = jobs.receive(10, wait_s=1)
    jobs.ack(message)
    assert jobs.receive(10, wait_s=1) == []  # the other two never reached the queue
    envelope = json.loads(message.body)
    assert (envelope["source"], envelope["detail-type"]) == (source, "order.created")

    # The queue's consumer sees the envelope as an ordinary message body...
    monkeypatch.setenv(adapter.TRIGGERS, json.dumps([{"kind": "queue", "name": "jobs", "source": queue["arn"]}]))
    sqs_event = {
        "Records": [
            {
                "messageId": message.id,
                "receiptHandle": message.receipt,
                "body": message.body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1741806238390"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue["arn"],
                "awsRegion": REGION,
            }
        ]
    }
    seen: list[Any] = []
    module = tmp_path / "omni_bus_consumer.py"
    module.write_text("SEEN = []\n\ndef handle(event, ctx):\n    SEEN.append(event)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OMNICLOUD_HANDLER", "omni_bus_consumer.handle")
    _clear_cache()
    try:
        assert adapter.handler(sqs_event, LAMBDA_CONTEXT) == {"batchItemFailures": []}
        # ...and the same envelope as a Lambda target receives it is the published event.
        adapter.handler(envelope, LAMBDA_CONTEXT)
        seen = sys.modules["omni_bus_consumer"].SEEN
    finally:
        _clear_cache()
        sys.modules.pop("omni_bus_consumer", None)
    batch, event = seen
    assert isinstance(batch, QueueBatch) and batch.queue == "jobs"
    assert batch.messages[0].body == message.body
    assert event == Event(
        id=matching_id,
        source=source,
        type="order.created",
        subject="order/42",
        time=when,
        data={"order": 42, "total": 120.5},
    )


def test_publish_defaults_source_to_the_function_and_id_to_a_uuid(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    events = aws.client("events")
    bus_name = unique("events")
    events.create_event_bus(Name=bus_name)
    queue = make_queue(aws)
    events.put_rule(Name="all", EventBusName=bus_name, EventPattern=json.dumps({"source": [{"prefix": "omnicloud/"}]}))
    events.put_targets(Rule="all", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": queue["arn"]}])
    monkeypatch.setenv("OMNICLOUD_FUNCTION", "api")
    bus = aws_clients.bus_client({"bus_name": bus_name, "region": REGION})

    event_id = bus.publish("ping", None)

    [message] = aws_clients.queue_client(queue).receive(wait_s=1)
    event = adapter.to_event(json.loads(message.body))
    assert (event.id, event.source, event.type, event.data, event.subject) == (
        event_id,
        "omnicloud/api",
        "ping",
        None,
        None,
    )
    assert len(event_id) == 36 and event.time is not None


def test_publish_to_a_missing_bus_raises(aws: Aws) -> None:
    bus = aws_clients.bus_client({"bus_name": unique("no-such-bus"), "region": REGION})
    with pytest.raises(Exception, match=r"(?i)not.*exist|ResourceNotFound|rejected"):
        bus.publish("x", {})


# --- Step Functions -------------------------------------------------------------------------

PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def make_state_machine(aws: Aws, *, region: str = REGION) -> dict[str, Any]:
    """A state machine with one Pass state, in ``region``; its workflow locator."""
    arn = (
        Aws(aws.endpoint, region)
        .client("stepfunctions")
        .create_state_machine(
            name=unique("checkout"),
            definition=PASS_DEFINITION,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/checkout-states",
        )["stateMachineArn"]
    )
    return {"kind": "workflow", "cloud": "aws", "name": "checkout", "arn": arn}


def test_start_runs_an_execution_with_the_input_and_returns_its_arn(aws: Aws) -> None:
    locator = make_state_machine(aws)
    order = {"order": {"id": "o-1", "lines": [{"sku": "a", "qty": 2}], "total": 9.5, "gift": None}, "note": "Zoë"}

    execution_arn = aws_clients.workflow_client(locator).start(order)

    described = aws.client("stepfunctions").describe_execution(executionArn=execution_arn)
    assert described["stateMachineArn"] == locator["arn"]
    assert json.loads(described["input"]) == order
    assert str(uuid.UUID(described["name"])) == described["name"]  # a new UUID names each execution
    assert execution_arn == f"{locator['arn'].replace(':stateMachine:', ':execution:')}:{described['name']}"


def test_each_start_is_a_new_execution_and_no_input_is_an_empty_object(aws: Aws) -> None:
    locator = make_state_machine(aws)
    checkout = aws_clients.workflow_client(locator)

    first, second = checkout.start(), checkout.start({"n": 2})

    sfn = aws.client("stepfunctions")
    assert first != second
    listed = sfn.list_executions(stateMachineArn=locator["arn"])["executions"]
    assert sorted(e["executionArn"] for e in listed) == sorted([first, second])
    assert json.loads(sfn.describe_execution(executionArn=first)["input"]) == {}


def test_start_uses_the_state_machines_own_region(aws: Aws) -> None:
    # The function runs in us-east-1 (AWS_DEFAULT_REGION); the state machine is elsewhere.
    locator = make_state_machine(aws, region="eu-west-1")

    execution_arn = aws_clients.workflow_client(locator).start({"x": 1})

    assert execution_arn.split(":")[3] == "eu-west-1"
    described = Aws(aws.endpoint, "eu-west-1").client("stepfunctions").describe_execution(executionArn=execution_arn)
    assert json.loads(described["input"]) == {"x": 1}


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ([1, 2], TypeError, "JSON object"),
        ("order", TypeError, "JSON object"),
        ({1: "a"}, TypeError, "keys are strings"),
        ({"when": datetime(2025, 1, 1, tzinfo=UTC)}, TypeError, "datetime"),
        ({"x": float("nan")}, ValueError, "NaN"),
    ],
)
def test_input_that_is_not_a_json_object_is_rejected_before_anything_starts(
    aws: Aws, bad: Any, error: type[Exception], message: str
) -> None:
    locator = make_state_machine(aws)
    with pytest.raises(error, match=message):
        aws_clients.workflow_client(locator).start(bad)
    assert aws.client("stepfunctions").list_executions(stateMachineArn=locator["arn"])["executions"] == []


def test_start_of_a_missing_state_machine_raises_the_service_error(aws: Aws) -> None:
    from botocore.exceptions import ClientError

    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{unique('gone')}"
    with pytest.raises(ClientError) as info:
        aws_clients.workflow_client({"name": "gone", "arn": arn}).start({})
    assert info.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_a_locator_without_a_state_machine_arn_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a Step Functions state machine ARN"):
        aws_clients.workflow_client({"name": "checkout", "arn": "arn:aws:sqs:us-east-1:1:q"})


def test_runtime_workflow_finds_its_state_machine_through_the_link_variable(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    locator = make_state_machine(aws)
    monkeypatch.setenv("OMNICLOUD_LINK_WORKFLOW_CHECKOUT", json.dumps(locator))
    runtime_clients._client.cache_clear()
    try:
        from components import runtime

        execution_arn = runtime.workflow("checkout").start({"via": "link"})
    finally:
        runtime_clients._client.cache_clear()
    described = aws.client("stepfunctions").describe_execution(executionArn=execution_arn)
    assert (described["stateMachineArn"], json.loads(described["input"])) == (locator["arn"], {"via": "link"})


# --- cold start -----------------------------------------------------------------------------


@pytest.mark.slow
def test_importing_the_aws_clients_module_does_not_load_boto3() -> None:
    probe = textwrap.dedent(
        """
        import sys
        import components.runtime.clients.aws, components.runtime.adapters.aws
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'pulumi', 'pydantic')))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
