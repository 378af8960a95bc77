"""Azure Functions entry point of a Workflow: a Durable Functions app (Python v2 model).

The package's ``function_app.py`` (rendered by :func:`entry_files`) is just::

    from components.runtime.adapters.azure_workflow import build_workflow_app

    app = build_workflow_app()

:func:`build_workflow_app` reads the definition (``workflow.json`` at the package root, or the
file named by ``OMNICLOUD_WORKFLOW_DEFINITION``; a missing or malformed one fails indexing)
and registers three functions on one ``DFApp``:

* ``omnicloud_start``: a Storage queue trigger on the queue named by the app setting
  ``OMNICLOUD_START_QUEUE``, identity-based (connection prefix ``OMNICLOUD_START``: settings
  ``OMNICLOUD_START__queueServiceUri`` and the app's managed identity), with a Durable client.
  A message ``{"id": "<instance id>", "input": {...}}`` (plain JSON text: ``host.json`` sets
  the queues extension's ``messageEncoding`` to ``none``) starts ``omnicloud_workflow`` with
  that instance id and the deployed definition. Storage queues deliver at least once, so an id
  that already exists (in any state) is left alone; a message that can never start anything
  (not JSON, no id) fails and, after the queue's ``maxDequeueCount`` tries, lands in
  ``<queue>-poison``.
* ``omnicloud_workflow``: the orchestrator, :func:`~.azure_durable.orchestrate` (the input and
  output contract is documented there). An execution returns ``{"status": "SUCCEEDED",
  "output": {...}}`` or ``{"status": "FAILED", "error", "cause"}``.
* ``omnicloud_task``: the activity that runs one task, :func:`call_task`: it POSTs the task
  envelope to ``<url>/_omnicloud/task`` of the task's function, with the header
  ``x-functions-key: <key>``, both from the JSON app setting ``OMNICLOUD_WORKFLOW_TARGETS``
  (``{"<function>": {"url", "key"}}``, a secret setting the deploy side writes). It answers
  ``{"ok": output}`` or ``{"error", "cause"}`` and never raises: a non-2xx status, an
  unreachable target or a reply that is not a task reply is the error
  ``TaskInvocationFailed`` (retryable like any other error), with a cause naming the status.

Timeouts. A task with ``timeout_s`` fails with ``Timeout`` when the orchestrator's clock
advanced more than ``timeout_s`` across the activity (the reference semantics); the activity
also stops waiting for the reply after ``timeout_s`` and answers that same ``Timeout``, so no
call can hang an execution. The target keeps running (nothing cancels an HTTP function), and
the orchestrator's clock also counts the time the activity and its reply spend queued. A task
without ``timeout_s`` is given :data:`TASK_WAIT_S`: an HTTP-triggered function must answer
within :data:`HTTP_RESPONSE_LIMIT_S` (Azure's front end closes the request then), so no task
on Azure can run longer than that.

``azure.functions`` and ``azure.durable_functions`` are imported only inside
:func:`build_workflow_app`; importing this module stays standard-library only.
"""

# No `from __future__ import annotations`: the Functions worker reads the entry functions'
# annotations to bind triggers (as in components.runtime.adapters.azure).

import http.client
import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.runtime.adapters.azure import entry_module, host_settings
from components.runtime.adapters.azure_durable import (
    ORCHESTRATOR,
    TASK_ACTIVITY,
    execution_input,
    orchestrate,
)
from components.runtime.orchestration.engine import timeout_cause
from components.runtime.orchestration.task import TASK_ROUTE, task_envelope

if TYPE_CHECKING:
    import azure.durable_functions

__all__ = [
    "DEFINITION_FILE",
    "DEFINITION_SETTING",
    "HTTP_RESPONSE_LIMIT_S",
    "NAME_SETTING",
    "ORCHESTRATOR",
    "REQUIREMENTS",
    "STARTER",
    "START_CONNECTION",
    "START_MESSAGE_ENCODING",
    "START_QUEUE_SETTING",
    "STRICT_TYPING_SETTING",
    "TARGETS_SETTING",
    "TASK_ACTIVITY",
    "TASK_INVOCATION_FAILED",
    "TASK_KEY_HEADER",
    "TASK_WAIT_S",
    "build_workflow_app",
    "call_task",
    "entry_files",
    "load_definition",
    "parse_start",
    "start_execution",
]

log = logging.getLogger("omnicloud.runtime")

STARTER = "omnicloud_start"
"""The queue-triggered function that starts executions."""
DEFINITION_FILE = "workflow.json"
"""The definition's file name at the package root."""
DEFINITION_SETTING = "OMNICLOUD_WORKFLOW_DEFINITION"
"""Optional app setting: the definition file's path, instead of ``workflow.json``."""
NAME_SETTING = "OMNICLOUD_WORKFLOW"
"""App setting with the workflow's logical name (the ``workflow`` of every task envelope)."""
TARGETS_SETTING = "OMNICLOUD_WORKFLOW_TARGETS"
"""Secret app setting: ``{"<function>": {"url": "https://<host>", "key": "<function key>"}}``."""
START_QUEUE_SETTING = "OMNICLOUD_START_QUEUE"
"""App setting with the name of the start queue."""
START_CONNECTION = "OMNICLOUD_START"
"""Connection prefix of the start queue (``OMNICLOUD_START__queueServiceUri``, managed identity)."""
START_MESSAGE_ENCODING = "none"
"""Start messages are plain JSON text, not base64 (``host.json`` ``queues.messageEncoding``)."""
START_MAX_DEQUEUE = 5
"""Deliveries of a start message before it moves to ``<queue>-poison``."""
TASK_KEY_HEADER = "x-functions-key"
TASK_INVOCATION_FAILED = "TaskInvocationFailed"
"""The error of a task whose function could not be called (non-2xx, unreachable, bad reply)."""
HTTP_RESPONSE_LIMIT_S = 230
"""How long Azure's front end waits for an HTTP-triggered function to answer."""
TASK_WAIT_S = HTTP_RESPONSE_LIMIT_S + 10
"""How long the activity waits for a task without ``timeout_s`` (past the front end's limit, so
its 5xx is what the caller sees)."""
STRICT_TYPING_SETTING = "AZURE_FUNCTIONS_DURABLE_STRICT_TYPING"
"""Turns off the Durable JSON codec's custom-object decoding (see :func:`build_workflow_app`)."""
REQUIREMENTS = ("azure-functions>=1.26", "azure-functions-durable>=1.7,<2")
"""What the workflow app's package needs for this adapter."""
_PACKAGE_ROOT = Path(__file__).resolve().parents[3]
_INSTANCE_ID_FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


def build_workflow_app() -> "azure.durable_functions.DFApp":
    """The ``DFApp`` the Functions worker indexes (see the module docstring).

    Raises:
        ValueError: the definition file is missing or is not a workflow definition.
    """
    definition = load_definition()
    # By default the Durable codec turns any JSON object with "__class__", "__module__" and
    # "__data__" keys, at any depth, back into a Python object (or fails when it cannot), so
    # such a value in a workflow's state would not survive a task. Strict mode decodes plain
    # JSON; only a top-level object of that shape is refused, and every top-level payload here
    # is one of ours. Read at each (de)serialisation; an explicit app setting wins.
    os.environ.setdefault(STRICT_TYPING_SETTING, "1")
    import azure.durable_functions as df
    import azure.functions as func

    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.function_name(ORCHESTRATOR)
    @app.orchestration_trigger(context_name="context")
    def omnicloud_workflow(context: df.DurableOrchestrationContext):
        return (yield from orchestrate(context))

    @app.function_name(TASK_ACTIVITY)
    @app.activity_trigger(input_name="request")
    def omnicloud_task(request: dict) -> dict:
        return call_task(request)

    @app.function_name(STARTER)
    @app.queue_trigger(arg_name="message", queue_name=f"%{START_QUEUE_SETTING}%", connection=START_CONNECTION)
    @app.durable_client_input(client_name="client")
    async def omnicloud_start(message: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
        await start_execution(message.get_body(), client, definition, os.environ.get(NAME_SETTING, ""))

    return app


def load_definition(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The workflow definition from ``path``, ``$OMNICLOUD_WORKFLOW_DEFINITION`` or
    ``workflow.json`` at the package root.

    Raises:
        ValueError: no such file, not JSON, or not ``{"steps": [...]}``.
    """
    source = Path(path or os.environ.get(DEFINITION_SETTING) or _PACKAGE_ROOT / DEFINITION_FILE)
    try:
        definition = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"workflow definition {source} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"workflow definition {source} is not JSON: {exc}") from None
    if not isinstance(definition, dict) or not isinstance(definition.get("steps"), list):
        raise ValueError(f"workflow definition {source} must be an object with a 'steps' list")
    return definition


# --- the starter ---------------------------------------------------------------------------------


def parse_start(body: bytes | str) -> tuple[str, dict[str, Any]]:
    """``(instance id, input)`` from a start message ``{"id": ..., "input": {...}}``.

    Raises:
        ValueError: not a JSON object, an id Durable Functions rejects (empty, over 100
            characters, starting with ``@``, or with ``/ \\ # ?`` or a control character), or an
            input that is not an object.
    """
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"start message is not JSON: {str(body)[:200]!r}") from None
    if not isinstance(message, dict):
        raise ValueError(f"start message must be a JSON object, got {str(body)[:200]!r}")
    instance = message.get("id")
    if (
        not isinstance(instance, str)
        or not 1 <= len(instance) <= 100
        or instance.startswith("@")
        or _INSTANCE_ID_FORBIDDEN.search(instance)
    ):
        raise ValueError(
            f"start message id must be 1-100 characters, not starting with '@', without / \\ # ? or "
            f"control characters; got {instance!r}"
        )
    input = message.get("input", {})
    if not isinstance(input, dict):
        raise ValueError(f"start message input must be a JSON object, got {type(input).__name__}")
    return instance, input


async def start_execution(body: bytes | str, client: Any, definition: Mapping[str, Any], workflow: str) -> bool:
    """Start the execution a start message asks for, unless its instance id exists already.

    Returns:
        Whether an execution was started (False for a redelivered message).

    Raises:
        ValueError: a malformed message (see :func:`parse_start`).
    """
    instance, input = parse_start(body)
    status = await client.get_status(instance)
    if getattr(status, "runtime_status", None) is not None:
        # At-least-once delivery: this message (or another with the same id) started it already.
        log.info("workflow %s: instance %s exists (%s), not started again", workflow, instance, status.runtime_status)
        return False
    await client.start_new(ORCHESTRATOR, instance, execution_input(workflow, definition, input))
    log.info("workflow %s: started instance %s", workflow, instance)
    return True


# --- the task activity ---------------------------------------------------------------------------


def call_task(request: Mapping[str, Any]) -> dict[str, Any]:
    """Run one task: POST its envelope to the function's task route and return the outcome.

    Args:
        request: ``{"function", "workflow", "step", "input", "timeout_s"}`` from the orchestrator.

    Returns:
        ``{"ok": output}`` or ``{"error", "cause"}``; never raises, so the portable error name
        reaches the orchestrator unchanged.
    """
    function, step = str(request.get("function", "")), str(request.get("step", ""))
    timeout = request.get("timeout_s")
    try:
        target = _targets()[function]
        url, key = str(target["url"]).rstrip("/") + TASK_ROUTE, str(target["key"])
    except (KeyError, TypeError, ValueError) as exc:
        return _failed(f"no target for function '{function}' in {TARGETS_SETTING}: {exc}")
    envelope = task_envelope(str(request.get("workflow", "")), step, request.get("input"))
    post = urllib.request.Request(
        url,
        data=json.dumps(envelope).encode(),
        method="POST",
        headers={"content-type": "application/json", TASK_KEY_HEADER: key},
    )
    wait = TASK_WAIT_S if timeout is None else min(float(timeout), TASK_WAIT_S)
    try:
        with urllib.request.urlopen(post, timeout=wait) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        return _failed(f"POST {url} answered HTTP {exc.code} {exc.reason}")
    except (OSError, http.client.HTTPException) as exc:
        # URLError (connect failures, wrapped) and bare socket errors (during the read) alike.
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError):
            if timeout is not None:
                return {"error": "Timeout", "cause": timeout_cause(step, timeout)}
            return _failed(f"POST {url} did not answer within {wait:g}s")
        return _failed(f"POST {url} failed: {reason}")
    return _reply(url, status, raw)


def _reply(url: str, status: int, raw: bytes) -> dict[str, Any]:
    try:
        reply = json.loads(raw)
    except ValueError:
        reply = None
    if isinstance(reply, dict) and "output" in reply:
        return {"ok": reply["output"]}
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        return {"error": reply["error"], "cause": str(reply.get("cause") or "")}
    return _failed(f"POST {url} answered HTTP {status} without a task reply: {raw[:200]!r}")


def _failed(cause: str) -> dict[str, Any]:
    return {"error": TASK_INVOCATION_FAILED, "cause": cause}


def _targets() -> dict[str, Any]:
    raw = os.environ.get(TARGETS_SETTING, "")
    try:
        targets = json.loads(raw)
    except ValueError:
        raise ValueError(f"{TARGETS_SETTING} is not JSON") from None
    if not isinstance(targets, dict):
        raise ValueError(f"{TARGETS_SETTING} must be a JSON object")
    return targets


# --- the package entry ---------------------------------------------------------------------------


def entry_files(*, function_timeout_s: int | None = None) -> dict[str, str]:
    """``function_app.py`` and ``host.json`` of the workflow app (``workflow.json`` is the
    deploy side's, from the component's definition).

    ``host.json`` extends the functions apps' (:func:`~.azure.host_settings`) with:

    * ``durableTask``: the Azure Storage provider on ``AzureWebJobsStorage`` (identity-based on
      Flex Consumption) and the default task hub, which Durable Functions names after the app,
      so each workflow app has its own hub in the stack's shared storage account; inputs and
      outputs (the workflow state) are kept out of traces.
    * ``queues``: start messages are plain JSON (``messageEncoding: none``) and move to the
      poison queue after :data:`START_MAX_DEQUEUE` deliveries.
    """
    host = host_settings(function_timeout_s=function_timeout_s)
    host["extensions"]["durableTask"] = {"tracing": {"traceInputsAndOutputs": False, "traceReplayEvents": False}}
    host["extensions"]["queues"] = {"messageEncoding": START_MESSAGE_ENCODING, "maxDequeueCount": START_MAX_DEQUEUE}
    return {
        "function_app.py": entry_module("components.runtime.adapters.azure_workflow", "build_workflow_app()"),
        "host.json": json.dumps(host, indent=2) + "\n",
    }
