"""The one portable event-pattern syntax, and the reference matcher.

Events are CloudEvents 1.0 (``id``, ``source``, ``type``, ``subject``, ``time``, ``data``).
A pattern is a dict whose keys are ``source``, ``type``, ``subject`` and ``data``; every key
must match (AND). ``source``/``type``/``subject`` map to a list of matchers, any of which may
match (OR). ``data`` maps field names to such lists, or to nested dicts for nested fields::

    {
        "type": ["order.created", "order.updated"],        # exact values
        "source": [{"prefix": "shop/"}],                   # prefix
        "subject": [{"exists": True}],                     # present (and not null)
        "data": {
            "total": [{"numeric": [">=", 100, "<", 500]}], # numeric range
            "customer": {"tier": ["gold", "platinum"]},    # nested field
        },
    }

Matchers: a string, number or boolean (equality, numbers compared numerically);
``{"prefix": str}``; ``{"numeric": [op, n]}`` or ``{"numeric": [op, n, op, n]}`` with ``op``
in ``> >= < <= =``; ``{"exists": bool}``. A field whose event value is a list matches when any
element matches (as on EventBridge). Pure standard library: the local runtime uses it too, and
each cloud's compiler is tested against :func:`matches` on generated events.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENVELOPE_FIELDS = ("source", "type", "subject")
TOP_LEVEL = (*ENVELOPE_FIELDS, "data")
NUMERIC_OPS = (">", ">=", "<", "<=", "=")


class PatternError(ValueError):
    """The pattern is not in the portable syntax; the message says where and why."""


@dataclass(frozen=True)
class Exact:
    value: str | int | float | bool


@dataclass(frozen=True)
class Prefix:
    value: str


@dataclass(frozen=True)
class Numeric:
    conditions: tuple[tuple[str, float], ...]
    """One or two ``(op, bound)`` pairs, all of which must hold."""


@dataclass(frozen=True)
class Exists:
    present: bool


Matcher = Exact | Prefix | Numeric | Exists


@dataclass(frozen=True)
class FieldRule:
    """Matchers (ORed) for one field; ``path`` is ``("type",)`` or ``("data", "a", "b")``."""

    path: tuple[str, ...]
    matchers: tuple[Matcher, ...]


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern: every rule must match."""

    rules: tuple[FieldRule, ...]
    source: Mapping[str, Any]
    """The pattern as the user wrote it."""


def parse_pattern(pattern: Mapping[str, Any]) -> Pattern:
    """Validate and parse; raise :class:`PatternError` naming the offending path."""
    if not isinstance(pattern, Mapping):
        raise PatternError("a pattern is a dict keyed by source, type, subject or data")
    rules: list[FieldRule] = []
    for key, value in pattern.items():
        if key not in TOP_LEVEL:
            raise PatternError(f"'{key}': only {', '.join(TOP_LEVEL)} can be matched")
        if key == "data":
            if not isinstance(value, Mapping) or not value:
                raise PatternError("'data' must map field names to matchers")
            rules.extend(_data_rules(("data",), value))
        else:
            rules.append(FieldRule((key,), _matchers((key,), value)))
    if not rules:
        raise PatternError("an empty pattern would match everything; omit pattern= for that")
    return Pattern(tuple(rules), dict(pattern))


def matches(pattern: Pattern, event: Mapping[str, Any]) -> bool:
    """Whether a CloudEvent (as a dict) matches: the reference semantics for every cloud."""
    return all(_rule_matches(rule, event) for rule in pattern.rules)


def _data_rules(path: tuple[str, ...], value: Mapping[str, Any]) -> list[FieldRule]:
    rules: list[FieldRule] = []
    for name, item in value.items():
        if not isinstance(name, str) or not name or "." in name:
            raise PatternError(f"{'.'.join(path)}: field names are non-empty and contain no '.'")
        child = (*path, name)
        if isinstance(item, Mapping):
            if not item:
                raise PatternError(f"{'.'.join(child)}: empty nested pattern")
            rules.extend(_data_rules(child, item))
        else:
            rules.append(FieldRule(child, _matchers(child, item)))
    return rules


def _matchers(path: tuple[str, ...], value: Any) -> tuple[Matcher, ...]:
    where = ".".join(path)
    if not isinstance(value, list) or not value:
        raise PatternError(f"{where}: expected a non-empty list of matchers")
    return tuple(_matcher(where, item) for item in value)


def _matcher(where: str, item: Any) -> Matcher:
    if isinstance(item, bool | str):
        return Exact(item)
    if isinstance(item, int | float):
        if not math.isfinite(item):
            raise PatternError(f"{where}: {item!r} is not a finite number")
        return Exact(item)
    if isinstance(item, Mapping) and len(item) == 1:
        ((kind, arg),) = item.items()
        if kind == "prefix":
            if not isinstance(arg, str) or not arg:
                raise PatternError(f"{where}: prefix takes a non-empty string")
            return Prefix(arg)
        if kind == "exists":
            if not isinstance(arg, bool):
                raise PatternError(f"{where}: exists takes true or false")
            return Exists(arg)
        if kind == "numeric":
            return Numeric(_numeric(where, arg))
    raise PatternError(
        f"{where}: {item!r} is not a matcher (a value, {{'prefix': s}}, {{'numeric': [...]}}, {{'exists': bool}})"
    )


def _numeric(where: str, arg: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise PatternError(f"{where}: numeric takes [op, n] or [op, n, op, n]")
    conditions = []
    for op, bound in zip(arg[::2], arg[1::2], strict=True):
        if op not in NUMERIC_OPS:
            raise PatternError(f"{where}: numeric operator {op!r} is not one of {NUMERIC_OPS}")
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
            raise PatternError(f"{where}: numeric bound {bound!r} is not a finite number")
        conditions.append((op, float(bound)))
    if len(conditions) == 2:
        lower = [c for c in conditions if c[0] in (">", ">=")]
        upper = [c for c in conditions if c[0] in ("<", "<=")]
        if len(lower) != 1 or len(upper) != 1:
            raise PatternError(f"{where}: a two-sided range needs one lower (> >=) and one upper (< <=) bound")
    return tuple(conditions)


_MISSING = object()


def _lookup(event: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = event
    for name in path:
        if not isinstance(value, Mapping) or name not in value:
            return _MISSING
        value = value[name]
    return value


def _rule_matches(rule: FieldRule, event: Mapping[str, Any]) -> bool:
    value = _lookup(event, rule.path)
    candidates = value if isinstance(value, list) else [value]
    return any(_one(m, v) for m in rule.matchers for v in candidates)


def _one(matcher: Matcher, value: Any) -> bool:
    if isinstance(matcher, Exists):
        present = value is not _MISSING and value is not None
        return present if matcher.present else not present
    if value is _MISSING or value is None:
        return False
    if isinstance(matcher, Exact):
        if isinstance(matcher.value, bool) or isinstance(value, bool):
            return type(value) is type(matcher.value) and value == matcher.value
        if isinstance(matcher.value, int | float):
            return isinstance(value, int | float) and float(value) == float(matcher.value)
        return value == matcher.value
    if isinstance(matcher, Prefix):
        return isinstance(value, str) and value.startswith(matcher.value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return all(_compare(float(value), op, bound) for op, bound in matcher.conditions)


def _compare(value: float, op: str, bound: float) -> bool:
    return {
        ">": value > bound,
        ">=": value >= bound,
        "<": value < bound,
        "<=": value <= bound,
        "=": value == bound,
    }[op]
