"""AWS name rules: what a Function may be called, and the names derived from it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.errors import InvalidArgsError
from providers.aws import naming

COMPONENT = "Function 'x'"
# IAM role names are at most 64 and Pulumi appends "-<7 hex>": "<name>-role" leaves 51,
# "<name>-scheduler" (a scheduled function's Scheduler role) leaves 46.
UNSCHEDULED_MAX = 64 - 8 - len("-role")
SCHEDULED_MAX = 64 - 8 - len("-scheduler")


@pytest.mark.parametrize("name", ["api", "A", "my_func-1", "x" * UNSCHEDULED_MAX, "0-_-0"])
def test_lambda_names_of_letters_digits_dash_underscore_are_accepted(name: str) -> None:
    naming.check_function_name(COMPONENT, name)


@pytest.mark.parametrize("name", ["my.api", "my api", "api/v1", "api:1", "ünïcode", ""])
def test_names_with_other_characters_are_rejected(name: str) -> None:
    with pytest.raises(InvalidArgsError) as caught:
        naming.check_function_name(COMPONENT, name)
    error = caught.value
    assert (error.component, error.field, error.value, error.cloud) == (COMPONENT, "name", name, "aws")
    assert "letters, digits, '-' and '_'" in str(error)


def test_a_name_leaving_no_room_for_the_role_and_autoname_suffix_is_rejected() -> None:
    name = "x" * (UNSCHEDULED_MAX + 1)
    with pytest.raises(InvalidArgsError) as caught:
        naming.check_function_name(COMPONENT, name)
    message = str(caught.value)
    assert f"at most {UNSCHEDULED_MAX} characters" in message
    assert "64" in message
    assert name in message


def test_a_scheduled_function_leaves_room_for_its_scheduler_role() -> None:
    naming.check_function_name(COMPONENT, "x" * SCHEDULED_MAX, scheduled=True)
    with pytest.raises(InvalidArgsError, match=f"at most {SCHEDULED_MAX} characters"):
        naming.check_function_name(COMPONENT, "x" * (SCHEDULED_MAX + 1), scheduled=True)


@given(st.text(alphabet="abcXYZ019-_", min_size=1, max_size=80), st.booleans())
def test_every_accepted_name_fits_all_auto_named_children(name: str, scheduled: bool) -> None:
    try:
        naming.check_function_name(COMPONENT, name, scheduled=scheduled)
    except InvalidArgsError:
        return
    suffixes = ["-role", *(["-scheduler", "-schedule"] if scheduled else [])]
    assert len(name) + naming.AUTONAME_SUFFIX <= naming.LAMBDA_NAME_MAX
    for suffix in suffixes:
        assert len(name + suffix) + naming.AUTONAME_SUFFIX <= 64


def test_log_group_name_is_namespaced_by_project_stack_and_function() -> None:
    assert naming.log_group_name("shop", "prod", "api") == "/omnicloud/shop/prod/api"


def test_log_group_name_never_exceeds_cloudwatch_limit() -> None:
    name = naming.log_group_name("p" * 300, "s" * 300, "api")
    assert len(name) == naming.LOG_GROUP_MAX == 512
    assert name.startswith("/omnicloud/ppp")


def test_short_hash_is_deterministic_short_hex_and_input_sensitive() -> None:
    first = naming.short_hash("shop", "prod", "api")
    assert first == naming.short_hash("shop", "prod", "api")
    assert len(first) == 6
    assert int(first, 16) >= 0
    assert naming.short_hash("shop", "prod", "web") != first
    assert len(naming.short_hash("a", length=10)) == 10
