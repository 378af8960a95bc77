"""The portable pattern compiled for EventBridge, checked against moto's EventBridge matcher.

The property test generates patterns and CloudEvents, publishes each event the way the AWS
runtime does (Source = source, DetailType = type, Detail = the rest) and asks moto's
``EventPattern`` whether the compiled pattern matches the event EventBridge would build;
the answer must be :func:`components.patterns.matches`'. The end-to-end test puts events on a
moto EventBridge bus whose rule (our compiled pattern) targets an SQS queue.

Kept out of generation, on purpose: values where moto itself departs from EventBridge
(Python's ``True == 1`` makes moto match a boolean against a number) and the documented
differences of :mod:`providers.aws.patterns` (``exists`` on objects, JSON ``null``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.events.models import EventPattern

from components.patterns import matches, parse_pattern
from providers.aws.patterns import MATCH_ALL, compile_pattern, compile_pattern_json, unsupported

REGION = "us-east-1"

# -- compiling ----------------------------------------------------------------------------------


def test_envelope_fields_and_data_fields_move_to_their_eventbridge_paths() -> None:
    pattern = parse_pattern(
        {
            "type": ["order.created", "order.updated"],
            "source": [{"prefix": "shop/"}],
            "subject": [{"exists": True}],
            "data": {
                "total": [{"numeric": [">=", 100, "<", 500.5]}],
                "customer": {"tier": ["gold", "platinum"]},
                "express": [True],
            },
        }
    )
    assert compile_pattern(pattern) == {
        "detail-type": ["order.created", "order.updated"],
        "source": [{"prefix": "shop/"}],
        "detail": {
            "subject": [{"exists": True}],
            "data": {
                "total": [{"numeric": [">=", 100, "<", 500.5]}],
                "customer": {"tier": ["gold", "platinum"]},
                "express": [True],
            },
        },
    }


def test_integral_numeric_bounds_are_written_as_integers() -> None:
    compiled = compile_pattern(parse_pattern({"data": {"n": [{"numeric": ["=", 3.0]}]}}))
    assert compiled == {"detail": {"data": {"n": [{"numeric": ["=", 3]}]}}}
    assert isinstance(compiled["detail"]["data"]["n"][0]["numeric"][1], int)


def test_no_pattern_compiles_to_an_empty_source_prefix_that_matches_every_event() -> None:
    assert compile_pattern(None) == MATCH_ALL
    assert EventPattern.load(compile_pattern_json(None)).matches_event(
        _eventbridge({"id": "1", "source": "x", "type": "y"})
    )


def test_the_json_form_is_compact_and_key_sorted_so_rules_do_not_diff_needlessly() -> None:
    pattern = parse_pattern({"type": ["a"], "source": ["b"]})
    assert compile_pattern_json(pattern) == '{"detail-type":["a"],"source":["b"]}'


def test_unsupported_reports_numeric_bounds_beyond_eventbridges_range() -> None:
    ok = parse_pattern({"data": {"n": [{"numeric": [">", -5e9, "<=", 5e9]}]}})
    too_big = parse_pattern({"data": {"n": [{"numeric": ["<", 5e9 + 1]}]}})
    assert unsupported(ok) == []
    assert [where for where, _ in unsupported(too_big)] == ["data.n"]


# -- the property: portable matcher == EventBridge (moto) on generated events ---------------------

WORDS = st.sampled_from(["a", "ab", "abc", "b", "shop/api", "shop/worker", "order.created", "order.paid", "x.y"])
TEXT = st.one_of(WORDS, st.text(alphabet="ab./", min_size=1, max_size=4))
NUMBERS = st.one_of(st.integers(-20, 20), st.sampled_from([0.5, 1.5, -2.25, 1e9, -1e9, 5e9]))
BOUNDS = st.one_of(st.integers(-20, 20), st.sampled_from([0.5, -2.25, 1e9]))


@st.composite
def numeric_matchers(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"numeric": [draw(st.sampled_from([">", ">=", "<", "<=", "="])), draw(BOUNDS)]}
    low, high = sorted([draw(BOUNDS), draw(BOUNDS)])
    return {"numeric": [draw(st.sampled_from([">", ">="])), low, draw(st.sampled_from(["<", "<="])), high]}


EXISTS = st.builds(lambda b: {"exists": b}, st.booleans())
PREFIX = st.builds(lambda s: {"prefix": s}, TEXT)
# Matchers per field type; numbers never meet booleans (see the module docstring).
STRING_MATCHERS = st.lists(st.one_of(WORDS, TEXT, PREFIX, EXISTS, NUMBERS, numeric_matchers()), min_size=1, max_size=3)
NUMBER_MATCHERS = st.lists(st.one_of(NUMBERS, numeric_matchers(), EXISTS, WORDS, PREFIX), min_size=1, max_size=3)
BOOL_MATCHERS = st.lists(st.one_of(st.booleans(), EXISTS, WORDS, PREFIX), min_size=1, max_size=3)


def _some(strategy: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return strategy.filter(bool)


DATA_PATTERNS = _some(
    st.fixed_dictionaries(
        {},
        optional={
            "s": STRING_MATCHERS,
            "n": NUMBER_MATCHERS,
            "b": BOOL_MATCHERS,
            "tags": STRING_MATCHERS,
            "nums": NUMBER_MATCHERS,
            "obj": _some(st.fixed_dictionaries({}, optional={"s": STRING_MATCHERS, "n": NUMBER_MATCHERS})),
        },
    )
)
PATTERNS = _some(
    st.fixed_dictionaries(
        {},
        optional={
            "source": STRING_MATCHERS,
            "type": STRING_MATCHERS,
            "subject": STRING_MATCHERS,
            "data": DATA_PATTERNS,
        },
    )
)
DATA = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "s": TEXT,
            "n": NUMBERS,
            "b": st.booleans(),
            "tags": st.lists(TEXT, min_size=1, max_size=3),
            "nums": st.lists(NUMBERS, min_size=1, max_size=3),
            "obj": st.fixed_dictionaries({}, optional={"s": TEXT, "n": NUMBERS}),
            "other": TEXT,
        },
    ),
    st.just("not an object"),
    st.just([1, 2]),
)
EVENTS = st.fixed_dictionaries(
    {"id": st.just("evt-1"), "source": TEXT, "type": TEXT, "data": DATA},
    optional={"subject": TEXT},
)


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    """What the AWS runtime puts in ``Detail`` (no ``subject`` key when there is none)."""
    detail = {
        "specversion": "1.0",
        "id": event["id"],
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": event.get("data"),
    }
    if event.get("subject") is not None:
        detail["subject"] = event["subject"]
    return detail


def _eventbridge(event: dict[str, Any]) -> Any:
    """The event EventBridge hands to rules for a PutEvents entry of the runtime."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": event["type"],
        "source": event["source"],
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": _detail(event),
    }


_FIELDS: dict[tuple[str, ...], str] = {
    ("source",): "string",
    ("type",): "string",
    ("subject",): "string",
    ("data", "s"): "string",
    ("data", "n"): "number",
    ("data", "b"): "bool",
    ("data", "tags"): "string",
    ("data", "nums"): "number",
    ("data", "obj", "s"): "string",
    ("data", "obj", "n"): "number",
}
_GENERIC = {"string": STRING_MATCHERS, "number": NUMBER_MATCHERS, "bool": BOOL_MATCHERS}


def _value_at(event: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = event
    for name in path:
        if not isinstance(value, dict) or name not in value:
            return None
        value = value[name]
    return value


@st.composite
def _near(draw: st.DrawFn, value: Any, kind: str) -> Any:
    """A matcher built from the event's own value, so edges (equal bounds, exact prefixes) occur."""
    if isinstance(value, list):
        value = draw(st.sampled_from(value))
    if value is None:
        return draw(EXISTS)
    if isinstance(value, bool):
        return draw(st.sampled_from([value, not value, {"exists": True}, {"exists": False}]))
    if isinstance(value, str):
        cut = draw(st.integers(1, len(value)))
        return draw(
            st.sampled_from([value, value + "x", {"prefix": value[:cut]}, {"prefix": value + "x"}, {"exists": True}])
        )
    op = draw(st.sampled_from([">", ">=", "<", "<=", "="]))
    if kind == "number" and draw(st.booleans()):
        return value
    if draw(st.booleans()):
        return {"numeric": [op, value]}
    other = draw(BOUNDS)
    low, high = sorted([value, other])
    return {"numeric": [draw(st.sampled_from([">", ">="])), low, draw(st.sampled_from(["<", "<="])), high]}


@st.composite
def patterns_near(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    """Patterns on one or two fields, mostly present ones, with matchers derived from their values."""
    present = [path for path in sorted(_FIELDS) if _value_at(event, path) is not None]
    pool = present if present and draw(st.integers(0, 4)) else sorted(_FIELDS)
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
    pattern: dict[str, Any] = {}
    for path in chosen:
        kind = _FIELDS[path]
        value = _value_at(event, path)
        if value is None or isinstance(value, dict) or draw(st.integers(0, 3)) == 0:
            matchers = draw(_GENERIC[kind])
        else:
            matchers = draw(st.lists(_near(value, kind), min_size=1, max_size=2))
        node = pattern
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = matchers
    return pattern


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=EVENTS, data=st.data())
def test_compiled_patterns_match_on_eventbridge_exactly_when_the_portable_matcher_matches(
    event: dict[str, Any], data: st.DataObject
) -> None:
    pattern = data.draw(st.one_of(PATTERNS, patterns_near(event), patterns_near(event)), label="pattern")
    parsed = parse_pattern(pattern)
    compiled = EventPattern.load(compile_pattern_json(parsed))
    assert compiled.matches_event(_eventbridge(event)) == matches(parsed, event), (
        f"pattern {compile_pattern(parsed)} vs event {_eventbridge(event)}"
    )


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"type": ["order.created"]}, {"type": "order.created"}, True),
        ({"type": ["order.created"]}, {"type": "order.paid"}, False),
        ({"source": [{"prefix": "shop/"}]}, {"source": "shop/api"}, True),
        ({"subject": [{"exists": False}]}, {}, True),
        ({"subject": [{"exists": True}]}, {"subject": "order/1"}, True),
        ({"data": {"total": [{"numeric": [">=", 100, "<", 500]}]}}, {"data": {"total": 100}}, True),
        ({"data": {"total": [{"numeric": [">=", 100, "<", 500]}]}}, {"data": {"total": 500}}, False),
        ({"data": {"total": [{"numeric": [">", 1]}]}}, {"data": {"total": "2"}}, False),
        ({"data": {"tags": ["vip"]}}, {"data": {"tags": ["new", "vip"]}}, True),
        ({"data": {"c": {"tier": ["gold"]}}}, {"data": {"c": {"tier": "gold"}}}, True),
        ({"data": {"c": {"tier": ["gold"]}}}, {"data": {"tier": "gold"}}, False),
        ({"data": {"express": [True]}}, {"data": {"express": True}}, True),
        ({"data": {"n": [2]}}, {"data": {"n": 2.0}}, True),
    ],
)
def test_known_cases_agree_on_both_sides(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    full = {"id": "1", "source": "shop/api", "type": "order.created", "data": None, **event}
    parsed = parse_pattern(pattern)
    assert matches(parsed, full) is expected
    assert EventPattern.load(compile_pattern_json(parsed)).matches_event(_eventbridge(full)) is expected


# -- end to end on moto's EventBridge: a rule from compile_pattern delivering to SQS ---------------


def _entry(bus: str, event: dict[str, Any]) -> dict[str, Any]:
    """A PutEvents entry exactly as the AWS runtime's publish() builds it."""
    return {
        "EventBusName": bus,
        "Source": event["source"],
        "DetailType": event["type"],
        "Detail": json.dumps(_detail(event)),
        "Time": datetime(2026, 1, 1, tzinfo=UTC),
    }


@mock_aws
def test_a_bus_rule_from_the_compiled_pattern_delivers_only_matching_events_to_sqs() -> None:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    bus = events.create_event_bus(Name="events-abc1234")["EventBusArn"].split("/")[-1]
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = parse_pattern(
        {"type": ["order.created"], "data": {"total": [{"numeric": [">=", 100]}], "region": [{"prefix": "eu-"}]}}
    )
    events.put_rule(Name="big-eu-orders", EventBusName=bus, EventPattern=compile_pattern_json(pattern), State="ENABLED")
    events.put_targets(Rule="big-eu-orders", EventBusName=bus, Targets=[{"Id": "jobs", "Arn": queue_arn}])

    published = [
        {"id": "match-1", "source": "shop/api", "type": "order.created", "data": {"total": 150, "region": "eu-west"}},
        {"id": "small", "source": "shop/api", "type": "order.created", "data": {"total": 50, "region": "eu-west"}},
        {"id": "us", "source": "shop/api", "type": "order.created", "data": {"total": 500, "region": "us-east"}},
        {"id": "paid", "source": "shop/api", "type": "order.paid", "data": {"total": 500, "region": "eu-north"}},
        {
            "id": "match-2",
            "source": "shop/worker",
            "type": "order.created",
            "subject": "order/7",
            "data": {"total": 100.0, "region": "eu-"},
        },
    ]
    result = events.put_events(Entries=[_entry(bus, e) for e in published])
    assert result["FailedEntryCount"] == 0

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in received]
    assert sorted(b["detail"]["id"] for b in bodies) == ["match-1", "match-2"]
    assert [e["id"] for e in published if matches(pattern, e)] == ["match-1", "match-2"]
    # The queue consumer sees EventBridge's envelope, from which the adapter rebuilds the Event.
    second = next(b for b in bodies if b["detail"]["id"] == "match-2")
    assert (second["source"], second["detail-type"], second["detail"]["subject"]) == (
        "shop/worker",
        "order.created",
        "order/7",
    )
