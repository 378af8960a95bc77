"""Google Cloud Functions (gen2) entry point for functions-framework: ``entry``.

The deployment's ``main.py`` (see :func:`entry_files`) re-exports :func:`entry`, and the
function's build config names ``entry`` as its entry point. Every invocation is an HTTP
request:

* Cloud Scheduler's call — header ``X-CloudScheduler`` present *and* a JSON body
  ``{"omnicloud": {"kind": "scheduled", "schedule": ...}}`` — becomes :class:`Scheduled`,
  timed by ``X-CloudScheduler-ScheduleTime`` (RFC 3339) or, failing that, now.
* ``POST /_omnicloud/queue/<queue>``: a Pub/Sub push delivery (one message per request)
  becomes a :class:`QueueBatch` of one message. 204 acknowledges it; 500 (the handler
  reported it failed, or raised) makes Pub/Sub redeliver it, and dead-letter it after the
  subscription's max delivery attempts.
* ``POST /_omnicloud/bus/<bus>/<subscription>``: a CloudEvent — delivered by an Eventarc
  Advanced pipeline over HTTP (binary or structured content mode) or wrapped in a Pub/Sub
  push message — becomes an :class:`Event`; an exception answers 500 so it is retried.
* ``POST /_omnicloud/task``: a workflow task (:mod:`components.runtime.orchestration.task`), the
  envelope as JSON body. The handler is called with its ``input``; the answer is always ``200``
  with ``{"output": ...}`` or ``{"error", "cause"}`` (an exception, or an output that is not
  JSON), so Cloud Workflows tells a handler's error from a platform failure (a non-2xx status or
  a timeout); a body that is not a task envelope gets ``400``.
* ``POST /_omnicloud/table/<table>``: an Eventarc Firestore trigger's
  ``google.cloud.firestore.document.v1.*`` CloudEvent (data as JSON, or protobuf
  ``DocumentEventData`` decoded with the ``google-events`` package) becomes a
  :class:`TableChange`; an exception answers 500 so it is retried.
* Any other path under ``/_omnicloud/`` is 404 (the prefix is reserved); everything else
  becomes :class:`HttpRequest`.

Both scheduler conditions are required so that an ordinary request with a similar body is
never mistaken for a scheduled call. On a *public* function anyone can send those, or post to
the internal routes, so there the caller's Google OIDC token is verified (signature, issuer,
email = the expected service account, audience = this host, or for internal routes also
this host plus the path); a call that fails is refused with 403. The scheduler's identity is
``OMNICLOUD_SCHEDULER_IDENTITY``; an internal route's is the ``"identity"`` of its descriptor
in ``OMNICLOUD_TRIGGERS``; the task route's are the workflows' service accounts listed in
``OMNICLOUD_TASK_CALLERS``. A private function's caller has already passed Cloud Run's IAM
check (which also strips the token's signature, so it could not be verified again).

flask is imported lazily (functions-framework has already loaded it by the time a request
arrives); google-auth and google-events only inside the functions that need them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from components.runtime import env
from components.runtime.adapters._common import (
    cloudevent,
    first_forwarded_for,
    first_values,
    function_name,
    is_text,
    lower_headers,
    now_utc,
    parse_time,
    response_headers,
    schedule_expression,
    scheduled_input,
    split_cookie_header,
    structured_event,
)
from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.handler import Handler, call_http, call_scheduled, failed_message_ids, load_handler
from components.runtime.messages import ChangeKind, Event, QueueBatch, QueueMessage, TableChange
from components.runtime.orchestration.task import TASK_ROUTE, answer_task

if TYPE_CHECKING:
    import flask

__all__ = [
    "ENTRY_POINT",
    "INTERNAL_PREFIX",
    "TRIGGERS",
    "caller_in",
    "caller_is",
    "document_fields",
    "entry",
    "entry_files",
    "failed_message_ids",
    "firestore_value",
    "run_task",
    "scheduler_call_is_authentic",
    "task_callers",
    "to_event",
    "to_flask_response",
    "to_http_request",
    "to_queue_batch",
    "to_scheduled",
    "to_table_change",
    "trigger",
    "triggers",
]

CLOUD = "gcp"
ENTRY_POINT = "entry"
"""The build config's entry point: the name ``main.py`` exports."""
SCHEDULER_HEADER = "X-CloudScheduler"
GOOGLE_OIDC_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
"""Where Google publishes the keys that sign its OIDC tokens."""
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
SCHEDULE_TIME_HEADER = "X-CloudScheduler-ScheduleTime"
INTERNAL_PREFIX = "/_omnicloud/"
"""Paths under this prefix are trigger deliveries, never the user's HTTP routes."""
TRIGGERS = "OMNICLOUD_TRIGGERS"
"""Mirror of ``providers.shared.TRIGGERS_ENV`` (the runtime never imports the deploy side)."""
CLOUDEVENTS_JSON = "application/cloudevents+json"
FIRESTORE_EVENT_PREFIX = "google.cloud.firestore.document.v1."

_MAIN_PY = 'from components.runtime.adapters.gcp import entry\n\n__all__ = ["entry"]\n'
# Pub/Sub push counts 102, 200, 201, 202 and 204 as an acknowledgement, anything else as a
# nack. 500 rather than a 4xx for failures: it is the truth (the handler failed) and every
# Google sender retries it.
_ACK = ("", 204)
_RETRY = ("failed", 500)

log = logging.getLogger("omnicloud.runtime")


def entry(request: flask.Request) -> flask.Response | tuple[str, int]:
    """The functions-framework HTTP function.

    Returns a flask ``Response`` for HTTP requests, ``("", 204)`` after a scheduled run or a
    handled trigger delivery, and a short text with 4xx/5xx when a delivery is refused or
    failed. A scheduled handler's exception propagates, so functions-framework answers 500
    and Cloud Scheduler records the failure and retries per the job's retry config.
    """
    headers = lower_headers(request.headers.items())
    ctx = Context(
        function=function_name(os.environ.get("K_SERVICE")),
        cloud=CLOUD,
        invocation_id=_invocation_id(headers),
        native=request,
    )
    if request.path.startswith(INTERNAL_PREFIX):
        return _internal(request, headers, ctx)
    if SCHEDULER_HEADER.lower() in headers:
        # force=True: Cloud Scheduler sends application/octet-stream unless told otherwise.
        inner = scheduled_input(request.get_json(force=True, silent=True))
        if inner is not None:
            if not scheduler_call_is_authentic(headers):
                return "forbidden", 403
            event = to_scheduled(headers, inner, ctx.function)
            call_scheduled(load_handler(), event, ctx)
            return "", 204
    return to_flask_response(call_http(load_handler(), to_http_request(request), ctx))


# --- caller authentication -----------------------------------------------------------------


def scheduler_call_is_authentic(headers: Mapping[str, str]) -> bool:
    """Whether a scheduled-looking call really comes from this function's Cloud Scheduler job.

    ``headers`` has lower-cased names. Only public functions need the check (see module doc).
    """
    if not _is_public():
        return True
    return caller_is(headers, os.environ.get(env.SCHEDULER_IDENTITY))


def caller_is(headers: Mapping[str, str], expected: str | None, path: str | None = None) -> bool:
    """Whether the request carries a valid Google OIDC token of service account ``expected``.

    See :func:`caller_in`; ``headers`` has lower-cased names.
    """
    if not expected:
        return False
    return caller_in(headers, (expected,), path)


def caller_in(headers: Mapping[str, str], allowed: Collection[str], path: str | None = None) -> bool:
    """Whether the request carries a valid Google OIDC token of one of the ``allowed`` accounts.

    The token must be signed by Google (checked against :data:`GOOGLE_OIDC_CERTS_URL`),
    unexpired, issued by Google, for a verified ``email`` in ``allowed``, and meant for this
    function: audience ``https://<host>`` or, when ``path`` is given, ``https://<host><path>``
    (Pub/Sub push and Eventarc put either, depending on whether the subscription names an
    audience; Cloud Workflows' OIDC audience defaults to the full URL it calls). ``headers`` has
    lower-cased names.
    """
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if not allowed or scheme.lower() != "bearer" or not token:
        return False
    # Imported only here: a public function with triggers or a schedule ships google-auth.
    from google.auth.transport import requests as google_requests
    from google.oauth2 import id_token

    try:
        claims = id_token.verify_token(token, google_requests.Request(), audience=None, certs_url=GOOGLE_OIDC_CERTS_URL)
    except Exception:  # any verification failure, whatever google-auth raises, means "refuse"
        return False
    origin = f"https://{headers.get('host', '')}"
    audiences = {origin}
    if path:
        audiences.add((origin + path).rstrip("/"))
    return (
        claims.get("iss") in GOOGLE_ISSUERS
        and claims.get("email") in allowed
        and claims.get("email_verified") is True
        and str(claims.get("aud", "")).rstrip("/") in audiences
    )


def _is_public() -> bool:
    return os.environ.get(env.HTTP) == "public"


# --- trigger descriptors -------------------------------------------------------------------


def triggers() -> tuple[Mapping[str, Any], ...]:
    """The trigger descriptors the deploy side put in ``OMNICLOUD_TRIGGERS``."""
    return _parse_triggers(os.environ.get(TRIGGERS, "[]"))


@functools.lru_cache(maxsize=4)
def _parse_triggers(raw: str) -> tuple[Mapping[str, Any], ...]:
    # Cached by the raw text: the variable is fixed for the life of an instance.
    try:
        parsed = json.loads(raw or "[]")
    except ValueError:
        log.error("%s is not JSON; no trigger is known to this function", TRIGGERS)
        return ()
    if not isinstance(parsed, list):
        log.error("%s is not a JSON list; no trigger is known to this function", TRIGGERS)
        return ()
    return tuple(item for item in parsed if isinstance(item, Mapping))


def trigger(kind: str, name: str, subscription: str | None = None) -> Mapping[str, Any] | None:
    """The descriptor of trigger ``kind``/``name`` (and bus ``subscription``), if deployed."""
    for item in triggers():
        if item.get("kind") != kind or item.get("name") != name:
            continue
        if subscription is None or item.get("subscription") == subscription:
            return item
    return None


# --- internal routes -----------------------------------------------------------------------


def _internal(request: flask.Request, headers: Mapping[str, str], ctx: Context) -> flask.Response | tuple[str, int]:
    """Route a trigger delivery or a workflow task under :data:`INTERNAL_PREFIX`."""
    if request.path == TASK_ROUTE:
        return _task(request, headers, ctx)
    parts = request.path[len(INTERNAL_PREFIX) :].split("/")
    match parts:
        case ["queue", name] if name:
            kind, subscription = "queue", None
        case ["bus", name, subscription] if name and subscription:
            kind = "bus"
        case ["table", name] if name:
            kind, subscription = "table", None
        case _:
            return "not found", 404
    if request.method != "POST":
        return "method not allowed", 405
    descriptor = trigger(kind, name, subscription)
    if _is_public() and not caller_is(headers, (descriptor or {}).get("identity"), request.path):
        # No descriptor means nothing was deployed to call this route: nobody may.
        return "forbidden", 403
    body = request.get_data(cache=True)
    try:
        if kind == "queue":
            event: Any = to_queue_batch(name, _json_body(body))
        elif kind == "bus":
            event = to_event(headers, body)
        else:
            event = to_table_change(name, to_event(headers, body), descriptor)
    except ValueError as exc:
        # Malformed: answered 400, which the sender also retries and finally dead-letters,
        # so the delivery is kept for inspection rather than lost.
        log.error("malformed %s delivery to %s: %s", kind, request.path, exc)
        return "bad request", 400
    return _deliver(load_handler(), event, ctx)


def _deliver(user: Handler, event: QueueBatch | Event | TableChange, ctx: Context) -> tuple[str, int]:
    """Call the handler; 204 acknowledges, 500 asks the sender to retry."""
    try:
        result = user(event, ctx)
        if isinstance(event, QueueBatch) and failed_message_ids(result, event):
            log.warning(
                "queue handler reported message %s of '%s' failed (function=%s); Pub/Sub redelivers it",
                event.messages[0].id,
                event.queue,
                ctx.function,
            )
            return _RETRY
    except Exception:
        log.exception(
            "%s handler failed (function=%s invocation=%s); the delivery is retried",
            type(event).__name__,
            ctx.function,
            ctx.invocation_id,
        )
        return _RETRY
    return _ACK


# --- workflow tasks ------------------------------------------------------------------------


def task_callers() -> tuple[str, ...]:
    """The service accounts allowed to call the task route of a public function.

    From ``OMNICLOUD_TASK_CALLERS`` (a JSON list of emails); unreadable means nobody.
    """
    return _parse_callers(os.environ.get(env.TASK_CALLERS, "[]"))


@functools.lru_cache(maxsize=4)
def _parse_callers(raw: str) -> tuple[str, ...]:
    try:
        parsed = json.loads(raw or "[]")
    except ValueError:
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        log.error("%s is not a JSON list of emails; no workflow may call this function", env.TASK_CALLERS)
        return ()
    return tuple(parsed)


def _task(request: flask.Request, headers: Mapping[str, str], ctx: Context) -> flask.Response | tuple[str, int]:
    if request.method != "POST":
        return "method not allowed", 405
    if _is_public() and not caller_in(headers, task_callers(), request.path):
        return "forbidden", 403
    status, body = run_task(request.get_data(cache=True), ctx)
    from flask import Response

    return Response(response=body, status=status, mimetype="application/json")


def run_task(body: bytes, ctx: Context) -> tuple[int, bytes]:
    """Answer one workflow task request with the user's handler (see :func:`answer_task`)."""
    return answer_task(body, load_handler(), ctx)


# --- Pub/Sub push --------------------------------------------------------------------------


def _json_body(body: bytes) -> Mapping[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        raise ValueError("body is not JSON") from None
    if not isinstance(parsed, Mapping):
        raise ValueError("body is not a JSON object")
    return parsed


def _push_message(envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    message = envelope.get("message")
    if not isinstance(message, Mapping):
        raise ValueError('not a Pub/Sub push body: no "message" object')
    return message


def _push_data(message: Mapping[str, Any]) -> bytes:
    try:
        return base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, TypeError):
        raise ValueError("Pub/Sub message data is not base64") from None


def _pick(message: Mapping[str, Any], camel: str, snake: str) -> Any:
    # The push format is camelCase; the emulator (and older senders) also send snake_case.
    value = message.get(camel)
    return message.get(snake) if value is None else value


def to_queue_batch(queue: str, envelope: Mapping[str, Any]) -> QueueBatch:
    """A Pub/Sub push body as a :class:`QueueBatch` of its one message.

    The body is ``{"message": {"data", "attributes", "messageId", "publishTime",
    "orderingKey"}, "subscription", "deliveryAttempt"}``; ``deliveryAttempt`` is present
    when the subscription has a dead-letter policy (always, for omnicloud queues).
    """
    message = _push_message(envelope)
    message_id = _pick(message, "messageId", "message_id")
    if not message_id:
        raise ValueError("Pub/Sub message has no messageId")
    published = _pick(message, "publishTime", "publish_time")
    attempt = envelope.get("deliveryAttempt", envelope.get("delivery_attempt"))
    attributes = message.get("attributes") or {}
    return QueueBatch(
        queue=queue,
        messages=(
            QueueMessage(
                id=str(message_id),
                # Bodies are text by contract; undecodable bytes are replaced, not fatal, so
                # the message still reaches the handler (and the DLQ if it fails there).
                body=_push_data(message).decode("utf-8", errors="replace"),
                attributes={str(k): str(v) for k, v in attributes.items()},
                receive_count=int(attempt) if attempt else 1,
                sent_at=parse_time(published, what="publishTime") if published else None,
                group=_pick(message, "orderingKey", "ordering_key") or None,
            ),
        ),
    )


# --- CloudEvents ---------------------------------------------------------------------------


def to_event(headers: Mapping[str, str], body: bytes) -> Event:
    """A CloudEvent delivered over HTTP as an :class:`Event`.

    Accepts HTTP binary content mode (``ce-*`` headers, the data as the body), structured
    content mode (``application/cloudevents+json``), and a Pub/Sub push body whose message is
    a CloudEvent (structured JSON data, or ``ce-*`` attributes with the data as payload).
    ``headers`` has lower-cased names.

    Raises:
        ValueError: none of those, or a required attribute (id, source, type) is missing.
    """
    content_type = headers.get("content-type", "")
    if "ce-id" in headers or "ce-specversion" in headers:
        attributes = {name[3:]: value for name, value in headers.items() if name.startswith("ce-")}
        return cloudevent(attributes, _binary_data(body, content_type), content_type or None)
    if _mime(content_type) == CLOUDEVENTS_JSON:
        return structured_event(_json_body(body))
    envelope = _json_body(body)
    message = _push_message(envelope)
    data = _push_data(message)
    attributes = {str(k): str(v) for k, v in (message.get("attributes") or {}).items()}
    message_type = attributes.get("content-type")
    if _mime(message_type) == CLOUDEVENTS_JSON or "ce-id" not in attributes:
        # Structured: the payload is the whole event. omnicloud's Pub/Sub bus publishes so
        # (adding ce-* attributes only for subscription filters).
        return structured_event(_json_body(data))
    binary = {name[3:]: value for name, value in attributes.items() if name.startswith("ce-")}
    message_type = message_type or binary.pop("datacontenttype", None)
    return cloudevent(binary, _binary_data(data, message_type or ""), message_type)


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _binary_data(body: bytes, content_type: str) -> Any:
    """A binary-mode payload: JSON parsed, text decoded, anything else left as bytes."""
    mime = _mime(content_type)
    if mime == "application/json" or mime.endswith("+json"):
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise ValueError(f"event data is not JSON although its content type is {content_type}") from None
    if is_text(content_type):
        return body.decode("utf-8", errors="replace")
    return body


# --- Firestore triggers --------------------------------------------------------------------


def to_table_change(table: str, event: Event, descriptor: Mapping[str, Any] | None = None) -> TableChange:
    """An Eventarc Firestore ``document.v1`` CloudEvent as a :class:`TableChange`.

    ``event.data`` is the ``DocumentEventData`` — a JSON dict (trigger content type
    ``application/json``) or its protobuf bytes (``application/protobuf``, decoded with the
    ``google-events`` package). The kind is ``insert`` without an old value, ``remove``
    without a new one, else ``modify``. The key holds the key attributes named by the
    trigger descriptor's ``partition_key``/``sort_key``; without them, ``{"__id__":
    <document id>}``. A ``ttl_attribute`` in the descriptor comes back as epoch seconds,
    as the table client returns it.
    """
    if not event.type.startswith(FIRESTORE_EVENT_PREFIX):
        raise ValueError(f"not a Firestore document event: {event.type}")
    data = event.data
    if isinstance(data, bytes | bytearray):
        data = _decode_document_event(bytes(data))
    if not isinstance(data, Mapping):
        raise ValueError("Firestore event data is neither a JSON object nor protobuf")
    descriptor = descriptor or {}
    ttl = descriptor.get("ttl_attribute")
    old_doc = data.get("oldValue") or data.get("old_value")
    new_doc = data.get("value")
    old = document_fields(old_doc, ttl) if old_doc else None
    new = document_fields(new_doc, ttl) if new_doc else None
    if old is None and new is None:
        raise ValueError("Firestore event without value or oldValue")
    kind: ChangeKind = "insert" if old is None else "remove" if new is None else "modify"
    image = new or old or {}
    key_names = [descriptor.get("partition_key"), descriptor.get("sort_key")]
    key = {name: image[name] for name in key_names if name and name in image}
    if not key:
        name = (new_doc or old_doc or {}).get("name") or event.subject or ""
        key = {"__id__": str(name).rsplit("/", 1)[-1]}
    return TableChange(table=table, kind=kind, key=key, old=old, new=new, id=event.id, time=event.time)


def _decode_document_event(payload: bytes) -> Mapping[str, Any]:
    """Protobuf ``DocumentEventData`` as the same dict its JSON form would be."""
    try:
        # Imported only here: needed only when the trigger delivers protobuf.
        from google.events.cloud.firestore_v1 import DocumentEventData
        from google.protobuf import json_format
    except ImportError:
        raise ValueError(
            "Firestore event data is protobuf, which needs the google-events package; "
            "set the trigger's content type to application/json or ship google-events"
        ) from None
    try:
        message = DocumentEventData.pb().FromString(payload)
    except Exception:  # protobuf's DecodeError and friends
        raise ValueError("Firestore event data is not a DocumentEventData protobuf") from None
    # MessageToDict omits unset fields and keeps set oneof members: exactly the JSON form.
    return json_format.MessageToDict(message)


def document_fields(document: Mapping[str, Any], ttl_attribute: str | None = None) -> dict[str, Any]:
    """A Firestore ``Document`` (JSON form) as a plain item dict."""
    fields = document.get("fields") or {}
    item = {name: firestore_value(value) for name, value in fields.items()}
    if ttl_attribute and isinstance(item.get(ttl_attribute), datetime):
        item[ttl_attribute] = _epoch(item[ttl_attribute])
    return {name: _isoformat(value) for name, value in item.items()}


def firestore_value(value: Mapping[str, Any]) -> Any:
    """One Firestore ``Value`` (JSON form) as a plain value.

    Integers arrive as strings (int64 in proto JSON) and become ``int``; timestamps become
    aware datetimes here (:func:`document_fields` renders them as ISO 8601, except the TTL
    attribute); bytes become ``bytes``; maps and arrays recurse.
    """
    if "nullValue" in value:
        return None
    if "booleanValue" in value:
        return bool(value["booleanValue"])
    if "integerValue" in value:
        return int(value["integerValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])  # also "NaN", "Infinity"
    if "stringValue" in value:
        return value["stringValue"]
    if "timestampValue" in value:
        return parse_time(str(value["timestampValue"]), what="timestampValue")
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    if "referenceValue" in value:
        return value["referenceValue"]
    if "geoPointValue" in value:
        point = value["geoPointValue"]
        return {"latitude": float(point.get("latitude", 0.0)), "longitude": float(point.get("longitude", 0.0))}
    if "mapValue" in value:
        return {k: firestore_value(v) for k, v in (value["mapValue"].get("fields") or {}).items()}
    if "arrayValue" in value:
        return [firestore_value(v) for v in (value["arrayValue"].get("values") or [])]
    raise ValueError(f"unknown Firestore value: {sorted(value)}")


def _epoch(moment: datetime) -> int | float:
    seconds = moment.timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def _isoformat(value: Any) -> Any:
    # Timestamps outside the TTL attribute become ISO 8601 text, so images are plain JSON.
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _isoformat(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_isoformat(v) for v in value]
    return value


# --- ordinary HTTP and schedules -----------------------------------------------------------


def _invocation_id(headers: Mapping[str, str]) -> str:
    """Function-Execution-Id, else the trace id; else a fresh id so logs still correlate.

    ``headers`` has lower-cased names.
    """
    execution_id = headers.get("function-execution-id")
    if execution_id:
        return execution_id
    trace = headers.get("x-cloud-trace-context")  # "TRACE_ID/SPAN_ID;o=1"
    if trace:
        return trace.split("/", 1)[0]
    import uuid

    return uuid.uuid4().hex


def to_scheduled(headers: Mapping[str, str], inner: Mapping[str, Any], function: str) -> Scheduled:
    """Cloud Scheduler's request as :class:`Scheduled`.

    ``headers`` has lower-cased names; ``inner`` is the dict inside ``"omnicloud"``.
    """
    raw_time = headers.get(SCHEDULE_TIME_HEADER.lower())
    when = parse_time(raw_time, what=SCHEDULE_TIME_HEADER) if raw_time else now_utc()
    return Scheduled(schedule=schedule_expression(inner), time=when, function=function)


def to_http_request(request: flask.Request) -> HttpRequest:
    """A flask request as a portable :class:`HttpRequest`."""
    headers = lower_headers(request.headers.items())
    query_string = request.query_string.decode("utf-8", errors="replace")
    return HttpRequest(
        method=request.method,
        path=request.path or "/",
        query=first_values(query_string),
        headers=headers,
        body=request.get_data(cache=True),
        query_string=query_string,
        source_ip=first_forwarded_for(headers.get("x-forwarded-for")) or request.remote_addr,
        cookies=split_cookie_header(headers.get("cookie")),
    )


def to_flask_response(response: HttpResponse) -> flask.Response:
    """A portable :class:`HttpResponse` as a flask ``Response``."""
    from flask import Response

    headers = list(response_headers(response).items())
    headers += [("Set-Cookie", cookie) for cookie in response.cookies]
    return Response(response=response.content, status=response.status, headers=headers)


def entry_files() -> dict[str, str]:
    """The files the deployment source needs at its root: ``{"main.py": ...}``."""
    return {"main.py": _MAIN_PY}
