"""What ``omnicloud dev`` serves: the program's local components, read from one mocked run.

:func:`load_app` runs the project's program for a ``local`` stack under the mock engine (no
Pulumi CLI), with the port and data directory the server uses, and turns every component the
local providers recorded (:func:`providers.local.common.local_app`) into plain data: a
:class:`LocalApp`. Every Output is resolved here, so the server never touches Pulumi again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.errors import OmnicloudError

__all__ = [
    "BusSpec",
    "FunctionSpec",
    "LocalApp",
    "NotLocalError",
    "QueueSpec",
    "Subscriber",
    "TableSpec",
    "WorkflowSpec",
    "load_app",
]


class NotLocalError(OmnicloudError):
    """The stack does not deploy to the ``local`` target."""


@dataclass(frozen=True)
class FunctionSpec:
    """One Function as the local server runs it."""

    name: str
    handler: str
    http: str | None
    schedule: str | None
    timeout_s: int
    environment: dict[str, str]
    """Every variable its processes get: ``OMNICLOUD_*``, links, the user's ``environment`` and
    ``secrets``."""


@dataclass(frozen=True)
class Subscriber:
    """A function fed by a queue, a bus subscription or a table's changes."""

    function: str
    batch_size: int = 1
    max_batching_window_s: int = 0


@dataclass(frozen=True)
class QueueSpec:
    name: str
    settings: dict[str, Any]
    """The Queue's :class:`~components.QueueArgs` values (visibility, retries, FIFO, ...)."""
    subscribers: list[Subscriber] = field(default_factory=list)


@dataclass(frozen=True)
class BusSubscriptionSpec:
    name: str
    pattern: dict[str, Any] | None
    target_kind: str
    """``"function"`` or ``"queue"``."""
    target: str
    max_retries: int
    max_event_age_s: int


@dataclass(frozen=True)
class BusSpec:
    name: str
    subscriptions: list[BusSubscriptionSpec] = field(default_factory=list)


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: dict[str, Any]
    """:meth:`components.TableArgs.key_schema`."""
    listeners: list[Subscriber] = field(default_factory=list)


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    definition: dict[str, Any]


@dataclass(frozen=True)
class LocalApp:
    """Everything the local server runs for one stack."""

    project: str
    stack: str
    root: Path
    main: Path
    """The program file (``Pulumi.yaml``'s ``main``)."""
    database: Path
    port: int
    functions: dict[str, FunctionSpec]
    queues: dict[str, QueueSpec]
    buses: dict[str, BusSpec]
    tables: dict[str, TableSpec]
    workflows: dict[str, WorkflowSpec]
    outputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The app as plain data (``GET /_omnicloud/app``), secrets' values left out."""
        return {
            "project": self.project,
            "stack": self.stack,
            "database": str(self.database),
            "port": self.port,
            "functions": {
                name: {"handler": f.handler, "http": f.http, "schedule": f.schedule, "timeout_s": f.timeout_s}
                for name, f in self.functions.items()
            },
            "queues": {name: [s.function for s in q.subscribers] for name, q in self.queues.items()},
            "buses": {name: [s.name for s in b.subscriptions] for name, b in self.buses.items()},
            "tables": {
                name: {"schema": t.schema, "listeners": [s.function for s in t.listeners]}
                for name, t in self.tables.items()
            },
            "workflows": sorted(self.workflows),
            "outputs": self.outputs,
        }


def load_app(stack: str, project_dir: Path, *, port: int, data_dir: Path) -> LocalApp:
    """Run the program of ``stack`` under mocks, serving on ``port`` with state in ``data_dir``.

    Raises:
        NotLocalError: a component of the program is not on the ``local`` target.
        components.preview.ProjectError: no project or no such stack.
        components.errors.OmnicloudError: the program's own validation errors.
    """
    from components.preview import run_program, stack_outputs
    from providers.local.common import local_app, local_database

    overrides = {"omnicloud:localPort": str(port), "omnicloud:localData": str(data_dir.resolve())}
    with run_program(stack, project_dir, overrides) as (project, config, mock):
        cloud = config.get("omnicloud:cloud")
        if cloud != "local":
            raise NotLocalError(
                f"stack '{stack}' deploys to {cloud!r} (omnicloud:cloud); `omnicloud dev` runs local stacks "
                "such as dev-local: choose one with --stack"
            )
        found = local_app()
        others = _components_elsewhere()
        if others:
            raise NotLocalError(
                f"stack '{stack}': {', '.join(others)} not on the local target (a cloud= argument?); "
                "`omnicloud dev` can only run local components"
            )
        functions = {fn.logical_name: _function(fn, mock) for fn in found.functions}
        app = LocalApp(
            project=project.name,
            stack=stack,
            root=project.root,
            main=project.main,
            database=Path(local_database()),
            port=port,
            functions=functions,
            queues={q.logical_name: _queue(q) for q in found.queues},
            buses={b.logical_name: _bus(b) for b in found.buses},
            tables={t.logical_name: _table(t) for t in found.tables},
            workflows={w.logical_name: WorkflowSpec(w.logical_name, w.resources.definition) for w in found.workflows},
            outputs=stack_outputs(mock),
        )
    return app


def _components_elsewhere() -> list[str]:
    """Components of the program built for another target than local."""
    from components.function import functions_in_program

    return sorted(f"Function '{name}'" for name, fn in functions_in_program().items() if fn.cloud != "local")


def _function(component: Any, mock: Any) -> FunctionSpec:
    resources = component.resources
    environment: dict[str, Any] = {**resources.environment, **resources.secrets}
    resolved = {key: mock.resolve(value) for key, value in environment.items()}
    return FunctionSpec(
        name=component.logical_name,
        handler=resources.handler,
        http=resources.http,
        schedule=resources.schedule,
        timeout_s=resources.timeout_s,
        environment={key: value if isinstance(value, str) else json.dumps(value) for key, value in resolved.items()},
    )


def _queue(component: Any) -> QueueSpec:
    resources = component.resources
    return QueueSpec(
        component.logical_name,
        dict(resources.settings),
        [Subscriber(s["function"], s["batch_size"], s.get("max_batching_window_s", 0)) for s in resources.subscribers],
    )


def _bus(component: Any) -> BusSpec:
    return BusSpec(
        component.logical_name,
        [
            BusSubscriptionSpec(
                name=s["subscription"],
                pattern=s["pattern"],
                target_kind=s["target"]["kind"],
                target=s["target"]["name"],
                max_retries=s["max_retries"],
                max_event_age_s=s.get("max_event_age_s", 86400),
            )
            for s in component.resources.subscriptions
        ],
    )


def _table(component: Any) -> TableSpec:
    resources = component.resources
    return TableSpec(
        component.logical_name,
        dict(resources.schema),
        [Subscriber(s["function"], s["batch_size"]) for s in resources.listeners],
    )
