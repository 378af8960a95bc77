"""End to end on ministack: real Lambda handlers, deployed from an archive our packager built,
triggered by real event source mappings (SQS with partial-batch failures and redrive;
DynamoDB Streams) and by an EventBridge rule, writing to DynamoDB through the runtime clients.

ministack (PyPI, a pure-Python AWS emulator) pins its own botocore, so it lives in its own
virtualenv: ``$OMNICLOUD_MINISTACK_VENV`` or ``<repo>/.venv-ministack``, created on first use
with ``python3 -m venv`` + ``pip install ministack==1.5.33 boto3`` (CI creates it beforehand). boto3 is
installed beside it because ministack runs a Python function's code with its own interpreter,
and the real Lambda Python runtime ships boto3: the archive, like a real one, does not vendor
it. The server is bound to 127.0.0.1 on a free port and stopped after the session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from components.packaging import ArchiveSpec, Vendored, build_archive
from components.runtime.clients import aws as aws_clients
from tests.conftest import REPO_ROOT
from tests.runtime.emulators import emulator_missing, free_port

from .aws_emulators import REGION, point_boto3_at, unique

pytestmark = pytest.mark.slow

ADAPTER = "components.runtime.adapters.aws.handler"
RUNTIME = "python3.11"
T = TypeVar("T")


# --- the emulator ---------------------------------------------------------------------------


def ministack_venv() -> Path:
    return Path(os.environ.get("OMNICLOUD_MINISTACK_VENV") or REPO_ROOT / ".venv-ministack")


MINISTACK_REQUIREMENTS = ("ministack==1.5.33", "boto3")
"""What the emulator's venv holds. ministack is pinned because the behaviour these tests rely
on (event source mappings, partial-batch responses, redrive) is the emulator's, and it changes
often; boto3 resolves to the release matching ministack's pinned botocore."""


def ensure_ministack(venv: Path) -> Path:
    """The ``ministack`` executable of ``venv``, installing ministack and boto3 there if missing."""
    executable = venv / "bin" / "ministack"
    python = venv / "bin" / "python"
    if executable.exists() and _imports(python, "boto3"):
        return executable
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        # One resolver run for both, so boto3 cannot move ministack's pinned botocore.
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *MINISTACK_REQUIREMENTS],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        emulator_missing(f"could not install {' '.join(MINISTACK_REQUIREMENTS)} into {venv}: {exc} {detail[-2000:]}")
    if not executable.exists():
        emulator_missing(f"{executable} missing after installing {' '.join(MINISTACK_REQUIREMENTS)}")
    return executable


def _imports(python: Path, module: str) -> bool:
    result = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, timeout=60, check=False)
    return result.returncode == 0


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ministack exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_ministack/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"ministack not ready after {timeout_s}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a ministack server on 127.0.0.1 for this session."""
    executable = ensure_ministack(ministack_venv())
    work = tmp_path_factory.mktemp("ministack")
    port = free_port()
    log = work / "ministack.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        # Its pid file and Lambda code directories go under TMPDIR, its state under STATE_DIR:
        # both inside this session's temporary directory.
        "TMPDIR": str(work),
        "STATE_DIR": str(work / "state"),
        "BIND_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "MINISTACK_REGION": REGION,
        "LOG_LEVEL": "INFO",
    }
    with log.open("wb") as sink:
        # Its own session, so teardown can stop the Lambda worker processes it spawns too.
        process = subprocess.Popen(
            [str(executable)], env=env, cwd=work, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield url
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


@pytest.fixture
def cloud(ministack: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """boto3 client factory against ministack (the runtime clients find it the same way)."""
    point_boto3_at(monkeypatch, ministack)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN")

    def client(service: str) -> Any:
        import boto3

        return boto3.session.Session(region_name=REGION).client(service, endpoint_url=ministack)

    return client


def eventually(probe: Callable[[], T | None], *, timeout_s: float = 60, what: str) -> T:
    """Poll ``probe`` until it returns something truthy (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


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


def archive(root: Path, handler: str) -> bytes:
    built = build_archive(
        ArchiveSpec(
            handler=handler,
            dependencies=Vendored(platforms=("manylinux2014_x86_64",), python_version="3.11"),
        ),
        root=root,
    )
    assert "components/runtime/adapters/aws.py" in built.files
    assert "components/runtime/clients/aws.py" in built.files
    assert f"{handler.rsplit('.', 1)[0].replace('.', '/')}.py" in built.files
    return built.path.read_bytes()


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


def create_role(client: Callable[[str], Any]) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    return client("iam").create_role(RoleName=unique("fn-role"), AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]


def create_function(
    client: Callable[[str], Any], ministack: str, *, code: bytes, handler: str, role: str, env: dict[str, str]
) -> str:
    name = unique(handler.rsplit(".", 2)[-2])
    lam = client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime=RUNTIME,
        Role=role,
        Handler=ADAPTER,
        Code={"ZipFile": code},
        Timeout=30,
        Environment={
            "Variables": {
                "OMNICLOUD_HANDLER": handler,
                "OMNICLOUD_CLOUD": "aws",
                # boto3 inside the function talks to the emulator, like every SDK client here.
                "AWS_ENDPOINT_URL": ministack,
                **env,
            }
        },
    )
    eventually(
        lambda: lam.get_function_configuration(FunctionName=name).get("State") == "Active",
        timeout_s=30,
        what=f"function {name} to become Active",
    )
    return name


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
