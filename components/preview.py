"""Run a Pulumi program under the mock engine with a stack's real config, and report what it
would create: no Pulumi CLI, no credentials, no cloud calls.

``omnicloud preview`` is built on :func:`preview_stack`; tests use it too.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.testing import MockStack, RecordedResource


class ProjectError(RuntimeError):
    """The project or stack files are missing or malformed."""


@dataclass(frozen=True)
class Project:
    """The parts of ``Pulumi.yaml`` a preview needs."""

    root: Path
    name: str
    main: Path
    stack_config_dir: Path
    defaults: Mapping[str, str]
    """Config defaults declared in ``Pulumi.yaml`` (``namespace:key`` -> value)."""


@dataclass(frozen=True)
class PreviewResult:
    """What a program registered under the mock engine."""

    project: str
    stack: str
    config: Mapping[str, str]
    resources: list[RecordedResource]
    outputs: Mapping[str, Any]

    def roots(self) -> list[RecordedResource]:
        """Resources with no parent in the program (components and shared stack resources)."""
        urns = {r.urn for r in self.resources}
        return [r for r in self.resources if r.parent not in urns]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]


def load_project(start: Path) -> Project:
    """Find ``Pulumi.yaml`` at or above ``start`` and read it."""
    start = start.resolve()
    for directory in (start, *start.parents):
        path = directory / "Pulumi.yaml"
        if path.exists():
            data = yaml.safe_load(path.read_text()) or {}
            name = data.get("name")
            if not name:
                raise ProjectError(f"{path}: 'name' is required")
            main = directory / data.get("main", ".")
            if main.is_dir():
                main = main / "__main__.py"
            defaults = {}
            for key, spec in (data.get("config") or {}).items():
                full = key if ":" in key else f"{name}:{key}"
                if isinstance(spec, dict) and "default" in spec:
                    defaults[full] = _config_text(spec["default"])
                elif not isinstance(spec, dict):
                    defaults[full] = _config_text(spec)
            return Project(
                root=directory,
                name=name,
                main=main,
                stack_config_dir=directory / data.get("stackConfigDir", "."),
                defaults=defaults,
            )
    raise ProjectError(f"no Pulumi.yaml at or above {start}")


def stack_names(project: Project) -> list[str]:
    """Stacks that have a ``Pulumi.<stack>.yaml`` in the project's stack config dir."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project.stack_config_dir.glob("Pulumi.*.yaml"))


def load_stack_config(project: Project, stack: str) -> dict[str, str]:
    """Config of ``stack`` as the engine passes it: ``namespace:key`` -> string.

    Secure (encrypted) values cannot be decrypted offline; they are passed as a placeholder
    and marked secret.
    """
    path = project.stack_config_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(stack_names(project)) or "none"
        raise ProjectError(f"stack '{stack}' has no config file {path} (stacks here: {known})")
    data = yaml.safe_load(path.read_text()) or {}
    config = dict(project.defaults)
    for key, value in (data.get("config") or {}).items():
        full = key if ":" in key else f"{project.name}:{key}"
        config[full] = _config_text(value)
    return config


def preview_stack(stack: str, start: Path | None = None) -> PreviewResult:
    """Run the project's program for ``stack`` under mocks and collect what it registered."""
    with run_program(stack, start) as (project, config, mock):
        outputs = stack_outputs(mock)
    return PreviewResult(
        project=project.name, stack=stack, config=config, resources=list(mock.resources), outputs=outputs
    )


@contextmanager
def run_program(
    stack: str, start: Path | None = None, overrides: Mapping[str, str] | None = None
) -> Iterator[tuple[Project, dict[str, str], MockStack]]:
    """Run the project's program for ``stack`` under mocks, settled; inside the ``with`` block
    the stack is still current, so its outputs can be resolved and its components inspected.

    ``overrides`` replaces stack config values (``namespace:key`` -> value), as ``pulumi up
    --config`` would; ``omnicloud dev`` passes the port and data directory it serves.
    """
    project = load_project(start or Path.cwd())
    config = {**load_stack_config(project, stack), **(overrides or {})}
    secret_keys = tuple(k for k, v in config.items() if v == _SECRET_PLACEHOLDER)
    with (
        _program_environment(project),
        MockStack(config=config, project=project.name, stack=stack, root=project.root, secret_keys=secret_keys) as mock,
    ):
        runpy.run_path(str(project.main), run_name="__main__")
        mock.settle()
        yield project, config, mock


_SECRET_PLACEHOLDER = "[secret]"


def _config_text(value: Any) -> str:
    if isinstance(value, dict) and "secure" in value:
        return _SECRET_PLACEHOLDER
    if isinstance(value, str):
        return value
    return json.dumps(value)


@contextmanager
def _program_environment(project: Project) -> Iterator[None]:
    """Run the program as the Pulumi CLI does: from the project dir, importable from it."""
    cwd = Path.cwd()
    sys.path.insert(0, str(project.root))
    os.chdir(project.root)
    try:
        yield
    finally:
        os.chdir(cwd)
        if str(project.root) in sys.path:
            sys.path.remove(str(project.root))


def stack_outputs(mock: MockStack) -> dict[str, Any]:
    """The stack outputs the program exported (``pulumi.export``), resolved."""
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    exported = getattr(root, "outputs", {}) or {}
    return {key: mock.resolve(value) for key, value in exported.items()}
