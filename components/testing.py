"""Unit-test Pulumi programs built with omnicloud, offline, on every cloud.

This is the harness omnicloud's own tests use, published for users::

    from components import Function, FunctionArgs
    from components.testing import MockStack, assert_props

    def test_api_is_public_on_aws():
        with MockStack(cloud="aws") as stack:
            api = Function("api", FunctionArgs(handler="functions.api.handle", http="public"))
            url = stack.resolve(api.url)
        assert url.startswith("https://")
        assert_props(stack.one("aws:lambda/functionUrl:FunctionUrl"), {"authorizationType": "NONE"})

What it gives you:

* a fresh event loop and a fresh Pulumi runtime (root stack, config) per ``MockStack``;
* stack config per test (``cloud=`` sets ``omnicloud:cloud``; ``config=`` adds any key);
* every registered resource recorded with its type, name, parent, inputs, outputs and which
  inputs are secrets (:class:`RecordedResource`);
* realistic computed outputs (ARNs, URLs, principal IDs, service-account emails) so that
  component outputs resolve to values shaped like the real cloud's;
* invokes (data sources) fail loudly unless you pass a handler for them in ``calls=``;
* :func:`assert_props` to assert a subset of a resource's properties.

Property names are the engine's (camelCase, e.g. ``memorySize``), as in ``pulumi preview
--json`` and in each provider's API docs.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import settings as _settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

__all__ = [
    "MockStack",
    "RecordedResource",
    "UnmockedCallError",
    "assert_props",
]

T = TypeVar("T")

# The marker the engine's wire format puts on secret values.
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SIG_KEY = "4dabf18193072939515e22adb298388d"

ACCOUNT_ID = "123456789012"
STREAM_LABEL = "2026-01-01T00:00:00.000"
"""The DynamoDB stream label the mocks give every table."""
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_CONFIG: dict[str, dict[str, str]] = {
    "aws": {"aws:region": "us-east-1"},
    "azure": {"azure-native:location": "westeurope"},
    "gcp": {"gcp:project": "omnicloud-test", "gcp:region": "us-central1"},
    "local": {},
}


class UnmockedCallError(RuntimeError):
    """A program called an invoke (data source) the test did not provide a result for."""


@dataclass
class RecordedResource:
    """One resource the program registered, as the engine saw it."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_inputs: frozenset[str] = frozenset()
    """Top-level input names whose value is (or contains) a secret."""

    @property
    def is_component(self) -> bool:
        return not self.custom


class _Recorder(_mocks.Mocks):
    def __init__(self, stack: MockStack) -> None:
        self.stack = stack

    def new_resource(self, args: _mocks.MockResourceArgs) -> tuple[str | None, dict]:
        outputs = dict(args.inputs)
        outputs.update(_computed_outputs(args.typ, args.name, args.inputs, self.stack.config))
        resource_id = outputs.get("id") or outputs.get("arn") or f"{args.name}-id"
        return str(resource_id), outputs

    def call(self, args: _mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        handler = self.stack.calls.get(args.token) or OMNICLOUD_CALLS.get(args.token)
        if handler is None:
            raise UnmockedCallError(
                f"invoke {args.token} was called with {args.args}; pass calls={{{args.token!r}: ...}}"
            )
        return handler(dict(args.args)), []


OMNICLOUD_CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    # A Workflow on Azure reads each task target's default function key (the value is fake).
    "azure-native:web:listWebAppHostKeys": lambda args: {
        "masterKey": "mock-master-key",
        "functionKeys": {"default": f"mock-function-key-{args.get('name', '')}"},
        "systemKeys": {},
    },
}
"""Invokes omnicloud's own providers make, answered without ``calls=`` (``calls=`` wins)."""


class _RecordingMonitor(_mocks.MockMonitor):
    def __init__(self, stack: MockStack) -> None:
        super().__init__(_Recorder(stack))
        self.stack = stack

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            # Registrations run on several threads at once: deserialize here, share nothing.
            inputs = _mocks.rpc.deserialize_properties(request.object)
            registration = self.resources.get(response.urn)
            record = RecordedResource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent or None,
                custom=bool(request.custom),
                inputs=_unwrap_secrets(inputs),
                outputs=dict(registration.state) if registration else {},
                secret_inputs=frozenset(k for k, v in inputs.items() if _contains_secret(v)),
            )
            self.stack.resources.append(record)
            self.stack._by_urn[record.urn] = record
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        # Components report their outputs here; keep them on the component's record.
        record = self.stack._by_urn.get(request.urn)
        if record is not None:
            record.outputs = _unwrap_secrets(_mocks.rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


class MockStack:
    """A Pulumi stack under mocks; use as a context manager around your program.

    :param cloud: sets ``omnicloud:cloud`` (None leaves it unset, to test the error).
    :param config: more stack config, ``{"namespace:key": "value"}``; defaults for the cloud's
        provider (region/location/project) are filled in unless you set them.
    :param project: the Pulumi project name.
    :param stack: the stack name.
    :param root: the project directory handlers are resolved from (default: the current one).
    :param calls: results for invokes, ``{token: lambda args: {...}}`` (the invokes omnicloud's
        providers make themselves are answered by :data:`OMNICLOUD_CALLS` unless given here).
    :param preview: run as ``pulumi preview`` (unknown outputs) instead of ``pulumi up``.
    """

    def __init__(
        self,
        cloud: str | None = None,
        config: Mapping[str, str] | None = None,
        *,
        project: str = "omnicloud",
        stack: str = "test",
        root: str | os.PathLike[str] | None = None,
        calls: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
        secret_keys: tuple[str, ...] = (),
        preview: bool = False,
    ) -> None:
        merged: dict[str, str] = dict(DEFAULT_CONFIG.get(cloud or "", {}))
        if cloud is not None:
            merged["omnicloud:cloud"] = cloud
        merged.update(config or {})
        self.config = merged
        self.project = project
        self.stack = stack
        self.root = os.fspath(root) if root is not None else None
        self.calls = dict(calls or {})
        self.secret_keys = secret_keys
        self.preview = preview
        self.resources: list[RecordedResource] = []
        self._by_urn: dict[str, RecordedResource] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._saved_root_env: str | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> MockStack:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        _engine_settings().rpc_manager.clear()
        _engine_settings().outputs.clear()
        _settings.ROOT.set(None)
        set_all_config(dict(self.config), list(self.secret_keys))
        self._saved_root_env = os.environ.get("OMNICLOUD_PROJECT_ROOT")
        if self.root is not None:
            os.environ["OMNICLOUD_PROJECT_ROOT"] = self.root
        _mocks.set_mocks(
            _Recorder(self),
            project=self.project,
            stack=self.stack,
            preview=self.preview,
            monitor=_RecordingMonitor(self),
        )
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.settle()
        finally:
            if self._saved_root_env is None:
                os.environ.pop("OMNICLOUD_PROJECT_ROOT", None)
            else:
                os.environ["OMNICLOUD_PROJECT_ROOT"] = self._saved_root_env
            set_all_config({}, [])
            _settings.ROOT.set(None)
            if self._loop is not None:
                _drain(self._loop)
                asyncio.set_event_loop(None)
                self._loop.close()

    def settle(self) -> None:
        """Wait until every registration and output has been processed."""
        _sync_await(wait_for_rpcs())

    def resolve(self, value: pulumi.Input[T]) -> T:
        """The plain value of an Output (or input), waiting for the engine as needed."""
        output = pulumi.Output.from_input(value)
        return _sync_await(output.future())  # type: ignore[return-value]

    def is_secret(self, value: pulumi.Input[Any]) -> bool:
        """Whether an Output is marked secret."""
        return bool(_sync_await(pulumi.Output.from_input(value).is_secret()))

    # -- queries -------------------------------------------------------------------------
    def find(self, type_: str | None = None, name: str | None = None) -> list[RecordedResource]:
        """Resources of a type token (exact, e.g. ``aws:lambda/function:Function``) and/or name."""
        self.settle()
        return [r for r in self.resources if (type_ is None or r.type == type_) and (name is None or r.name == name)]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        """Exactly one resource of that type (and name); fails with what was found otherwise."""
        found = self.find(type_, name)
        if len(found) != 1:
            seen = sorted({r.type for r in self.resources})
            raise AssertionError(
                f"expected one {type_}{f' named {name!r}' if name else ''}, found {len(found)}; "
                f"registered types: {seen}"
            )
        return found[0]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        """Direct children of a resource (e.g. of a component)."""
        self.settle()
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, parent: RecordedResource) -> Iterator[RecordedResource]:
        """Children, grandchildren, ... of a resource."""
        for child in self.children(parent):
            yield child
            yield from self.descendants(child)

    def types(self) -> list[str]:
        """Type tokens of every registered resource, in registration order."""
        self.settle()
        return [r.type for r in self.resources]


def _engine_settings() -> Any:
    # The SDK builds SETTINGS' attributes dynamically; type checkers can't see them.
    return _settings.SETTINGS


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a failed program left pending, so the next stack starts clean and quiet."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    _engine_settings().rpc_manager.clear()
    _engine_settings().outputs.clear()


def assert_props(resource: RecordedResource, expected: Mapping[str, Any]) -> None:
    """Assert that ``resource.inputs`` contains ``expected`` (dicts compared as subsets).

    Lists must match element by element, each element compared the same way (so a list of
    dicts may leave keys out). Fails with the path and both values.
    """
    _assert_subset(resource.inputs, expected, f"{resource.type} {resource.name!r}")


def _assert_subset(actual: Any, expected: Any, path: str) -> None:
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            raise AssertionError(f"{path}: expected a mapping, got {actual!r}")
        for key, want in expected.items():
            if key not in actual:
                raise AssertionError(f"{path}.{key}: missing; present keys: {sorted(actual)}")
            _assert_subset(actual[key], want, f"{path}.{key}")
    elif isinstance(expected, list | tuple):
        if not isinstance(actual, list | tuple) or len(actual) != len(expected):
            raise AssertionError(f"{path}: expected {list(expected)!r}, got {actual!r}")
        for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
            _assert_subset(got, want, f"{path}[{i}]")
    elif actual != expected:
        raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")


def _contains_secret(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return True
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return False


def _unwrap_secrets(value: Any) -> Any:
    """Replace the wire format's secret envelopes by their values (secretness is kept in
    :attr:`RecordedResource.secret_inputs`)."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return _unwrap_secrets(value.get("value"))
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


def _short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _computed_outputs(type_: str, name: str, inputs: Mapping[str, Any], config: Mapping[str, str]) -> dict[str, Any]:
    """Outputs the real provider computes, shaped like the real thing."""
    package = type_.split(":", 1)[0]
    if package == "aws":
        return _aws_outputs(type_, name, inputs, config.get("aws:region", "us-east-1"))
    if package == "azure-native":
        return _azure_outputs(type_, name, inputs, config.get("azure-native:location", "westeurope"))
    if package == "gcp":
        return _gcp_outputs(
            type_,
            name,
            inputs,
            config.get("gcp:project", "omnicloud-test"),
            config.get("gcp:region", "us-central1"),
        )
    return {}


def _physical(name: str, inputs: Mapping[str, Any], key: str = "name") -> str:
    # Pulumi auto-names a resource "<logical>-<7 hex>" when no name is given.
    given = inputs.get(key)
    return given if isinstance(given, str) and given else f"{name}-{_short_hash(name, length=7)}"


def _aws_outputs(type_: str, name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    module = type_.split(":")[1].split("/")[0]
    physical = _physical(name, inputs)
    out: dict[str, Any] = {"name": physical}
    if type_ == "aws:iam/role:Role":
        out["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}"
    elif type_ == "aws:lambda/function:Function":
        arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{physical}"
        out.update(
            arn=arn,
            qualifiedArn=f"{arn}:1",
            invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
            version="1",
        )
    elif type_ == "aws:lambda/alias:Alias":
        fn = inputs.get("functionName", "fn")
        out["arn"] = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{fn}:{physical}"
    elif type_ == "aws:lambda/functionUrl:FunctionUrl":
        out["functionUrl"] = f"https://{_short_hash(name, length=32)}.lambda-url.{region}.on.aws/"
        out["urlId"] = _short_hash(name, length=32)
    elif type_ == "aws:cloudwatch/logGroup:LogGroup":
        out["arn"] = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}"
    elif type_ == "aws:scheduler/schedule:Schedule":
        group = inputs.get("groupName", "default")
        out["arn"] = f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/{group}/{physical}"
    elif type_ == "aws:sqs/queue:Queue":
        # pulumi-aws appends ".fifo" to auto-named FIFO queues, as SQS requires.
        if inputs.get("fifoQueue") and not inputs.get("name") and not physical.endswith(".fifo"):
            physical = f"{physical}.fifo"
        url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical}"
        out.update(name=physical, arn=f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{physical}", url=url, id=url)
    elif type_ == "aws:dynamodb/table:Table":
        arn = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{physical}"
        out.update(arn=arn, streamArn=f"{arn}/stream/{STREAM_LABEL}", streamLabel=STREAM_LABEL)
    elif type_ == "aws:cloudwatch/eventBus:EventBus":
        out["arn"] = f"arn:aws:events:{region}:{ACCOUNT_ID}:event-bus/{physical}"
    elif type_ == "aws:cloudwatch/eventRule:EventRule":
        bus = inputs.get("eventBusName", "default")
        out["arn"] = f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{bus}/{physical}"
    elif type_ == "aws:cloudwatch/eventArchive:EventArchive":
        out["arn"] = f"arn:aws:events:{region}:{ACCOUNT_ID}:archive/{physical}"
    elif type_ == "aws:sfn/stateMachine:StateMachine":
        out["arn"] = f"arn:aws:states:{region}:{ACCOUNT_ID}:stateMachine:{physical}"
    elif type_ == "aws:lambda/eventSourceMapping:EventSourceMapping":
        digest = _short_hash(name, length=32)
        out["uuid"] = f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"
    else:
        out["arn"] = f"arn:aws:{module}:{region}:{ACCOUNT_ID}:{physical}"
    return out


def _azure_outputs(type_: str, name: str, inputs: Mapping[str, Any], location: str) -> dict[str, Any]:
    _, module, kind = type_.split(":")
    # azure-native names a resource by "<its kind>Name" (containerName, accountName,
    # resourceGroupName, ...), "name" or "resourceName"; absent, it auto-names it.
    name_keys = [k for k in inputs if k.endswith("Name") and kind.lower().endswith(k[:-4].lower())]
    given = next(
        (inputs[k] for k in [*name_keys, "name", "resourceName"] if isinstance(inputs.get(k), str) and inputs[k]),
        None,
    )
    physical = given or f"{name.replace('-', '')}{_short_hash(name)}"
    group = inputs.get("resourceGroupName") or physical
    provider_ns = {
        "resources": "Microsoft.Resources",
        "web": "Microsoft.Web",
        "storage": "Microsoft.Storage",
        "authorization": "Microsoft.Authorization",
        "operationalinsights": "Microsoft.OperationalInsights",
        "applicationinsights": "Microsoft.Insights",
        "servicebus": "Microsoft.ServiceBus",
        "cosmosdb": "Microsoft.DocumentDB",
        "eventgrid": "Microsoft.EventGrid",
    }.get(module.split("/")[0], f"Microsoft.{module}")
    if kind == "ResourceGroup":
        resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{physical}"
    else:
        resource_id = (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/"
            f"{provider_ns}/{kind[0].lower() + kind[1:]}s/{physical}"
        )
    out: dict[str, Any] = {"id": resource_id, "name": physical, "location": inputs.get("location", location)}
    if kind == "WebApp":
        out["defaultHostName"] = f"{physical}.azurewebsites.net"
    if inputs.get("identity"):
        # Any resource with a system-assigned identity (Function Apps, Event Grid topics...).
        out["identity"] = {
            **dict(inputs["identity"]),
            "principalId": _uuid(name, "principal"),
            "tenantId": _uuid("tenant"),
        }
    if type_ == "azure-native:servicebus:Namespace":
        out["serviceBusEndpoint"] = f"https://{physical}.servicebus.windows.net:443/"
    if type_ == "azure-native:cosmosdb:DatabaseAccount":
        out["documentEndpoint"] = f"https://{physical}.documents.azure.com:443/"
    if type_ == "azure-native:eventgrid:Topic":
        out["endpoint"] = f"https://{physical}.{location}-1.eventgrid.azure.net/api/events"
    if kind == "StorageAccount":
        out["primaryEndpoints"] = {
            "blob": f"https://{physical}.blob.core.windows.net/",
            "queue": f"https://{physical}.queue.core.windows.net/",
            "table": f"https://{physical}.table.core.windows.net/",
        }
    if kind == "Component":
        out["connectionString"] = (
            f"InstrumentationKey={_uuid(name, 'ikey')};IngestionEndpoint=https://{location}.in.applicationinsights.azure.com/"
        )
    return out


def _gcp_outputs(type_: str, name: str, inputs: Mapping[str, Any], project: str, region: str) -> dict[str, Any]:
    out: dict[str, Any] = {"project": inputs.get("project", project)}
    location = inputs.get("location") or inputs.get("region") or region
    if type_ == "gcp:serviceaccount/account:Account":
        account = inputs.get("accountId", name)
        email = f"{account}@{project}.iam.gserviceaccount.com"
        out.update(
            email=email,
            name=f"projects/{project}/serviceAccounts/{email}",
            member=f"serviceAccount:{email}",
            uniqueId=_short_hash(name, length=21),
        )
        out["id"] = out["name"]
    elif type_ == "gcp:cloudfunctionsv2/function:Function":
        physical = _physical(name, inputs)
        full = f"projects/{project}/locations/{location}/functions/{physical}"
        run_uri = f"https://{physical}-{_short_hash(name, length=10)}-uc.a.run.app"
        service_config = dict(inputs.get("serviceConfig") or {})
        service_config.update(uri=run_uri, service=f"projects/{project}/locations/{location}/services/{physical}")
        out.update(
            id=full,
            name=physical,
            url=f"https://{location}-{project}.cloudfunctions.net/{physical}",
            serviceConfig=service_config,
            state="ACTIVE",
        )
    elif type_ == "gcp:storage/bucket:Bucket":
        physical = _physical(name, inputs)
        out.update(
            name=physical, url=f"gs://{physical}", selfLink=f"https://www.googleapis.com/storage/v1/b/{physical}"
        )
    elif type_ == "gcp:secretmanager/secretVersion:SecretVersion":
        out.update(version="1", name=f"{inputs.get('secret', 'secret')}/versions/1")
    elif type_ == "gcp:workflows/workflow:Workflow":
        physical = _physical(name, inputs)
        out.update(name=physical, id=f"projects/{project}/locations/{location}/workflows/{physical}")
    elif type_ == "gcp:cloudscheduler/job:Job":
        physical = _physical(name, inputs)
        out.update(name=physical, id=f"projects/{project}/locations/{location}/jobs/{physical}")
    elif "name" not in inputs:
        out["name"] = _physical(name, inputs)
    return out


def _uuid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
