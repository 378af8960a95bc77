"""GCP name and label rules (pure functions)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.errors import InvalidArgsError
from providers.gcp import naming

# Valid logical function names: what check_function_name accepts.
function_names = st.from_regex(r"\A[a-z](?:[a-z0-9-]{0,53}[a-z0-9])?\Z")
scopes = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}/[a-z][a-z0-9-]{0,20}\Z")
LOG_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")


@given(scope=scopes, name=function_names, role=st.sampled_from(["fn", "sched"]))
def test_service_account_ids_always_fit_gcp_rules(scope: str, name: str, role: str) -> None:
    account_id = naming.service_account_id(scope, name, role)
    assert naming.SERVICE_ACCOUNT_ID.match(account_id)
    assert 6 <= len(account_id) <= 30


def test_service_account_id_is_readable_and_deterministic() -> None:
    first = naming.service_account_id("omnicloud/dev", "api", "fn")
    assert first == naming.service_account_id("omnicloud/dev", "api", "fn")
    assert re.fullmatch(r"api-fn-[0-9a-f]{6}", first)


def test_same_function_in_two_stacks_gets_different_project_wide_names() -> None:
    # Two stacks of one program may share a GCP project: explicit names must not collide.
    dev, prod = "omnicloud/dev", "omnicloud/prod"
    assert naming.service_account_id(dev, "api", "fn") != naming.service_account_id(prod, "api", "fn")
    assert naming.log_bucket_id(dev, "dev", "api") != naming.log_bucket_id(prod, "prod", "api")
    assert naming.secret_id(dev, "dev", "api", "TOKEN") != naming.secret_id(prod, "prod", "api", "TOKEN")


def test_truncated_names_keep_a_hash_of_the_full_name() -> None:
    long_a = "a" * 40 + "-one"
    long_b = "a" * 40 + "-two"
    id_a = naming.service_account_id("p/s", long_a, "fn")
    id_b = naming.service_account_id("p/s", long_b, "fn")
    assert len(id_a) == len(id_b) == 30
    assert id_a != id_b


def test_function_and_scheduler_accounts_differ() -> None:
    assert naming.service_account_id("p/s", "nightly", "fn") != naming.service_account_id(
        "p/s", "nightly", "sched"
    )


@given(scope=scopes, stack=st.from_regex(r"\A[A-Za-z0-9_.-]{1,40}\Z"), name=function_names)
def test_logging_names_fit_cloud_logging_rules(scope: str, stack: str, name: str) -> None:
    for value in (
        naming.log_bucket_id(scope, stack, name),
        naming.log_sink_name(scope, stack, name),
        naming.log_exclusion_name(scope, stack, name),
    ):
        assert LOG_NAME.match(value), value
        assert len(value) <= 100


def test_secret_ids_differ_for_keys_differing_only_in_case() -> None:
    upper = naming.secret_id("p/s", "s", "api", "TOKEN")
    lower = naming.secret_id("p/s", "s", "api", "token")
    assert upper != lower
    assert re.fullmatch(r"[a-z0-9-]{1,255}", upper)


def test_labels_are_lowercased_and_sanitized() -> None:
    assert naming.labels({"Team": "Data Platform", "cost.center": "R&D"}) == {
        "team": "data_platform",
        "cost_center": "r_d",
    }


def test_label_keys_start_with_a_letter_and_fit_63() -> None:
    assert naming.label_key("1st") == "x1st"
    assert naming.label_key("k" * 80) == "k" * 63
    assert naming.label_value("v" * 80) == "v" * 63
    assert naming.label_value("") == ""


def test_tags_that_sanitize_to_the_same_label_key_are_rejected() -> None:
    with pytest.raises(InvalidArgsError) as caught:
        naming.check_labels("Function 'api'", {"Team": "a", "team": "b"})
    assert caught.value.field == "tags.team"
    assert caught.value.cloud == "gcp"


def test_more_than_64_labels_are_rejected() -> None:
    with pytest.raises(InvalidArgsError) as caught:
        naming.check_labels("Function 'api'", {f"k{i}": "v" for i in range(65)})
    assert caught.value.field == "tags"


@pytest.mark.parametrize("name", ["api", "a", "nightly-job", "a" * 55, "x1-2"])
def test_valid_function_names_pass(name: str) -> None:
    naming.check_function_name("Function", name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Api", "lowercase"),
        ("1api", "start with a letter"),
        ("api-", "end with '-'"),
        ("api_v2", "lowercase letters, digits and '-'"),
        ("a" * 56, "at most 55 characters"),
    ],
)
def test_invalid_function_names_name_the_rule(name: str, reason: str) -> None:
    with pytest.raises(InvalidArgsError) as caught:
        naming.check_function_name("Function", name)
    assert reason in str(caught.value)
    assert caught.value.field == "name"
    assert caught.value.cloud == "gcp"
