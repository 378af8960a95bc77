"""The portable event pattern compiled to an EventBridge event pattern.

The AWS runtime publishes a CloudEvent as one EventBridge entry::

    Source=<event.source>, DetailType=<event.type>,
    Detail={"specversion", "id", "subject", "time", "datacontenttype", "data"}

(``subject`` left out when the event has none), so EventBridge sees::

    {"source": ..., "detail-type": ..., "detail": {"subject": ..., "data": {...}, ...}, ...}

and a portable path maps to an EventBridge path: ``source`` → ``source``, ``type`` →
``detail-type``, ``subject`` → ``detail.subject``, ``data.a.b`` → ``detail.data.a.b``.
Matchers map one to one: a value → the value, ``{"prefix": s}`` → the same,
``{"numeric": [...]}`` → the same, ``{"exists": b}`` → the same. A list in the event matches
when any element does, on both sides.

Where EventBridge and :func:`components.patterns.matches` still differ (documented, and
kept out of the property test): EventBridge's ``exists`` only looks at leaves, so
``{"exists": true}`` on a field holding an object or an empty list does not match there,
and a field holding JSON ``null`` counts as present on EventBridge but absent in the
portable matcher. Publish ``None`` by leaving the field out.

Pure functions, no Pulumi: the same code runs in tests against moto's EventBridge matcher.
"""

from __future__ import annotations

import json
from typing import Any

from components.patterns import Exact, Exists, FieldRule, Matcher, Numeric, Pattern, Prefix

# EventBridge's limits (PutRule API reference and "Event patterns" in the EventBridge guide).
PATTERN_MAX_CHARS = 4096
"""``PutRule.EventPattern`` is at most 4096 characters."""
NUMERIC_BOUND = 5.0e9
"""Numeric matching accepts bounds between -5.0e9 and +5.0e9 inclusive."""
MATCH_ALL: dict[str, Any] = {"source": [{"prefix": ""}]}
"""A rule needs a pattern; every event has a string ``source``, so an empty prefix matches all."""

_ENVELOPE = {"source": ("source",), "type": ("detail-type",), "subject": ("detail", "subject")}


def compile_pattern(pattern: Pattern | None) -> dict[str, Any]:
    """The EventBridge event pattern equivalent to ``pattern`` (None: every event)."""
    if pattern is None:
        return json.loads(json.dumps(MATCH_ALL))
    compiled: dict[str, Any] = {}
    for rule in pattern.rules:
        node = compiled
        path = eventbridge_path(rule)
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = [compile_matcher(matcher) for matcher in rule.matchers]
    return compiled


def compile_pattern_json(pattern: Pattern | None) -> str:
    """:func:`compile_pattern` as the JSON text a rule takes (sorted keys: stable diffs)."""
    return json.dumps(compile_pattern(pattern), sort_keys=True, separators=(",", ":"))


def eventbridge_path(rule: FieldRule) -> tuple[str, ...]:
    """Where the rule's field sits in the EventBridge event."""
    head, *rest = rule.path
    if head == "data":
        return ("detail", "data", *rest)
    return _ENVELOPE[head]


def compile_matcher(matcher: Matcher) -> Any:
    """One portable matcher as an EventBridge matcher."""
    if isinstance(matcher, Exact):
        return matcher.value
    if isinstance(matcher, Prefix):
        return {"prefix": matcher.value}
    if isinstance(matcher, Exists):
        return {"exists": matcher.present}
    assert isinstance(matcher, Numeric)
    flat: list[Any] = []
    for op, bound in matcher.conditions:
        flat += [op, _number(bound)]
    return {"numeric": flat}


def unsupported(pattern: Pattern | None) -> list[tuple[str, str]]:
    """``(field path, why)`` for everything in ``pattern`` EventBridge would reject."""
    problems: list[tuple[str, str]] = []
    if pattern is None:
        return problems
    for rule in pattern.rules:
        for matcher in rule.matchers:
            if isinstance(matcher, Numeric):
                for _, bound in matcher.conditions:
                    if abs(bound) > NUMERIC_BOUND:
                        problems.append(
                            (
                                ".".join(rule.path),
                                f"EventBridge numeric bounds are between -{NUMERIC_BOUND:.1e} and "
                                f"+{NUMERIC_BOUND:.1e}; {bound!r} is outside",
                            )
                        )
    size = len(compile_pattern_json(pattern))
    if size > PATTERN_MAX_CHARS:
        problems.append(("pattern", f"compiles to {size} characters; EventBridge allows {PATTERN_MAX_CHARS}"))
    return problems


def _number(value: float) -> int | float:
    # The parser stores bounds as floats; write integral ones as integers so the rule reads
    # like what the user wrote (EventBridge compares numerically either way).
    return int(value) if float(value).is_integer() else value
