"""Loopback stand-ins for the Azure services the Azure runtime talks to, for tests.

* :class:`CosmosEmulator`: npm ``@vercel/cosmosdb-server`` (a Cosmos DB for NoSQL REST server)
  on 127.0.0.1 over HTTPS, with a certificate made here (the package's own has expired). The
  official ``azure-cosmos`` client talks to it with ``enable_endpoint_discovery=False``; it
  never verifies TLS for a 127.0.0.1 endpoint (its emulator rule). The package is installed
  with ``npm install --no-save @vercel/cosmosdb-server`` at the repository root; without node
  or the package a test skips, except under CI (``CI`` set), where it fails.
* :class:`AzuriteQueue`: npm ``azurite``'s Queue service (``azurite-queue``, a devDependency in
  package.json, installed by ``npm ci``) on 127.0.0.1 over HTTPS with OAuth (``--oauth
  basic``), so the official ``azure-storage-queue`` client authenticates with a bearer token
  as in Azure. Azurite checks the token's claims (issuer, audience, lifetime) but not its
  signature: :func:`fake_storage_token` makes one it accepts.
* :class:`HttpsRecorder`: an HTTPS endpoint that records every request (method, path,
  headers, body) and answers with a fixed status, for the Event Grid publisher client.
* :class:`SettlementRecorder`: the Functions host's side of the Service Bus settlement gRPC
  protocol (the ``Settlement`` service from ``azurefunctions-extensions-bindings-servicebus``),
  recording each complete/abandon/dead-letter request and its lock token.
* :func:`host_sdk_message`: a Service Bus message in the form the host hands to SDK-type
  bindings (lock token, then the AMQP-encoded message), decoded by the extension's own
  converter.

No Service Bus or Event Grid emulator runs here, so those are exercised through the official
types and clients against these recorders.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import pytest

from tests.runtime.emulators import emulator_missing, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
COSMOS_PACKAGE = REPO_ROOT / "node_modules" / "@vercel" / "cosmosdb-server"
AZURITE_QUEUE = REPO_ROOT / "node_modules" / ".bin" / "azurite-queue"
STARTUP_TIMEOUT_S = 30


def loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "loopback-cert.pem", directory / "loopback-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class StaticTokenCredential:
    """A ``TokenCredential`` with a fixed token that records the scopes it was asked for
    (what ``DefaultAzureCredential`` provides in Azure, minus the identity service)."""

    token: str = "test-token"
    scopes: list[tuple[str, ...]] = field(default_factory=list)

    def get_token(self, *scopes: str, **_: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


# --- Cosmos DB ---------------------------------------------------------------------------------

# @vercel/cosmosdb-server 1.0.1 answers a point read of an absent document with 500
# ("Cannot read properties of undefined") instead of Cosmos's 404, because its partition
# check dereferences the missing document. The script wraps that one handler (before the
# router captures it) so an absent document reads as 404 NotFound, as on Azure.
_COSMOS_SCRIPT = """
const fs = require("fs");
const path = require("path");
const readDocument = require(path.join(process.env.COSMOS_PACKAGE, "lib/handler/read-document"));
const partitions = require(path.join(process.env.COSMOS_PACKAGE, "lib/utils/get-partition-from-header"));
const original = readDocument.default;
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  const header = partitions.default(req);
  if (collection.read() && header) {
    const partition = partitions.parsePartitionKey(header, params.docId);
    if (!collection.document(params.docId, partition).read()) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
  }
  return original(account, req, res, params);
};
const { createHttpsServer } = require(process.env.COSMOS_PACKAGE);
const server = createHttpsServer({
  keepAlive: true,
  cert: fs.readFileSync(process.env.COSMOS_CERT),
  key: fs.readFileSync(process.env.COSMOS_KEY),
});
server.listen(Number(process.env.COSMOS_PORT), "127.0.0.1", () => console.log("ready"));
"""


class CosmosEmulator:
    """``@vercel/cosmosdb-server`` on ``https://127.0.0.1:<free port>``, one process."""

    def __init__(self, workdir: Path) -> None:
        node = shutil.which("node")
        if node is None:
            emulator_missing("node is not installed, so the Cosmos DB emulator cannot run")
        if not (COSMOS_PACKAGE / "package.json").exists():
            emulator_missing(f"{COSMOS_PACKAGE} is missing: run `npm install --no-save @vercel/cosmosdb-server`")
        self.cert, key = loopback_certificate(workdir)
        self.port = free_port()
        self.endpoint = f"https://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "COSMOS_PACKAGE": str(COSMOS_PACKAGE),
            "COSMOS_CERT": str(self.cert),
            "COSMOS_KEY": str(key),
            "COSMOS_PORT": str(self.port),
        }
        # Output goes to a file: a pipe nobody drains would block the server once full.
        self.log = workdir / "cosmosdb-server.log"
        with self.log.open("w") as log:
            self._process = subprocess.Popen(
                [str(node), "-e", _COSMOS_SCRIPT], env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the Cosmos DB emulator did not start: {self.log.read_text()[-2000:]}")

    def client_options(self) -> dict[str, Any]:
        """SDK options for this emulator: no TLS verification (its certificate is self-made)
        and no regional endpoint discovery (it has one endpoint and describes no regions)."""
        return {"connection_verify": False, "enable_endpoint_discovery": False}

    def sdk_client(self) -> Any:
        """An ``azure.cosmos.CosmosClient`` for setting the emulator up (what the deploy side
        creates in Azure: databases and containers)."""
        from azure.cosmos import CosmosClient

        return CosmosClient(self.endpoint, StaticTokenCredential(), **self.client_options())

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


# --- Azurite (Storage queues) ------------------------------------------------------------------

AZURITE_ACCOUNT = "devstoreaccount1"
"""Azurite's built-in account; its URLs are path-style: ``https://127.0.0.1:<port>/<account>``."""


def fake_storage_token(lifetime_s: int = 3600) -> str:
    """An unsigned Entra ID access token for Azure Storage, the shape Azurite's ``--oauth
    basic`` accepts: issuer ``https://sts.windows.net/<tenant>/``, audience
    ``https://storage.azure.com``, and a lifetime that covers now."""
    import base64

    def part(document: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    now = int(time.time())
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    claims = {
        "aud": "https://storage.azure.com",
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime_s,
        "tid": tenant,
        "oid": str(uuid.uuid4()),
    }
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{part({'sig': 'unchecked'})}"


class AzuriteQueue:
    """``azurite-queue`` on ``https://127.0.0.1:<free port>``, in-memory, one process."""

    def __init__(self, workdir: Path) -> None:
        node = shutil.which("node")
        if node is None:
            emulator_missing("node is not installed, so Azurite cannot run")
        if not AZURITE_QUEUE.exists():
            emulator_missing(f"{AZURITE_QUEUE} is missing: run `npm ci` at the repository root")
        self.cert, key = loopback_certificate(workdir)
        self.port = free_port()
        self.account_url = f"https://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"
        self.log = workdir / "azurite-queue.log"
        command = [
            str(AZURITE_QUEUE),
            "--queueHost", "127.0.0.1",
            "--queuePort", str(self.port),
            "--inMemoryPersistence",
            "--oauth", "basic",
            "--cert", str(self.cert),
            "--key", str(key),
            "--disableTelemetry",
            # azure-storage-queue sends a newer x-ms-version than Azurite 3.37 knows
            # (2026-10-06 vs 2026-06-06); the queue operations are the same in both.
            "--skipApiVersionCheck",
        ]  # fmt: skip
        with self.log.open("w") as log:
            self._process = subprocess.Popen(
                command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Azurite did not start: {self.log.read_text()[-2000:]}")

    def client_options(self) -> dict[str, Any]:
        """SDK options for Azurite: trust its self-made certificate (and nothing else)."""
        return {"connection_verify": str(self.cert)}

    def queue_url(self, queue: str) -> str:
        """The URL of ``queue`` (what a locator's ``queue_url`` holds)."""
        return f"{self.account_url}/{queue}"

    def create_queue(self, prefix: str = "q") -> str:
        """A new, empty queue; its URL."""
        from azure.storage.queue import QueueClient

        url = self.queue_url(f"{prefix}-{uuid.uuid4().hex[:12]}")
        QueueClient.from_queue_url(
            url, credential=StaticTokenCredential(fake_storage_token()), **self.client_options()
        ).create_queue()
        return url

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


# --- HTTPS request recorder (Event Grid) -----------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpsRecorder:
    """An HTTPS server on 127.0.0.1 that records requests and answers ``status``."""

    def __init__(self, workdir: Path, status: int = 200) -> None:
        self.cert, key = loopback_certificate(workdir)
        self.status = status
        self.requests: list[RecordedRequest] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                recorder.requests.append(
                    RecordedRequest(
                        method="POST",
                        path=self.path,
                        headers={name.lower(): value for name, value in self.headers.items()},
                        body=self.rfile.read(length),
                    )
                )
                body = b"" if recorder.status < 400 else b'{"error":{"code":"Unauthorized","message":"denied"}}'
                self.send_response(recorder.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


# --- Service Bus settlement (the host's gRPC side) -------------------------------------------


class SettlementRecorder:
    """The Functions host's ``Settlement`` gRPC service on 127.0.0.1, recording requests.

    :meth:`install` points the extension's ``ServiceBusMessageActions`` at it the way the
    worker's command line does (``--host``, ``--port``, ``--functions-grpc-max-message-length``).
    """

    def __init__(self) -> None:
        import grpc
        from azurefunctions.extensions.bindings.protos import settlement_pb2_grpc
        from google.protobuf import empty_pb2

        self.calls: list[tuple[str, str]] = []
        recorder = self

        class Servicer(settlement_pb2_grpc.SettlementServicer):
            def Complete(self, request: Any, context: Any) -> Any:
                recorder.calls.append(("complete", request.locktoken))
                return empty_pb2.Empty()

            def Abandon(self, request: Any, context: Any) -> Any:
                recorder.calls.append(("abandon", request.locktoken))
                return empty_pb2.Empty()

            def Deadletter(self, request: Any, context: Any) -> Any:
                recorder.calls.append(("deadletter", request.locktoken))
                return empty_pb2.Empty()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        settlement_pb2_grpc.add_SettlementServicer_to_server(Servicer(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Any:
        """The settlement client the worker would inject, connected to this recorder."""
        from azurefunctions.extensions.bindings.servicebus import ServiceBusClientConverter, ServiceBusMessageActions

        monkeypatch.setattr(
            sys,
            "argv",
            [
                "worker.py",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--functions-grpc-max-message-length",
                str(32 * 1024 * 1024),
            ],
        )
        monkeypatch.setattr(ServiceBusMessageActions, "_instance", None)
        return ServiceBusClientConverter.get_client()

    def stop(self) -> None:
        self._server.stop(grace=None)


@dataclass(frozen=True)
class HostMessage:
    """What a test sends through the host: the message and its lock token."""

    message_id: str
    body: bytes
    properties: Mapping[str, str] = field(default_factory=dict)
    delivery_count: int = 1
    enqueued: dt.datetime = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    session_id: str | None = None
    lock_token: uuid.UUID = field(default_factory=uuid.uuid4)


def model_binding_data(message: HostMessage) -> SimpleNamespace:
    """The host's model binding data for one message: the lock token (16 bytes, .NET Guid
    order), the ``x-opt-lock-token`` marker, then the AMQP-encoded message."""
    import uamqp
    from uamqp.message import MessageHeader, MessageProperties

    header = MessageHeader()
    header.delivery_count = message.delivery_count
    amqp = uamqp.Message(
        body=message.body,
        properties=MessageProperties(message_id=message.message_id, group_id=message.session_id),
        application_properties=dict(message.properties),
        header=header,
    )
    amqp.annotations = {b"x-opt-enqueued-time": int(message.enqueued.timestamp() * 1000)}
    content = message.lock_token.bytes_le + b"x-opt-lock-token" + amqp.encode_message()
    return SimpleNamespace(
        version="1.0", source="AzureServiceBusReceivedMessage", content_type="application/octet-stream", content=content
    )


def host_sdk_messages(messages: list[HostMessage], *, many: bool) -> Any:
    """The trigger argument of an SDK-type binding, decoded by the extension's converter as
    the worker does (a list for cardinality ``many``)."""
    from azurefunctions.extensions.base import Datum
    from azurefunctions.extensions.bindings.servicebus import ServiceBusConverter

    if many:
        datum = Datum(
            SimpleNamespace(model_binding_data=[model_binding_data(m) for m in messages]),
            "collection_model_binding_data",
        )
    else:
        (single,) = messages
        datum = Datum(model_binding_data(single), "model_binding_data")
    return ServiceBusConverter.decode(datum, trigger_metadata={}, pytype=None)


def host_binding_messages(messages: list[HostMessage], *, many: bool) -> Any:
    """The trigger argument of the worker's own ``ServiceBusMessage`` binding, decoded by
    ``azure.functions`` from the data and trigger metadata the host sends."""
    from azure.functions import meta
    from azure.functions.servicebus import ServiceBusMessageInConverter

    def js(value: Any) -> meta.Datum:
        return meta.Datum(json.dumps(value), "json")

    def stamp(value: dt.datetime) -> str:
        return value.isoformat()

    if many:
        # Text bodies arrive as a collection of strings, one per message.
        data = meta.Datum(SimpleNamespace(string=[m.body.decode() for m in messages]), "collection_string")
        metadata = {
            "MessageIdArray": js([m.message_id for m in messages]),
            "ApplicationPropertiesArray": js([dict(m.properties) for m in messages]),
            "UserPropertiesArray": js([dict(m.properties) for m in messages]),
            "DeliveryCountArray": js([m.delivery_count for m in messages]),
            "EnqueuedTimeUtcArray": js([stamp(m.enqueued) for m in messages]),
            "SessionIdArray": js([m.session_id for m in messages]),
            "LockTokenArray": js([str(m.lock_token) for m in messages]),
        }
    else:
        (single,) = messages
        data = meta.Datum(single.body.decode(), "string")
        metadata = {
            "MessageId": meta.Datum(single.message_id, "string"),
            "ApplicationProperties": js(dict(single.properties)),
            "UserProperties": js(dict(single.properties)),
            "DeliveryCount": meta.Datum(single.delivery_count, "int"),
            "EnqueuedTimeUtc": meta.Datum(stamp(single.enqueued), "string"),
            "LockToken": meta.Datum(str(single.lock_token), "string"),
        }
        if single.session_id is not None:
            metadata["SessionId"] = meta.Datum(single.session_id, "string")
    return ServiceBusMessageInConverter.decode(data, trigger_metadata=metadata)


@pytest.fixture(scope="session", name="azurite")
def azurite_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteQueue]:
    """Azurite's Queue service for the session (tests make their own queues). Import it into a
    test module as ``from .azure_emulators import azurite_fixture  # noqa: F401``."""
    yield from running(AzuriteQueue(tmp_path_factory.mktemp("azurite")))


def running(resource: Any) -> Iterator[Any]:
    """Yield ``resource`` and stop it afterwards (fixture helper)."""
    try:
        yield resource
    finally:
        resource.stop()


class WorkerContext(func.Context):
    """What the Functions worker passes as ``context`` (azure.functions ships only the ABC)."""

    def __init__(self, function_name: str, invocation_id: str | None = None, retry_context: Any = None) -> None:
        self._function_name = function_name
        self._invocation_id = invocation_id or str(uuid.uuid4())
        self._retry_context = retry_context

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return "/home/site/wwwroot"

    @property
    def thread_local_storage(self) -> Any:
        return None

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return self._retry_context
