"""What every local component shares: identifiers, the stack's database, the app registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

DEFAULT_PORT = 8787
"""The local server's port unless stack config ``omnicloud:localPort`` says otherwise."""
DEFAULT_DATA_DIR = ".omnicloud"
"""Where local state lives unless stack config ``omnicloud:localData`` says otherwise."""


def local_id(kind: str, name: str) -> str:
    """``local:<kind>:<project>/<stack>/<name>``: unique per stack, stable across runs."""
    return f"local:{kind}:{pulumi.get_project()}/{pulumi.get_stack()}/{name}"


def local_port() -> int:
    """The loopback port the local server listens on (``omnicloud dev --port`` sets it)."""
    return pulumi.Config("omnicloud").get_int("localPort") or DEFAULT_PORT


def local_database() -> str:
    """The SQLite file holding this stack's queues, tables and executions:
    ``<data dir>/<stack>.db``, the data dir being ``omnicloud:localData`` (``omnicloud dev
    --data``) or ``.omnicloud`` in the project directory (where Pulumi runs the program)."""
    data = pulumi.Config("omnicloud").get("localData") or DEFAULT_DATA_DIR
    return str(Path(data).resolve() / f"{pulumi.get_stack()}.db")


def locator(kind: str, name: str, **fields: Any) -> dict[str, Any]:
    """A local component's locator: what a linked function's client needs to reach it."""
    return {"kind": kind, "cloud": "local", "name": name, "database": local_database(), **fields}


@dataclass
class LocalApp:
    """Every local component the program built, by kind: what ``omnicloud dev`` serves."""

    functions: list[Any] = field(default_factory=list)
    queues: list[Any] = field(default_factory=list)
    buses: list[Any] = field(default_factory=list)
    tables: list[Any] = field(default_factory=list)
    workflows: list[Any] = field(default_factory=list)


def local_app() -> LocalApp:
    """The running stack's :class:`LocalApp` (one per program run)."""
    from providers.shared import stack_singleton

    return stack_singleton("local-app", LocalApp)
