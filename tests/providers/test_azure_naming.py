"""Azure name rules: component names, derived names, built-in role IDs."""

from __future__ import annotations

import re

import pulumi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.errors import InvalidArgsError
from components.testing import MockStack
from providers.azure import naming, roles

_CONTAINER = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$")
_RESOURCE_GROUP = re.compile(r"^[A-Za-z0-9_.()-]+$")
# Pulumi project and stack names: letters, digits, '-', '_' and '.'.
_PULUMI_NAMES = st.from_regex(r"\A[A-Za-z0-9_.-]{1,100}\Z")


@pytest.mark.parametrize("name", ["api", "my-api-2", "A1", "x" * naming.max_function_name()])
def test_function_names_within_the_rules_are_accepted(name: str) -> None:
    naming.check_function_name("Function 'x'", name)


@pytest.mark.parametrize(("name", "limit"), [
    ("my_api", "letters, digits and '-'"),
    ("api.v2", "letters, digits and '-'"),
    ("-api", "starting with a letter or digit"),
    ("", "letters, digits"),
    ("x" * (naming.max_function_name() + 1), "at most 47 characters"),
])
def test_function_names_outside_the_rules_are_refused(name: str, limit: str) -> None:
    with pytest.raises(InvalidArgsError) as caught:
        naming.check_function_name("Function 'x'", name)
    assert caught.value.field == "name"
    assert caught.value.cloud == "azure"
    assert limit in caught.value.limit


def test_the_name_limit_leaves_room_for_the_plan_suffix_and_autoname() -> None:
    longest = naming.max_function_name()
    assert longest + len(naming.PLAN_SUFFIX) + naming.AUTONAME_SUFFIX <= naming.PLAN_MAX
    assert longest + naming.AUTONAME_SUFFIX <= naming.FUNCTION_APP_MAX


@given(st.text(min_size=1, max_size=200))
def test_deployment_container_names_are_always_valid(function: str) -> None:
    name = naming.deployment_container_name(function)
    assert _CONTAINER.match(name), name
    assert 3 <= len(name) <= naming.CONTAINER_MAX
    assert naming.deployment_container_name(function) == name


def test_names_that_sanitize_alike_get_different_containers() -> None:
    assert naming.deployment_container_name("My_Api") != naming.deployment_container_name("my-api")
    assert naming.deployment_container_name("api").startswith("deploy-api-")


@given(_PULUMI_NAMES, _PULUMI_NAMES)
def test_storage_account_logical_names_autoname_to_valid_account_names(project: str, stack: str) -> None:
    logical = naming.storage_account_logical_name(project, stack)
    assert re.fullmatch(r"[a-z0-9]+", logical)
    assert 3 <= len(logical) + naming.AUTONAME_SUFFIX <= naming.STORAGE_ACCOUNT_MAX


@given(_PULUMI_NAMES, _PULUMI_NAMES)
def test_resource_group_logical_names_autoname_within_the_limit(project: str, stack: str) -> None:
    logical = naming.resource_group_logical_name(project, stack)
    assert _RESOURCE_GROUP.match(logical)
    assert not logical.endswith(".")
    assert len(logical) + naming.AUTONAME_SUFFIX <= naming.RESOURCE_GROUP_MAX


@given(_PULUMI_NAMES, _PULUMI_NAMES)
def test_workspace_logical_names_autoname_within_the_rules(project: str, stack: str) -> None:
    logical = naming.workspace_logical_name(project, stack)
    assert _WORKSPACE.match(logical), logical
    assert 4 <= len(logical) + naming.AUTONAME_SUFFIX <= naming.WORKSPACE_MAX


def test_long_stack_names_are_truncated_with_a_hash_so_they_stay_distinct() -> None:
    a = naming.workspace_logical_name("p", "s" * 80 + "a")
    b = naming.workspace_logical_name("p", "s" * 80 + "b")
    assert a != b
    assert len(a) == len(b) == naming.WORKSPACE_MAX - naming.AUTONAME_SUFFIX


def test_role_definition_id_is_built_from_the_scope_subscription() -> None:
    scope = "/subscriptions/1111/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st"
    with MockStack(cloud="azure") as stack:
        output = roles.role_definition_id("Storage Blob Data Owner", scope)
        assert isinstance(output, pulumi.Output)
        built = stack.resolve(output)
    assert built == (
        "/subscriptions/1111/providers/Microsoft.Authorization/roleDefinitions/"
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
    )


def test_subscription_of_rejects_ids_outside_a_subscription() -> None:
    assert roles.subscription_of("/subscriptions/abc/resourceGroups/x") == "abc"
    with pytest.raises(ValueError):
        roles.subscription_of("/providers/Microsoft.Authorization/roleDefinitions/x")
