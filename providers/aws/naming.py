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


# -- Queue, EventBus, Table ---------------------------------------------------------------------

SQS_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
SQS_NAME_MAX = 80
FIFO_SUFFIX = ".fifo"
DYNAMODB_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
DYNAMODB_NAME_MAX = 255
DYNAMODB_INDEX_NAME = (3, 255)
EVENTS_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
EVENT_BUS_NAME_MAX = 256
EVENT_ARCHIVE_NAME_MAX = 48


def check_queue_name(component: str, field: str, name: str, *, suffix: str = "", fifo: bool) -> None:
    """An auto-named SQS queue ``<name><suffix>-<7 hex>[.fifo]``: 1-80 of ``[A-Za-z0-9_-]``.

    ``suffix`` is what the provider appends to ``name`` for the longest queue it derives
    (``-dlq``). pulumi-aws appends ``.fifo`` to the auto-name of a FIFO queue (its SQS
    autoname post-transform), and SQS counts the suffix in the 80 characters.
    """
    require(
        bool(SQS_NAME.match(name)),
        component,
        field,
        name,
        "SQS queue names allow only letters, digits, '-' and '_'",
        cloud="aws",
    )
    extra = len(suffix) + AUTONAME_SUFFIX + (len(FIFO_SUFFIX) if fifo else 0)
    require(
        len(name) + extra <= SQS_NAME_MAX,
        component,
        field,
        name,
        f"at most {SQS_NAME_MAX - extra} characters (SQS names are at most {SQS_NAME_MAX}; the queue is "
        f"'{{name}}{suffix}', Pulumi adds an {AUTONAME_SUFFIX}-character suffix{' and .fifo' if fifo else ''})",
        cloud="aws",
    )


def check_table_name(component: str, name: str) -> None:
    """An auto-named DynamoDB table ``<name>-<7 hex>``: 3-255 of ``[A-Za-z0-9_.-]``."""
    require(
        bool(DYNAMODB_NAME.match(name)),
        component,
        "name",
        name,
        "DynamoDB table names allow only letters, digits, '_', '-' and '.'",
        cloud="aws",
    )
    limit = DYNAMODB_NAME_MAX - AUTONAME_SUFFIX
    require(
        len(name) <= limit,
        component,
        "name",
        name,
        f"at most {limit} characters (DynamoDB table names are at most {DYNAMODB_NAME_MAX}, "
        f"Pulumi adds an {AUTONAME_SUFFIX}-character suffix)",
        cloud="aws",
    )


def check_index_name(component: str, field: str, name: str) -> None:
    """DynamoDB index names are 3-255 of ``[A-Za-z0-9_.-]`` (the portable rule allows 1-32)."""
    low, high = DYNAMODB_INDEX_NAME
    require(
        low <= len(name) <= high and bool(DYNAMODB_NAME.match(name)),
        component,
        field,
        name,
        f"DynamoDB index names are {low}-{high} letters, digits, '_', '-' or '.'",
        cloud="aws",
    )


def check_bus_name(component: str, name: str, *, archived: bool) -> None:
    """An auto-named EventBridge bus ``<name>-<7 hex>`` (and archive ``<name>-archive-<7 hex>``)."""
    require(
        bool(EVENTS_NAME.match(name)),
        component,
        "name",
        name,
        "EventBridge bus names allow only letters, digits, '_', '-' and '.'",
        cloud="aws",
    )
    if archived:
        limit = EVENT_ARCHIVE_NAME_MAX - AUTONAME_SUFFIX - len("-archive")
        why = f"the archive '<name>-archive' is at most {EVENT_ARCHIVE_NAME_MAX} characters"
    else:
        limit = EVENT_BUS_NAME_MAX - AUTONAME_SUFFIX
        why = f"EventBridge bus names are at most {EVENT_BUS_NAME_MAX} characters"
    require(
        len(name) <= limit,
        component,
        "name",
        name,
        f"at most {limit} characters ({why}, and Pulumi adds an {AUTONAME_SUFFIX}-character suffix)",
        cloud="aws",
    )


def region_of(arn: str) -> str:
    """The region field of a regional ARN (``arn:aws:sqs:<region>:<account>:...``)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


MAX_TAGS = 50


def check_tags(component: str, name: str, args: object) -> None:
    """AWS tags: at most 50 per resource (ours included), keys 128, values 256 characters."""
    from providers.shared import tags_for

    tags: dict[str, str] = getattr(args, "tags", {})
    require(
        len(tags_for(name, args)) <= MAX_TAGS,
        component,
        "tags",
        tags,
        f"AWS resources take at most {MAX_TAGS} tags, omnicloud's 3 included",
        cloud="aws",
    )
    for key, value in tags.items():
        require(
            len(key) <= 128 and len(value) <= 256,
            component,
            f"tags.{key}",
            value,
            "AWS tag keys are at most 128 characters, values at most 256",
            cloud="aws",
        )
