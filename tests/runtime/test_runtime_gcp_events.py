"""The GCP adapter's trigger routes: Pub/Sub push → QueueBatch, CloudEvents → Event,
Eventarc Firestore events → TableChange, and who may call them on a public function.

Driven through functions-framework's own app. Push bodies are built from messages pulled from
the Pub/Sub emulator, and one test lets the emulator push to the app over loopback HTTP
until the message is dead-lettered; Firestore documents come from the Firestore emulator's
REST API, in exactly the JSON form Eventarc's ``DocumentEventData`` carries.
"""

from __future__ import annotations

import base64
import json
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from components.runtime import Event, QueueBatch, QueueMessage, TableChange, env, handler
from components.runtime.adapters import gcp
from components.runtime.clients.gcp import FirestoreTable, PubSubQueue, document_id
from tests.runtime.conftest import UserApp
from tests.runtime.gcp_emulators import (  # noqa: F401 - fixtures
    PROJECT,
    Emulator,
    firestore_emulator_fixture,
    firestore_env_fixture,
    pubsub_emulator_fixture,
    pubsub_env_fixture,
    unique,
)
from tests.runtime.test_clients_gcp import MAX_DELIVERY_ATTEMPTS, make_queue, receive_until, table_locator
from tests.runtime.test_runtime_gcp import client as functions_framework_client  # noqa: F401 - fixture
from tests.runtime.test_runtime_gcp_scheduler_auth import _key_and_cert
from tests.runtime.test_runtime_gcp_scheduler_auth import signing_key as certs_and_signer  # noqa: F401 - fixture

APP_SOURCE = textwrap.dedent(
    '''
    """A user's handler for queue, bus and table triggers."""
    from components.runtime import Event, QueueBatch, TableChange

    CALLS = []


    def handle(event, ctx):
        CALLS.append((event, ctx))
        if isinstance(event, QueueBatch):
            if any("boom" in m.body for m in event.messages):
                raise RuntimeError("queue handler crashed")
            if any("unknown-id" in m.body for m in event.messages):
                return ["not-in-this-batch"]
            if any("wrong-type" in m.body for m in event.messages):
                return 42
            return [m.id for m in event.messages if "fail" in m.body]
        if isinstance(event, Event) and event.type == "boom":
            raise RuntimeError("event handler crashed")
        if isinstance(event, TableChange) and event.key.get("pk") == "boom":
            raise RuntimeError("change handler crashed")
        return {"ok": True}
    '''
)

HOST = "worker-abc123-ew.a.run.app"
PUSH_EMAIL = "jobs-push-1a2b@omnicloud-test.iam.gserviceaccount.com"
BUS_EMAIL = "events-pipeline-3c4d@omnicloud-test.iam.gserviceaccount.com"
TABLE_EMAIL = "orders-trigger-5e6f@omnicloud-test.iam.gserviceaccount.com"
TRIGGERS = [
    {"kind": "queue", "name": "jobs", "identity": PUSH_EMAIL},
    {"kind": "bus", "name": "events", "subscription": "on-order", "identity": BUS_EMAIL},
    {
        "kind": "table",
        "name": "orders",
        "identity": TABLE_EMAIL,
        "partition_key": "pk",
        "sort_key": "sk",
        "ttl_attribute": "expires",
    },
]


@pytest.fixture(name="client")
def client_fixture(request: pytest.FixtureRequest) -> FlaskClient:
    """functions-framework serving the rendered main.py (test_runtime_gcp's fixture, with
    this module's ``user_app``)."""
    return request.getfixturevalue("functions_framework_client")


@pytest.fixture(name="signing_key")
def signing_key_fixture(request: pytest.FixtureRequest) -> Any:
    """A signer and the loopback URL serving its certificate as Google's (the scheduler
    auth tests' fixture)."""
    return request.getfixturevalue("certs_and_signer")


@pytest.fixture
def user_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UserApp]:
    """This module's handler in place of the HTTP one (the ``client`` fixture serves it)."""
    name = f"omni_gcp_events_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(APP_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(env.HANDLER, f"{name}.handle")
    monkeypatch.setenv(env.FUNCTION, "worker")
    monkeypatch.setenv(gcp.TRIGGERS, json.dumps(TRIGGERS))
    monkeypatch.delenv(env.HTTP, raising=False)
    handler._clear_cache()
    yield UserApp(name=name, module_dir=tmp_path)
    handler._clear_cache()
    sys.modules.pop(name, None)


def calls(user_app: UserApp) -> list[Any]:
    """The events the handler received (none if it was never even imported)."""
    module = sys.modules.get(user_app.name)
    return [] if module is None else [event for event, _ in module.CALLS]


# --- Pub/Sub push → QueueBatch ----------------------------------------------------------------


def push_body(received: Any, subscription: str) -> dict[str, Any]:
    """The body Pub/Sub push sends for a pulled ``ReceivedMessage`` (the documented format)."""
    message = received.message
    wrapped: dict[str, Any] = {
        "data": base64.b64encode(message.data).decode(),
        "attributes": dict(message.attributes),
        "messageId": message.message_id,
        "publishTime": message.publish_time.isoformat().replace("+00:00", "Z"),
    }
    if message.ordering_key:
        wrapped["orderingKey"] = message.ordering_key
    return {"message": wrapped, "subscription": subscription, "deliveryAttempt": received.delivery_attempt}


def pull_one(queue: PubSubQueue) -> Any:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = queue.subscriber.pull(request={"subscription": queue.subscription, "max_messages": 1}, timeout=5)
        if response.received_messages:
            return response.received_messages[0]
    raise AssertionError("no message arrived")


def test_push_of_a_real_pubsub_message_becomes_a_queue_batch(
    client: FlaskClient, user_app: UserApp, pubsub_env: Emulator
) -> None:
    queue = PubSubQueue(make_queue(fifo=True))
    message_id = queue.send({"job": 7}, group="customer-9", attributes={"tenant": "acme"})
    received = pull_one(queue)

    response = client.post("/_omnicloud/queue/jobs", json=push_body(received, queue.subscription))

    assert response.status_code == 204
    [batch] = calls(user_app)
    assert isinstance(batch, QueueBatch)
    assert batch.queue == "jobs"
    [message] = batch.messages
    assert message.id == message_id
    assert message.json() == {"job": 7}
    assert message.attributes == {"tenant": "acme"}
    assert message.receive_count == 1
    assert message.group == "customer-9"
    assert message.sent_at == received.message.publish_time


def test_failed_message_is_answered_500_so_pubsub_redelivers_it(client: FlaskClient, user_app: UserApp) -> None:
    body = {"message": {"data": base64.b64encode(b"please fail").decode(), "messageId": "m-1"}, "subscription": "s"}
    assert client.post("/_omnicloud/queue/jobs", json=body).status_code == 500
    [batch] = calls(user_app)
    assert batch.messages[0].receive_count == 1  # no deliveryAttempt in the body: first delivery


@pytest.mark.parametrize("body", ["boom", "unknown-id", "wrong-type"])
def test_crash_or_bad_result_of_queue_handler_is_a_retry(client: FlaskClient, user_app: UserApp, body: str) -> None:
    push = {"message": {"data": base64.b64encode(body.encode()).decode(), "messageId": "m-2"}, "deliveryAttempt": 3}
    assert client.post("/_omnicloud/queue/jobs", json=push).status_code == 500
    assert calls(user_app)[0].messages[0].receive_count == 3


def test_handler_may_return_the_failed_message_objects() -> None:
    message = QueueMessage(id="m-1", body="x")
    batch = QueueBatch(queue="jobs", messages=(message,))
    assert gcp.failed_message_ids([message], batch) == ["m-1"]
    assert gcp.failed_message_ids(None, batch) == []
    assert gcp.failed_message_ids((), batch) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"subscription": "s"}',
        b'{"message": {"data": "@@@", "messageId": "m"}}',
        b'{"message": {"data": ""}}',
    ],
)
def test_malformed_push_is_refused_without_calling_the_handler(
    client: FlaskClient, user_app: UserApp, body: bytes
) -> None:
    response = client.post("/_omnicloud/queue/jobs", data=body, content_type="application/json")
    assert response.status_code == 400
    assert calls(user_app) == []


@pytest.fixture
def live_app(client: FlaskClient) -> Iterator[str]:
    """The functions-framework app on a loopback port, for the emulator to push to."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, client.application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_emulator_push_redelivers_a_failing_message_until_it_is_dead_lettered(
    live_app: str, user_app: UserApp, pubsub_env: Emulator
) -> None:
    from google.cloud import pubsub_v1

    locator = make_queue()
    subscriber = pubsub_v1.SubscriberClient()
    # What queue.subscribe(fn) deploys: a push subscription to the function's queue route,
    # with the queue's dead-letter policy.
    push_name = unique("jobs-push")
    subscriber.create_subscription(
        request={
            "name": subscriber.subscription_path(PROJECT, push_name),
            "topic": f"projects/{PROJECT}/topics/{locator['topic']}",
            "push_config": {"push_endpoint": f"{live_app}/_omnicloud/queue/jobs"},
            "retry_policy": {"minimum_backoff": {"seconds": 0}, "maximum_backoff": {"seconds": 1}},
            "dead_letter_policy": {
                "dead_letter_topic": f"projects/{PROJECT}/topics/{locator['topic']}-dlq",
                "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
            },
        }
    )
    queue, dlq = PubSubQueue(locator), PubSubQueue(locator["dlq"])
    queue.send("this one will fail")
    queue.send("this one is fine")

    [dead] = receive_until(dlq, 1, timeout_s=60)

    assert dead.body == "this one will fail"
    assert dead.attributes["CloudPubSubDeadLetterSourceSubscription"] == push_name
    seen = [m.body for batch in calls(user_app) for m in batch.messages]
    assert seen.count("this one will fail") == MAX_DELIVERY_ATTEMPTS
    assert seen.count("this one is fine") == 1  # acknowledged by the 204: never redelivered
    assert all(isinstance(batch, QueueBatch) and batch.queue == "jobs" for batch in calls(user_app))


# --- CloudEvents → Event ----------------------------------------------------------------------

BINARY_HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "evt-42",
    "ce-source": "shop/api",
    "ce-type": "order.created",
    "ce-subject": "order/42",
    "ce-time": "2025-03-12T02:05:00.123Z",
}


def test_binary_mode_cloudevent_becomes_an_event(client: FlaskClient, user_app: UserApp) -> None:
    response = client.post("/_omnicloud/bus/events/on-order", json={"order": 42}, headers=BINARY_HEADERS)
    assert response.status_code == 204
    assert calls(user_app) == [
        Event(
            id="evt-42",
            source="shop/api",
            type="order.created",
            subject="order/42",
            time=datetime(2025, 3, 12, 2, 5, 0, 123000, tzinfo=UTC),
            data={"order": 42},
        )
    ]


def test_structured_mode_cloudevent_becomes_an_event(client: FlaskClient, user_app: UserApp) -> None:
    document = {"specversion": "1.0", "id": "e1", "source": "s", "type": "t", "data": [1, 2]}
    response = client.post(
        "/_omnicloud/bus/events/on-order", data=json.dumps(document), content_type="application/cloudevents+json"
    )
    assert response.status_code == 204
    [event] = calls(user_app)
    assert (event.id, event.source, event.type, event.subject, event.time, event.data) == (
        "e1",
        "s",
        "t",
        None,
        None,
        [1, 2],
    )


def test_event_data_follows_its_content_type() -> None:
    headers = {**BINARY_HEADERS, "content-type": "text/plain; charset=utf-8"}
    assert gcp.to_event(headers, "héllo".encode()).data == "héllo"
    headers["content-type"] = "application/octet-stream"
    assert gcp.to_event(headers, b"\x00\x01").data == b"\x00\x01"
    structured = {"specversion": "1.0", "id": "e", "source": "s", "type": "t", "data_base64": "AAE="}
    event = gcp.to_event({"content-type": "application/cloudevents+json"}, json.dumps(structured).encode())
    assert event.data == b"\x00\x01"


def test_binary_cloudevent_inside_a_pubsub_push_becomes_an_event() -> None:
    push = {
        "message": {
            "data": base64.b64encode(b'{"n": 1}').decode(),
            "attributes": {
                "ce-id": "e9",
                "ce-source": "src",
                "ce-type": "ty",
                "ce-specversion": "1.0",
                "content-type": "application/json",
            },
            "messageId": "123",
        },
        "subscription": "projects/p/subscriptions/s",
    }
    event = gcp.to_event({"content-type": "application/json"}, json.dumps(push).encode())
    assert (event.id, event.source, event.type, event.data) == ("e9", "src", "ty", {"n": 1})


def test_event_handler_failure_is_a_500_so_the_event_is_retried(client: FlaskClient, user_app: UserApp) -> None:
    headers = {**BINARY_HEADERS, "ce-type": "boom"}
    assert client.post("/_omnicloud/bus/events/on-order", json={}, headers=headers).status_code == 500
    assert len(calls(user_app)) == 1


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"ce-specversion": "1.0", "ce-source": "s", "ce-type": "t"}, b"{}"),  # no id
        ({**BINARY_HEADERS, "content-type": "application/json"}, b"{not json"),
        ({"content-type": "application/cloudevents+json"}, b'{"id": "x"}'),  # no specversion
        ({"content-type": "application/json"}, b'{"order": 1}'),  # neither mode nor a push
    ],
)
def test_malformed_cloudevent_is_refused(client: FlaskClient, user_app: UserApp, headers, body) -> None:
    response = client.post("/_omnicloud/bus/events/on-order", data=body, headers=headers)
    assert response.status_code == 400
    assert calls(user_app) == []


# --- routes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/_omnicloud/",
        "/_omnicloud/queue",
        "/_omnicloud/queue/",
        "/_omnicloud/queue/jobs/extra",
        "/_omnicloud/bus/events",
        "/_omnicloud/workflow/x",
        "/_omnicloud/table/orders/x",
    ],
)
def test_unknown_internal_route_is_404_and_never_reaches_the_handler(
    client: FlaskClient, user_app: UserApp, path: str
) -> None:
    assert client.post(path, json={}).status_code == 404
    assert calls(user_app) == []


def test_internal_route_accepts_only_post(client: FlaskClient, user_app: UserApp) -> None:
    assert client.get("/_omnicloud/queue/jobs").status_code == 405
    assert calls(user_app) == []


def test_paths_outside_the_reserved_prefix_stay_http_requests(client: FlaskClient, user_app: UserApp) -> None:
    assert client.post("/_omnicloudish/queue/jobs", json={}).status_code == 200
    [request] = calls(user_app)
    assert request.path == "/_omnicloudish/queue/jobs"


# --- Firestore → TableChange ------------------------------------------------------------------


def emulator_document(emulator: Emulator, table: FirestoreTable, key: dict[str, Any]) -> dict[str, Any]:
    """The stored document as the Firestore API renders it in JSON (Eventarc's ``Document``)."""
    doc = document_id([key["pk"], key["sk"]])
    url = f"http://{emulator.host}/v1/projects/{PROJECT}/databases/(default)/documents/{table.collection_id}/{doc}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def firestore_headers(document: dict[str, Any], content_type: str = "application/json") -> dict[str, str]:
    path = document["name"].split("/documents/", 1)[1]
    return {
        "ce-specversion": "1.0",
        "ce-id": "b2c1d3e4-0001",
        "ce-source": f"//firestore.googleapis.com/projects/{PROJECT}/databases/(default)",
        "ce-type": "google.cloud.firestore.document.v1.written",
        "ce-subject": f"documents/{path}",
        "ce-time": "2025-03-12T02:05:00.5Z",
        "ce-database": "(default)",
        "ce-namespace": "(default)",
        "ce-document": path,
        "content-type": content_type,
    }


ITEM = {
    "pk": "c#1",
    "sk": "o#1",
    "total": 12.5,
    "qty": 3,
    "big": 2**62,
    "paid": False,
    "note": None,
    "lines": [{"sku": "A", "n": 1}, "x"],
    "meta": {"gift": True, "empty": {}},
    "none": [],
    "blob": b"\x00\xff",
    "expires": 1_900_000_000,
}


@pytest.fixture
def stored(firestore_env: Emulator) -> tuple[Emulator, FirestoreTable]:
    table = FirestoreTable(table_locator())
    table.put(ITEM)
    return firestore_env, table


def test_firestore_insert_event_becomes_a_table_change(client: FlaskClient, user_app: UserApp, stored) -> None:
    emulator, table = stored
    document = emulator_document(emulator, table, ITEM)
    body = {"value": document, "updateMask": {}}

    response = client.post("/_omnicloud/table/orders", json=body, headers=firestore_headers(document))

    assert response.status_code == 204
    [change] = calls(user_app)
    assert change == TableChange(
        table="orders",
        kind="insert",
        key={"pk": "c#1", "sk": "o#1"},
        old=None,
        new=ITEM,  # every value type as the table client returns it, TTL as epoch seconds
        id="b2c1d3e4-0001",
        time=datetime(2025, 3, 12, 2, 5, 0, 500000, tzinfo=UTC),
    )


def test_firestore_modify_and_remove(client: FlaskClient, user_app: UserApp, stored) -> None:
    emulator, table = stored
    before = emulator_document(emulator, table, ITEM)
    table.put({**ITEM, "qty": 4})
    after = emulator_document(emulator, table, ITEM)
    headers = firestore_headers(after)

    assert (
        client.post("/_omnicloud/table/orders", json={"oldValue": before, "value": after}, headers=headers).status_code
        == 204
    )
    assert client.post("/_omnicloud/table/orders", json={"oldValue": after}, headers=headers).status_code == 204

    modify, remove = calls(user_app)
    assert (modify.kind, modify.old["qty"], modify.new["qty"], modify.key) == (
        "modify",
        3,
        4,
        {"pk": "c#1", "sk": "o#1"},
    )
    assert (remove.kind, remove.old["qty"], remove.new, remove.key) == ("remove", 4, None, {"pk": "c#1", "sk": "o#1"})


def test_firestore_protobuf_event_is_decoded_with_google_events(client: FlaskClient, user_app: UserApp, stored) -> None:
    from google.events.cloud.firestore_v1 import DocumentEventData
    from google.protobuf import json_format

    emulator, table = stored
    document = emulator_document(emulator, table, ITEM)
    message = json_format.ParseDict({"value": document}, DocumentEventData.pb()())
    response = client.post(
        "/_omnicloud/table/orders",
        data=message.SerializeToString(),
        headers=firestore_headers(document, "application/protobuf"),
    )
    assert response.status_code == 204
    [change] = calls(user_app)
    assert (change.kind, change.new, change.key) == ("insert", ITEM, {"pk": "c#1", "sk": "o#1"})


def test_without_a_key_schema_the_key_is_the_document_id(stored) -> None:
    emulator, table = stored
    document = emulator_document(emulator, table, ITEM)
    event = gcp.to_event(firestore_headers(document), json.dumps({"value": document}).encode())
    change = gcp.to_table_change("orders", event, None)
    assert change.key == {"__id__": document_id(["c#1", "o#1"])}
    # Without the descriptor's ttl_attribute the timestamp stays a timestamp, as ISO text.
    assert change.new is not None and change.new["expires"] == "2030-03-17T17:46:40Z"


def test_change_handler_failure_is_a_500_so_eventarc_retries(client: FlaskClient, user_app: UserApp) -> None:
    document = {
        "name": f"projects/{PROJECT}/databases/(default)/documents/o/x",
        "fields": {"pk": {"stringValue": "boom"}, "sk": {"stringValue": "s"}},
    }
    response = client.post("/_omnicloud/table/orders", json={"value": document}, headers=firestore_headers(document))
    assert response.status_code == 500


def test_non_firestore_event_on_the_table_route_is_refused(client: FlaskClient, user_app: UserApp) -> None:
    assert client.post("/_omnicloud/table/orders", json={}, headers=BINARY_HEADERS).status_code == 400
    assert calls(user_app) == []


def test_firestore_values_convert_to_plain_json() -> None:
    assert gcp.firestore_value({"doubleValue": "NaN"}) != gcp.firestore_value({"doubleValue": "NaN"})
    assert gcp.firestore_value({"geoPointValue": {"latitude": 1.5}}) == {"latitude": 1.5, "longitude": 0.0}
    assert gcp.firestore_value({"referenceValue": "projects/p/databases/d/documents/c/x"}).endswith("/c/x")
    assert gcp.firestore_value({"arrayValue": {}}) == []
    with pytest.raises(ValueError, match="unknown Firestore value"):
        gcp.firestore_value({"vectorValue": {}})


# --- who may call the internal routes of a public function ----------------------------------


def _token(signer: Any, email: str, audience: str, **overrides: object) -> str:
    from google.auth import jwt

    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "email": email,
        "email_verified": True,
        "sub": "1234567890",
        "iat": now,
        "exp": now + 600,
        **overrides,
    }
    return jwt.encode(signer, claims).decode()


@pytest.fixture
def public(monkeypatch: pytest.MonkeyPatch, signing_key, user_app: UserApp) -> Any:
    signer, url = signing_key
    monkeypatch.setattr(gcp, "GOOGLE_OIDC_CERTS_URL", url)
    monkeypatch.setenv(env.HTTP, "public")
    return signer


QUEUE_PUSH = {"message": {"data": base64.b64encode(b"hi").decode(), "messageId": "m-1"}, "subscription": "s"}
ROUTES = {
    "queue": ("/_omnicloud/queue/jobs", PUSH_EMAIL, {}, QUEUE_PUSH),
    "bus": ("/_omnicloud/bus/events/on-order", BUS_EMAIL, BINARY_HEADERS, {"order": 1}),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("audience", [f"https://{HOST}", "https://{HOST}{path}"])
def test_token_of_the_trigger_identity_is_accepted(
    client: FlaskClient, user_app: UserApp, public, route: str, audience: str
) -> None:
    path, email, headers, body = ROUTES[route]
    token = _token(public, email, audience.format(HOST=HOST, path=path))
    response = client.post(path, json=body, headers={**headers, "Host": HOST, "Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    assert len(calls(user_app)) == 1


@pytest.mark.parametrize(
    ("email", "audience", "claims"),
    [
        (BUS_EMAIL, f"https://{HOST}", {}),  # another trigger's identity
        ("attacker@evil.iam.gserviceaccount.com", f"https://{HOST}", {}),
        (PUSH_EMAIL, "https://other-service.a.run.app", {}),
        (PUSH_EMAIL, f"https://{HOST}/_omnicloud/queue/other", {}),
        (PUSH_EMAIL, f"https://{HOST}", {"email_verified": False}),
        (PUSH_EMAIL, f"https://{HOST}", {"iss": "https://evil.example"}),
        (PUSH_EMAIL, f"https://{HOST}", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
    ],
)
def test_foreign_or_forged_tokens_are_refused(
    client: FlaskClient, user_app: UserApp, public, email: str, audience: str, claims: dict
) -> None:
    token = _token(public, email, audience, **claims)
    response = client.post(
        "/_omnicloud/queue/jobs", json=QUEUE_PUSH, headers={"Host": HOST, "Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert calls(user_app) == []


def test_public_internal_route_without_token_or_descriptor_is_refused(
    client: FlaskClient, user_app: UserApp, public
) -> None:
    assert client.post("/_omnicloud/queue/jobs", json=QUEUE_PUSH, headers={"Host": HOST}).status_code == 403
    # A queue nothing was subscribed for has no identity to match: nobody may call it.
    token = _token(public, PUSH_EMAIL, f"https://{HOST}")
    headers = {"Host": HOST, "Authorization": f"Bearer {token}"}
    assert client.post("/_omnicloud/queue/other", json=QUEUE_PUSH, headers=headers).status_code == 403
    # Another signer's token is not Google's.
    from google.auth import crypt

    stranger = crypt.RSASigner.from_string(_key_and_cert()[0], key_id="test-kid")
    headers["Authorization"] = f"Bearer {_token(stranger, PUSH_EMAIL, f'https://{HOST}')}"
    assert client.post("/_omnicloud/queue/jobs", json=QUEUE_PUSH, headers=headers).status_code == 403
    assert calls(user_app) == []


def test_private_function_relies_on_cloud_run_iam(client: FlaskClient, user_app: UserApp, monkeypatch) -> None:
    monkeypatch.setenv(env.HTTP, "private")
    assert client.post("/_omnicloud/queue/jobs", json=QUEUE_PUSH).status_code == 204
    monkeypatch.delenv(env.HTTP)
    assert client.post("/_omnicloud/queue/jobs", json=QUEUE_PUSH).status_code == 204
    assert len(calls(user_app)) == 2


def test_triggers_that_are_not_json_mean_no_trigger_is_known(monkeypatch) -> None:
    monkeypatch.setenv(gcp.TRIGGERS, "{not json")
    assert gcp.triggers() == ()
    monkeypatch.setenv(gcp.TRIGGERS, json.dumps({"kind": "queue"}))
    assert gcp.triggers() == ()
    monkeypatch.setenv(gcp.TRIGGERS, json.dumps(TRIGGERS))
    assert gcp.trigger("bus", "events", "on-order") == TRIGGERS[1]
    assert gcp.trigger("bus", "events", "other") is None
