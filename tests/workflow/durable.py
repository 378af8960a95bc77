"""Run a golden workflow through the real Durable Functions app, offline.

What is real: the app :func:`~components.runtime.adapters.azure_workflow.build_workflow_app`
registers (its starter, orchestrator and activity functions, as the worker would call them),
the activity's HTTP call, and the target side — every task is POSTed over loopback HTTP to
:class:`TaskServer`, which hands the request to the ``call_task`` function that
:func:`components.runtime.adapters.azure.build_app` registers, with the handlers of
:mod:`tests.workflow.handlers` as the user code.

What is simulated: the Durable Task runtime. :class:`FakeDurableContext` is the SDK's own
``DurableOrchestrationContext`` whose scheduling calls complete at once: ``call_activity`` runs
the activity function, ``call_sub_orchestrator`` drives the orchestrator on a child context,
``create_timer`` records the sleep and moves the clock to the timer's due time, ``task_all``
resumes the parent when its last child finished. The orchestrator is driven with the SDK's
testing helper ``orchestrator_generator_wrapper``.

The clock, faithfully: a Durable orchestrator's ``current_utc_datetime`` is the time its
current episode started, so across an activity it advances by however long the activity took
(plus queueing, which is zero here). The fake context advances it by the activity's measured
wall-clock run time: ``slow`` really sleeps on the target (its ``ctx`` has no ``sleep`` there),
and the activity gives up after the task's ``timeout_s``, so a timed-out task costs about
``timeout_s`` of real time. Branches of one ``task_all`` start at the same instant and the
parent resumes at the latest finish, as concurrent sub-orchestrations would.

Every orchestration instance (the execution and each branch) is recorded — its input, each task
it yielded with the result and the time it resumed, its output — so :func:`replay` can rebuild
the Durable history and re-run the registered orchestrator through the SDK's real replay engine.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.durable_functions import DurableOrchestrationContext
from azure.durable_functions.constants import DATETIME_STRING_FORMAT
from azure.durable_functions.models.history import HistoryEventType
from azure.durable_functions.models.Task import TaskBase, WhenAllTask
from azure.durable_functions.testing import orchestrator_generator_wrapper
from azure.functions._durable_functions import df_dumps, df_loads

from components.runtime.adapters import azure, azure_workflow
from components.runtime.orchestration.task import TASK_ROUTE
from tests.runtime.azure_emulators import WorkerContext
from tests.workflow import handlers

HANDLER_SPEC = "tests.workflow.durable.serve_target"
WORKFLOW = "golden"
T0 = datetime(2024, 1, 1, tzinfo=UTC)

_target = threading.local()


def serve_target(event: Any, ctx: Any) -> Any:
    """The user handler behind every task route: the golden handler the request was sent to."""
    return getattr(handlers, _target.name)(event, ctx)


# --- the target side: loopback HTTP into the real Azure task route -------------------------------


@dataclass
class TaskServer:
    """Serves ``POST /<function>/_omnicloud/task`` for every golden handler.

    Each handler stands for one function app whose URL is ``<base>/<function>`` and whose key
    is ``key-<function>``; like the Functions host, the server answers 401 to a wrong key
    before any code runs. Requests are handed to the real ``call_task`` entry function.
    """

    base: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def targets(self) -> dict[str, dict[str, str]]:
        """The ``OMNICLOUD_WORKFLOW_TARGETS`` value for these apps."""
        return {name: {"url": f"{self.base}/{name}", "key": f"key-{name}"} for name in handlers.NAMES}

    def __enter__(self) -> TaskServer:
        entry = {f.get_function_name(): f for f in azure.build_app(http="public", schedule=None).get_functions()}
        task_entry = entry[azure.TASK_FUNCTION].get_user_function()
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                _, name, route = self.path.split("/", 2)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if "/" + route != TASK_ROUTE or name not in handlers.NAMES:
                    return self._send(404, b"")
                if self.headers.get(azure_workflow.TASK_KEY_HEADER) != f"key-{name}":
                    return self._send(401, b"")
                calls.append({"function": name, **json.loads(body)})
                request = func.HttpRequest(
                    method="POST",
                    url=f"https://{name}.azurewebsites.net{TASK_ROUTE}",
                    headers=dict(self.headers.items()),
                    params={},
                    route_params={},
                    body=body,
                )
                _target.name = name
                response = task_entry(req=request, context=WorkerContext(azure.TASK_FUNCTION))
                self._send(response.status_code, response.get_body())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # A timed-out task's handler answers into a socket the activity has closed.
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


# --- the simulated Durable Task runtime --------------------------------------------------------


@dataclass
class Yielded:
    """One task an orchestrator yielded, and when it resumed with the task's result."""

    task: TaskBase
    resumed_at: datetime


@dataclass
class Instance:
    """One orchestration instance, as recorded."""

    id: str
    parent: str | None
    input: Any
    started_at: datetime
    yielded: list[Yielded] = field(default_factory=list)
    output: Any = None


@dataclass
class DurableRun:
    """The registered functions of one workflow app and what running it recorded."""

    orchestrator: Callable[..., Any]
    """The registered orchestrator function (the SDK's ``Orchestrator.create`` handle)."""
    activity: Callable[..., Any]
    starter: Callable[..., Any]
    latency_s: float = 0.0
    """Extra time each activity's reply takes to reach the orchestrator (queues, cold starts)."""
    sleeps: list[float] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)

    @classmethod
    def of(cls, app: Any, *, latency_s: float = 0.0) -> DurableRun:
        functions = {f.get_function_name(): f.get_user_function() for f in app.get_functions()}
        return cls(
            orchestrator=functions[azure_workflow.ORCHESTRATOR],
            activity=functions[azure_workflow.TASK_ACTIVITY],
            # The Durable client middleware keeps the function as written.
            starter=functions[azure_workflow.STARTER].client_function,
            latency_s=latency_s,
        )

    def start(self, instance_id: str, input: dict[str, Any]) -> dict[str, Any]:
        """Send a start message through the real starter, then run the execution it starts."""
        client = RecordingClient()
        message = func.QueueMessage(id="m-1", body=json.dumps({"id": instance_id, "input": input}).encode())
        asyncio.run(self.starter(message=message, client=client))
        [(name, started_id, execution)] = client.started
        assert (name, started_id) == (azure_workflow.ORCHESTRATOR, instance_id)
        return self.drive(FakeDurableContext(self, started_id, None, execution, T0))

    def drive(self, context: FakeDurableContext) -> Any:
        """Run the orchestrator on ``context`` to completion with the SDK's testing helper."""
        user_code = self.orchestrator.orchestrator_function(context)
        record = context.record
        try:
            for item in orchestrator_generator_wrapper(user_code):
                if isinstance(item, TaskBase):
                    record.yielded.append(Yielded(item, context.current_utc_datetime))
                else:
                    record.output = item
        except RuntimeError as exc:
            # The helper calls next() on the orchestrator unguarded, so an orchestration that
            # returns before its first yield surfaces as PEP 479's RuntimeError.
            if not isinstance(exc.__cause__, StopIteration):
                raise
            record.output = exc.__cause__.value
        return record.output


@dataclass
class RecordingClient:
    """A Durable client on which no instance exists yet; records what is started."""

    started: list[tuple[str, str, Any]] = field(default_factory=list)

    async def get_status(self, instance_id: str) -> Any:
        return type("Status", (), {"runtime_status": None})()

    async def start_new(self, name: str, instance_id: str, client_input: Any) -> str:
        self.started.append((name, instance_id, _json(client_input)))
        return instance_id


def _json(value: Any) -> Any:
    """``value`` as it arrives after Durable serialised it, with Durable's own codec."""
    return df_loads(df_dumps(value))


def _event(kind: HistoryEventType, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"EventType": int(kind), "EventId": -1, "IsPlayed": False, "Timestamp": _stamp(at), **fields}


def _started(at: datetime, input: Any) -> dict[str, Any]:
    """ExecutionStarted, as the extension sends it (no orchestration version)."""
    return _event(
        HistoryEventType.EXECUTION_STARTED, at, Name=azure_workflow.ORCHESTRATOR, Input=json.dumps(input), Version=None
    )


def _stamp(at: datetime) -> str:
    return at.strftime(DATETIME_STRING_FORMAT)


class FakeDurableContext(DurableOrchestrationContext):
    """The SDK's orchestration context, with every task completing as soon as it is scheduled."""

    def __init__(self, run: DurableRun, instance_id: str, parent: str | None, input: Any, start: datetime) -> None:
        history = [
            _event(HistoryEventType.ORCHESTRATOR_STARTED, start),
            _started(start, input),
        ]
        super().__init__(
            history=history, instanceId=instance_id, isReplaying=False, parentInstanceId=parent, input=input
        )
        self.run = run
        self.record = Instance(instance_id, parent, input, start)
        self.children = 0
        self.finished_at: dict[int, datetime] = {}
        run.instances.append(self.record)

    def call_activity(self, name: Any, input_: Any = None, expected_type: Any = None) -> TaskBase:
        assert name == azure_workflow.TASK_ACTIVITY
        task = super().call_activity(name, input_)
        started = time.monotonic()
        result = self.run.activity(request=_json(input_))
        self.current_utc_datetime += timedelta(seconds=time.monotonic() - started + self.run.latency_s)
        task.set_value(is_error=False, value=_json(result))
        return task

    def call_sub_orchestrator(
        self, name: Any, input_: Any = None, instance_id: str | None = None, version: str | None = None, **_: Any
    ) -> TaskBase:
        assert name == azure_workflow.ORCHESTRATOR
        task = super().call_sub_orchestrator(name, input_, instance_id, version)
        self.children += 1
        child_id = instance_id or f"{self.instance_id}:{self.children}"
        child = FakeDurableContext(self.run, child_id, self.instance_id, _json(input_), self.current_utc_datetime)
        output = self.run.drive(child)
        self.finished_at[id(task)] = child.current_utc_datetime
        task.set_value(is_error=False, value=_json(output))
        return task

    def create_timer(self, fire_at: datetime) -> TaskBase:
        task = super().create_timer(fire_at)
        self.run.sleeps.append((fire_at - self.current_utc_datetime).total_seconds())
        self.current_utc_datetime = fire_at
        task.set_value(is_error=False, value=None)
        return task

    def task_all(self, activities: list[TaskBase]) -> TaskBase:
        task = super().task_all(activities)
        ends = [self.finished_at.get(id(child), self.current_utc_datetime) for child in activities]
        self.current_utc_datetime = max([self.current_utc_datetime, *ends])
        return task


# --- replay through the SDK's executor ---------------------------------------------------------


def _leaves(task: TaskBase) -> list[TaskBase]:
    return list(task.children) if isinstance(task, WhenAllTask) else [task]


def history(instance: Instance) -> list[dict[str, Any]]:
    """The Durable history of a recorded instance: one episode per yield.

    Task ids are the order in which the orchestrator scheduled its tasks, as the SDK numbers
    them; each episode schedules a yield's tasks, then the next one starts (with that yield's
    resume time as the orchestration's time) by completing them.
    """
    events = [
        _event(HistoryEventType.ORCHESTRATOR_STARTED, instance.started_at),
        _started(instance.started_at, instance.input),
    ]
    sequence = 0
    at = instance.started_at
    for step in instance.yielded:
        ids: list[tuple[int, TaskBase]] = []
        for leaf in _leaves(step.task):
            ids.append((sequence, leaf))
            action = leaf.action_repr[0] if isinstance(leaf.action_repr, list) else leaf.action_repr
            events.append(_scheduled(sequence, leaf._api_name, action, at))
            sequence += 1
        events.append(_event(HistoryEventType.ORCHESTRATOR_COMPLETED, at))
        at = step.resumed_at
        events.append(_event(HistoryEventType.ORCHESTRATOR_STARTED, at))
        for task_id, leaf in ids:
            events.append(_completed(task_id, leaf, at))
    return events


def _scheduled(task_id: int, api: str, action: Any, at: datetime) -> dict[str, Any]:
    if api == "CallActivityAction":
        return _event(HistoryEventType.TASK_SCHEDULED, at, EventId=task_id, Name=action.function_name)
    if api == "CreateTimerAction":
        return _event(HistoryEventType.TIMER_CREATED, at, EventId=task_id, FireAt=_stamp(action.fire_at))
    assert api == "CallSubOrchestratorAction", api
    return _event(HistoryEventType.SUB_ORCHESTRATION_INSTANCE_CREATED, at, EventId=task_id, Name=action.function_name)


def _completed(task_id: int, leaf: TaskBase, at: datetime) -> dict[str, Any]:
    if leaf._api_name == "CreateTimerAction":
        return _event(HistoryEventType.TIMER_FIRED, at, TimerId=task_id, FireAt=_stamp(at))
    kind = (
        HistoryEventType.TASK_COMPLETED
        if leaf._api_name == "CallActivityAction"
        else HistoryEventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED
    )
    return _event(kind, at, TaskScheduledId=task_id, Result=json.dumps(leaf.result))


def recorded_actions(instance: Instance) -> list[list[dict[str, Any]]]:
    """The actions the instance's yields stand for, as the SDK reports them to the host."""
    return [[action.to_json() for action in step.task.action_repr] for step in instance.yielded]


def replay(run: DurableRun, instance: Instance) -> dict[str, Any]:
    """The state the registered orchestrator reports when replayed over ``instance``'s history."""
    body = {
        "history": history(instance),
        "instanceId": instance.id,
        "isReplaying": True,
        "parentInstanceId": instance.parent,
        "input": instance.input,
        "upperSchemaVersion": 0,
    }
    return json.loads(run.orchestrator(json.dumps(body)))


# --- one golden, end to end --------------------------------------------------------------------


def workflow_app(definition: dict[str, Any], directory: Path, monkeypatch: Any) -> Any:
    """Build the workflow app for ``definition`` the way the worker does when indexing."""
    path = directory / azure_workflow.DEFINITION_FILE
    path.write_text(json.dumps(definition))
    # The app sets it for its process; here, for this test only.
    monkeypatch.setenv(azure_workflow.STRICT_TYPING_SETTING, "1")
    monkeypatch.setenv(azure_workflow.DEFINITION_SETTING, str(path))
    monkeypatch.setenv(azure_workflow.NAME_SETTING, WORKFLOW)
    return azure_workflow.build_workflow_app()


def configure(server: TaskServer, monkeypatch: Any) -> None:
    """The app settings both sides read."""
    monkeypatch.setenv(azure_workflow.TARGETS_SETTING, json.dumps(server.targets()))
    monkeypatch.setenv("OMNICLOUD_HANDLER", HANDLER_SPEC)
