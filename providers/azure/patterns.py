"""Portable event pattern -> Event Grid event-subscription filter, and Event Grid's matcher.

Pure functions (no resources). :func:`compile_filter` turns a parsed
:class:`components.patterns.Pattern` into ``eventgrid.EventSubscriptionFilterArgs``;
:func:`event_grid_matches` evaluates such a filter on a CloudEvent the way Event Grid
documents it (learn.microsoft.com/azure/event-grid/event-filtering), so a property test can
check that the two agree with :func:`components.patterns.matches`.

Mapping, one field rule at a time (fields are ANDed on both sides):

========================================  =================================================
portable                                   Event Grid
========================================  =================================================
``type``: exact strings                    ``includedEventTypes``
``subject``: one prefix                    ``subjectBeginsWith``, case-sensitive
exact strings                              ``StringIn``
prefixes                                   ``StringBeginsWith``
exact numbers                              ``NumberIn``
one one-sided numeric condition            ``NumberGreaterThan[OrEquals]`` / ``NumberLessThan[OrEquals]``
any other numbers (ranges, several)        ``NumberInRange``, one ``[low, high]`` per matcher
one boolean                                ``BoolEquals``
``{"exists": true}`` / ``false``            ``IsNotNull`` / ``IsNullOrUndefined``
========================================  =================================================

Keys are ``source``, ``type``, ``subject`` and ``data.<field>.<field>``; array-valued fields
match when any element does (``enableAdvancedFilteringOnArrays``). ``NumberInRange`` bounds
are inclusive, so a strict bound becomes the next representable double
(``math.nextafter``) and a missing one the largest finite double: exact for every JSON
number, and a two-sided range stays one filter, so one array element must satisfy both
bounds, as in the portable matcher.

Rejected (:class:`UnsupportedPattern`, with the reason), because Event Grid cannot say it:

* one field mixing kinds of matchers (strings and prefixes, numbers and strings, ...):
  Event Grid ANDs separate filters, and one filter has one operator;
* two different booleans, or ``exists`` true and false, on one field;
* an empty numeric range;
* more than 25 advanced filters or 25 filter values per subscription, or a string longer
  than 512 characters (Event Grid's limits).

Semantic differences that remain (documented, not rejected):

* Event Grid compares strings case-insensitively (``StringIn``, ``StringBeginsWith``,
  ``includedEventTypes``); the portable matcher is case-sensitive. Only a single ``subject``
  prefix is matched case-sensitively.
* ``exists`` on an array: Event Grid looks at the array (an empty array, or one holding only
  nulls, "exists"), the portable matcher at its elements.
* A value of another JSON type than the filter's is ignored (not matched) on both sides.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Union

from pulumi_azure_native import eventgrid

from components.patterns import Exact, Exists, FieldRule, Matcher, Numeric, Pattern, Prefix

MAX_ADVANCED_FILTERS = 25
MAX_FILTER_VALUES = 25
MAX_STRING_LENGTH = 512
NUMBER_MAX = sys.float_info.max
"""The largest finite double: the open end of a one-sided ``NumberInRange``."""

Op = eventgrid.AdvancedFilterOperatorType

AdvancedFilter = Union[  # noqa: UP007 - the SDK's own spelling, for pyright's benefit
    eventgrid.StringInAdvancedFilterArgs,
    eventgrid.StringBeginsWithAdvancedFilterArgs,
    eventgrid.NumberInAdvancedFilterArgs,
    eventgrid.NumberGreaterThanAdvancedFilterArgs,
    eventgrid.NumberGreaterThanOrEqualsAdvancedFilterArgs,
    eventgrid.NumberLessThanAdvancedFilterArgs,
    eventgrid.NumberLessThanOrEqualsAdvancedFilterArgs,
    eventgrid.NumberInRangeAdvancedFilterArgs,
    eventgrid.BoolEqualsAdvancedFilterArgs,
    eventgrid.IsNotNullAdvancedFilterArgs,
    eventgrid.IsNullOrUndefinedAdvancedFilterArgs,
]

_SINGLE_BOUND = {
    ">": (eventgrid.NumberGreaterThanAdvancedFilterArgs, Op.NUMBER_GREATER_THAN),
    ">=": (eventgrid.NumberGreaterThanOrEqualsAdvancedFilterArgs, Op.NUMBER_GREATER_THAN_OR_EQUALS),
    "<": (eventgrid.NumberLessThanAdvancedFilterArgs, Op.NUMBER_LESS_THAN),
    "<=": (eventgrid.NumberLessThanOrEqualsAdvancedFilterArgs, Op.NUMBER_LESS_THAN_OR_EQUALS),
}


class UnsupportedPattern(ValueError):
    """The pattern has no faithful Event Grid filter; the message says which field and why."""


def compile_filter(pattern: Pattern) -> eventgrid.EventSubscriptionFilterArgs:
    """The Event Grid filter that selects exactly the events ``pattern`` matches (see above)."""
    included_types: list[str] | None = None
    subject_prefix: str | None = None
    advanced: list[AdvancedFilter] = []
    for rule in pattern.rules:
        key = ".".join(rule.path)
        kind = _kind_of(rule)
        if rule.path == ("type",) and kind == "string":
            included_types = _strings(key, rule.matchers)
        elif rule.path == ("subject",) and kind == "prefix" and len(rule.matchers) == 1:
            (subject_prefix,) = _strings(key, rule.matchers)
        else:
            advanced.append(_advanced_filter(key, kind, rule.matchers))
    _check_limits(advanced)
    return eventgrid.EventSubscriptionFilterArgs(
        included_event_types=included_types,
        subject_begins_with=subject_prefix,
        is_subject_case_sensitive=True if subject_prefix is not None else None,
        advanced_filters=advanced or None,
        enable_advanced_filtering_on_arrays=True if advanced else None,
    )


def _kind_of(rule: FieldRule) -> str:
    kinds = {_matcher_kind(m) for m in rule.matchers}
    if len(kinds) > 1:
        raise UnsupportedPattern(
            f"{'.'.join(rule.path)}: mixes {' and '.join(sorted(kinds))} matchers; Event Grid ANDs "
            "separate filters and each filter has one operator, so one field can only OR matchers "
            "of one kind (split the pattern into several subscriptions)"
        )
    return kinds.pop()


def _matcher_kind(matcher: Matcher) -> str:
    if isinstance(matcher, Exact):
        if isinstance(matcher.value, bool):
            return "boolean"
        return "string" if isinstance(matcher.value, str) else "number"
    if isinstance(matcher, Prefix):
        return "prefix"
    if isinstance(matcher, Numeric):
        return "number"
    return "exists"


def _strings(key: str, matchers: Sequence[Matcher]) -> list[str]:
    values: list[str] = []
    for matcher in matchers:
        if not isinstance(matcher, Exact | Prefix):
            raise TypeError(f"{key}: {matcher!r} is not a string matcher")
        value = str(matcher.value)
        if len(value) > MAX_STRING_LENGTH:
            raise UnsupportedPattern(
                f"{key}: {value[:40]!r}... is {len(value)} characters; Event Grid filter values "
                f"are at most {MAX_STRING_LENGTH}"
            )
        if value not in values:
            values.append(value)
    return values


def _advanced_filter(key: str, kind: str, matchers: Sequence[Matcher]) -> AdvancedFilter:
    if kind == "string":
        return eventgrid.StringInAdvancedFilterArgs(operator_type=Op.STRING_IN, key=key, values=_strings(key, matchers))
    if kind == "prefix":
        return eventgrid.StringBeginsWithAdvancedFilterArgs(
            operator_type=Op.STRING_BEGINS_WITH, key=key, values=_strings(key, matchers)
        )
    if kind == "boolean":
        values = {m.value for m in matchers if isinstance(m, Exact) and isinstance(m.value, bool)}
        if len(values) != 1:
            raise UnsupportedPattern(
                f"{key}: true or false matches any boolean, and Event Grid has no 'is a boolean' "
                "filter; match one value, or use {'exists': true}"
            )
        return eventgrid.BoolEqualsAdvancedFilterArgs(operator_type=Op.BOOL_EQUALS, key=key, value=values.pop())
    if kind == "exists":
        present = {m.present for m in matchers if isinstance(m, Exists)}
        if len(present) != 1:
            raise UnsupportedPattern(
                f"{key}: exists true or false matches every event; leave the field out of the pattern"
            )
        if present.pop():
            return eventgrid.IsNotNullAdvancedFilterArgs(operator_type=Op.IS_NOT_NULL, key=key)
        return eventgrid.IsNullOrUndefinedAdvancedFilterArgs(operator_type=Op.IS_NULL_OR_UNDEFINED, key=key)
    return _number_filter(key, matchers)


def _number_filter(key: str, matchers: Sequence[Matcher]) -> AdvancedFilter:
    exact = [float(m.value) for m in matchers if isinstance(m, Exact)]
    ranges = [m for m in matchers if isinstance(m, Numeric)]
    if not ranges:
        return eventgrid.NumberInAdvancedFilterArgs(operator_type=Op.NUMBER_IN, key=key, values=_unique(exact))
    if not exact and len(ranges) == 1 and len(ranges[0].conditions) == 1:
        ((op, bound),) = ranges[0].conditions
        if op == "=":
            return eventgrid.NumberInAdvancedFilterArgs(operator_type=Op.NUMBER_IN, key=key, values=[bound])
        args_type, operator = _SINGLE_BOUND[op]
        return args_type(operator_type=operator, key=key, value=bound)
    intervals = [[value, value] for value in _unique(exact)]
    for numeric in ranges:
        interval = _interval(numeric)
        if interval[0] > interval[1]:
            raise UnsupportedPattern(f"{key}: the numeric range {list(numeric.conditions)} is empty")
        if interval not in intervals:
            intervals.append(interval)
    return eventgrid.NumberInRangeAdvancedFilterArgs(operator_type=Op.NUMBER_IN_RANGE, key=key, values=intervals)


def _interval(numeric: Numeric) -> list[float]:
    """Inclusive ``[low, high]`` doubles holding exactly the numbers the conditions accept."""
    low, high = -NUMBER_MAX, NUMBER_MAX
    for op, bound in numeric.conditions:
        if op == ">":
            low = math.nextafter(bound, math.inf)
        elif op == ">=":
            low = bound
        elif op == "<":
            high = math.nextafter(bound, -math.inf)
        elif op == "<=":
            high = bound
        else:  # "="
            low = high = bound
    return [low, high]


def _unique(values: list[float]) -> list[float]:
    return list(dict.fromkeys(values))


def _check_limits(filters: list[AdvancedFilter]) -> None:
    if len(filters) > MAX_ADVANCED_FILTERS:
        raise UnsupportedPattern(
            f"{len(filters)} advanced filters; an Event Grid subscription has at most {MAX_ADVANCED_FILTERS}"
        )
    count = sum(filter_value_count(f) for f in filters)
    if count > MAX_FILTER_VALUES:
        raise UnsupportedPattern(
            f"{count} filter values; an Event Grid subscription has at most {MAX_FILTER_VALUES} across "
            "all its advanced filters"
        )


def filter_value_count(advanced: AdvancedFilter) -> int:
    """Values of one filter as Event Grid counts them: each list entry (a range is one), else 1."""
    values = getattr(advanced, "values", None)
    if values is not None:
        return len(values)
    null_checks = eventgrid.IsNotNullAdvancedFilterArgs | eventgrid.IsNullOrUndefinedAdvancedFilterArgs
    return 0 if isinstance(advanced, null_checks) else 1


# -- Event Grid's documented matching ---------------------------------------------------------

_MISSING = object()


def event_grid_matches(event_filter: eventgrid.EventSubscriptionFilterArgs, event: Mapping[str, Any]) -> bool:
    """Whether Event Grid delivers the CloudEvent ``event`` (a dict) through ``event_filter``.

    Event types, subject prefix/suffix and every advanced filter must all hold; values within
    one filter are ORed; strings compare case-insensitively (except subject filters marked
    case-sensitive); with array filtering on, an array matches when any element does; an
    event value of another type than the filter's is ignored; a missing or null key matches
    only ``IsNullOrUndefined``.
    """
    # The compiler fills these Args with plain values, never Outputs.
    plain: Any = event_filter
    types = plain.included_event_types
    if types is not None:
        event_type = event.get("type")
        if not isinstance(event_type, str) or event_type.lower() not in {str(t).lower() for t in types}:
            return False
    case_sensitive = bool(plain.is_subject_case_sensitive)
    for expected, test in (
        (plain.subject_begins_with, str.startswith),
        (plain.subject_ends_with, str.endswith),
    ):
        if expected is None:
            continue
        subject = event.get("subject")
        if not isinstance(subject, str):
            return False
        if case_sensitive and not test(subject, str(expected)):
            return False
        if not case_sensitive and not test(subject.lower(), str(expected).lower()):
            return False
    arrays = bool(plain.enable_advanced_filtering_on_arrays)
    return all(_advanced_matches(f, event, arrays) for f in plain.advanced_filters or ())


def _advanced_matches(advanced: Any, event: Mapping[str, Any], arrays: bool) -> bool:
    op = advanced.operator_type
    value = _lookup(event, str(advanced.key))
    if op == Op.IS_NOT_NULL:
        return value is not _MISSING and value is not None
    if op == Op.IS_NULL_OR_UNDEFINED:
        return value is _MISSING or value is None
    if value is _MISSING or value is None:
        return False
    candidates = value if arrays and isinstance(value, list) else [value]
    if op in (Op.STRING_IN, Op.STRING_BEGINS_WITH):
        strings = [c.lower() for c in candidates if isinstance(c, str)]
        wanted = [str(v).lower() for v in advanced.values]
        if op == Op.STRING_IN:
            return any(c == w for c in strings for w in wanted)
        return any(c.startswith(w) for c in strings for w in wanted)
    if op == Op.BOOL_EQUALS:
        return any(isinstance(c, bool) and c == advanced.value for c in candidates)
    numbers = [float(c) for c in candidates if isinstance(c, int | float) and not isinstance(c, bool)]
    if op == Op.NUMBER_IN:
        return any(n == float(v) for n in numbers for v in advanced.values)
    if op == Op.NUMBER_IN_RANGE:
        return any(float(low) <= n <= float(high) for n in numbers for low, high in advanced.values)
    compare = {
        Op.NUMBER_GREATER_THAN: lambda n, v: n > v,
        Op.NUMBER_GREATER_THAN_OR_EQUALS: lambda n, v: n >= v,
        Op.NUMBER_LESS_THAN: lambda n, v: n < v,
        Op.NUMBER_LESS_THAN_OR_EQUALS: lambda n, v: n <= v,
    }.get(op)
    if compare is None:
        raise ValueError(f"operator {op!r} is not one omnicloud compiles to")
    return any(compare(n, float(advanced.value)) for n in numbers)


def _lookup(event: Mapping[str, Any], key: str) -> Any:
    value: Any = event
    for name in key.split("."):
        if not isinstance(value, Mapping) or name not in value:
            return _MISSING
        value = value[name]
    return value
