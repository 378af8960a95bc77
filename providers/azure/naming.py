"""Azure name rules, in one place.

azure-native auto-names a resource ``<logical><8 random lowercase hex>`` (no separator), so a
logical name that is auto-named must leave room for those 8 characters under the service's
limit, and must already use only characters the service accepts. Names that are global
(Function Apps, storage accounts) are always auto-named, so two stacks never collide; names
that only need to be unique inside a parent we own (blob containers) are explicit and
deterministic, derived from the component name with a short hash when sanitizing or
truncating could otherwise make two names equal.

Sources: "Naming rules and restrictions for Azure resources"
(learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
"""

from __future__ import annotations

import hashlib
import re

from components.errors import require

CLOUD = "azure"
AUTONAME_SUFFIX = 8

# Microsoft.Web/sites: 2-60 characters, alphanumerics and hyphens, global (the default host
# name is <name>.azurewebsites.net). Microsoft.Web/serverfarms: 1-60, same characters.
FUNCTION_APP_MAX = 60
PLAN_MAX = 60
PLAN_SUFFIX = "-plan"
_APP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")

# Microsoft.Storage/storageAccounts: 3-24 lowercase letters and digits, global.
STORAGE_ACCOUNT_MAX = 24
# Blob containers: 3-63 lowercase letters, digits and single hyphens, starting and ending
# with a letter or digit; unique within the storage account.
CONTAINER_MAX = 63
# Microsoft.Resources/resourceGroups: 1-90 characters.
RESOURCE_GROUP_MAX = 90
# Microsoft.OperationalInsights/workspaces: 4-63 alphanumerics and hyphens, starting and
# ending with an alphanumeric.
WORKSPACE_MAX = 63


def max_function_name() -> int:
    """The longest component name whose Function App and plan auto-names stay valid."""
    return min(FUNCTION_APP_MAX, PLAN_MAX - len(PLAN_SUFFIX)) - AUTONAME_SUFFIX


def check_function_name(component: str, name: str) -> None:
    """The component name becomes the Function App's (auto-named) name: check its rules."""
    require(
        bool(_APP_NAME.match(name)), component, "name", name,
        "Function App names allow only letters, digits and '-', starting with a letter or digit",
        cloud=CLOUD,
    )
    limit = max_function_name()
    require(
        len(name) <= limit, component, "name", name,
        f"at most {limit} characters (Function App and plan names are at most "
        f"{FUNCTION_APP_MAX}, the plan adds '{PLAN_SUFFIX}' and azure-native adds an "
        f"{AUTONAME_SUFFIX}-character suffix)",
        cloud=CLOUD,
    )


def short_hash(*parts: str, length: int = 6) -> str:
    """A short stable hash for names that must be unique but deterministic."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def deployment_container_name(function: str) -> str:
    """``deploy-<function>-<hash>``: the Function's package container, valid and unique.

    The hash is of the original name, so names that sanitize alike (``My_Api``, ``my-api``)
    still get different containers.
    """
    stem = _lower_hyphenated(function)
    suffix = short_hash("container", function)
    room = CONTAINER_MAX - len("deploy-") - len(suffix) - 1
    stem = stem[:room].strip("-")
    return f"deploy-{stem}-{suffix}" if stem else f"deploy-{suffix}"


def storage_account_logical_name(project: str, stack: str) -> str:
    """A logical name that auto-names to a valid storage account name (lowercase alnum)."""
    room = STORAGE_ACCOUNT_MAX - AUTONAME_SUFFIX
    stem = re.sub(r"[^a-z0-9]", "", f"{project}{stack}".lower())
    # At least 3 characters even for odd project names; the random suffix makes it global.
    return ("st" + stem)[:room]


def resource_group_logical_name(project: str, stack: str) -> str:
    """``<project>-<stack>``, within the resource group limit once auto-named."""
    stem = re.sub(r"[^A-Za-z0-9_.()-]", "-", f"{project}-{stack}")
    return _fit(stem, RESOURCE_GROUP_MAX - AUTONAME_SUFFIX).rstrip(".")


def workspace_logical_name(project: str, stack: str) -> str:
    """``<project>-<stack>-logs``, alphanumerics and hyphens, within the workspace limit."""
    stem = _lower_hyphenated(f"{project}-{stack}") or "omnicloud"
    return _fit(f"{stem}-logs", WORKSPACE_MAX - AUTONAME_SUFFIX)


def _lower_hyphenated(text: str) -> str:
    """Lowercase letters, digits and single hyphens, no hyphen at either end."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def _fit(text: str, limit: int) -> str:
    """``text`` if it fits, else a prefix plus a hash of the whole, so it stays unique."""
    if len(text) <= limit:
        return text
    suffix = short_hash(text)
    return f"{text[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"
