"""Azure Functions entry point (Python v2 programming model).

The deployed package's ``function_app.py`` (rendered by :func:`entry_files`) is just::

    from components.runtime.adapters.azure import build_app

    app = build_app(http="public", schedule="0 0 2 * * *")

:func:`build_app` registers, on one ``FunctionApp``:

* ``http`` (when ``http`` is given): a catch-all route ``{*path}`` for every method, with
  ``routePrefix`` set to ``""`` in ``host.json`` so the function URL is
  ``https://<host>/<path>``. ``"public"`` is anonymous; ``"private"`` requires a function key.
* ``timer`` (when ``schedule`` is given): a timer trigger on the NCRONTAB expression the
  provider translated from the portable one; the handler sees the portable expression from
  ``OMNICLOUD_SCHEDULE``.
* ``call_task`` (always): ``POST /_omnicloud/task``, the workflow task route
  (:mod:`components.runtime.orchestration.task`), with function-key auth even on a public app. The
  handler is called with the envelope's ``input``; the reply is always ``200`` with
  ``{"output": ...}`` or ``{"error", "cause"}`` (a body that is not a task envelope gets
  ``400``). Its name is not ``omnicloud_task`` on purpose: the Functions host matches routes
  in the order of the function names (sorted, case-insensitive) and, unlike ASP.NET Core,
  does not rank a literal segment above the catch-all ``{*path}``; the name sorts before
  ``http`` so the task route is tried first. Every other request to that path (any method
  but POST) still reaches the catch-all.
* one function per trigger descriptor in ``OMNICLOUD_TRIGGERS`` (a JSON list the deploy side
  writes into the app settings; read when the worker indexes the app):

  - ``{"kind": "queue", "name", "queue", "fifo", "batch_size", "namespace"}`` → function
    ``queue_<name>``: a Service Bus queue trigger (identity connection ``OMNICLOUD_SB``,
    sessions for FIFO, cardinality ``many`` when ``batch_size`` > 1) → :class:`QueueBatch`
    of at most ``batch_size`` messages (the host's batch size is an app-wide ``host.json``
    setting, so the adapter splits larger deliveries). With
    ``azurefunctions-extensions-bindings-servicebus`` in the package (see
    :data:`REQUIREMENTS`) messages are settled one by one: ``autoCompleteMessages`` is off,
    the handler's failed ids (and, on FIFO queues, the later messages of their groups) are
    abandoned and redelivered, the others completed. Without it the handler's failed ids
    fail the whole delivery, which the host abandons, so every message of it is redelivered.
  - ``{"kind": "bus", "name", "subscription"}`` → function ``bus_<subscription>``
    (``-`` → ``_``): an Event Grid trigger whose CloudEvents 1.0 event becomes an
    :class:`Event`. An exception makes Event Grid retry, then dead-letter, the event.
  - ``{"kind": "table", "name", "database", "container", "lease_container", "endpoint",
    "partition_key", "sort_key"}`` → function ``table_<name>``: a Cosmos DB change feed
    trigger (identity connection ``OMNICLOUD_COSMOS``) → one :class:`TableChange` per changed
    document, in order. The change feed's latest-version mode carries no deletes (nor TTL
    expiries) and no old image, so ``kind`` is ``"insert"`` or ``"modify"`` (told apart by the
    marker the table client writes on creation) and ``old`` is None. A failing change fails
    the invocation; the host retries the batch with exponential backoff
    (:data:`CHANGE_RETRIES` times), then moves past it.

``azure.functions`` (and the Service Bus extension) are imported only inside
:func:`build_app`, so importing this module (for example to render :func:`entry_files` at
deploy time) stays standard-library only.
"""

# No `from __future__ import annotations` here on purpose: the Functions worker reads the
# nested entry functions' annotations to bind triggers, and they must be the real
# azure.functions classes, not strings it would have to resolve in this module's globals.

import json
import logging
import os
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from components.runtime import env
from components.runtime.adapters._common import (
    first_values,
    function_name,
    lower_headers,
    now_utc,
    response_headers,
    split_cookie_header,
)
from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled
from components.runtime.handler import Handler, call_http, call_scheduled, failed_message_ids, load_handler
from components.runtime.messages import Event, QueueBatch, QueueMessage, TableChange
from components.runtime.orchestration.task import TASK_ROUTE, answer_task

if TYPE_CHECKING:
    import azure.functions

__all__ = [
    "CHANGE_RETRIES",
    "COSMOS_CONNECTION",
    "HTTP_FUNCTION",
    "HTTP_METHODS",
    "REQUIREMENTS",
    "SERVICE_BUS_CONNECTION",
    "SETTLEMENT_REQUIREMENT",
    "TASK_FUNCTION",
    "TIMER_FUNCTION",
    "TRIGGERS_ENV",
    "BatchFailed",
    "build_app",
    "entry_files",
    "entry_module",
    "failed_message_ids",
    "host_settings",
    "queue_message_from_binding",
    "queue_message_from_sdk",
    "run_task",
    "to_azure_response",
    "to_event",
    "to_http_request",
    "to_table_change",
    "trigger_descriptors",
    "trigger_function_name",
]

log = logging.getLogger("omnicloud.runtime")

CLOUD = "azure"
HTTP_FUNCTION = "http"
"""Azure function name of the HTTP entry (what function keys are scoped to)."""
TIMER_FUNCTION = "timer"
"""Azure function name of the timer entry."""
TASK_FUNCTION = "call_task"
"""Azure function name of the workflow task route; it must sort before :data:`HTTP_FUNCTION`
(see the module docstring)."""
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
HTTP_ROUTE = "{*path}"
_AUTH_LEVELS = {"public": "ANONYMOUS", "private": "FUNCTION"}

TRIGGERS_ENV = "OMNICLOUD_TRIGGERS"
"""App setting with the JSON list of trigger descriptors (``providers.shared.TRIGGERS_ENV``)."""
SERVICE_BUS_CONNECTION = "OMNICLOUD_SB"
"""Connection prefix of Service Bus triggers: the host reads the app setting
``OMNICLOUD_SB__fullyQualifiedNamespace`` and connects with the app's managed identity."""
COSMOS_CONNECTION = "OMNICLOUD_COSMOS"
"""Connection prefix of Cosmos DB triggers (app setting ``OMNICLOUD_COSMOS__accountEndpoint``)."""
CHANGE_RETRIES = 10
"""Retries of a failing change batch (exponential backoff, 5 s to 5 min) before the change
feed moves past it (Cosmos DB has no dead-letter destination for its trigger)."""
SETTLEMENT_REQUIREMENT = "azurefunctions-extensions-bindings-servicebus>=1.0.0b2,<2"
"""The Functions extension that gives a Python function per-message Service Bus settlement."""
REQUIREMENTS = ("azure-functions>=1.26", SETTLEMENT_REQUIREMENT)
"""What the deployed package needs for this adapter (the Functions ``CloudEvent`` type and
per-message settlement); the worker prefers the package's ``azure-functions`` to its own."""
_TRIGGER_KEYS = {
    "queue": ("name", "queue"),
    "bus": ("name", "subscription"),
    "table": ("name", "database", "container", "lease_container", "partition_key"),
}


def _check_args(http: str | None, schedule: str | None) -> None:
    if http is not None and http not in _AUTH_LEVELS:
        raise ValueError(f"http must be None, 'public' or 'private', got {http!r}")
    if schedule is not None and len(schedule.split()) != 6:
        raise ValueError(
            f"schedule must be a 6-field NCRONTAB expression "
            f"('{{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}'), "
            f"got {schedule!r}"
        )


def build_app(http: str | None, schedule: str | None) -> "azure.functions.FunctionApp":
    """The ``FunctionApp`` the Azure Functions worker indexes.

    Args:
        http: ``None`` (no HTTP trigger), ``"public"`` (anonymous) or ``"private"``
            (function-key auth).
        schedule: ``None`` or a 6-field NCRONTAB expression, already translated from the
            portable syntax by the provider.

    Also registers one function per descriptor in ``OMNICLOUD_TRIGGERS`` (see the module
    docstring).

    Raises:
        ValueError: ``http`` or ``schedule`` is malformed, or ``OMNICLOUD_TRIGGERS`` is not a
            list of well-formed descriptors with distinct function names.
    """
    _check_args(http, schedule)
    triggers = trigger_descriptors()
    import azure.functions as func

    level = func.AuthLevel[_AUTH_LEVELS[http or "private"]]
    app = func.FunctionApp(http_auth_level=level)

    if http is not None:

        @app.function_name(HTTP_FUNCTION)
        @app.route(route=HTTP_ROUTE, methods=list(HTTP_METHODS), auth_level=level)
        def http_entry(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            ctx = _context(context)
            response = call_http(load_handler(), to_http_request(req), ctx)
            return to_azure_response(response)

    @app.function_name(TASK_FUNCTION)
    @app.route(route=TASK_ROUTE.lstrip("/"), methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
    def task_entry(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        status, body = run_task(req.get_body(), _context(context))
        return func.HttpResponse(body, status_code=status, mimetype="application/json")

    if schedule is not None:

        @app.function_name(TIMER_FUNCTION)
        @app.timer_trigger(arg_name="timer", schedule=schedule, run_on_startup=False, use_monitor=True)
        def timer_entry(timer: func.TimerRequest, context: func.Context) -> None:
            ctx = _context(context)
            event = Scheduled(schedule=_portable_schedule(), time=now_utc(), function=ctx.function)
            call_scheduled(load_handler(), event, ctx)

    for descriptor in triggers:
        _REGISTER[descriptor["kind"]](app, descriptor)
    return app


def run_task(body: bytes, ctx: Context) -> tuple[int, bytes]:
    """Answer one workflow task request with the user's handler (see :func:`answer_task`)."""
    return answer_task(body, load_handler(), ctx)


def _portable_schedule() -> str:
    return os.environ.get(env.SCHEDULE, "")


def _context(context: Any) -> Context:
    return Context(
        function=function_name(getattr(context, "function_name", None)),
        cloud=CLOUD,
        invocation_id=str(getattr(context, "invocation_id", "") or ""),
        native=context,
    )


def to_http_request(req: "azure.functions.HttpRequest") -> HttpRequest:
    """An Azure Functions ``HttpRequest`` as a portable :class:`HttpRequest`."""
    url = urlsplit(req.url)
    headers = lower_headers((k, v) for k, v in req.headers.items())
    query = first_values(url.query) if url.query else dict(req.params)
    return HttpRequest(
        method=req.method,
        path=unquote(url.path) or "/",
        query=query,
        headers=headers,
        body=req.get_body() or b"",
        query_string=url.query,
        source_ip=_client_ip(headers),
        cookies=split_cookie_header(headers.get("cookie")),
    )


def _client_ip(headers: Mapping[str, str]) -> str | None:
    """The client address; App Service puts it in X-Forwarded-For as ``ip:port``."""
    raw = headers.get("x-forwarded-for") or headers.get("client-ip")
    if not raw:
        return None
    first = raw.split(",", 1)[0].strip()
    if first.startswith("["):  # [v6]:port
        return first[1:].split("]", 1)[0]
    if first.count(":") == 1:  # v4:port (a bare IPv6 address has several colons)
        return first.split(":", 1)[0]
    return first or None


def to_azure_response(response: HttpResponse) -> "azure.functions.HttpResponse":
    """A portable :class:`HttpResponse` as an Azure Functions ``HttpResponse``."""
    import azure.functions as func

    out = func.HttpResponse(response.content, status_code=response.status, headers=response_headers(response))
    for cookie in response.cookies:
        # The worker turns each Set-Cookie header into its own cookie.
        out.headers.add("Set-Cookie", cookie)
    return out


# --- trigger descriptors ---------------------------------------------------------------------


def trigger_descriptors() -> list[dict[str, Any]]:
    """The descriptors in ``OMNICLOUD_TRIGGERS`` (empty when unset), checked.

    Raises:
        ValueError: not a JSON list of objects; a descriptor of an unknown kind or without
            the keys its kind needs; two descriptors that would get one function name.
    """
    raw = os.environ.get(TRIGGERS_ENV, "").strip()
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{TRIGGERS_ENV} is not JSON ({exc}): {raw[:200]!r}") from None
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        raise ValueError(f"{TRIGGERS_ENV} must be a JSON list of objects, got {raw[:200]!r}")
    names: dict[str, dict[str, Any]] = {}
    for descriptor in parsed:
        kind = descriptor.get("kind")
        if kind not in _TRIGGER_KEYS:
            raise ValueError(f"{TRIGGERS_ENV}: unknown trigger kind {kind!r} in {descriptor}")
        missing = [key for key in _TRIGGER_KEYS[kind] if not descriptor.get(key)]
        if missing:
            raise ValueError(f"{TRIGGERS_ENV}: {kind} trigger {descriptor} lacks {missing}")
        name = _function_name_of(descriptor)
        if name in names:
            raise ValueError(f"{TRIGGERS_ENV}: {descriptor} and {names[name]} would both be Azure function '{name}'")
        names[name] = descriptor
    return parsed


def trigger_function_name(kind: str, name: str) -> str:
    """The Azure function name of a trigger: ``<kind>_<name>`` with every character other
    than letters, digits and ``_`` as ``_`` (for a bus trigger ``name`` is the subscription's).

    The deploy side addresses Event Grid deliveries to ``<app id>/functions/<this name>``.
    """
    return f"{kind}_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _function_name_of(descriptor: Mapping[str, Any]) -> str:
    kind = descriptor["kind"]
    return trigger_function_name(kind, descriptor["subscription" if kind == "bus" else "name"])


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# --- Service Bus queues ----------------------------------------------------------------------


class BatchFailed(RuntimeError):
    """Some messages of a Service Bus delivery failed and the adapter cannot settle them one
    by one, so the whole delivery fails (and is redelivered)."""


def _register_queue(app: "azure.functions.FunctionApp", descriptor: Mapping[str, Any]) -> None:
    import azure.functions as func

    queue = str(descriptor["name"])
    batch_size = max(1, int(descriptor.get("batch_size") or 1))
    many = batch_size > 1
    namespace = descriptor.get("namespace")
    # Basic and Standard (FIFO) queues live in different namespaces, each with its own
    # connection prefix; the descriptor says which.
    connection = str(descriptor.get("connection") or SERVICE_BUS_CONNECTION)
    if namespace:
        # The host resolves the connection from its app settings, which the deploy side
        # writes; mirroring the value here gives code in the worker the same view and never
        # overrides a setting that is there.
        os.environ.setdefault(f"{connection}__fullyQualifiedNamespace", str(namespace))
    try:
        # Present when the package vendors it (REQUIREMENTS); it lets a Python function
        # settle each message through the host.
        import azurefunctions.extensions.bindings.servicebus as settlement
    except ImportError:
        settlement = None
    trigger = app.service_bus_queue_trigger(
        arg_name="messages",
        connection=connection,
        queue_name=str(descriptor["queue"]),
        is_sessions_enabled=bool(descriptor.get("fifo", False)),
        cardinality=func.Cardinality.MANY if many else func.Cardinality.ONE,
        # Off when the adapter settles each message itself; otherwise the host completes a
        # delivery that succeeded and abandons one that raised.
        auto_complete_messages=settlement is None,
    )
    name = trigger_function_name("queue", queue)
    log.info("queue trigger %s: %s settlement", name, "per-message" if settlement else "whole-delivery")
    # The worker binds parameters by their annotations, and the message annotation depends
    # on the cardinality (a list for "many"): hence a variable in a type position. It must
    # be typing.List: azure.functions' type check does not recognise list[...].
    if settlement is not None:
        sdk_message = settlement.ServiceBusReceivedMessage
        received = typing.List[sdk_message] if many else sdk_message  # noqa: UP006

        @app.function_name(name)
        @trigger
        def queue_settled_entry(
            messages: received,  # pyright: ignore[reportInvalidTypeForm]
            message_actions: settlement.ServiceBusMessageActions,  # pyright: ignore[reportInvalidTypeForm]
            context: func.Context,
        ) -> None:
            settle_queue_delivery(queue, batch_size, _as_list(messages), message_actions, _context(context))

        return

    bound = typing.List[func.ServiceBusMessage] if many else func.ServiceBusMessage  # noqa: UP006

    @app.function_name(name)
    @trigger
    def queue_entry(messages: bound, context: func.Context) -> None:  # pyright: ignore[reportInvalidTypeForm]
        run_queue_delivery(queue, batch_size, _as_list(messages), _context(context))


def settle_queue_delivery(queue: str, batch_size: int, natives: Sequence[Any], actions: Any, ctx: Context) -> None:
    """Handle a delivery of SDK messages in batches of ``batch_size`` and settle each message:
    abandon the failed ones (Service Bus redelivers them and dead-letters a message after the
    queue's max delivery count), complete the rest.

    A batch whose handler raised, or returned something other than the ids of its messages,
    is abandoned whole; the other batches of the delivery are still handled, except that
    messages of a group (session) with a failed message are abandoned unhandled, to keep the
    group's order. The invocation then fails with the first error, after everything is settled.
    """
    user = load_handler()
    errors: list[Exception] = []
    failed_groups: set[str] = set()
    for chunk in _chunks(natives, batch_size):
        pairs = [(native, queue_message_from_sdk(native)) for native in chunk]
        held = {message.id for _, message in pairs if message.group is not None and message.group in failed_groups}
        batch = QueueBatch(queue=queue, messages=tuple(message for _, message in pairs if message.id not in held))
        failed = set(held)
        if batch.messages:
            try:
                failed |= set(failed_message_ids(user(batch, ctx), batch))
            except Exception as exc:
                log.exception(
                    "queue handler failed on a batch of %d from '%s' (function=%s)", len(chunk), queue, ctx.function
                )
                errors.append(exc)
                failed |= {message.id for message in batch.messages}
        for native, message in pairs:
            if message.id in failed and message.group is not None:
                failed_groups.add(message.group)
            try:
                if message.id in failed:
                    actions.abandon(native)
                else:
                    actions.complete(native)
            except Exception as exc:
                # The lock was lost or the host is gone: Service Bus redelivers the message
                # when its lock expires, so at-least-once delivery still holds.
                log.exception("could not settle message %s of '%s'", message.id, queue)
                errors.append(exc)
    if errors:
        raise errors[0]


def run_queue_delivery(queue: str, batch_size: int, natives: Sequence[Any], ctx: Context) -> None:
    """Handle a delivery of ``azure.functions.ServiceBusMessage`` in batches of ``batch_size``
    without per-message settlement: the first failure fails the whole delivery.

    Raises:
        BatchFailed: the handler reported failed ids; the host abandons every message of the
            delivery, so the successful ones are redelivered too (a semantic difference from
            the other clouds that ``azurefunctions-extensions-bindings-servicebus`` removes).
    """
    user = load_handler()
    for chunk in _chunks(natives, batch_size):
        batch = QueueBatch(queue=queue, messages=tuple(queue_message_from_binding(native) for native in chunk))
        # An exception propagates as it is: the host abandons the delivery. Later batches
        # are not handled, since all of them are redelivered anyway.
        failed = failed_message_ids(user(batch, ctx), batch)
        if failed:
            raise BatchFailed(
                f"{len(failed)} of {len(batch.messages)} messages from '{queue}' failed ({', '.join(failed)}); "
                f"without per-message settlement all {len(natives)} messages of this delivery are redelivered"
            )


def queue_message_from_sdk(native: Any) -> QueueMessage:
    """A ``azure.servicebus.ServiceBusReceivedMessage`` from the host (SDK-type binding)."""
    from components.runtime.clients.azure import as_utc, received_text, string_properties

    enqueued = native.enqueued_time_utc
    return QueueMessage(
        id=str(native.message_id),
        body=received_text(native.body),
        attributes=string_properties(native.application_properties),
        # The host passes the message as its .NET SDK holds it, whose header already counts
        # this delivery (1 on the first); max() keeps a raw AMQP 0 from reading as "never".
        receive_count=max(1, native.delivery_count or 0),
        sent_at=as_utc(enqueued) if enqueued is not None else None,
        group=native.session_id,
    )


def queue_message_from_binding(native: "azure.functions.ServiceBusMessage") -> QueueMessage:
    """An ``azure.functions.ServiceBusMessage`` (the worker's own binding type)."""
    from components.runtime.clients.azure import as_utc, string_properties

    enqueued = native.enqueued_time_utc
    if isinstance(enqueued, str):
        enqueued = datetime.fromisoformat(enqueued)
    return QueueMessage(
        id=str(native.message_id),
        body=native.get_body().decode("utf-8", errors="replace"),
        attributes=string_properties(native.application_properties),
        receive_count=native.delivery_count or 1,
        sent_at=as_utc(enqueued) if enqueued is not None else None,
        group=native.session_id,
    )


# --- Event Grid --------------------------------------------------------------------------------


def _register_bus(app: "azure.functions.FunctionApp", descriptor: Mapping[str, Any]) -> None:
    import azure.functions as func

    bus, subscription = str(descriptor["name"]), str(descriptor["subscription"])

    @app.function_name(trigger_function_name("bus", subscription))
    @app.event_grid_trigger(arg_name="event")
    def bus_entry(event: func.CloudEvent, context: func.Context) -> None:
        ctx = _context(context)
        try:
            load_handler()(to_event(event), ctx)
        except Exception:
            log.exception("event handler failed for '%s' of bus '%s'; Event Grid retries it", subscription, bus)
            raise


def to_event(event: Any) -> Event:
    """An Event Grid delivery (``azure.functions.CloudEvent``, or an ``EventGridEvent`` from a
    subscription in the Event Grid schema) as a portable :class:`Event`."""
    if hasattr(event, "specversion"):
        return Event(
            id=str(event.id),
            source=str(event.source),
            type=str(event.type),
            subject=event.subject,
            time=_aware(event.time),
            data=event.get_json(),
            specversion=str(event.specversion or "1.0"),
            datacontenttype=str(event.datacontenttype or "application/json"),
        )
    return Event(
        id=str(event.id),
        source=str(event.topic or ""),
        type=str(event.event_type),
        subject=event.subject,
        time=_aware(event.event_time),
        data=event.get_json(),
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- Cosmos DB change feed ---------------------------------------------------------------------


def _register_table(app: "azure.functions.FunctionApp", descriptor: Mapping[str, Any]) -> None:
    import azure.functions as func

    endpoint = descriptor.get("endpoint")
    if endpoint:
        # As for Service Bus: the host reads its own app setting; this mirrors it.
        os.environ.setdefault(f"{COSMOS_CONNECTION}__accountEndpoint", str(endpoint))
    function = os.environ.get(env.FUNCTION)

    @app.function_name(trigger_function_name("table", str(descriptor["name"])))
    @app.retry(
        strategy="exponential_backoff",
        max_retry_count=str(CHANGE_RETRIES),
        minimum_interval="00:00:05",
        maximum_interval="00:05:00",
    )
    @app.cosmos_db_trigger(
        arg_name="documents",
        connection=COSMOS_CONNECTION,
        database_name=str(descriptor["database"]),
        container_name=str(descriptor["container"]),
        lease_container_name=str(descriptor["lease_container"]),
        # Data-plane RBAC cannot create containers: the deploy side creates the lease one.
        create_lease_container_if_not_exists=False,
        # Functions that watch one table share its lease container; a prefix per function
        # gives each its own leases, so each sees every change.
        lease_container_prefix=f"{function}." if function else None,
    )
    def table_entry(documents: func.DocumentList, context: func.Context) -> None:
        run_changes(descriptor, documents, _context(context), getattr(context, "retry_context", None))


def run_changes(descriptor: Mapping[str, Any], documents: Iterable[Any], ctx: Context, retry: Any = None) -> None:
    """Call the handler with each changed document as a :class:`TableChange`, in order; the
    first failure fails the invocation (the host retries the whole batch, so changes before
    the failing one are delivered again)."""
    user: Handler = load_handler()
    changes = [
        to_table_change(
            document,
            table=str(descriptor["name"]),
            partition_key=str(descriptor["partition_key"]),
            sort_key=descriptor.get("sort_key"),
        )
        for document in documents
        if document is not None
    ]
    for position, change in enumerate(changes):
        try:
            user(change, ctx)
        except Exception:
            attempt = int(getattr(retry, "retry_count", 0) or 0)
            limit = int(getattr(retry, "max_retry_count", CHANGE_RETRIES) or CHANGE_RETRIES)
            if attempt >= limit:
                log.error(
                    "giving up on %d changes of table '%s' from %s on (keys %s): Cosmos DB's change feed "
                    "trigger has no dead-letter destination",
                    len(changes) - position,
                    change.table,
                    change.id,
                    [dict(c.key) for c in changes[position:]],
                )
            log.exception(
                "change handler failed at %s of table '%s' (function=%s, retry %d of %d)",
                change.id,
                change.table,
                ctx.function,
                attempt,
                limit,
            )
            raise


def to_table_change(
    document: Mapping[str, Any], *, table: str, partition_key: str, sort_key: str | None
) -> TableChange:
    """A change feed document (latest-version mode) as a :class:`TableChange`.

    ``kind`` is ``"insert"`` when the document carries the creation marker the table client
    writes only on creating writes, else ``"modify"``; ``old`` is always None (the feed keeps
    no previous version); ``id`` is the version's etag and ``time`` its ``_ts``.
    """
    from components.runtime.clients.azure import CREATED_MARKER, from_document

    raw = dict(document)
    item = from_document(raw)
    key_names = [partition_key] + ([sort_key] if sort_key else [])
    stamp = raw.get("_ts")
    return TableChange(
        table=table,
        kind="insert" if CREATED_MARKER in raw else "modify",
        key={name: item.get(name) for name in key_names},
        old=None,
        new=item,
        id=str(raw.get("_etag") or raw.get("_lsn") or "").strip('"'),
        time=datetime.fromtimestamp(stamp, UTC) if isinstance(stamp, int | float) else None,
    )


_REGISTER = {"queue": _register_queue, "bus": _register_bus, "table": _register_table}


def entry_files(http: str | None, ncrontab: str | None, *, function_timeout_s: int | None = None) -> dict[str, str]:
    """The files the deployment package needs at its root, as deterministic text.

    Args:
        http: As for :func:`build_app`.
        ncrontab: As ``schedule`` for :func:`build_app`.
        function_timeout_s: Written to ``host.json`` as ``functionTimeout`` when given (the
            place the Functions host reads the per-invocation time limit from).

    Returns:
        ``{"function_app.py": ..., "host.json": ...}``.

    Raises:
        ValueError: an argument is malformed (caught at deploy time rather than at indexing).
    """
    _check_args(http, ncrontab)
    function_app = entry_module("components.runtime.adapters.azure", f"build_app(http={http!r}, schedule={ncrontab!r})")
    host = host_settings(function_timeout_s=function_timeout_s)
    return {"function_app.py": function_app, "host.json": json.dumps(host, indent=2) + "\n"}


def entry_module(module: str, call: str) -> str:
    """The text of a generated ``function_app.py``: ``app = <call>`` from ``module``."""
    builder = call.split("(", 1)[0]
    return (
        '"""Azure Functions entry point, generated by omnicloud: do not edit."""\n'
        "\n"
        f"from {module} import {builder}\n"
        "\n"
        f"app = {call}\n"
    )


def host_settings(*, function_timeout_s: int | None = None) -> dict[str, Any]:
    """The ``host.json`` every omnicloud app starts from: extension bundle v4, no ``/api`` route
    prefix and, when given, the per-invocation ``functionTimeout``.

    Raises:
        ValueError: ``function_timeout_s`` is below 1.
    """
    host: dict[str, Any] = {
        "version": "2.0",
        "extensionBundle": {
            "id": "Microsoft.Azure.Functions.ExtensionBundle",
            "version": "[4.*, 5.0.0)",
        },
        # An empty prefix drops the default "/api", so the URL path is the handler's path
        # on every cloud.
        "extensions": {"http": {"routePrefix": ""}},
    }
    if function_timeout_s is not None:
        if function_timeout_s < 1:
            raise ValueError(f"function_timeout_s must be >= 1, got {function_timeout_s}")
        hours, rest = divmod(function_timeout_s, 3600)
        host["functionTimeout"] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return host
