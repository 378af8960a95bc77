"""Runs Cloud Workflows source on workflows-emulator, as a loopback HTTP service (test harness).

Started by :mod:`tests.workflow.gcp_executor` with the interpreter of the emulator's own
virtualenv (workflows-emulator pins an old FastAPI/Starlette that our functions-framework
cannot share), so it imports nothing from this repository. Usage::

    python gcp_emulator_driver.py PORT

``POST /executions`` with ``{"source": <YAML>, "argument": <JSON>}`` runs the workflow through
the emulator's engine (``workflows_emulator.main.execute_workflow``, after the schema check its
``load_workflow`` does) and answers ``{"state": "SUCCEEDED", "result": ...}``,
``{"state": "FAILED", "error": <the raised map>}``, ``{"state": "INVALID", "error": <why>}``
for source the emulator rejects, or ``{"state": "CRASHED", "error": <traceback>}`` when the
emulator itself broke. ``GET /health`` answers 200 once it is up.

The emulator's own ``serve`` command cannot stand in: it binds 0.0.0.0, serves a single
workflow file, and answers a failed execution with a bare 500 that drops the error.

Fidelity shims. Each makes the emulator do what Google's documentation says where it does
something else; nothing else about the engine is changed:

1. ``auth: {type: OIDC}`` on ``http.post``: the emulator raises ``NotImplementedError`` (it
   has no identity to mint tokens with). The call is made without a token, which is what a
   private Cloud Run function sees after the platform has checked the token (run.invoker).
2. A request timeout: the emulator lets ``requests``' ``ReadTimeout`` escape as a Python
   exception that no ``except`` can catch; Cloud Workflows raises ``TimeoutError``
   (https://cloud.google.com/workflows/docs/reference/stdlib/http/post), so that is raised.
3. Parallel branches and iterations run one after another: the emulator runs them in threads
   that share one variable scope (Cloud Workflows gives each its own), so a variable set in one
   iteration is overwritten by another before it is read. Running them in order is a schedule
   Cloud Workflows may choose itself (branches run "in any order"), so every outcome observed
   this way is one the platform can produce.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
import yaml
from jsonschema import ValidationError, validate
from workflows_emulator import main as engine
from workflows_emulator.lib import http_utils
from workflows_emulator.utils import RisingThread, WorkflowError

_emulator_request = http_utils.request


def _request(method: str, url: str, *args: Any, auth: Any = None, **kwargs: Any) -> Any:
    if isinstance(auth, dict) and auth.get("type") == "OIDC":
        auth = None  # shim 1
    try:
        return _emulator_request(method, url, *args, auth=auth, **kwargs)
    except requests.exceptions.Timeout as exc:
        raise TimeoutError("request timed out") from exc  # shim 2


class _InOrder(RisingThread):
    """Shim 3: a branch or iteration 'thread' that runs when started, in the caller's thread."""

    def start(self) -> None:
        self.run()

    def join(self, timeout: float | None = None) -> None:
        if self.exc:
            self.exc.__context__ = RuntimeError("branch error")
            raise self.exc


http_utils.request = _request
engine.RisingThread = _InOrder


def execute(source: str, argument: Any) -> dict[str, Any]:
    try:
        definition = yaml.safe_load(source)
        validate(definition, engine.WORKFLOW_SCHEMA)
    except (yaml.YAMLError, ValidationError) as exc:
        return {"state": "INVALID", "error": str(exc)}
    try:
        result = engine.execute_workflow(definition, {"state": argument})
    except WorkflowError as exc:
        payload = exc.payload
        return {"state": "FAILED", "error": payload.to_dict() if hasattr(payload, "to_dict") else payload}
    except Exception:
        return {"state": "CRASHED", "error": traceback.format_exc()}
    return {"state": "SUCCEEDED", "result": result}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer(200 if self.path == "/health" else 404, {"ok": self.path == "/health"})

    def do_POST(self) -> None:
        if self.path != "/executions":
            self._answer(404, {"error": "not found"})
            return
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self._answer(200, execute(request["source"], request.get("argument")))

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # every golden is submitted at once; the default backlog is 5


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    # The engine logs every caught error and discarded loop variable; only its crashes matter.
    logging.getLogger("workflows").setLevel(logging.CRITICAL)
    _Server(("127.0.0.1", int(sys.argv[1])), _Handler).serve_forever()


if __name__ == "__main__":
    main()
