"""Compiled workflows on Step Functions emulators: deploy the task handlers, run, read outcomes.

The task handlers (:mod:`tests.workflow.handlers`) are deployed as real Lambdas built by our
packager from a throwaway project holding ``tests/workflow/handlers.py``, one function per
handler name (``OMNICLOUD_HANDLER=tests.workflow.handlers.<name>``), entry point
:func:`components.runtime.adapters.aws.handler`.

Why ``provided.al2023`` + ``awslambdaric`` on ministack: ministack's own ``python3.x``
executor reports *every* handler exception as ``errorType: Runtime.HandlerError``, whereas AWS's
Python runtime reports the exception's class name, which is the portable error name the compiled
ASL matches in Retry/Catch. So the same archive also vendors ``awslambdaric`` (AWS's Lambda
runtime interface client: the code AWS's own Python base images run, serialising a failure as
``{"errorMessage": str(e), "errorType": type(e).__name__}``) and a ``bootstrap`` that starts it;
ministack drives it through its Lambda Runtime API, as AWS drives a custom runtime. The bootstrap
runs ministack's own interpreter, the one its Python runtime would use.
"""

from __future__ import annotations

import io
import json
import platform
import shlex
import shutil
import subprocess
import time
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.packaging import ArchiveSpec, Vendored, build_archive
from tests.conftest import REPO_ROOT
from tests.runtime.aws_emulators import unique
from tests.runtime.emulators import emulator_missing
from tests.runtime.ministack import Clients, create_function, create_role
from tests.workflow import handlers

AWSLAMBDARIC = "awslambdaric==4.2.2"
"""Pinned: the error serialisation these tests rely on is this client's."""
SFN_ROLE = "arn:aws:iam::000000000000:role/omnicloud-workflow"
"""The emulators do not check the state machine's role; AWS would assume it to invoke."""


def handler_project(root: Path) -> Path:
    """A minimal project holding only the task handlers, as ``tests/workflow/handlers.py``."""
    package = root / "tests" / "workflow"
    package.mkdir(parents=True)
    (root / "tests" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    shutil.copy(REPO_ROOT / "tests" / "workflow" / "handlers.py", package / "handlers.py")
    return root


def _python_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def task_archive(root: Path, handler: str, python: Path) -> bytes:
    """Our packager's archive for ``handler``, plus awslambdaric and a ``bootstrap`` running it."""
    built = build_archive(
        ArchiveSpec(
            handler=handler,
            dependencies=Vendored(
                # awslambdaric is a C extension: wheels for the machine ministack runs on.
                platforms=(f"manylinux2014_{platform.machine()}",),
                python_version=_python_version(python),
                always=(AWSLAMBDARIC,),
            ),
            entry_files={"bootstrap": f'#!/bin/sh\nexec {shlex.quote(str(python))} -m awslambdaric "$_HANDLER"\n'},
        ),
        root=root,
    )
    assert "components/runtime/adapters/aws.py" in built.files
    assert "tests/workflow/handlers.py" in built.files
    assert any(name.startswith("awslambdaric/") for name in built.files)
    return built.path.read_bytes()


def deploy_handlers(client: Clients, endpoint: str, root: Path, counters: Path, python: Path) -> dict[str, str]:
    """One Lambda per handler name on ministack; handler name → function ARN."""
    project = handler_project(root)
    role = create_role(client)
    lam = client("lambda")
    arns: dict[str, str] = {}
    for name in handlers.NAMES:
        spec = f"tests.workflow.handlers.{name}"
        function = create_function(
            client,
            endpoint,
            code=task_archive(project, spec, python),
            handler=spec,
            role=role,
            env={handlers.COUNTERS_ENV: str(counters)},
            name=unique(f"wf-{name}"),
            runtime="provided.al2023",
        )
        arns[name] = lam.get_function_configuration(FunctionName=function)["FunctionArn"]
    return arns


def reset_counters(directory: Path) -> None:
    """Empty the ``flaky`` handler's counters (the deployed functions read the same directory)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def create_machine(sfn: Any, asl: Mapping[str, Any], name: str) -> str:
    """A STANDARD state machine for ``asl``; its ARN."""
    created = sfn.create_state_machine(
        name=unique(name[:60]), definition=json.dumps(asl), roleArn=SFN_ROLE, type="STANDARD"
    )
    return created["stateMachineArn"]


def start(sfn: Any, machine: str, input: Mapping[str, Any]) -> str:
    """Start an execution; named explicitly (moto names every unnamed execution alike)."""
    return sfn.start_execution(stateMachineArn=machine, name=unique("run"), input=json.dumps(input))["executionArn"]


def finished(sfn: Any, execution: str, *, timeout_s: float = 60) -> dict[str, Any]:
    """``DescribeExecution`` once the execution has stopped running (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"execution {execution} still RUNNING after {timeout_s}s")


def outcome_of(described: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable outcome, shaped like :func:`tests.workflow.local.outcome`.

    A cause the execution does not carry is ``""``: ASL omits an empty cause, the portable
    interpreter reports ``""``.
    """
    status = described["status"]
    if status == "SUCCEEDED":
        return {"status": status, "output": json.loads(described["output"])}
    if status == "FAILED":
        return {"status": status, "error": described.get("error"), "cause": described.get("cause") or ""}
    return {"status": status}


def execute(sfn: Any, asl: Mapping[str, Any], input: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Create a machine for ``asl``, run it on ``input`` and return the outcome."""
    return outcome_of(finished(sfn, start(sfn, create_machine(sfn, asl, name), input)))


# ---------------------------------------------------------------- moto


def moto_config(endpoint: str, config: Mapping[str, Any]) -> None:
    """Set moto's (process-wide) configuration through its API, e.g. ``execute_state_machine``."""
    request = urllib.request.Request(f"{endpoint}/moto-api/config", data=json.dumps(config).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except OSError as exc:
        emulator_missing(f"moto's config API is unavailable: {exc}")


def echo_function_zip() -> bytes:
    """Code for a moto function (moto without Docker never runs it: it answers the request)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.py", "def h(event, context):\n    return event\n")
    return buffer.getvalue()
