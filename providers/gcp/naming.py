"""GCP name and label rules, in one place.

Two kinds of names:

* **Auto-named** (the function, the source bucket, the scheduler job): Pulumi appends
  ``-<7 hex>`` (8 characters) to the logical name, so the logical name must leave room for it.
* **Explicit, project-wide** (service-account IDs, log buckets, log sinks and exclusions,
  Secret Manager IDs): the provider does not auto-name them, and two stacks of one program
  deployed into the same GCP project would otherwise collide. They are derived
  deterministically from the stack scope (``<pulumi project>/<pulumi stack>``) and the logical
  name: a readable prefix, truncated to fit, plus a 6-hex hash of the full, untruncated input,
  so they stay unique per stack and stable across deployments.

Everything here is pure (no Pulumi runtime needed), so it is unit-tested directly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from components.errors import require

AUTONAME_SUFFIX = 8
"""``-`` plus 7 hex characters, appended by Pulumi's auto-naming."""
FUNCTION_NAME_MAX = 63
"""Cloud Functions (2nd gen) name limit."""
FUNCTION_NAME = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z0-9])?$")
HASH_LENGTH = 6

SERVICE_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
SERVICE_ACCOUNT_ID_MAX = 30
LOG_BUCKET_ID_MAX = 100
LOG_SINK_NAME_MAX = 100
LOG_EXCLUSION_NAME_MAX = 100
SECRET_ID_MAX = 255

LABEL_MAX = 63
MAX_LABELS = 64
_LABEL_INVALID = re.compile(r"[^a-z0-9_-]")
_ID_INVALID = re.compile(r"[^a-z0-9-]+")


def check_function_name(component: str, name: str) -> None:
    """The logical name becomes ``<name>-<7 hex>``: lowercase, letters first, <= 63 in all."""
    require(
        bool(FUNCTION_NAME.match(name)), component, "name", name,
        "Cloud Functions names use lowercase letters, digits and '-', start with a letter "
        "and do not end with '-'",
        cloud="gcp",
    )
    limit = FUNCTION_NAME_MAX - AUTONAME_SUFFIX
    require(
        len(name) <= limit, component, "name", name,
        f"at most {limit} characters (Cloud Functions names are at most {FUNCTION_NAME_MAX}, "
        f"and Pulumi adds an {AUTONAME_SUFFIX}-character suffix)",
        cloud="gcp",
    )


def short_hash(*parts: str, length: int = HASH_LENGTH) -> str:
    """A short stable hash for names that must be unique but deterministic."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def scoped_id(scope: str, readable: str, max_length: int) -> str:
    """``<readable prefix>-<hash>``, lowercase ``[a-z0-9-]``, starting with a letter.

    The hash covers ``scope`` and the untruncated ``readable`` text, so truncation never makes
    two different inputs collide.
    """
    digest = short_hash(scope, readable)
    slug = _ID_INVALID.sub("-", readable.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"x-{slug}".rstrip("-")
    room = max_length - len(digest) - 1
    slug = slug[:room].rstrip("-")
    return f"{slug}-{digest}"


def service_account_id(scope: str, name: str, role: str) -> str:
    """A service-account ID (6-30 chars, ``[a-z][a-z0-9-]{4,28}[a-z0-9]``), e.g. ``api-fn-1a2b3c``."""
    account_id = scoped_id(scope, f"{name}-{role}", SERVICE_ACCOUNT_ID_MAX)
    assert SERVICE_ACCOUNT_ID.match(account_id), account_id
    return account_id


def log_bucket_id(scope: str, stack: str, name: str) -> str:
    """The function's log bucket (letters, digits, '-', at most 100)."""
    return scoped_id(scope, f"omnicloud-{stack}-{name}", LOG_BUCKET_ID_MAX)


def log_sink_name(scope: str, stack: str, name: str) -> str:
    """The sink routing the function's logs into its bucket."""
    return scoped_id(scope, f"omnicloud-{stack}-{name}-logs", LOG_SINK_NAME_MAX)


def log_exclusion_name(scope: str, stack: str, name: str) -> str:
    """The exclusion keeping the function's logs out of the ``_Default`` bucket."""
    return scoped_id(scope, f"omnicloud-{stack}-{name}-not-default", LOG_EXCLUSION_NAME_MAX)


def secret_id(scope: str, stack: str, name: str, key: str) -> str:
    """The Secret Manager secret holding environment variable ``key`` of a function."""
    return scoped_id(scope, f"{stack}-{name}-{key}", SECRET_ID_MAX)


def label_key(key: str) -> str:
    """A GCP label key: lowercase ``[a-z0-9_-]``, starts with a letter, at most 63."""
    text = _LABEL_INVALID.sub("_", key.lower())
    if not text or not text[0].isalpha():
        text = f"x{text}"
    return text[:LABEL_MAX]


def label_value(value: str) -> str:
    """A GCP label value: lowercase ``[a-z0-9_-]`` (may be empty), at most 63."""
    return _LABEL_INVALID.sub("_", value.lower())[:LABEL_MAX]


def labels(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags rewritten to GCP label rules (keys and values lowercased and sanitized)."""
    return {label_key(key): label_value(value) for key, value in tags.items()}


def check_labels(component: str, tags: Mapping[str, str]) -> None:
    """At most 64 labels, and no two tags that sanitize to the same label key."""
    require(
        len(tags) <= MAX_LABELS, component, "tags", dict(tags),
        f"GCP resources take at most {MAX_LABELS} labels (omnicloud adds 3)",
        cloud="gcp",
    )
    seen: dict[str, str] = {}
    for key in tags:
        label = label_key(key)
        require(
            label not in seen, component, f"tags.{key}", key,
            f"becomes GCP label key '{label}', same as tag '{seen.get(label)}' (label keys are "
            "lowercase [a-z0-9_-], at most 63 characters)",
            cloud="gcp",
        )
        seen[label] = key
