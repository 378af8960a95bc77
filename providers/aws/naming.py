"""AWS name rules, in one place.

Pulumi auto-names resources ``<logical>-<7 hex>`` (8 characters added), so a logical name
must leave room for that suffix under each service's limit.
"""

from __future__ import annotations

import hashlib
import re

from components.errors import require

AUTONAME_SUFFIX = 8
LAMBDA_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
LAMBDA_NAME_MAX = 64
ROLE_NAME_MAX = 64
SCHEDULE_NAME_MAX = 64
LOG_GROUP_MAX = 512


def check_function_name(component: str, name: str, *, scheduled: bool = False) -> None:
    """Lambda names: 1-64 of ``[A-Za-z0-9_-]``, auto-name suffix included.

    The longest auto-named child decides the limit: the role ``<name>-role``, or with a
    schedule the Scheduler's role ``<name>-scheduler`` (IAM role names are at most 64).
    """
    require(
        bool(LAMBDA_NAME.match(name)),
        component,
        "name",
        name,
        "Lambda names allow only letters, digits, '-' and '_'",
        cloud="aws",
    )
    suffix = "-scheduler" if scheduled else "-role"
    limit = min(LAMBDA_NAME_MAX, ROLE_NAME_MAX - len(suffix)) - AUTONAME_SUFFIX
    require(
        len(name) <= limit,
        component,
        "name",
        name,
        f"at most {limit} characters (Lambda/IAM role names are at most 64, the role is "
        f"'<name>{suffix}', and Pulumi adds an {AUTONAME_SUFFIX}-character suffix)",
        cloud="aws",
    )


def log_group_name(project: str, stack: str, name: str) -> str:
    """``/omnicloud/<project>/<stack>/<name>``: stable, so the role policy can name it exactly."""
    return f"/omnicloud/{project}/{stack}/{name}"[:LOG_GROUP_MAX]


def short_hash(*parts: str, length: int = 6) -> str:
    """A short stable hash for names that must be unique but deterministic."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]
