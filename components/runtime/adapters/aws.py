"""AWS Lambda entry point: ``components.runtime.adapters.aws.handler``.

These event shapes reach it:

* **Lambda Function URL, payload format 2.0** (``version``, ``rawPath``, ``rawQueryString``,
  ``headers``, ``cookies``, ``requestContext.http``, ``body``, ``isBase64Encoded``) →
  :class:`HttpRequest`; the result is a Function URL response dict.
* **omnicloud's EventBridge Scheduler input**, exactly
  ``{"omnicloud": {"kind": "scheduled", "schedule": ..., "time": ..., "execution_id": ...}}``
  where Scheduler has substituted ``<aws.scheduler.scheduled-time>`` and
  ``<aws.scheduler.execution-id>`` → :class:`Scheduled`.
* **SQS, through an event source mapping** with ``ReportBatchItemFailures`` → one
  :class:`QueueBatch`; the ids the handler returns become ``batchItemFailures``.
* **DynamoDB Streams, through an event source mapping** (``NEW_AND_OLD_IMAGES``) → one
  :class:`TableChange` per record, in order; the first failing record is reported as the
  ``batchItemFailures`` entry so Lambda retries from it (and not the records before it).
* **EventBridge** (a rule's Lambda target) → :class:`Event`, rebuilt from the ``detail``
  that :class:`~components.runtime.clients.aws.EventBridgeBus` publishes.
* **A workflow task** from Step Functions' ``lambda:invoke`` integration, the envelope
  ``{"omnicloud": {"kind": "workflow-task", ...}, "input": ...}``
  (:mod:`components.runtime.orchestration.task`) → the handler is called with ``input`` and its
  JSON output is the Lambda result. A handler's exception is re-raised as an exception whose
  class name is the portable error name (``TaskFailed.error``, else the exception's class), so
  Lambda's ``errorType`` is what the workflow's Retry and Catch match.

Queue and table events name their source by ARN; ``OMNICLOUD_TRIGGERS`` (JSON, written by
the deploy side) maps it to the component's logical name. Anything else raises
:class:`ValueError` rather than guessing. No AWS SDK is imported at module load; boto3's
``TypeDeserializer`` is loaded only when a stream event arrives.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from components.runtime.adapters._common import (
    first_values,
    function_name,
    is_text,
    now_utc,
    parse_time,
    response_headers,
    schedule_expression,
    scheduled_input,
)
from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.handler import Handler, call_http, call_scheduled, failed_message_ids, load_handler
from components.runtime.messages import ChangeKind, Event, QueueBatch, QueueMessage, TableChange
from components.runtime.orchestration.task import TaskCall, error_of, named_error, parse_task

__all__ = [
    "TRIGGERS",
    "handler",
    "to_event",
    "to_function_url_response",
    "to_http_request",
    "to_queue_batch",
    "to_scheduled",
    "to_table_change",
]

CLOUD = "aws"
TRIGGERS = "OMNICLOUD_TRIGGERS"
"""JSON list of trigger descriptors (``{"kind", "name", "source": <ARN>}``) the deploy side
writes, so native source ARNs map back to logical component names."""

log = logging.getLogger("omnicloud.runtime")


def handler(event: Mapping[str, Any], context: Any) -> Any:
    """The Lambda handler: translate, call the user's handler, translate back.

    Returns a Function URL response dict for HTTP events, ``{"batchItemFailures": [...]}``
    for SQS and DynamoDB Streams batches, the handler's JSON output for a workflow task, and
    None for scheduled and EventBridge events (whose handler exceptions propagate, so Lambda's
    retry policy and DLQ apply).

    Raises:
        ValueError: the event has none of the shapes above, or names a queue or stream that
            ``OMNICLOUD_TRIGGERS`` does not list.
        Exception: a workflow task's handler failed; the exception's class name is the
            portable error name and its message the cause.
    """
    ctx = Context(
        function=function_name(getattr(context, "function_name", None)),
        cloud=CLOUD,
        invocation_id=str(getattr(context, "aws_request_id", "") or ""),
        native=context,
    )
    inner = scheduled_input(event)
    if inner is not None:
        call_scheduled(load_handler(), to_scheduled(inner, ctx.function), ctx)
        return None
    task = parse_task(event)
    if task is not None:
        return _handle_task(load_handler(), task, ctx)
    if _is_function_url_event(event):
        return to_function_url_response(call_http(load_handler(), to_http_request(event), ctx))
    source = _records_source(event)
    if source == "aws:sqs":
        return _handle_queue(load_handler(), to_queue_batch(event), ctx)
    if source == "aws:dynamodb":
        return _handle_stream(load_handler(), event["Records"], ctx)
    if _is_eventbridge_event(event):
        # An exception propagates: Lambda's asynchronous retries, then the target's DLQ.
        load_handler()(to_event(event), ctx)
        return None
    keys = sorted(event) if isinstance(event, Mapping) else type(event).__name__
    raise ValueError(
        f"unrecognised Lambda event (keys: {keys}); omnicloud handles Function URL payload "
        "format 2.0, its own EventBridge Scheduler input "
        '{"omnicloud": {"kind": "scheduled", ...}}, workflow tasks {"omnicloud": {"kind": '
        '"workflow-task", ...}, "input": ...}, SQS and DynamoDB Streams batches from an '
        "event source mapping, and EventBridge events"
    )


# --- workflow tasks ------------------------------------------------------------------------


def _handle_task(user: Handler, task: TaskCall, ctx: Context) -> Any:
    """Call the handler with the task's input; fail with the portable error name.

    Step Functions' ``lambda:invoke`` reports a function error as ``Error = errorType`` (the
    raised exception's class name) and ``Cause`` = Lambda's error JSON, whose ``errorMessage``
    is ``str(exception)``; the compiled ASL reads the cause back from there.
    """
    try:
        return user(task.input, ctx)
    except Exception as exc:
        error, cause = error_of(exc)
        log.exception(
            "workflow task failed with %s (workflow=%s, step=%s, function=%s)",
            error,
            task.workflow,
            task.step,
            ctx.function,
        )
        raise named_error(error, cause) from exc


def _is_function_url_event(event: object) -> bool:
    return (
        isinstance(event, Mapping)
        and event.get("version") == "2.0"
        and "rawPath" in event
        and isinstance((event.get("requestContext") or {}).get("http"), Mapping)
    )


def to_http_request(event: Mapping[str, Any]) -> HttpRequest:
    """A Function URL (payload 2.0) event as an :class:`HttpRequest`."""
    http = event["requestContext"]["http"]
    raw_query = event.get("rawQueryString") or ""
    cookies = tuple(event.get("cookies") or ())
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    # Payload 2.0 moves the Cookie header into `cookies`; put it back so handlers see the
    # same headers on every cloud.
    if cookies and "cookie" not in headers:
        headers["cookie"] = "; ".join(cookies)
    body = event.get("body") or ""
    raw_body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    return HttpRequest(
        method=http.get("method", "GET"),
        # Function URLs deliver rawPath still percent-encoded; the portable path is decoded
        # (as werkzeug gives it on GCP).
        path=unquote(event.get("rawPath") or http.get("path") or "/"),
        query=first_values(raw_query),
        headers=headers,
        body=raw_body,
        query_string=raw_query,
        source_ip=http.get("sourceIp"),
        cookies=cookies,
    )


def to_function_url_response(response: HttpResponse) -> dict[str, Any]:
    """An :class:`HttpResponse` as a Function URL response dict (binary bodies base64)."""
    content = response.content
    headers = response_headers(response)
    out: dict[str, Any] = {"statusCode": response.status, "headers": headers}
    text = _as_text(headers, content)
    if text is None:
        out["body"] = base64.b64encode(content).decode("ascii")
        out["isBase64Encoded"] = True
    else:
        out["body"] = text
        out["isBase64Encoded"] = False
    if response.cookies:
        out["cookies"] = list(response.cookies)
    return out


def _as_text(headers: Mapping[str, str], content: bytes) -> str | None:
    """The body as text when it is safe to send it unencoded, else None."""
    if not content:
        return ""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if not is_text(content_type):
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def to_scheduled(inner: Mapping[str, Any], function: str) -> Scheduled:
    """omnicloud's Scheduler input (the dict inside ``"omnicloud"``) as :class:`Scheduled`."""
    raw_time = inner.get("time")
    when = parse_time(raw_time, what="EventBridge Scheduler input 'time'") if raw_time else now_utc()
    return Scheduled(schedule=schedule_expression(inner), time=when, function=function)


# --- triggers ------------------------------------------------------------------------------


def trigger_name(kind: str, arn: str) -> str:
    """The logical name of the ``kind`` component whose native ARN is ``arn``.

    Raises:
        ValueError: ``OMNICLOUD_TRIGGERS`` lists no such trigger (a subscription made outside
            omnicloud, or a function deployed without its trigger list).
    """
    descriptors = _triggers(os.environ.get(TRIGGERS, "[]"))
    for descriptor in descriptors:
        if descriptor.get("kind") == kind and descriptor.get("source") == arn:
            return str(descriptor["name"])
    known = [d.get("source") for d in descriptors if d.get("kind") == kind]
    raise ValueError(
        f"{kind} event from {arn}, which is not among this function's {kind} triggers in "
        f"{TRIGGERS} ({known or 'none'}); was the function deployed with its subscriptions?"
    )


@functools.cache
def _triggers(raw: str) -> tuple[Mapping[str, Any], ...]:
    # Cached by the raw text: parsed once per warm instance, re-read if a test changes it.
    try:
        parsed = json.loads(raw or "[]")
    except ValueError:
        raise ValueError(f"{TRIGGERS} is not valid JSON: {raw[:200]!r}") from None
    if not isinstance(parsed, list):
        raise ValueError(f"{TRIGGERS} must be a JSON list of trigger descriptors, got {type(parsed).__name__}")
    return tuple(item for item in parsed if isinstance(item, Mapping))


def _records_source(event: object) -> str | None:
    """``"aws:sqs"`` / ``"aws:dynamodb"`` for a well-formed batch from an event source mapping."""
    if not isinstance(event, Mapping):
        return None
    records = event.get("Records")
    if not isinstance(records, list) or not records or not all(isinstance(r, Mapping) for r in records):
        return None
    source = records[0].get("eventSource")
    if source == "aws:sqs":
        required = ("messageId", "eventSourceARN")
    elif source == "aws:dynamodb":
        required = ("eventName", "eventSourceARN", "dynamodb")
    else:
        return None
    if all(r.get("eventSource") == source and all(k in r for k in required) for r in records):
        return source
    return None


def _single_source(records: Iterable[Mapping[str, Any]]) -> str:
    # One event source mapping invokes with records of one queue or stream.
    sources = {record["eventSourceARN"] for record in records}
    if len(sources) != 1:
        raise ValueError(f"one batch holds records of several sources: {sorted(sources)}")
    return sources.pop()


# --- SQS -----------------------------------------------------------------------------------


def to_queue_batch(event: Mapping[str, Any]) -> QueueBatch:
    """An SQS event source mapping's event as a :class:`QueueBatch`."""
    records = event["Records"]
    queue = trigger_name("queue", _single_source(records))
    return QueueBatch(queue=queue, messages=tuple(_queue_message(record) for record in records))


def _queue_message(record: Mapping[str, Any]) -> QueueMessage:
    from components.runtime.clients.aws import string_attributes

    system = record.get("attributes") or {}
    sent = system.get("SentTimestamp")
    return QueueMessage(
        id=record["messageId"],
        body=record.get("body") or "",
        attributes=string_attributes(record.get("messageAttributes") or {}, value_key="stringValue"),
        receive_count=int(system.get("ApproximateReceiveCount", 1)),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        group=system.get("MessageGroupId"),
    )


def _handle_queue(user: Handler, batch: QueueBatch, ctx: Context) -> dict[str, Any]:
    # An exception propagates: Lambda then retries the whole batch.
    failed = failed_message_ids(user(batch, ctx), batch)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


# --- DynamoDB Streams ----------------------------------------------------------------------

_CHANGE_KINDS: dict[str, ChangeKind] = {"INSERT": "insert", "MODIFY": "modify", "REMOVE": "remove"}


def to_table_change(record: Mapping[str, Any], table: str) -> TableChange:
    """One DynamoDB Streams record (``NEW_AND_OLD_IMAGES``) as a :class:`TableChange`."""
    from components.runtime.clients.aws import decode_image

    kind = _CHANGE_KINDS.get(record["eventName"])
    if kind is None:
        raise ValueError(f"DynamoDB stream record with unknown eventName {record['eventName']!r}")
    change = record["dynamodb"]
    old, new = change.get("OldImage"), change.get("NewImage")
    created = change.get("ApproximateCreationDateTime")
    return TableChange(
        table=table,
        kind=kind,
        key=decode_image(change.get("Keys") or {}),
        old=decode_image(old) if old is not None else None,
        new=decode_image(new) if new is not None else None,
        id=str(change.get("SequenceNumber", "")),
        time=_stream_time(created),
    )


def _stream_time(value: datetime | float | str | None) -> datetime | None:
    # Lambda delivers epoch seconds; the DynamoDB Streams API (boto3) gives a datetime.
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def _handle_stream(user: Handler, records: list[Mapping[str, Any]], ctx: Context) -> dict[str, Any]:
    table = trigger_name("table", _single_source(records))
    for record in records:
        change = to_table_change(record, table)
        try:
            user(change, ctx)
        except Exception:
            log.exception(
                "change handler failed at %s of table '%s' (function=%s); the stream retries from it",
                change.id,
                table,
                ctx.function,
            )
            # Records before it are done; Lambda resumes the shard at this sequence number.
            return {"batchItemFailures": [{"itemIdentifier": change.id}]}
    return {"batchItemFailures": []}


# --- EventBridge ---------------------------------------------------------------------------


def _is_eventbridge_event(event: object) -> bool:
    return isinstance(event, Mapping) and all(key in event for key in ("detail-type", "source", "detail"))


def to_event(envelope: Mapping[str, Any]) -> Event:
    """An EventBridge event (as a Lambda target or an SQS target receives it) as an
    :class:`Event`.

    The CloudEvents attributes come from ``detail`` as ``EventBridgeBus.publish`` wrote it;
    an event published some other way (an AWS service event) keeps EventBridge's own id and
    time, and its whole ``detail`` becomes ``data``.
    """
    detail = envelope.get("detail")
    attrs: Mapping[str, Any] = detail if isinstance(detail, Mapping) and "specversion" in detail else {}
    ours = bool(attrs)
    raw_time = attrs.get("time") or envelope.get("time")
    return Event(
        id=str(attrs.get("id") or envelope.get("id") or ""),
        source=str(envelope["source"]),
        type=str(envelope["detail-type"]),
        subject=attrs.get("subject"),
        time=parse_time(raw_time, what="EventBridge event 'time'") if raw_time else None,
        data=attrs.get("data") if ours else detail,
        specversion=str(attrs.get("specversion", "1.0")),
        datacontenttype=str(attrs.get("datacontenttype", "application/json")),
    )
