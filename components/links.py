"""Links: a Function's declared access to another component, by verb.

``FunctionArgs(links=[orders.allow("read", "write"), jobs.allow("send")])`` grants exactly
those verbs (each cloud's verb table turns them into the narrowest native permissions) and
tells the runtime where the resource is, through one environment variable per link::

    OMNICLOUD_LINK_<KIND>_<NAME>='{"kind": "table", "name": "orders", "cloud": "aws", ...}'

``<KIND>`` is ``QUEUE``, ``BUS``, ``TABLE``, ``WORKFLOW`` or ``FUNCTION``; ``<NAME>`` is the
component's logical name upper-cased with every other character than letters and digits
replaced by ``_``. The JSON value (the *locator*) holds what that cloud's SDK needs (URL, ARN,
namespace, project, key schema...). :mod:`components.runtime.clients` reads it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "OMNICLOUD_LINK_"
KIND_ENV = {"queue": "QUEUE", "bus": "BUS", "table": "TABLE", "workflow": "WORKFLOW", "function": "FUNCTION"}


def link_env_name(kind: str, name: str) -> str:
    """The environment variable holding the locator of component ``name`` of ``kind``."""
    return ENV_PREFIX + KIND_ENV[kind] + "_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


@dataclass(frozen=True)
class Link:
    """Access of a Function to ``target`` with ``verbs`` (see ``<Component>.VERBS``)."""

    target: Any
    """The linked component (Queue, EventBus, Table, Workflow or Function)."""
    verbs: tuple[str, ...]

    @property
    def kind(self) -> str:
        return self.target.KIND

    @property
    def env_name(self) -> str:
        return link_env_name(self.target.KIND, self.target.logical_name)
