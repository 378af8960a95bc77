"""The Lambda adapter on SQS, DynamoDB Streams and EventBridge events (shapes from AWS's docs)."""

from __future__ import annotations

import copy
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from components.runtime import Event, QueueBatch, QueueMessage, TableChange
from components.runtime.adapters import aws
from components.runtime.handler import _clear_cache

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs-4c1e2a9"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders-77f0a1/stream/2025-03-12T19:03:58.123"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/events-bus/on-order"
TRIGGERS = [
    {"kind": "queue", "name": "jobs", "source": QUEUE_ARN},
    {"kind": "table", "name": "orders", "source": STREAM_ARN},
    {"kind": "bus", "name": "events", "subscription": "on-order", "source": RULE_ARN},
]
LAMBDA_CONTEXT = SimpleNamespace(function_name="worker-fn-91ac", aws_request_id="req-1")

HANDLERS = """
from components.runtime import Event, QueueBatch, TableChange

CALLS = []
BEHAVIOUR = {}


def handle(event, ctx):
    CALLS.append(event)
    action = BEHAVIOUR.get("action")
    if isinstance(event, QueueBatch):
        if action == "raise":
            raise RuntimeError("batch failed")
        return BEHAVIOUR.get("result")
    if isinstance(event, TableChange):
        if action == "raise-on" and event.id == BEHAVIOUR["id"]:
            raise RuntimeError("change failed")
        return None
    if isinstance(event, Event) and action == "raise":
        raise RuntimeError("event failed")
    return None
"""


class Handlers:
    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def module(self) -> Any:
        return sys.modules[self.name]

    @property
    def calls(self) -> list[Any]:
        return self.module.CALLS

    def behave(self, **behaviour: Any) -> None:
        # The module is imported by the adapter on first use; import it now to configure it.
        __import__(self.name)
        self.module.BEHAVIOUR.update(behaviour)


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    name = f"omni_events_app_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(HANDLERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OMNICLOUD_HANDLER", f"{name}.handle")
    monkeypatch.setenv("OMNICLOUD_FUNCTION", "worker")
    monkeypatch.setenv(aws.TRIGGERS, json.dumps(TRIGGERS))
    _clear_cache()
    yield Handlers(name)
    _clear_cache()
    sys.modules.pop(name, None)


# --- SQS -------------------------------------------------------------------------------------


def sqs_record(message_id: str, body: str, *, group: str | None = None, receives: int = 1) -> dict[str, Any]:
    """One record as Lambda's SQS event source mapping delivers it."""
    attributes = {
        "ApproximateReceiveCount": str(receives),
        "SentTimestamp": "1741806238390",
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": "1741806238400",
    }
    if group is not None:
        attributes |= {"MessageGroupId": group, "SequenceNumber": "1", "MessageDeduplicationId": "d"}
    return {
        "messageId": message_id,
        "receiptHandle": f"AQEB-{message_id}",
        "body": body,
        "attributes": attributes,
        "messageAttributes": {
            "tenant": {"stringValue": "acme", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "priority": {"stringValue": "5", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
            "blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
        },
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def test_sqs_batch_becomes_queue_batch_with_logical_name_and_message_fields(handlers: Handlers) -> None:
    event = sqs_event(sqs_record("m-1", '{"order": 42}', receives=3), sqs_record("m-2", "plain"))

    assert aws.handler(event, LAMBDA_CONTEXT) == {"batchItemFailures": []}

    [batch] = handlers.calls
    assert isinstance(batch, QueueBatch)
    assert batch.queue == "jobs"
    first, second = batch.messages
    assert first == QueueMessage(
        id="m-1",
        body='{"order": 42}',
        attributes={"tenant": "acme", "priority": "5"},  # the binary attribute has no portable form
        receive_count=3,
        sent_at=datetime(2025, 3, 12, 19, 3, 58, 390000, tzinfo=UTC),
        group=None,
    )
    assert first.json() == {"order": 42}
    assert second.id == "m-2" and second.body == "plain" and second.receive_count == 1


def test_returned_ids_become_batch_item_failures_in_batch_order(handlers: Handlers) -> None:
    handlers.behave(result=["m-3", "m-1"])
    event = sqs_event(*(sqs_record(f"m-{i}", "x") for i in range(1, 4)))

    assert aws.handler(event, LAMBDA_CONTEXT) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]
    }


def test_returned_messages_count_as_their_ids(handlers: Handlers) -> None:
    handlers.behave(result=(QueueMessage(id="m-2", body="x"),))
    event = sqs_event(sqs_record("m-1", "x"), sqs_record("m-2", "x"))
    assert aws.handler(event, LAMBDA_CONTEXT) == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}


def test_an_id_outside_the_batch_fails_loudly_so_the_whole_batch_retries(handlers: Handlers) -> None:
    handlers.behave(result=["m-1", "not-in-batch"])
    with pytest.raises(ValueError, match="not-in-batch"):
        aws.handler(sqs_event(sqs_record("m-1", "x")), LAMBDA_CONTEXT)


def test_a_bare_string_result_is_rejected_rather_than_split_into_characters(handlers: Handlers) -> None:
    handlers.behave(result="m-1")
    with pytest.raises(TypeError, match="list of the failed messages' ids"):
        aws.handler(sqs_event(sqs_record("m-1", "x")), LAMBDA_CONTEXT)


def test_queue_handler_exception_propagates_so_lambda_retries_the_batch(handlers: Handlers) -> None:
    handlers.behave(action="raise")
    with pytest.raises(RuntimeError, match="batch failed"):
        aws.handler(sqs_event(sqs_record("m-1", "x")), LAMBDA_CONTEXT)


def test_fifo_failure_also_fails_the_later_messages_of_its_group_only(handlers: Handlers) -> None:
    handlers.behave(result=["a-2"])
    event = sqs_event(
        sqs_record("a-1", "x", group="a"),
        sqs_record("a-2", "x", group="a"),
        sqs_record("b-1", "x", group="b"),
        sqs_record("a-3", "x", group="a"),
    )
    result = aws.handler(event, LAMBDA_CONTEXT)
    assert result == {"batchItemFailures": [{"itemIdentifier": "a-2"}, {"itemIdentifier": "a-3"}]}
    [batch] = handlers.calls
    assert [m.group for m in batch.messages] == ["a", "a", "b", "a"]


def test_sqs_event_from_an_unlisted_queue_names_the_arn(handlers: Handlers, monkeypatch: pytest.MonkeyPatch) -> None:
    record = sqs_record("m-1", "x")
    record["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:someone-elses"
    with pytest.raises(ValueError, match="someone-elses"):
        aws.handler(sqs_event(record), LAMBDA_CONTEXT)
    monkeypatch.delenv(aws.TRIGGERS)
    with pytest.raises(ValueError, match=f"{aws.TRIGGERS}.*none"):
        aws.handler(sqs_event(sqs_record("m-1", "x")), LAMBDA_CONTEXT)
    assert handlers.calls == []


def test_malformed_trigger_list_is_reported_as_such(handlers: Handlers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws.TRIGGERS, "{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        aws.handler(sqs_event(sqs_record("m-1", "x")), LAMBDA_CONTEXT)


# --- DynamoDB Streams -----------------------------------------------------------------------


def stream_record(name: str, seq: str, *, old: dict | None = None, new: dict | None = None) -> dict[str, Any]:
    """One record as Lambda's DynamoDB Streams mapping delivers it (NEW_AND_OLD_IMAGES)."""
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1741806238,
        "Keys": {"pk": {"S": "customer#7"}, "sk": {"N": "42"}},
        "SequenceNumber": seq,
        "SizeBytes": 59,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        change["OldImage"] = old
    if new is not None:
        change["NewImage"] = new
    return {
        "eventID": f"ev-{seq}",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": STREAM_ARN,
    }


V1 = {
    "pk": {"S": "customer#7"},
    "sk": {"N": "42"},
    "total": {"N": "19.95"},
    "qty": {"N": "3"},
    "paid": {"BOOL": False},
    "lines": {"L": [{"M": {"sku": {"S": "A-1"}, "n": {"N": "2"}}}]},
    "note": {"NULL": True},
    "tags": {"SS": ["gift"]},
    "raw": {"B": "AAEC"},
}
V2 = {**V1, "paid": {"BOOL": True}, "qty": {"N": "4"}}


def test_stream_records_become_table_changes_in_order_with_plain_values(handlers: Handlers) -> None:
    event = {
        "Records": [
            stream_record("INSERT", "100", new=V1),
            stream_record("MODIFY", "200", old=V1, new=V2),
            stream_record("REMOVE", "300", old=V2),
        ]
    }

    assert aws.handler(event, LAMBDA_CONTEXT) == {"batchItemFailures": []}

    inserted, modified, removed = handlers.calls
    assert all(isinstance(c, TableChange) and c.table == "orders" for c in handlers.calls)
    assert [c.kind for c in handlers.calls] == ["insert", "modify", "remove"]
    assert [c.id for c in handlers.calls] == ["100", "200", "300"]
    assert inserted.key == {"pk": "customer#7", "sk": 42}
    assert inserted.old is None
    assert inserted.new == {
        "pk": "customer#7",
        "sk": 42,
        "total": 19.95,
        "qty": 3,
        "paid": False,
        "lines": [{"sku": "A-1", "n": 2}],
        "note": None,
        "tags": {"gift"},
        "raw": b"\x00\x01\x02",
    }
    assert type(inserted.new["qty"]) is int and type(inserted.new["total"]) is float
    assert (modified.old["paid"], modified.new["paid"], modified.new["qty"]) == (False, True, 4)
    assert removed.new is None and removed.old["qty"] == 4
    assert inserted.time == datetime(2025, 3, 12, 19, 3, 58, tzinfo=UTC)


def test_failing_change_is_reported_by_sequence_number_and_later_ones_wait(handlers: Handlers) -> None:
    handlers.behave(action="raise-on", id="200")
    event = {
        "Records": [
            stream_record("INSERT", "100", new=V1),
            stream_record("MODIFY", "200", old=V1, new=V2),
            stream_record("REMOVE", "300", old=V2),
        ]
    }

    assert aws.handler(event, LAMBDA_CONTEXT) == {"batchItemFailures": [{"itemIdentifier": "200"}]}
    assert [c.id for c in handlers.calls] == ["100", "200"]  # 300 was never handed over


def test_stream_from_an_unlisted_table_names_the_arn(handlers: Handlers) -> None:
    record = stream_record("INSERT", "1", new=V1)
    record["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:1:table/other/stream/x"
    with pytest.raises(ValueError, match="table/other/stream/x"):
        aws.handler({"Records": [record]}, LAMBDA_CONTEXT)


def test_stream_record_accepts_the_datetime_boto3_gives_for_creation_time() -> None:
    record = stream_record("INSERT", "1", new=V1)
    record["dynamodb"]["ApproximateCreationDateTime"] = datetime(2025, 3, 12, 19, 3, 58, tzinfo=UTC)
    assert aws.to_table_change(record, "orders").time == datetime(2025, 3, 12, 19, 3, 58, tzinfo=UTC)


# --- EventBridge ----------------------------------------------------------------------------

DETAIL = {
    "specversion": "1.0",
    "id": "5b0c1f8e-0a57-4c1e-9d7c-1f3c1a0b6e21",
    "subject": "order/42",
    "time": "2025-03-12T19:03:58.123Z",
    "datacontenttype": "application/json",
    "data": {"order": 42, "total": 120.5},
}
EVENTBRIDGE_EVENT = {
    "version": "0",
    "id": "eb-9f6d-11ee",
    "detail-type": "order.created",
    "source": "omnicloud/api",
    "account": "123456789012",
    "time": "2025-03-12T19:03:58Z",
    "region": "us-east-1",
    "resources": [],
    "detail": DETAIL,
}


def test_eventbridge_event_is_rebuilt_as_the_published_cloudevent(handlers: Handlers) -> None:
    assert aws.handler(EVENTBRIDGE_EVENT, LAMBDA_CONTEXT) is None

    [event] = handlers.calls
    assert event == Event(
        id=DETAIL["id"],  # the CloudEvents id, not EventBridge's own
        source="omnicloud/api",
        type="order.created",
        subject="order/42",
        time=datetime(2025, 3, 12, 19, 3, 58, 123000, tzinfo=UTC),
        data={"order": 42, "total": 120.5},
    )


def test_eventbridge_handler_exception_propagates_for_async_retry(handlers: Handlers) -> None:
    handlers.behave(action="raise")
    with pytest.raises(RuntimeError, match="event failed"):
        aws.handler(EVENTBRIDGE_EVENT, LAMBDA_CONTEXT)


def test_foreign_eventbridge_event_keeps_its_own_id_and_time_and_detail_as_data() -> None:
    event = copy.deepcopy(EVENTBRIDGE_EVENT)
    event["source"] = "aws.s3"
    event["detail-type"] = "Object Created"
    event["detail"] = {"bucket": {"name": "b"}, "object": {"key": "k"}}
    assert aws.to_event(event) == Event(
        id="eb-9f6d-11ee",
        source="aws.s3",
        type="Object Created",
        time=datetime(2025, 3, 12, 19, 3, 58, tzinfo=UTC),
        data={"bucket": {"name": "b"}, "object": {"key": "k"}},
    )


def test_eventbridge_event_without_subject_has_none() -> None:
    event = copy.deepcopy(EVENTBRIDGE_EVENT)
    del event["detail"]["subject"]
    assert aws.to_event(event).subject is None


@pytest.mark.parametrize(
    "event",
    [
        {"Records": [{"eventSource": "aws:sns", "Sns": {}}]},
        {"Records": [{"eventSource": "aws:dynamodb", "eventName": "INSERT"}]},  # no dynamodb/ARN
        {"Records": []},
        {"detail-type": "x", "source": "y"},  # no detail
    ],
)
def test_other_record_shapes_are_still_unrecognised(handlers: Handlers, event: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unrecognised Lambda event"):
        aws.handler(event, LAMBDA_CONTEXT)
