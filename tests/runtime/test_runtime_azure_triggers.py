"""The Azure Functions adapter's queue, bus and table triggers.

Functions are registered from ``OMNICLOUD_TRIGGERS`` by the real ``azure.functions``
decorators and driven with the argument types the worker builds: ``azure.functions``'
converters decode host-shaped data (``ServiceBusMessage``, ``CloudEvent``, ``DocumentList``),
and the Service Bus extension's converter decodes the host's model binding data into SDK
messages whose settlement goes over gRPC to a recorder of the host's ``Settlement`` service.
"""

from __future__ import annotations

import json
import logging
import runpy
import sys
import textwrap
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
import pytest
from azure.functions import meta
from azure.functions.cosmosdb import CosmosDBTriggerConverter
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.servicebus import ServiceBusMessageInConverter

from components.runtime import Event, QueueBatch, TableChange, env, handler
from components.runtime.adapters import azure

from .azure_emulators import (
    REPO_ROOT,
    CosmosEmulator,
    HostMessage,
    SettlementRecorder,
    StaticTokenCredential,
    WorkerContext,
    host_binding_messages,
    host_sdk_messages,
    running,
)

# The Cosmos DB SDK never verifies TLS for a 127.0.0.1 endpoint (the emulator's).
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

SB_SETTING = "OMNICLOUD_SB__fullyQualifiedNamespace"
COSMOS_SETTING = "OMNICLOUD_COSMOS__accountEndpoint"
MIRRORED = (SB_SETTING, COSMOS_SETTING)

HANDLERS = textwrap.dedent(
    '''
    """A user's handler module: records calls; tests steer FAIL and RAISE."""
    CALLS = []
    FAIL = None   # batch -> ids to report failed
    RAISE = None  # event -> exception to raise, or None


    def handle(event, ctx):
        CALLS.append((event, ctx))
        if RAISE is not None:
            error = RAISE(event)
            if error is not None:
                raise error
        return FAIL(event) if FAIL is not None else None
    '''
)


@dataclass
class Retry:
    retry_count: int
    max_retry_count: int


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A fresh handler module named by OMNICLOUD_HANDLER; mirrored connection settings are
    put back as they were afterwards."""
    name = f"omni_azure_triggers_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(HANDLERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(env.HANDLER, f"{name}.handle")
    monkeypatch.setenv(env.FUNCTION, "worker")
    for variable in MIRRORED:
        monkeypatch.setenv(variable, "placeholder")
        monkeypatch.delenv(variable)
    handler._clear_cache()
    __import__(name)
    yield sys.modules[name]
    handler._clear_cache()
    sys.modules.pop(name, None)


def set_triggers(monkeypatch: pytest.MonkeyPatch, *descriptors: dict[str, Any]) -> None:
    monkeypatch.setenv(azure.TRIGGERS_ENV, json.dumps(list(descriptors)))


def queue_descriptor(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "queue",
        "name": "jobs",
        "queue": "shop-jobs",
        "fifo": False,
        "batch_size": 10,
        "namespace": "shop.servicebus.windows.net",
        **overrides,
    }


BUS = {"kind": "bus", "name": "events", "subscription": "on-order"}
TABLE = {
    "kind": "table",
    "name": "orders",
    "database": "omnicloud",
    "container": "orders",
    "lease_container": "orders-leases",
    "endpoint": "https://shop.documents.azure.com:443/",
    "partition_key": "pk",
    "sort_key": "sk",
}


def functions(app: func.FunctionApp) -> dict[str, func.Function]:
    return {f.get_function_name() or "": f for f in app.get_functions()}


def trigger_binding(fn: func.Function) -> dict[str, Any]:
    [binding] = json.loads(fn.get_function_json())["bindings"]
    return binding


def without_settlement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the Service Bus extension unimportable, as in a package that does not ship it."""
    monkeypatch.setitem(sys.modules, "azurefunctions.extensions.bindings.servicebus", None)


# --- registration ------------------------------------------------------------------------------


def test_each_descriptor_registers_its_own_function_beside_http_and_timer(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_triggers(monkeypatch, queue_descriptor(), queue_descriptor(name="one-off", queue="q2"), BUS, TABLE)
    app = azure.build_app(http="public", schedule="0 0 2 * * *")
    assert sorted(functions(app)) == sorted(
        ["http", "timer", "call_task", "queue_jobs", "queue_one_off", "bus_on_order", "table_orders"]
    )


def test_no_triggers_setting_registers_no_trigger_function(user: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(azure.TRIGGERS_ENV, raising=False)
    assert sorted(functions(azure.build_app(http="public", schedule=None))) == ["call_task", "http"]
    monkeypatch.setenv(azure.TRIGGERS_ENV, "[]")
    assert sorted(functions(azure.build_app(http="public", schedule=None))) == ["call_task", "http"]


@pytest.mark.parametrize(
    ("fifo", "batch_size", "cardinality"),
    [(False, 10, "MANY"), (True, 25, "MANY"), (False, 1, "ONE"), (True, 1, "ONE")],
)
def test_queue_trigger_binding_connects_by_identity_with_sessions_for_fifo(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, fifo: bool, batch_size: int, cardinality: str
) -> None:
    set_triggers(monkeypatch, queue_descriptor(fifo=fifo, batch_size=batch_size))
    binding = trigger_binding(functions(azure.build_app(http=None, schedule=None))["queue_jobs"])
    assert binding == {
        "direction": "IN",
        "type": "serviceBusTrigger",
        "name": "messages",
        "connection": "OMNICLOUD_SB",
        "queueName": "shop-jobs",
        "isSessionsEnabled": fifo,
        "cardinality": cardinality,
        "autoCompleteMessages": False,
    }


def test_queue_trigger_binds_the_connection_its_descriptor_names(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FIFO queues live in the Standard namespace, reached through their own connection prefix.
    set_triggers(monkeypatch, {**queue_descriptor(fifo=True, batch_size=1), "connection": "OMNICLOUD_SB_FIFO"})
    binding = trigger_binding(functions(azure.build_app(http=None, schedule=None))["queue_jobs"])
    assert binding["connection"] == "OMNICLOUD_SB_FIFO"


def test_queue_trigger_without_the_settlement_extension_lets_the_host_complete(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_settlement(monkeypatch)
    set_triggers(monkeypatch, queue_descriptor())
    fn = functions(azure.build_app(http=None, schedule=None))["queue_jobs"]
    hints = typing.get_type_hints(fn.get_user_function())
    assert trigger_binding(fn)["autoCompleteMessages"] is True
    assert hints["messages"] == typing.List[func.ServiceBusMessage]  # noqa: UP006
    assert ServiceBusMessageInConverter.check_input_type_annotation(hints["messages"])
    assert "message_actions" not in hints


@pytest.mark.parametrize(("batch_size", "many"), [(10, True), (1, False)])
def test_settled_queue_entry_has_the_parameters_the_worker_binds(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, batch_size: int, many: bool
) -> None:
    from azurefunctions.extensions.base import get_binding_registry
    from azurefunctions.extensions.bindings import servicebus

    set_triggers(monkeypatch, queue_descriptor(batch_size=batch_size))
    fn = functions(azure.build_app(http=None, schedule=None))["queue_jobs"]
    hints = typing.get_type_hints(fn.get_user_function())
    registry = get_binding_registry()

    expected = typing.List[servicebus.ServiceBusReceivedMessage] if many else servicebus.ServiceBusReceivedMessage  # noqa: UP006
    assert hints["messages"] == expected
    assert registry.check_supported_type(hints["messages"])  # an SDK-type (deferred) binding
    assert servicebus.ServiceBusConverter.check_input_type_annotation(hints["messages"])
    # The worker injects the settlement client into the one parameter no binding names,
    # when its annotation is a gRPC client type; "context" it fills itself.
    bound = {"messages", "context"}
    assert set(hints) - bound - {"return"} == {"message_actions"}
    assert registry.check_supported_grpc_client_type(hints["message_actions"])
    assert hints["context"] is func.Context


def test_connection_settings_are_mirrored_but_never_overridden(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    set_triggers(monkeypatch, queue_descriptor(), TABLE)
    azure.build_app(http=None, schedule=None)
    assert os.environ[SB_SETTING] == "shop.servicebus.windows.net"
    assert os.environ[COSMOS_SETTING] == "https://shop.documents.azure.com:443/"

    monkeypatch.setenv(SB_SETTING, "set-by-app-settings.servicebus.windows.net")
    azure.build_app(http=None, schedule=None)
    assert os.environ[SB_SETTING] == "set-by-app-settings.servicebus.windows.net"


def test_bus_trigger_is_an_event_grid_function_named_after_the_subscription(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_triggers(monkeypatch, BUS)
    fn = functions(azure.build_app(http=None, schedule=None))["bus_on_order"]
    hints = typing.get_type_hints(fn.get_user_function())
    assert trigger_binding(fn) == {"direction": "IN", "type": "eventGridTrigger", "name": "event"}
    assert hints["event"] is func.CloudEvent
    assert EventGridEventInConverter.check_input_type_annotation(hints["event"])
    assert azure.trigger_function_name("bus", "on-order") == "bus_on_order"


def test_table_trigger_reads_the_change_feed_by_identity_with_leases_per_function_and_backoff(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_triggers(monkeypatch, TABLE)
    fn = functions(azure.build_app(http=None, schedule=None))["table_orders"]
    assert trigger_binding(fn) == {
        "direction": "IN",
        "type": "cosmosDBTrigger",
        "name": "documents",
        "connection": "OMNICLOUD_COSMOS",
        "databaseName": "omnicloud",
        "containerName": "orders",
        "leaseContainerName": "orders-leases",
        "createLeaseContainerIfNotExists": False,
        "leaseContainerPrefix": "worker.",
    }
    assert fn.get_settings_dict("retry_policy") == {
        "setting_name": "retry_policy",
        "strategy": "exponential_backoff",
        "max_retry_count": str(azure.CHANGE_RETRIES),
        "minimum_interval": "00:00:05",
        "maximum_interval": "00:05:00",
    }
    assert typing.get_type_hints(fn.get_user_function())["documents"] is func.DocumentList


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not JSON"),
        ('{"kind": "queue"}', "list of objects"),
        (json.dumps([{"kind": "topic", "name": "x"}]), "unknown trigger kind"),
        (json.dumps([{"kind": "queue", "name": "jobs"}]), r"lacks \['queue'\]"),
        (json.dumps([{**TABLE, "lease_container": ""}]), r"lacks \['lease_container'\]"),
        (json.dumps([BUS, {**BUS, "name": "other-bus"}]), "both be Azure function 'bus_on_order'"),
        (
            json.dumps([queue_descriptor(name="a-b"), queue_descriptor(name="a_b")]),
            "both be Azure function 'queue_a_b'",
        ),
    ],
)
def test_malformed_trigger_descriptors_fail_indexing_with_the_reason(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    monkeypatch.setenv(azure.TRIGGERS_ENV, raw)
    with pytest.raises(ValueError, match=message):
        azure.build_app(http="public", schedule=None)


def test_the_rendered_function_app_registers_the_same_triggers(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_triggers(monkeypatch, queue_descriptor(fifo=True), BUS, TABLE)
    path = tmp_path / "function_app.py"
    path.write_text(azure.entry_files("private", None)["function_app.py"])

    rendered = runpy.run_path(str(path))["app"]

    def shape(app: func.FunctionApp) -> list[dict[str, Any]]:
        return [{**json.loads(f.get_function_json()), "name": f.get_function_name()} for f in app.get_functions()]

    assert shape(rendered) == shape(azure.build_app("private", None))


# --- Service Bus with per-message settlement -------------------------------------------------


@pytest.fixture
def settlement(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SettlementRecorder, Any]]:
    recorder = SettlementRecorder()
    actions = recorder.install(monkeypatch)
    for running_recorder in running(recorder):
        yield running_recorder, actions


def queue_entry(monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Any:
    set_triggers(monkeypatch, queue_descriptor(**overrides))
    return functions(azure.build_app(http=None, schedule=None))["queue_jobs"].get_user_function()


def sent(count: int, **fields: Any) -> list[HostMessage]:
    return [HostMessage(f"m-{i}", f'{{"n":{i}}}'.encode(), **fields) for i in range(1, count + 1)]


def test_failed_ids_are_abandoned_and_the_other_messages_completed(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, settlement: tuple[SettlementRecorder, Any]
) -> None:
    recorder, actions = settlement
    messages = sent(4)
    user.FAIL = lambda batch: ["m-2", "m-4"]
    entry = queue_entry(monkeypatch)

    entry(
        messages=host_sdk_messages(messages, many=True), message_actions=actions, context=WorkerContext("queue_jobs")
    )

    [(batch, ctx)] = user.CALLS
    assert isinstance(batch, QueueBatch) and batch.queue == "jobs"
    assert [m.id for m in batch.messages] == ["m-1", "m-2", "m-3", "m-4"]
    assert (ctx.function, ctx.cloud) == ("worker", "azure")
    assert recorder.calls == [
        ("complete", str(messages[0].lock_token)),
        ("abandon", str(messages[1].lock_token)),
        ("complete", str(messages[2].lock_token)),
        ("abandon", str(messages[3].lock_token)),
    ]


def test_on_a_fifo_queue_later_messages_of_a_failed_group_are_abandoned_too(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, settlement: tuple[SettlementRecorder, Any]
) -> None:
    recorder, actions = settlement
    messages = [
        HostMessage("a1", b"1", session_id="a"),
        HostMessage("b1", b"2", session_id="b"),
        HostMessage("a2", b"3", session_id="a"),
        HostMessage("b2", b"4", session_id="b"),
    ]
    user.FAIL = lambda batch: ["a1"]
    entry = queue_entry(monkeypatch, fifo=True)

    entry(messages=host_sdk_messages(messages, many=True), message_actions=actions, context=WorkerContext("q"))

    outcome = {token: verb for verb, token in recorder.calls}
    assert [outcome[str(m.lock_token)] for m in messages] == ["abandon", "complete", "abandon", "complete"]


def test_deliveries_larger_than_batch_size_reach_the_handler_in_batches_settled_apart(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, settlement: tuple[SettlementRecorder, Any]
) -> None:
    recorder, actions = settlement
    messages = sent(5)
    user.RAISE = lambda batch: RuntimeError("db down") if batch.messages[0].id == "m-3" else None
    entry = queue_entry(monkeypatch, batch_size=2)

    with pytest.raises(RuntimeError, match="db down"):
        entry(messages=host_sdk_messages(messages, many=True), message_actions=actions, context=WorkerContext("q"))

    assert [[m.id for m in batch.messages] for batch, _ in user.CALLS] == [["m-1", "m-2"], ["m-3", "m-4"], ["m-5"]]
    assert [verb for verb, _ in recorder.calls] == ["complete", "complete", "abandon", "abandon", "complete"]


@pytest.mark.parametrize(
    "result",
    [
        pytest.param(lambda batch: ["not-in-batch"], id="unknown-id"),
        pytest.param(lambda batch: "m-1", id="a-string"),
        pytest.param(lambda batch: 42, id="not-iterable"),
    ],
)
def test_a_malformed_handler_result_abandons_the_batch_and_fails(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, settlement: tuple[SettlementRecorder, Any], result: Any
) -> None:
    recorder, actions = settlement
    user.FAIL = result
    entry = queue_entry(monkeypatch)
    with pytest.raises((TypeError, ValueError)):
        entry(messages=host_sdk_messages(sent(2), many=True), message_actions=actions, context=WorkerContext("q"))
    assert [verb for verb, _ in recorder.calls] == ["abandon", "abandon"]


def test_one_message_deliveries_are_settled_too(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, settlement: tuple[SettlementRecorder, Any]
) -> None:
    recorder, actions = settlement
    [message] = sent(1)
    user.FAIL = lambda batch: [batch.messages[0].id]
    entry = queue_entry(monkeypatch, batch_size=1)

    entry(messages=host_sdk_messages([message], many=False), message_actions=actions, context=WorkerContext("q"))

    assert recorder.calls == [("abandon", str(message.lock_token))]


def test_sdk_messages_become_queue_messages_with_every_portable_field(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, settlement: tuple[SettlementRecorder, Any]
) -> None:
    _, actions = settlement
    message = HostMessage(
        "m-7",
        "grüße {}".encode(),
        {"priority": "high", "attempt": "2"},
        delivery_count=3,
        enqueued=datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC),
        session_id="customer-9",
    )
    entry = queue_entry(monkeypatch, fifo=True)

    entry(messages=host_sdk_messages([message], many=True), message_actions=actions, context=WorkerContext("q"))

    [(batch, _)] = user.CALLS
    [got] = batch.messages
    assert (got.id, got.body, dict(got.attributes), got.receive_count, got.sent_at, got.group) == (
        "m-7",
        "grüße {}",
        {"priority": "high", "attempt": "2"},
        3,
        datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC),
        "customer-9",
    )


# --- Service Bus without the extension (whole-delivery semantics) ----------------------------


def test_without_settlement_a_reported_failure_fails_the_whole_delivery(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_settlement(monkeypatch)
    messages = sent(3, session_id=None)
    entry = queue_entry(monkeypatch)

    assert entry(messages=host_binding_messages(messages, many=True), context=WorkerContext("q")) is None
    user.FAIL = lambda batch: ["m-2"]
    with pytest.raises(azure.BatchFailed, match=r"m-2.*all 3 messages of this delivery are redelivered"):
        entry(messages=host_binding_messages(messages, many=True), context=WorkerContext("q"))


def test_without_settlement_a_handler_exception_propagates_and_later_batches_wait(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_settlement(monkeypatch)
    user.RAISE = lambda batch: RuntimeError("boom")
    entry = queue_entry(monkeypatch, batch_size=2)
    with pytest.raises(RuntimeError, match="boom"):
        entry(messages=host_binding_messages(sent(4), many=True), context=WorkerContext("q"))
    assert len(user.CALLS) == 1


@pytest.mark.parametrize("many", [True, False])
def test_binding_messages_become_queue_messages_with_every_portable_field(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, many: bool
) -> None:
    without_settlement(monkeypatch)
    message = HostMessage(
        "m-8",
        b'{"ok":true}',
        {"priority": "low"},
        delivery_count=2,
        enqueued=datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC),
        session_id="g",
    )
    entry = queue_entry(monkeypatch, batch_size=10 if many else 1, fifo=True)

    entry(messages=host_binding_messages([message], many=many), context=WorkerContext("q"))

    [(batch, _)] = user.CALLS
    [got] = batch.messages
    assert (got.id, got.json(), dict(got.attributes), got.receive_count, got.sent_at, got.group) == (
        "m-8",
        {"ok": True},
        {"priority": "low"},
        2,
        datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC),
        "g",
    )


# --- Event Grid --------------------------------------------------------------------------------


def delivered(payload: dict[str, Any]) -> Any:
    """What the worker passes for an Event Grid delivery of ``payload``."""
    return EventGridEventInConverter.decode(meta.Datum(json.dumps(payload), "json"), trigger_metadata={})


def bus_entry(monkeypatch: pytest.MonkeyPatch) -> Any:
    set_triggers(monkeypatch, BUS)
    return functions(azure.build_app(http=None, schedule=None))["bus_on_order"].get_user_function()


def test_a_cloud_event_delivery_reaches_the_handler_as_an_event(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud_event = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "shop/api",
        "type": "order.created",
        "subject": "order/42",
        "time": "2025-03-04T05:06:07.000Z",
        "datacontenttype": "application/json",
        "data": {"order": 42},
    }

    assert bus_entry(monkeypatch)(event=delivered(cloud_event), context=WorkerContext("bus_on_order")) is None

    [(event, ctx)] = user.CALLS
    assert event == Event(
        id="evt-1",
        source="shop/api",
        type="order.created",
        subject="order/42",
        time=datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC),
        data={"order": 42},
    )
    assert ctx.cloud == "azure"


def test_an_event_grid_schema_delivery_is_mapped_as_well(user: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    grid_event = {
        "id": "e-2",
        "topic": "/subscriptions/s/resourceGroups/r/providers/Microsoft.EventGrid/topics/t",
        "subject": "order/1",
        "eventType": "order.paid",
        "eventTime": "2025-03-04T05:06:07Z",
        "data": [1, 2],
        "dataVersion": "1",
    }
    bus_entry(monkeypatch)(event=delivered(grid_event), context=WorkerContext("bus_on_order"))
    [(event, _)] = user.CALLS
    assert (event.id, event.type, event.source, event.subject, event.data) == (
        "e-2",
        "order.paid",
        grid_event["topic"],
        "order/1",
        [1, 2],
    )
    assert event.time == datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_an_event_handler_failure_propagates_so_event_grid_retries(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    user.RAISE = lambda event: RuntimeError("not yet")
    event = delivered({"specversion": "1.0", "id": "e", "source": "s", "type": "t", "data": None})
    with pytest.raises(RuntimeError, match="not yet"):
        bus_entry(monkeypatch)(event=event, context=WorkerContext("bus_on_order"))


# --- Cosmos DB change feed ---------------------------------------------------------------------


def feed(*documents: dict[str, Any]) -> func.DocumentList:
    """What the worker passes for a change feed batch of ``documents``."""
    return CosmosDBTriggerConverter.decode(meta.Datum(json.dumps(list(documents)), "json"), trigger_metadata={})


def table_entry(monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Any:
    set_triggers(monkeypatch, {**TABLE, **overrides})
    return functions(azure.build_app(http=None, schedule=None))["table_orders"].get_user_function()


def stored(pk: str, sk: str, *, created: bool, **attributes: Any) -> dict[str, Any]:
    document = {
        "id": sk,
        "pk": pk,
        "sk": sk,
        **attributes,
        "_rid": "rid",
        "_self": "dbs/x/colls/y/docs/z/",
        "_etag": f'"etag-{pk}-{sk}"',
        "_attachments": "attachments/",
        "_ts": 1741064767,
        "_lsn": 12,
    }
    if created:
        document["_omnicloud_created"] = 1741064767.5
    return document


def test_changed_documents_reach_the_handler_in_order_as_table_changes(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = feed(
        stored("c1", "o1", created=True, total=5, _uid="own id"),
        stored("c1", "o2", created=False, total=7, ttl=30),
    )

    table_entry(monkeypatch)(documents=documents, context=WorkerContext("table_orders"))

    changes = [change for change, _ in user.CALLS]
    assert changes == [
        TableChange(
            table="orders",
            kind="insert",
            key={"pk": "c1", "sk": "o1"},
            old=None,
            new={"pk": "c1", "sk": "o1", "total": 5, "id": "own id"},
            id="etag-c1-o1",
            time=datetime.fromtimestamp(1741064767, UTC),
        ),
        TableChange(
            table="orders",
            kind="modify",
            key={"pk": "c1", "sk": "o2"},
            old=None,
            new={"pk": "c1", "sk": "o2", "total": 7},
            id="etag-c1-o2",
            time=datetime.fromtimestamp(1741064767, UTC),
        ),
    ]


def test_a_table_without_sort_key_gives_partition_only_keys(user: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    table_entry(monkeypatch, sort_key=None)(
        documents=feed(stored("u1", "_", created=True)), context=WorkerContext("t")
    )
    [(change, _)] = user.CALLS
    assert change.key == {"pk": "u1"}


def test_a_failing_change_stops_the_batch_and_the_last_retry_logs_what_is_lost(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user.RAISE = lambda change: RuntimeError("bad change") if change.key["sk"] == "o2" else None
    entry = table_entry(monkeypatch)
    documents = feed(*(stored("c1", f"o{i}", created=True) for i in (1, 2, 3)))

    with pytest.raises(RuntimeError, match="bad change"):
        entry(documents=documents, context=WorkerContext("t", retry_context=Retry(retry_count=3, max_retry_count=10)))
    assert [change.key["sk"] for change, _ in user.CALLS] == ["o1", "o2"]
    assert "giving up" not in caplog.text

    with caplog.at_level(logging.ERROR, logger="omnicloud.runtime"), pytest.raises(RuntimeError):
        entry(documents=documents, context=WorkerContext("t", retry_context=Retry(retry_count=10, max_retry_count=10)))
    assert "giving up on 2 changes of table 'orders'" in caplog.text
    assert "'sk': 'o3'" in caplog.text


# --- the table client's documents through the trigger (Cosmos DB emulator) ------------------


@pytest.fixture(scope="module")
def cosmos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosEmulator]:
    yield from running(CosmosEmulator(tmp_path_factory.mktemp("cosmos")))


def test_documents_the_table_client_writes_become_insert_then_modify_changes(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, cosmos: CosmosEmulator
) -> None:
    from azure.cosmos import PartitionKey

    from components.runtime.clients import azure as clients

    container_name = f"t{uuid.uuid4().hex[:12]}"
    database = cosmos.sdk_client().create_database_if_not_exists("omnicloud")
    container = database.create_container(container_name, partition_key=PartitionKey("/pk"))
    locator = {
        "endpoint": cosmos.endpoint,
        "database": "omnicloud",
        "container": container_name,
        "partition_key": "pk",
        "sort_key": "sk",
        "ttl_attribute": "expires",
    }
    table = clients.table_client(locator, credential=StaticTokenCredential(), **cosmos.client_options())
    entry = table_entry(monkeypatch, container=container_name)

    # The latest-version change feed delivers each document as it is stored after the write.
    table.put({"pk": "c1", "sk": "o/1", "status": "new", "id": "mine", "expires": 4102444800})
    entry(documents=feed(container.read_item("o%2F1", partition_key="c1")), context=WorkerContext("t"))
    table.put({"pk": "c1", "sk": "o/1", "status": "paid", "id": "mine", "expires": 4102444800})
    entry(documents=feed(container.read_item("o%2F1", partition_key="c1")), context=WorkerContext("t"))

    inserted, modified = (change for change, _ in user.CALLS)
    assert (inserted.kind, modified.kind) == ("insert", "modify")
    assert inserted.key == modified.key == {"pk": "c1", "sk": "o/1"}
    assert inserted.new == {"pk": "c1", "sk": "o/1", "status": "new", "id": "mine", "expires": 4102444800}
    assert modified.new == {"pk": "c1", "sk": "o/1", "status": "paid", "id": "mine", "expires": 4102444800}
    assert inserted.old is None and modified.old is None
    assert inserted.id != modified.id


@pytest.mark.slow
def test_indexing_triggers_loads_no_client_sdk_nor_deploy_time_package() -> None:
    import os
    import subprocess

    probe = (
        "import json, sys; before = set(sys.modules); "
        "from components.runtime.adapters.azure import build_app; build_app(None, None); "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    environment = {**os.environ, azure.TRIGGERS_ENV: json.dumps([queue_descriptor(), BUS, TABLE])}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert "azure.functions" in loaded
    heavy = ("pulumi", "pydantic", "boto3", "google.cloud", "azure.cosmos", "azure.eventgrid", "azure.identity")
    assert [m for m in loaded if any(m == h or m.startswith(h + ".") for h in heavy)] == []


def test_a_group_that_failed_in_one_batch_is_held_back_in_the_next(
    user: ModuleType, monkeypatch: pytest.MonkeyPatch, settlement: tuple[SettlementRecorder, Any]
) -> None:
    recorder, actions = settlement
    messages = [
        HostMessage("a1", b"1", session_id="a"),
        HostMessage("b1", b"2", session_id="b"),
        HostMessage("a2", b"3", session_id="a"),
        HostMessage("b2", b"4", session_id="b"),
    ]
    user.FAIL = lambda batch: ["a1"] if batch.messages[0].id == "a1" else None
    entry = queue_entry(monkeypatch, fifo=True, batch_size=2)

    entry(messages=host_sdk_messages(messages, many=True), message_actions=actions, context=WorkerContext("q"))

    assert [[m.id for m in batch.messages] for batch, _ in user.CALLS] == [["a1", "b1"], ["b2"]]
    outcome = {token: verb for verb, token in recorder.calls}
    assert [outcome[str(m.lock_token)] for m in messages] == ["abandon", "complete", "abandon", "complete"]
