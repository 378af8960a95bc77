"""Workflow executions of the local target, in the local database.

:meth:`WorkflowStore.start` records a ``PENDING`` execution and queues its start message on
the workflow's start queue in one transaction (Azure's shape: a start is a queued message), so
an accepted start is never lost. The dev server consumes the start queue, runs the execution
through the portable interpreter and records ``RUNNING``, then ``SUCCEEDED`` or ``FAILED``
with the output or the error. A server killed mid-execution leaves it ``RUNNING`` with its start
message in flight; the next server releases that message and runs the execution again from the
start (tasks are at-least-once, as Durable Functions activities are).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from components.runtime.local.queue_store import QueueStore

__all__ = ["Execution", "ExecutionNotFound", "WorkflowStore", "start_queue"]

Status = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at REAL NOT NULL,
    ended_at REAL
)
"""


def start_queue(workflow: str) -> str:
    """The queue a workflow's starts wait on (not a name a user's Queue can take: it has a '/')."""
    return f"_workflow/{workflow}"


class ExecutionNotFound(LookupError):
    """No execution has that id."""


@dataclass(frozen=True)
class Execution:
    """One execution's record."""

    id: str
    workflow: str
    status: Status
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    attempts: int
    started_at: float
    ended_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow": self.workflow,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "attempts": self.attempts,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }


class WorkflowStore:
    """Executions, on the same database as the start queues."""

    def __init__(self, queues: QueueStore, *, clock: Callable[[], float] = time.time) -> None:
        self.queues = queues
        self.database = queues.database
        self._clock = clock
        self.database.create_schema(_SCHEMA)

    def start(self, workflow: str, input: Mapping[str, Any]) -> str:
        """Record a new execution of ``workflow`` and queue it; return its id
        (``<workflow>:<uuid>``, the local counterpart of an execution ARN).

        Raises:
            QueueNotFound: the workflow is not served by this database (no ``omnicloud dev``
                has declared it).
        """
        execution_id = f"{workflow}:{uuid.uuid4()}"
        document = json.dumps(dict(input), separators=(",", ":"))
        with self.database.write() as db:
            db.execute(
                "INSERT INTO executions (id, workflow, status, input, started_at) VALUES (?, ?, 'PENDING', ?, ?)",
                (execution_id, workflow, document, self._clock()),
            )
            self.queues.send_in(db, start_queue(workflow), json.dumps({"execution": execution_id}))
        return execution_id

    def begin(self, execution_id: str) -> Execution:
        """Mark an execution ``RUNNING`` (again, after a crash) and count the attempt."""
        with self.database.write() as db:
            changed = db.execute(
                "UPDATE executions SET status = 'RUNNING', attempts = attempts + 1, output = NULL, error = NULL, "
                "cause = NULL, ended_at = NULL WHERE id = ?",
                (execution_id,),
            ).rowcount
        if not changed:
            raise ExecutionNotFound(execution_id)
        return self.get(execution_id)

    def finish(
        self,
        execution_id: str,
        status: Literal["SUCCEEDED", "FAILED"],
        *,
        output: Mapping[str, Any] | None = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        """Record how an execution ended."""
        with self.database.write() as db:
            db.execute(
                "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, ended_at = ? WHERE id = ?",
                (
                    status,
                    json.dumps(dict(output)) if output is not None else None,
                    error,
                    cause,
                    self._clock(),
                    execution_id,
                ),
            )

    def get(self, execution_id: str) -> Execution:
        """The execution's record.

        Raises:
            ExecutionNotFound: no execution has this id.
        """
        row = (
            self.database.connection()
            .execute(
                "SELECT id, workflow, status, input, output, error, cause, attempts, started_at, ended_at "
                "FROM executions WHERE id = ?",
                (execution_id,),
            )
            .fetchone()
        )
        if row is None:
            raise ExecutionNotFound(f"no workflow execution {execution_id!r}")
        return Execution(
            row[0],
            row[1],
            row[2],
            json.loads(row[3]),
            json.loads(row[4]) if row[4] is not None else None,
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
        )
