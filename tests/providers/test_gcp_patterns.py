"""Portable patterns -> Eventarc Advanced enrollment CEL, checked by a real CEL engine.

The enrollment only sees context attributes, so the publisher projects matched data fields
into extension attributes (:func:`providers.gcp.patterns.project`); the CEL is evaluated
(with cel-python) on exactly what an enrollment would see: the envelope, the bus attribute and
the projection. It must agree with :func:`components.patterns.matches` on every event.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from typing import Any

import celpy  # PyPI 'cel-python': a real CEL implementation, not a re-implementation of ours
import pytest
from celpy.adapter import json_to_cel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.patterns import matches, parse_pattern
from components.runtime.event_projection import ProjectionError
from providers.gcp.patterns import (
    BUS_ATTRIBUTE,
    MAX_LIST_ITEMS,
    FilterField,
    UnsupportedPattern,
    cel_string,
    compile_cel,
    field_attribute,
    filter_fields,
    project,
)

BUS = "events"
ORDER = {
    "id": "1",
    "source": "shop/api",
    "type": "order.created",
    "subject": "order/42",
    "data": {"total": 150, "customer": {"tier": "gold"}, "tags": ["new", "vip"], "note": None},
}


@cache
def _program(expression: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(expression))


def message_of(event: dict[str, Any], pattern_source: dict[str, Any] | None, bus: str = BUS) -> dict[str, str]:
    """What the enrollment sees: context attributes + bus attribute + projected data fields."""
    message = {key: event[key] for key in ("id", "source", "type") if key in event}
    if event.get("subject") is not None:
        message["subject"] = event["subject"]
    message[BUS_ATTRIBUTE] = bus
    pattern = parse_pattern(pattern_source) if pattern_source is not None else None
    message.update(project(event.get("data"), filter_fields(pattern)))
    return message


def routed(pattern_source: dict[str, Any] | None, event: dict[str, Any], bus: str = BUS) -> bool:
    pattern = parse_pattern(pattern_source) if pattern_source is not None else None
    expression = compile_cel(BUS, pattern)
    result = _program(expression).evaluate({"message": json_to_cel(message_of(event, pattern_source, bus))})
    return bool(result)


# -- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"type": ["order.created"]}, True),
        ({"type": ["order.updated"]}, False),
        ({"type": ["order.updated", "order.created"]}, True),
        ({"source": [{"prefix": "shop/"}]}, True),
        ({"source": [{"prefix": "billing/"}]}, False),
        ({"subject": [{"exists": True}]}, True),
        ({"subject": [{"exists": False}]}, False),
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
        ({"data": {"tags": [{"prefix": "ne"}]}}, True),
        ({"type": ["order.created"], "data": {"total": [{"numeric": ["<", 100]}]}}, False),
        (None, True),
    ],
)
def test_compiled_cel_routes_like_the_portable_matcher(pattern: dict[str, Any] | None, expected: bool) -> None:
    assert routed(pattern, ORDER) is expected
    if pattern is not None:
        assert matches(parse_pattern(pattern), ORDER) is expected


def test_an_event_of_another_bus_of_the_stack_never_matches() -> None:
    assert routed({"type": ["order.created"]}, ORDER, bus="audit") is False
    assert routed(None, ORDER, bus="audit") is False


def test_events_published_without_the_bus_attribute_are_ignored() -> None:
    expression = compile_cel(BUS, None)
    message = {"id": "1", "source": "x", "type": "y"}
    assert not _program(expression).evaluate({"message": json_to_cel(message)})


def test_booleans_and_numbers_stay_apart() -> None:
    assert routed({"data": {"flag": [True]}}, {**ORDER, "data": {"flag": True}})
    assert not routed({"data": {"flag": [True]}}, {**ORDER, "data": {"flag": 1}})
    assert not routed({"data": {"n": [1]}}, {**ORDER, "data": {"n": True}})
    assert not routed({"data": {"n": [{"numeric": [">", 0]}]}}, {**ORDER, "data": {"n": True}})
    assert not routed({"data": {"s": ["true"]}}, {**ORDER, "data": {"s": True}})


def test_only_fields_of_the_pattern_are_projected_with_stable_names() -> None:
    pattern = parse_pattern({"type": ["a"], "data": {"customer": {"tier": ["gold"]}, "total": [1]}})
    fields = filter_fields(pattern)
    assert fields == (
        FilterField(("customer", "tier"), field_attribute(("customer", "tier"))),
        FilterField(("total",), field_attribute(("total",))),
    )
    for field in fields:
        # CloudEvents extension attribute names: lower-case letters and digits, <= 20.
        assert re.fullmatch(r"od[0-9a-f]{10}", field.attribute)
    assert fields[0].as_json() == {"path": ["customer", "tier"], "attribute": fields[0].attribute}


def test_projection_encodes_type_and_value_per_candidate() -> None:
    tier = FilterField(("tier",), "odaaaaaaaaaa")
    tags = FilterField(("tags",), "odbbbbbbbbbb")
    total = FilterField(("total",), "odcccccccccc")
    note = FilterField(("note",), "oddddddddddd")
    missing = FilterField(("missing",), "odeeeeeeeeee")
    data = {"tier": "gold", "tags": ["new", 2, None, {"x": 1}], "total": 150, "note": None}
    assert project(data, [tier, tags, total, note, missing]) == {
        "odaaaaaaaaaan": "1",
        "odaaaaaaaaaat0": "s",
        "odaaaaaaaaaav0": "gold",
        "odbbbbbbbbbbn": "4",
        "odbbbbbbbbbbt0": "s",
        "odbbbbbbbbbbv0": "new",
        "odbbbbbbbbbbt1": "n",
        "odbbbbbbbbbbv1": "2.0",
        "odbbbbbbbbbbt2": "z",
        "odbbbbbbbbbbt3": "o",
        "odccccccccccn": "1",
        "odcccccccccct0": "n",
        "odccccccccccv0": "150.0",
        "odddddddddddn": "1",
        "odddddddddddt0": "z",
    }


def test_a_matched_list_longer_than_the_limit_cannot_be_published() -> None:
    field = FilterField(("tags",), field_attribute(("tags",)))
    project({"tags": list(range(MAX_LIST_ITEMS))}, [field])
    with pytest.raises(ProjectionError, match=f"at most {MAX_LIST_ITEMS}"):
        project({"tags": list(range(MAX_LIST_ITEMS + 1))}, [field])


def test_cel_strings_are_ascii_and_escape_quotes_and_controls() -> None:
    assert cel_string('a"b\\c') == '"a\\"b\\\\c"'
    assert cel_string("é\n😀") == '"\\u00e9\\u000a\\U0001f600"'
    tricky = 'é😀"\\'
    assert _program(cel_string(tricky) + " == x").evaluate({"x": json_to_cel(tricky)})
    with pytest.raises(UnsupportedPattern, match="surrogate"):
        cel_string("\ud800")


def test_the_bus_name_is_part_of_every_expression() -> None:
    assert compile_cel("events", None) == 'has(message.omnicloudbus) && message.omnicloudbus == "events"'


# -- exhaustive: every matcher kind against every kind of value ------------------------------

_MISSING = object()
MATCHERS = [
    "a",
    "",
    1,
    1.5,
    True,
    False,
    {"prefix": "a"},
    {"exists": True},
    {"exists": False},
    *({"numeric": [op, 1]} for op in (">", ">=", "<", "<=", "=")),
    {"numeric": [">=", 1, "<", 2]},
    {"numeric": [">", 1, "<=", 2]},
]
VALUES = [
    _MISSING,
    None,
    True,
    False,
    0,
    1,
    1.0,
    1.5,
    2,
    -1,
    "",
    "a",
    "ab",
    "b",
    "1",
    {},
    {"a": 1},
    [],
    [None],
    [1, "a"],
    ["x"] * (MAX_LIST_ITEMS - 1) + ["a"],
    [2] * (MAX_LIST_ITEMS - 1) + [1],
    ["x"] * (MAX_LIST_ITEMS - 1) + [None],
    [[1]],
]


@pytest.mark.parametrize("matcher", MATCHERS, ids=repr)
def test_every_matcher_agrees_on_every_kind_of_data_value(matcher: Any) -> None:
    pattern = {"data": {"f": [matcher]}}
    for value in VALUES:
        event = {**ORDER, "data": {} if value is _MISSING else {"f": value}}
        assert routed(pattern, event) is matches(parse_pattern(pattern), event), (matcher, value)


@pytest.mark.parametrize("matcher", MATCHERS, ids=repr)
def test_every_matcher_agrees_on_the_optional_subject(matcher: Any) -> None:
    pattern = {"subject": [matcher]}
    for value in (_MISSING, "", "a", "ab", "b", "1"):
        event = {key: item for key, item in ORDER.items() if key != "subject"}
        if value is not _MISSING:
            event["subject"] = value
        assert routed(pattern, event) is matches(parse_pattern(pattern), event), (matcher, value)


# -- property: compiled CEL == portable matcher on generated events ---------------------------

_TEXT = st.sampled_from(["", "a", "ab", "abc", "b", "order.created", "shop/api", "é", 'a"b'])
_NUMBER = st.one_of(
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0.5, -1.5, 2.0, 1e20, 100, 150, 499.999]),
)
_SCALAR = st.one_of(st.none(), st.booleans(), _NUMBER, _TEXT)
_FIELDS = ("a", "b", "c")
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=MAX_LIST_ITEMS),
        st.dictionaries(st.sampled_from(_FIELDS), inner, max_size=3),
    ),
    max_leaves=8,
)


@st.composite
def _numeric(draw: st.DrawFn) -> dict[str, list[Any]]:
    bound = draw(st.sampled_from([-1, 0, 0.5, 1, 2, 100, 150]))
    if draw(st.booleans()):
        return {"numeric": [draw(st.sampled_from([">", ">=", "<", "<=", "="])), bound]}
    upper = bound + draw(st.sampled_from([0.5, 1, 50, 400]))
    return {"numeric": [draw(st.sampled_from([">", ">="])), bound, draw(st.sampled_from(["<", "<="])), upper]}


_MATCHER = st.one_of(
    _TEXT,
    st.booleans(),
    _NUMBER,
    _TEXT.filter(bool).map(lambda text: {"prefix": text}),
    st.booleans().map(lambda present: {"exists": present}),
    _numeric(),
)
_MATCHERS = st.lists(_MATCHER, min_size=1, max_size=3)
_DATA_PATTERN = st.recursive(
    st.dictionaries(st.sampled_from(_FIELDS), _MATCHERS, min_size=1, max_size=2),
    lambda inner: st.dictionaries(st.sampled_from(_FIELDS), st.one_of(_MATCHERS, inner), min_size=1, max_size=2),
    max_leaves=4,
)


@st.composite
def _pattern(draw: st.DrawFn) -> dict[str, Any]:
    pattern: dict[str, Any] = {}
    for key in ("source", "type", "subject"):
        if draw(st.integers(0, 2)) == 0:
            pattern[key] = draw(_MATCHERS)
    if draw(st.booleans()) or not pattern:
        pattern["data"] = draw(_DATA_PATTERN)
    return pattern


@st.composite
def _event(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {"id": "1", "source": draw(_TEXT.filter(bool)), "type": draw(_TEXT.filter(bool))}
    if draw(st.booleans()):
        event["subject"] = draw(_TEXT)
    event["data"] = draw(st.one_of(st.dictionaries(st.sampled_from(_FIELDS), _VALUE, max_size=3), _SCALAR))
    return event


def _near(draw: st.DrawFn, matcher: Any) -> Any:
    """A value that matches ``matcher``, or almost does (types swapped, bounds crossed)."""
    if draw(st.booleans()):
        return _hit(matcher)
    if isinstance(matcher, dict) and "prefix" in matcher:
        prefix = matcher["prefix"]
        return draw(st.sampled_from([prefix, prefix + "x", prefix[:-1], "x" + prefix]))
    if isinstance(matcher, dict) and "numeric" in matcher:
        bound = draw(st.sampled_from(matcher["numeric"][1::2]))  # on, just below, just above a bound
        return draw(st.sampled_from([bound, bound - 0.5, bound + 0.5, str(bound)]))
    if isinstance(matcher, dict):  # exists
        return draw(st.one_of(_SCALAR, st.just({"a": 1}), st.just([])))
    if isinstance(matcher, bool):
        return draw(st.sampled_from([matcher, not matcher, int(matcher), str(matcher).lower()]))
    if isinstance(matcher, int | float):
        return draw(st.sampled_from([matcher, float(matcher), matcher + 1, str(matcher)]))
    return draw(st.sampled_from([matcher, matcher + "x", None]))


def _hit(matcher: Any) -> Any:
    if isinstance(matcher, dict) and "prefix" in matcher:
        return matcher["prefix"] + "-"
    if isinstance(matcher, dict) and "numeric" in matcher:
        conditions = matcher["numeric"]
        if len(conditions) == 4:
            return (conditions[1] + conditions[3]) / 2
        return {">": conditions[1] + 1, "<": conditions[1] - 1}.get(conditions[0], conditions[1])
    if isinstance(matcher, dict):
        return "present" if matcher["exists"] else None
    return matcher


def _leaves(pattern: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], list[Any]]]:
    found = []
    for key, value in pattern.items():
        if isinstance(value, dict):
            found += _leaves(value, (*path, key))
        else:
            found.append(((*path, key), value))
    return found


@st.composite
def _pattern_and_event(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pattern and an event built to (nearly) satisfy it, so both outcomes are frequent."""
    pattern = draw(_pattern())
    event = draw(_event())
    for key in ("source", "type", "subject"):
        if key in pattern and draw(st.integers(0, 9)) < 8:
            value = _near(draw, draw(st.sampled_from(pattern[key])))
            if isinstance(value, str) and (value or key == "subject"):
                event[key] = value
    data = event["data"] if isinstance(event["data"], dict) else {}
    for path, matchers in _leaves(pattern.get("data", {})):
        shape = draw(st.integers(0, 9))
        if shape == 0:
            continue  # leave whatever is (or is not) there
        if shape < 6:
            value: Any = _near(draw, draw(st.sampled_from(matchers)))
        elif shape < 8:
            value = [
                _near(draw, draw(st.sampled_from(matchers))) if draw(st.booleans()) else draw(_SCALAR)
                for _ in range(draw(st.integers(0, MAX_LIST_ITEMS)))
            ]
        elif shape < 9:  # a full list whose last item is the interesting one
            value = ["filler"] * (MAX_LIST_ITEMS - 1) + [_near(draw, draw(st.sampled_from(matchers)))]
        else:
            value = None
        node = data
        for name in path[:-1]:
            if not isinstance(node.get(name), dict):
                node[name] = {}
            node = node[name]
        node[path[-1]] = value
    event["data"] = data
    return pattern, event


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=_pattern(), event=_event())
def test_compiled_cel_agrees_with_the_portable_matcher_on_unrelated_events(
    pattern: dict[str, Any], event: dict[str, Any]
) -> None:
    assert _finite(event)
    assert routed(pattern, event) is matches(parse_pattern(pattern), event)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_pattern_and_event())
def test_compiled_cel_agrees_with_the_portable_matcher_on_near_misses(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    pattern, event = case
    assert routed(pattern, event) is matches(parse_pattern(pattern), event)


# -- the runtime publisher produces exactly what the compiled CEL tests -------------------------


class _RecordingPublisher:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def publish(self, request: dict[str, Any]) -> None:
        self.requests.append(request)


@pytest.mark.parametrize(
    "pattern",
    [
        {"data": {"total": [{"numeric": [">=", 100, "<", 500]}]}},
        {"data": {"customer": {"tier": ["gold"]}}, "type": ["order.created"]},
        {"data": {"tags": ["vip"]}},
        {"data": {"note": [{"exists": False}]}},
        {"data": {"total": [{"numeric": [">", 150]}]}},
    ],
)
def test_events_published_by_the_runtime_client_route_like_the_portable_matcher(pattern):
    from components.runtime.clients.gcp import EventarcBus

    parsed = parse_pattern(pattern)
    locator = {
        "kind": "bus",
        "cloud": "gcp",
        "name": BUS,
        "project": "p",
        "location": "us-central1",
        "message_bus": "projects/p/locations/us-central1/messageBuses/b",
        "filter_fields": [item.as_json() for item in filter_fields(parsed)],
    }
    publisher = _RecordingPublisher()
    bus = EventarcBus(locator, publisher=publisher)
    bus.publish(ORDER["type"], ORDER["data"], source=ORDER["source"], subject=ORDER["subject"])
    sent = json.loads(publisher.requests[0]["json_message"])
    # The enrollment sees the context and extension attributes, never the payload.
    message = {key: value for key, value in sent.items() if key != "data"}
    result = _program(compile_cel(BUS, parsed)).evaluate({"message": json_to_cel(message)})
    assert bool(result) is matches(parsed, ORDER)
