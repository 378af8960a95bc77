"""Portable pattern -> Event Grid filter: the mapping, the rejections, and agreement with the
portable matcher on generated events (Event Grid's documented semantics, evaluated offline)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi_azure_native import eventgrid

from components.patterns import matches, parse_pattern
from providers.azure import patterns
from providers.azure.patterns import NUMBER_MAX, UnsupportedPattern, compile_filter, event_grid_matches


def _compile(pattern: dict[str, Any]) -> eventgrid.EventSubscriptionFilterArgs:
    return compile_filter(parse_pattern(pattern))


def _filters(pattern: dict[str, Any]) -> list[Any]:
    return list(_compile(pattern).advanced_filters or [])  # type: ignore[arg-type]


def _event(**fields: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": "1", **fields}


# -- the mapping ------------------------------------------------------------------------------


def test_exact_types_become_included_event_types_without_advanced_filters() -> None:
    compiled = _compile({"type": ["order.created", "order.updated", "order.created"]})
    assert compiled.included_event_types == ["order.created", "order.updated"]
    assert compiled.advanced_filters is None


def test_a_single_subject_prefix_is_matched_case_sensitively() -> None:
    compiled = _compile({"subject": [{"prefix": "orders/"}]})
    assert compiled.subject_begins_with == "orders/"
    assert compiled.is_subject_case_sensitive is True
    assert event_grid_matches(compiled, _event(subject="orders/1"))
    assert not event_grid_matches(compiled, _event(subject="Orders/1"))


def test_several_prefixes_become_one_string_begins_with_filter() -> None:
    (only,) = _filters({"source": [{"prefix": "shop/"}, {"prefix": "store/"}]})
    assert isinstance(only, eventgrid.StringBeginsWithAdvancedFilterArgs)
    assert (only.key, only.values) == ("source", ["shop/", "store/"])


def test_exact_strings_on_data_become_string_in_with_a_dotted_key() -> None:
    (only,) = _filters({"data": {"customer": {"tier": ["gold", "platinum"]}}})
    assert isinstance(only, eventgrid.StringInAdvancedFilterArgs)
    assert (only.key, only.values) == ("data.customer.tier", ["gold", "platinum"])


def test_exact_numbers_become_number_in() -> None:
    (only,) = _filters({"data": {"qty": [1, 2.5]}})
    assert isinstance(only, eventgrid.NumberInAdvancedFilterArgs)
    assert only.values == [1.0, 2.5]


@pytest.mark.parametrize(
    ("op", "args_type"),
    [
        (">", eventgrid.NumberGreaterThanAdvancedFilterArgs),
        (">=", eventgrid.NumberGreaterThanOrEqualsAdvancedFilterArgs),
        ("<", eventgrid.NumberLessThanAdvancedFilterArgs),
        ("<=", eventgrid.NumberLessThanOrEqualsAdvancedFilterArgs),
    ],
)
def test_a_one_sided_condition_uses_the_matching_number_operator(op: str, args_type: type) -> None:
    (only,) = _filters({"data": {"total": [{"numeric": [op, 100]}]}})
    assert isinstance(only, args_type)
    assert only.value == 100.0


def test_a_two_sided_range_is_one_inclusive_range_with_strict_bounds_moved_to_the_next_double() -> None:
    (only,) = _filters({"data": {"total": [{"numeric": [">", 100, "<=", 500]}]}})
    assert isinstance(only, eventgrid.NumberInRangeAdvancedFilterArgs)
    assert only.values == [[math.nextafter(100.0, math.inf), 500.0]]


def test_several_numeric_matchers_become_ranges_ored_in_one_filter() -> None:
    (only,) = _filters({"data": {"total": [7, {"numeric": ["<", 0]}, {"numeric": ["=", 3]}]}})
    assert isinstance(only, eventgrid.NumberInRangeAdvancedFilterArgs)
    assert only.values == [[7.0, 7.0], [-NUMBER_MAX, math.nextafter(0.0, -math.inf)], [3.0, 3.0]]


def test_exists_and_booleans_map_to_null_checks_and_bool_equals() -> None:
    present, absent, flag = _filters(
        {"data": {"a": [{"exists": True}], "b": [{"exists": False}], "c": [True]}}
    )
    assert isinstance(present, eventgrid.IsNotNullAdvancedFilterArgs) and present.key == "data.a"
    assert isinstance(absent, eventgrid.IsNullOrUndefinedAdvancedFilterArgs) and absent.key == "data.b"
    assert isinstance(flag, eventgrid.BoolEqualsAdvancedFilterArgs) and flag.value is True


def test_array_filtering_is_on_whenever_there_are_advanced_filters() -> None:
    assert _compile({"source": ["a"]}).enable_advanced_filtering_on_arrays is True


# -- what Event Grid cannot express -----------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ({"source": ["shop", {"prefix": "store/"}]}, "mixes prefix and string"),
        ({"data": {"x": ["a", 1]}}, "mixes number and string"),
        ({"data": {"x": [True, False]}}, "any boolean"),
        ({"data": {"x": [{"exists": True}, {"exists": False}]}}, "every event"),
        ({"data": {"x": [{"numeric": [">", 5, "<", 5]}]}}, "empty"),
        ({"data": {f"f{i}": ["v"] for i in range(26)}}, "at most 25"),
        ({"data": {"x": [f"v{i}" for i in range(26)]}}, "25 across"),
        ({"source": ["s" * 513]}, "at most 512"),
    ],
)
def test_patterns_event_grid_cannot_express_are_rejected_with_the_reason(pattern: dict[str, Any], reason: str) -> None:
    with pytest.raises(UnsupportedPattern, match=reason):
        _compile(pattern)


def test_values_are_counted_per_list_entry_and_null_checks_count_none() -> None:
    filters = _filters({"data": {"a": ["x", "y"], "b": [{"numeric": [">", 1, "<", 2]}], "c": [{"exists": True}]}})
    assert [patterns.filter_value_count(f) for f in filters] == [2, 1, 0]


# -- Event Grid semantics that differ (documented, pinned here) -------------------------------


def test_event_grid_compares_strings_case_insensitively_unlike_the_portable_matcher() -> None:
    parsed = parse_pattern({"type": ["Order.Created"], "source": ["Shop"]})
    event = _event(type="order.created", source="shop")
    assert event_grid_matches(compile_filter(parsed), event)
    assert not matches(parsed, event)


def test_exists_on_an_empty_array_differs_event_grid_sees_the_array() -> None:
    parsed = parse_pattern({"data": {"tags": [{"exists": True}]}})
    event = _event(data={"tags": []})
    assert event_grid_matches(compile_filter(parsed), event)
    assert not matches(parsed, event)


def test_a_range_on_an_array_needs_one_element_inside_both_bounds() -> None:
    parsed = parse_pattern({"data": {"scores": [{"numeric": [">", 0, "<", 10]}]}})
    compiled = compile_filter(parsed)
    assert not event_grid_matches(compiled, _event(data={"scores": [-5, 20]}))
    assert event_grid_matches(compiled, _event(data={"scores": [-5, 5]}))


def test_values_of_another_type_are_ignored_and_missing_keys_do_not_match() -> None:
    compiled = _compile({"data": {"n": [1], "s": ["1"]}})
    assert not event_grid_matches(compiled, _event(data={"n": "1", "s": "1"}))
    assert not event_grid_matches(compiled, _event(data={"n": True, "s": "1"}))
    assert not event_grid_matches(compiled, _event(data={"s": "1"}))
    assert event_grid_matches(compiled, _event(data={"n": 1.0, "s": "1"}))


# -- property: compiled filter == portable matcher --------------------------------------------

WORDS = ["a", "ab", "abc", "b", "ba", "shop/", "shop/x", ""]
PREFIXES = ["a", "ab", "b", "shop/"]
BOUNDS = [-1, 0, 1, 2.5]
NUMBERS = sorted({*BOUNDS, -5, 10, *(math.nextafter(float(b), d) for b in BOUNDS for d in (-math.inf, math.inf))})
ENVELOPE = ("source", "type", "subject")
DATA_PATHS = (("a",), ("b",), ("n", "x"))


def _numeric() -> st.SearchStrategy[dict[str, Any]]:
    one = st.tuples(st.sampled_from([">", ">=", "<", "<=", "="]), st.sampled_from(BOUNDS)).map(
        lambda c: {"numeric": [c[0], c[1]]}
    )
    two = st.tuples(
        st.sampled_from([">", ">="]), st.sampled_from(BOUNDS), st.sampled_from(["<", "<="]), st.sampled_from(BOUNDS)
    ).filter(lambda c: c[1] < c[3]).map(lambda c: {"numeric": list(c)})
    return st.one_of(one, two)


def _matchers(envelope: bool) -> st.SearchStrategy[list[Any]]:
    kinds = [
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        st.lists(st.sampled_from(PREFIXES).map(lambda p: {"prefix": p}), min_size=1, max_size=3),
        st.sampled_from([True, False]).map(lambda e: [{"exists": e}]),
    ]
    if not envelope:
        kinds += [
            st.lists(st.sampled_from(BOUNDS), min_size=1, max_size=3),
            st.lists(st.one_of(_numeric(), st.sampled_from(BOUNDS)), min_size=1, max_size=3),
            st.sampled_from([True, False]).map(lambda b: [b]),
        ]
    return st.one_of(*kinds)


@st.composite
def portable_patterns(draw: st.DrawFn) -> dict[str, Any]:
    pattern: dict[str, Any] = {}
    # Few fields per pattern, so that generated events match often enough to be informative.
    for name in draw(st.lists(st.sampled_from(ENVELOPE), unique=True, max_size=1)):
        pattern[name] = draw(_matchers(envelope=True))
    data: dict[str, Any] = {}
    for path in draw(st.lists(st.sampled_from(DATA_PATHS), unique=True, max_size=2)):
        node = data
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = draw(_matchers(envelope=False))
    if data:
        pattern["data"] = data
    if not pattern:
        pattern["type"] = draw(_matchers(envelope=True))
    return pattern


def _literals(pattern: Any) -> tuple[set[str], set[float]]:
    """Strings and numbers a pattern mentions, so events hit its edges often."""
    strings: set[str] = set()
    numbers: set[float] = set()
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            if key == "prefix":
                strings |= {value, value + "z"}
            elif key == "numeric":
                numbers |= {float(b) for b in value[1::2]}
            else:
                more = _literals(value)
                strings |= more[0]
                numbers |= more[1]
    elif isinstance(pattern, list):
        for item in pattern:
            more = _literals(item)
            strings |= more[0]
            numbers |= more[1]
    elif isinstance(pattern, str):
        strings.add(pattern)
    elif isinstance(pattern, int | float) and not isinstance(pattern, bool):
        numbers.add(float(pattern))
    return strings, numbers


MISSING = object()


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    pattern = draw(portable_patterns())
    strings, numbers = _literals(pattern)
    edges = {math.nextafter(n, d) for n in numbers for d in (-math.inf, math.inf)}
    near = sorted(strings) + sorted(numbers | edges)
    scalars = st.one_of(
        st.sampled_from(near) if near else st.nothing(),
        st.sampled_from(near) if near else st.nothing(),
        st.sampled_from(WORDS),
        st.sampled_from(NUMBERS),
        st.booleans(),
    )
    # Non-empty arrays without nulls: on the others `exists` differs by design (see above).
    values = st.one_of(scalars, st.none(), st.lists(scalars, min_size=1, max_size=3))
    event: dict[str, Any] = {"specversion": "1.0", "id": "e"}
    for name in ENVELOPE:
        value = draw(st.one_of(st.just(MISSING), st.sampled_from(sorted(set(WORDS) | strings)), st.sampled_from(
            sorted(strings) or WORDS)))
        if value is not MISSING:
            event[name] = value
    shape = draw(st.sampled_from(["missing", "scalar", "object", "object", "object", "object"]))
    if shape == "scalar":
        event["data"] = draw(scalars)
    elif shape == "object":
        data: dict[str, Any] = {}
        for name in ("a", "b"):
            value = draw(st.one_of(st.just(MISSING), values, values))
            if value is not MISSING:
                data[name] = value
        nested = draw(st.one_of(st.just(MISSING), values, st.fixed_dictionaries({"x": values}), st.just({})))
        if nested is not MISSING:
            data["n"] = nested
        event["data"] = data
    return pattern, event


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_compiled_filter_agrees_with_the_portable_matcher(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    pattern, event = case
    # The generator only mixes matchers of one kind per field, which the compiler always
    # accepts, so no example is skipped.
    parsed = parse_pattern(pattern)
    assert event_grid_matches(compile_filter(parsed), event) == matches(parsed, event)


@st.composite
def numeric_cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """One numeric field and events whose value sits on or next to the pattern's bounds."""
    matchers = draw(st.lists(st.one_of(_numeric(), st.sampled_from(BOUNDS)), min_size=1, max_size=3))
    _, numbers = _literals(matchers)
    edges = sorted(numbers | {math.nextafter(n, d) for n in numbers for d in (-math.inf, math.inf)})
    value = draw(st.one_of(st.sampled_from(edges), st.lists(st.sampled_from(edges), min_size=1, max_size=3)))
    return {"data": {"total": matchers}}, _event(data={"total": value})


@settings(max_examples=400, deadline=None)
@given(case=numeric_cases())
def test_numeric_bounds_agree_on_and_next_to_every_bound(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    pattern, event = case
    parsed = parse_pattern(pattern)
    assert event_grid_matches(compile_filter(parsed), event) == matches(parsed, event)
