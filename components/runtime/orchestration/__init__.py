"""The portable workflow interpreter: the reference semantics for every cloud.

Standard library only (no pulumi, no pydantic): it runs on the plain JSON form of a definition
produced by :func:`components.workflow.definition_to_json`.
"""

from __future__ import annotations

from components.runtime.orchestration.conditions import MISSING, evaluate, resolve
from components.runtime.orchestration.interpreter import Clock, FakeClock, RealClock, Result, run
from components.runtime.orchestration.task import TaskFailed

__all__ = ["MISSING", "Clock", "FakeClock", "RealClock", "Result", "TaskFailed", "evaluate", "resolve", "run"]
