"""The portable event-pattern syntax and its reference matcher."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.patterns import PatternError, matches, parse_pattern

ORDER = {
    "id": "1",
    "source": "shop/api",
    "type": "order.created",
    "subject": "order/42",
    "data": {"total": 150, "customer": {"tier": "gold"}, "tags": ["new", "vip"], "note": None},
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"type": ["order.created"]}, True),
        ({"type": ["order.updated"]}, False),
        ({"type": ["order.updated", "order.created"]}, True),
        ({"source": [{"prefix": "shop/"}]}, True),
        ({"source": [{"prefix": "billing/"}]}, False),
        ({"subject": [{"exists": True}]}, True),
        ({"data": {"missing": [{"exists": False}]}}, True),
        ({"data": {"note": [{"exists": False}]}}, True),
        ({"data": {"note": [{"exists": True}]}}, False),
        ({"data": {"total": [{"numeric": [">=", 100, "<", 500]}]}}, True),
        ({"data": {"total": [{"numeric": [">", 150]}]}}, False),
        ({"data": {"total": [150]}}, True),
        ({"data": {"total": ["150"]}}, False),
        ({"data": {"customer": {"tier": ["gold", "platinum"]}}}, True),
        ({"data": {"customer": {"tier": ["silver"]}}}, False),
        ({"data": {"tags": ["vip"]}}, True),
        ({"type": ["order.created"], "data": {"total": [{"numeric": ["<", 100]}]}}, False),
    ],
)
def test_matcher_semantics(pattern, expected):
    assert matches(parse_pattern(pattern), ORDER) is expected


def test_booleans_are_not_numbers():
    pattern = parse_pattern({"data": {"flag": [True]}})
    assert matches(pattern, {"data": {"flag": True}})
    assert not matches(pattern, {"data": {"flag": 1}})
    assert not matches(parse_pattern({"data": {"n": [1]}}), {"data": {"n": True}})


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ({}, "empty pattern"),
        ({"id": ["1"]}, "only source, type, subject, data"),
        ({"type": "order.created"}, "non-empty list"),
        ({"type": []}, "non-empty list"),
        ({"type": [{"suffix": ".created"}]}, "not a matcher"),
        ({"type": [{"prefix": ""}]}, "non-empty string"),
        ({"data": {"total": [{"numeric": [">=", "1"]}]}}, "finite number"),
        ({"data": {"total": [{"numeric": ["~", 1]}]}}, "operator"),
        ({"data": {"total": [{"numeric": [">", 1, ">", 2]}]}}, "one lower"),
        ({"data": {"total": [{"numeric": [">", 1, "<"]}]}}, "[op, n]"),
        ({"data": {"a.b": [1]}}, "contain no '.'"),
        ({"data": {"x": [{"exists": "yes"}]}}, "true or false"),
        ({"data": {}}, "map field names"),
    ],
)
def test_bad_patterns_are_rejected_with_the_reason(pattern, reason):
    with pytest.raises(PatternError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_pattern(pattern)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_numeric_range_is_the_conjunction_of_its_bounds(low, high, value):
    pattern = parse_pattern({"data": {"n": [{"numeric": [">=", low, "<", high]}]}})
    assert matches(pattern, {"data": {"n": value}}) is (low <= value < high)


@given(st.text(max_size=8), st.text(min_size=1, max_size=4))
def test_prefix_is_str_startswith(value, prefix):
    pattern = parse_pattern({"source": [{"prefix": prefix}]})
    assert matches(pattern, {"source": value}) is value.startswith(prefix)
