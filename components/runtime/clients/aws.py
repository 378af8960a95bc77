"""AWS backends of the runtime clients: SQS, EventBridge, DynamoDB and Step Functions through
boto3.

boto3 is imported inside the constructors, never at module import, so a function that links
no AWS resource pays nothing for it (Lambda's Python runtime ships boto3, so archives need
not vendor it). Each client builds its own ``boto3.session.Session`` in the locator's region:
the default session is shared process-wide and is not safe to create clients from
concurrently. Endpoints follow boto3's usual configuration, so ``AWS_ENDPOINT_URL`` points
every client at an emulator.

Data model of tables: an item is a dict of JSON-like values. Numbers travel as DynamoDB
numbers (floats through ``Decimal(str(x))`` so 0.1 stays 0.1) and come back as ``int`` when
integral, else ``float``; bytes come back as bytes, sets as sets.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from components.runtime.clients import (
    BusClient,
    Condition,
    ConditionFailed,
    Page,
    QueueClient,
    ReceivedMessage,
    Sort,
    TableClient,
    WorkflowClient,
    new_event,
    workflow_input,
)

__all__ = [
    "DynamoDbTable",
    "EventBridgeBus",
    "PublishFailed",
    "SqsQueue",
    "StepFunctionsWorkflow",
    "bus_client",
    "from_dynamo",
    "queue_client",
    "table_client",
    "to_dynamo",
    "workflow_client",
]

SQS_MAX_BATCH = 10
SQS_MAX_WAIT_S = 20
SQS_MAX_DELAY_S = 900


class PublishFailed(RuntimeError):
    """EventBridge accepted the request but rejected the event (``FailedEntryCount`` > 0)."""


def queue_client(locator: Mapping[str, Any]) -> SqsQueue:
    """The client of an SQS queue from its locator (``url``, ``region``, ``fifo``)."""
    return SqsQueue(locator)


def bus_client(locator: Mapping[str, Any]) -> EventBridgeBus:
    """The client of an EventBridge bus from its locator (``bus_name``, ``region``)."""
    return EventBridgeBus(locator)


def table_client(locator: Mapping[str, Any]) -> DynamoDbTable:
    """The client of a DynamoDB table from its locator (``table_name``, ``region``, key schema)."""
    return DynamoDbTable(locator)


def workflow_client(locator: Mapping[str, Any]) -> StepFunctionsWorkflow:
    """The client of a Step Functions state machine from its locator (``arn``)."""
    return StepFunctionsWorkflow(locator)


def _session_client(service: str, region: str | None) -> Any:
    import boto3.session

    return boto3.session.Session(region_name=region).client(service)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


# --- SQS -----------------------------------------------------------------------------------


class SqsQueue(QueueClient):
    """:class:`QueueClient` over SQS (standard or FIFO)."""

    def __init__(self, locator: Mapping[str, Any], *, client: Any = None) -> None:
        self.url: str = locator["url"]
        self.fifo = bool(locator.get("fifo", False))
        self.name: str = locator.get("name", "")
        self._sqs = client or _session_client("sqs", locator.get("region"))

    def send(
        self,
        body: str | bytes | Mapping[str, Any] | list[Any],
        *,
        delay_s: int = 0,
        group: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Queue a message; return its SQS ``MessageId``.

        Raises:
            ValueError: ``group`` missing on a FIFO queue or given on a standard one (SQS
                would not order by it); ``delay_s`` outside 0..900, or set on a FIFO queue
                (SQS has no per-message delay there: use ``QueueArgs.delay_s``); a bytes
                body that is not UTF-8 (SQS bodies are text).
        """
        request: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": _text_body(body)}
        if not 0 <= delay_s <= SQS_MAX_DELAY_S:
            raise ValueError(f"delay_s={delay_s}: SQS allows 0..{SQS_MAX_DELAY_S} seconds")
        if self.fifo:
            if not group:
                raise ValueError(f"queue '{self.name}' is FIFO: send(..., group=...) is required")
            if delay_s:
                raise ValueError(
                    f"queue '{self.name}' is FIFO: SQS has no per-message delay on FIFO queues "
                    "(set QueueArgs.delay_s for the whole queue)"
                )
            request["MessageGroupId"] = group
            # A fresh id per call: two identical sends are two messages, as on the other
            # clouds, whether or not the queue has content-based deduplication on.
            request["MessageDeduplicationId"] = uuid.uuid4().hex
        else:
            if group is not None:
                raise ValueError(
                    f"queue '{self.name}' is not FIFO, so it would not order by group={group!r}; "
                    "create it with QueueArgs(fifo=True)"
                )
            if delay_s:
                request["DelaySeconds"] = delay_s
        if attributes:
            request["MessageAttributes"] = {
                key: {"DataType": "String", "StringValue": str(value)} for key, value in attributes.items()
            }
        return self._sqs.send_message(**request)["MessageId"]

    def receive(self, max_messages: int = 10, *, wait_s: int = 0) -> list[ReceivedMessage]:
        """Pull up to ``max_messages`` (1..10) waiting up to ``wait_s`` (0..20) seconds."""
        if not 1 <= max_messages <= SQS_MAX_BATCH:
            raise ValueError(f"max_messages={max_messages}: SQS returns 1..{SQS_MAX_BATCH} per call")
        if not 0 <= wait_s <= SQS_MAX_WAIT_S:
            raise ValueError(f"wait_s={wait_s}: SQS long polling waits 0..{SQS_MAX_WAIT_S} seconds")
        response = self._sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_s,
            # ApproximateReceiveCount, SentTimestamp and MessageGroupId are system attributes,
            # returned only when asked for.
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [_received(message) for message in response.get("Messages", [])]

    def ack(self, message: ReceivedMessage) -> None:
        """Delete the message (by this delivery's receipt handle)."""
        self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt)


def _text_body(body: str | bytes | Mapping[str, Any] | list[Any]) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("SQS message bodies are text: send bytes as UTF-8, or base64-encode them") from None
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _received(message: Mapping[str, Any]) -> ReceivedMessage:
    system = message.get("Attributes", {})
    sent = system.get("SentTimestamp")
    return ReceivedMessage(
        id=message["MessageId"],
        body=message.get("Body", ""),
        attributes=string_attributes(message.get("MessageAttributes", {}), value_key="StringValue"),
        receive_count=int(system.get("ApproximateReceiveCount", 1)),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        group=system.get("MessageGroupId"),
        receipt=message["ReceiptHandle"],
    )


def string_attributes(raw: Mapping[str, Any], *, value_key: str) -> dict[str, str]:
    """SQS message attributes that carry a string value (String and Number types).

    ``value_key`` is ``"StringValue"`` in the SQS API and ``"stringValue"`` in Lambda's SQS
    event; binary attributes have no portable form and are left out.
    """
    return {name: spec[value_key] for name, spec in raw.items() if isinstance(spec, Mapping) and value_key in spec}


# --- EventBridge ---------------------------------------------------------------------------


class EventBridgeBus(BusClient):
    """:class:`BusClient` over EventBridge ``PutEvents``.

    The entry is ``Source`` = the event's source, ``DetailType`` = its type and ``Detail`` =
    the other CloudEvents attributes plus ``data`` as JSON, which is what compiled rule
    patterns match on and what the Lambda adapter rebuilds the :class:`Event` from.
    """

    def __init__(self, locator: Mapping[str, Any], *, client: Any = None) -> None:
        self.bus_name: str = locator["bus_name"]
        self._events = client or _session_client("events", locator.get("region"))

    def publish(
        self,
        type: str,
        data: Any,
        *,
        source: str | None = None,
        subject: str | None = None,
        id: str | None = None,
        time: datetime | None = None,
    ) -> str:
        """Publish one event; returns its CloudEvents ``id`` (a new UUID unless given).

        Raises:
            PublishFailed: EventBridge rejected the entry (its error code and message).
        """
        event = new_event(
            type, data, source=source, subject=subject, id=id, time=time, platform_name_env="AWS_LAMBDA_FUNCTION_NAME"
        )
        event_id = event.id
        assert event.time is not None
        detail: dict[str, Any] = {
            "specversion": event.specversion,
            "id": event_id,
            "time": event.time.isoformat().replace("+00:00", "Z"),
            "datacontenttype": event.datacontenttype,
            "data": data,
        }
        if subject is not None:
            detail["subject"] = subject
        entry = {
            "EventBusName": self.bus_name,
            "Source": event.source,
            "DetailType": type,
            "Detail": json.dumps(detail, separators=(",", ":"), ensure_ascii=False),
            "Time": event.time,
        }
        response = self._events.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            failed = response.get("Entries", [{}])[0]
            raise PublishFailed(
                f"EventBridge rejected event {event_id} on bus '{self.bus_name}': "
                f"{failed.get('ErrorCode', '?')}: {failed.get('ErrorMessage', '')}"
            )
        return event_id


# --- DynamoDB ------------------------------------------------------------------------------


def to_dynamo(value: Any) -> Any:
    """A plain value ready for boto3's ``TypeSerializer``: floats become ``Decimal``.

    ``Decimal(str(x))`` keeps the float's shortest repr (0.1, not 0.1000000000000000055...).

    Raises:
        ValueError: NaN or infinity, which DynamoDB cannot store.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"DynamoDB cannot store the number {value}")
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {key: to_dynamo(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(item) for item in value]
    if isinstance(value, set | frozenset):
        return {to_dynamo(item) for item in value}
    return value


def from_dynamo(value: Any) -> Any:
    """A value from boto3's ``TypeDeserializer`` as plain Python: ``Decimal`` → int/float,
    ``Binary`` → bytes."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_dynamo(item) for item in value]
    if isinstance(value, set | frozenset):
        return {from_dynamo(item) for item in value}
    raw = getattr(value, "value", None)
    if isinstance(raw, bytes) and type(value).__name__ == "Binary":
        return raw
    return value


def decode_image(image: Mapping[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB JSON (``{"pk": {"S": "a"}}``) as a plain dict.

    Binary values may be base64 text (as in Lambda's stream events, which are JSON) or bytes
    (as boto3's stream client returns them).
    """
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: from_dynamo(deserializer.deserialize(_binary_as_bytes(value))) for name, value in image.items()}


def _binary_as_bytes(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """An AttributeValue with every base64 ``B``/``BS`` member decoded to bytes."""
    (kind, inner), *_ = value.items()
    if kind == "B" and isinstance(inner, str):
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(v) if isinstance(v, str) else v for v in inner]}
    if kind == "M":
        return {"M": {name: _binary_as_bytes(v) for name, v in inner.items()}}
    if kind == "L":
        return {"L": [_binary_as_bytes(v) for v in inner]}
    return value


_SORT_OPERATORS = {"eq": "=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


class DynamoDbTable(TableClient):
    """:class:`TableClient` over the DynamoDB low-level client.

    Reads of the table are strongly consistent (``ConsistentRead``), so a function reads its
    own writes as it does on the other clouds; index queries cannot be (GSIs are eventually
    consistent on AWS).
    """

    def __init__(self, locator: Mapping[str, Any], *, client: Any = None) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.table_name: str = locator["table_name"]
        self.name: str = locator.get("name", self.table_name)
        self.partition_key: str = locator["partition_key"]
        self.sort_key: str | None = locator.get("sort_key")
        self.indexes: dict[str, Mapping[str, Any]] = {index["name"]: index for index in locator.get("indexes") or ()}
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()
        self._ddb = client or _session_client("dynamodb", locator.get("region"))

    # -- conversion

    def _encode(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self._serializer.serialize(to_dynamo(value)) for name, value in item.items()}

    def _decode(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: from_dynamo(self._deserializer.deserialize(value)) for name, value in item.items()}

    def _key(self, key: Mapping[str, Any]) -> dict[str, Any]:
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        missing = [name for name in names if name not in key]
        if missing:
            raise ValueError(f"table '{self.name}': the key needs {names}, missing {missing}")
        # Only the key attributes, so a whole item can be passed as its own key.
        return self._encode({name: key[name] for name in names})

    def _condition(self, condition: Condition) -> dict[str, Any]:
        if condition is None:
            return {}
        if condition == "absent":
            return {
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": self.partition_key},
            }
        if not isinstance(condition, Mapping):
            raise ValueError(f"condition must be None, 'absent' or a mapping of attribute values, not {condition!r}")
        if not condition:
            # "Exists with these values" with no values: it must exist.
            return {
                "ConditionExpression": "attribute_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": self.partition_key},
            }
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        terms: list[str] = []
        # Placeholders for every name and value: attribute names may be reserved words.
        for i, (name, value) in enumerate(condition.items()):
            names[f"#c{i}"] = name
            values[f":c{i}"] = self._serializer.serialize(to_dynamo(value))
            terms.append(f"#c{i} = :c{i}")
        return {
            "ConditionExpression": " AND ".join(terms),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _conditional(self, operation: str, **request: Any) -> None:
        try:
            getattr(self._ddb, operation)(**request)
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise ConditionFailed(f"table '{self.name}': {operation} condition not met") from exc
            raise

    # -- API

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item with this key, read consistently, or None."""
        response = self._ddb.get_item(TableName=self.table_name, Key=self._key(key), ConsistentRead=True)
        item = response.get("Item")
        return self._decode(item) if item is not None else None

    def put(self, item: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Create or replace ``item``; :class:`ConditionFailed` if ``condition`` does not hold."""
        self._key(item)  # the key attributes must be present
        self._conditional("put_item", TableName=self.table_name, Item=self._encode(item), **self._condition(condition))

    def delete(self, key: Mapping[str, Any], *, condition: Condition = None) -> None:
        """Delete the item with this key; :class:`ConditionFailed` if ``condition`` does not hold."""
        self._conditional("delete_item", TableName=self.table_name, Key=self._key(key), **self._condition(condition))

    def query(
        self,
        partition: Any,
        *,
        sort: Sort | None = None,
        index: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        descending: bool = False,
    ) -> Page:
        """One page of a partition, in sort-key order (reversed when ``descending``).

        ``cursor`` is the page's ``LastEvaluatedKey`` in DynamoDB JSON, base64-encoded, so it
        round-trips key types exactly. As on DynamoDB, a page that ends exactly at the last
        item still carries a cursor; the page after it is empty with no cursor.
        """
        if limit < 1:
            raise ValueError(f"limit={limit}: must be at least 1")
        if index is None:
            partition_key, sort_key = self.partition_key, self.sort_key
        else:
            spec = self.indexes.get(index)
            if spec is None:
                raise ValueError(f"table '{self.name}' has no index '{index}' (indexes: {sorted(self.indexes)})")
            partition_key, sort_key = spec["partition_key"], spec.get("sort_key")
        names = {"#pk": partition_key}
        values = {":pk": self._serializer.serialize(to_dynamo(partition))}
        expression = "#pk = :pk"
        if sort is not None:
            if sort_key is None:
                where = f"index '{index}'" if index else f"table '{self.name}'"
                raise ValueError(f"{where} has no sort key, so a sort condition cannot apply")
            names["#sk"] = sort_key
            expression += " AND " + _sort_expression(sort, values, self._serializer)
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": not descending,
        }
        if index is None:
            request["ConsistentRead"] = True
        else:
            request["IndexName"] = index
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor)
        response = self._ddb.query(**request)
        last = response.get("LastEvaluatedKey")
        return Page(
            items=[self._decode(item) for item in response.get("Items", [])],
            cursor=encode_cursor(last) if last else None,
        )


def _sort_expression(sort: Sort, values: dict[str, Any], serializer: Any) -> str:
    values[":sk"] = serializer.serialize(to_dynamo(sort.value))
    if sort.op in _SORT_OPERATORS:
        return f"#sk {_SORT_OPERATORS[sort.op]} :sk"
    if sort.op == "between":
        values[":hi"] = serializer.serialize(to_dynamo(sort.upper))
        return "#sk BETWEEN :sk AND :hi"
    if sort.op == "begins_with":
        return "begins_with(#sk, :sk)"
    raise ValueError(f"unknown sort condition {sort.op!r}")


def encode_cursor(last_evaluated_key: Mapping[str, Any]) -> str:
    """A ``LastEvaluatedKey`` (DynamoDB JSON) as an opaque URL-safe cursor."""
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The ``ExclusiveStartKey`` a cursor stands for."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except ValueError:
        raise ValueError(f"not a cursor returned by query(): {cursor!r}") from None
    if not isinstance(decoded, dict):
        raise ValueError(f"not a cursor returned by query(): {cursor!r}")
    return decoded


# --- Step Functions ------------------------------------------------------------------------


class StepFunctionsWorkflow(WorkflowClient):
    """:class:`WorkflowClient` over a Step Functions state machine (``StartExecution``).

    The client is made in the state machine's own region, read from its ARN
    (``arn:<partition>:states:<region>:<account>:stateMachine:<name>``).
    """

    def __init__(self, locator: Mapping[str, Any], *, client: Any = None) -> None:
        self.arn: str = locator["arn"]
        self.name: str = locator.get("name", self.arn.rsplit(":", 1)[-1])
        parts = self.arn.split(":")
        if len(parts) < 7 or parts[2] != "states":
            raise ValueError(f"workflow '{self.name}': {self.arn!r} is not a Step Functions state machine ARN")
        self._sfn = client or _session_client("stepfunctions", locator.get("region") or parts[3])

    def start(self, input: Mapping[str, Any] | None = None) -> str:
        """Start an execution named by a new UUID with ``input`` as its JSON input; returns its
        ``executionArn``.

        Raises:
            TypeError, ValueError: ``input`` is not a JSON object (see :func:`workflow_input`).
        """
        document = workflow_input(input)
        response = self._sfn.start_execution(
            stateMachineArn=self.arn,
            name=str(uuid.uuid4()),
            input=json.dumps(document, separators=(",", ":"), ensure_ascii=False),
        )
        return response["executionArn"]
