"""omnicloud: cloud-neutral serverless components for Pulumi.

The public deploy-time names are loaded lazily (PEP 562) so that ``import
components.runtime`` inside a deployed function never imports pulumi or pydantic.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.cloud import Cloud
    from components.errors import CloudSelectionError, InvalidArgsError, OmnicloudError
    from components.event_bus import EventBus, EventBusArgs
    from components.function import Function
    from components.function_args import FunctionArgs
    from components.queue import Queue, QueueArgs
    from components.table import IndexArgs, Table, TableArgs
    from components.workflow import Workflow, WorkflowArgs

_LAZY = {
    "Function": "components.function",
    "FunctionArgs": "components.function_args",
    "Queue": "components.queue",
    "QueueArgs": "components.queue",
    "EventBus": "components.event_bus",
    "EventBusArgs": "components.event_bus",
    "Table": "components.table",
    "TableArgs": "components.table",
    "IndexArgs": "components.table",
    "Workflow": "components.workflow",
    "WorkflowArgs": "components.workflow",
    "Cloud": "components.cloud",
    "OmnicloudError": "components.errors",
    "CloudSelectionError": "components.errors",
    "InvalidArgsError": "components.errors",
}

__all__ = [
    "Cloud",
    "CloudSelectionError",
    "EventBus",
    "EventBusArgs",
    "Function",
    "FunctionArgs",
    "IndexArgs",
    "InvalidArgsError",
    "OmnicloudError",
    "Queue",
    "QueueArgs",
    "Table",
    "TableArgs",
    "Workflow",
    "WorkflowArgs",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'components' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
