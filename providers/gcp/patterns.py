"""Portable event patterns -> CEL for Eventarc Advanced enrollments, and what publishers add.

Pure functions (no Pulumi): the property test checks the compiled CEL, run by a real CEL
implementation, against :func:`components.patterns.matches` on generated events.

**Why publishers project data fields.** An enrollment's CEL cannot read ``message.data``,
so publishers copy the matched data fields into extension attributes, as
:mod:`components.runtime.event_projection` defines (one implementation for the compiler here
and for the runtime publisher); the CEL compiled here tests those attributes. Which fields are
projected is known once every ``bus.subscribe(...)`` has run; the bus locator carries them
(``filter_fields``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from components.patterns import ENVELOPE_FIELDS, Exact, Exists, FieldRule, Matcher, Numeric, Pattern, Prefix
from components.runtime.event_projection import (
    BUS_ATTRIBUTE,
    MAX_LIST_ITEMS,
    field_attribute,
)
from components.runtime.event_projection import project as _project_pairs

_CEL_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "=="}


class UnsupportedPattern(ValueError):
    """The pattern cannot be compiled to CEL faithfully (the message says why)."""


@dataclass(frozen=True)
class FilterField:
    """A data field some pattern matches on, and the attribute base name it is projected to."""

    path: tuple[str, ...]
    """Field names inside ``data`` (``("customer", "tier")`` for ``data.customer.tier``)."""
    attribute: str

    def as_json(self) -> dict[str, Any]:
        """The locator's form: ``{"path": [...], "attribute": "od..."}``."""
        return {"path": list(self.path), "attribute": self.attribute}


def filter_fields(pattern: Pattern | None) -> tuple[FilterField, ...]:
    """The data fields ``pattern`` matches on, in pattern order."""
    if pattern is None:
        return ()
    seen: dict[tuple[str, ...], FilterField] = {}
    for rule in pattern.rules:
        if rule.path[0] == "data":
            inner = rule.path[1:]
            seen.setdefault(inner, FilterField(inner, field_attribute(inner)))
    return tuple(seen.values())


def compile_cel(bus: str, pattern: Pattern | None) -> str:
    """The enrollment's CEL: events published to EventBus ``bus`` that match ``pattern``."""
    parts = [f"has(message.{BUS_ATTRIBUTE})", f"message.{BUS_ATTRIBUTE} == {cel_string(bus)}"]
    if pattern is not None:
        parts += [f"({_rule(rule)})" for rule in pattern.rules]
    return " && ".join(parts)


def project(data: Any, fields: Iterable[FilterField], max_items: int = MAX_LIST_ITEMS) -> dict[str, str]:
    """The extension attributes a publisher adds for ``data`` (see the runtime module)."""
    return _project_pairs(data, ((item.path, item.attribute) for item in fields), max_items)


def cel_string(text: str) -> str:
    """A CEL string literal of ``text``: ASCII only, so the expression survives any transport."""
    out = ['"']
    for char in text:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise UnsupportedPattern(f"{text!r} holds a lone surrogate, which no event can carry")
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def cel_double(value: float) -> str:
    """A CEL double literal (``repr`` of a finite float is valid CEL: ``1.5``, ``1e+20``)."""
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


# -- compiling -----------------------------------------------------------------------------


def _rule(rule: FieldRule) -> str:
    if rule.path[0] in ENVELOPE_FIELDS:
        return " || ".join(_envelope(rule.path[0], matcher) for matcher in rule.matchers)
    return _data_rule(field_attribute(rule.path[1:]), rule.matchers)


def _envelope(name: str, matcher: Matcher) -> str:
    """Context attributes are strings (``subject`` may be absent)."""
    attribute = f"message.{name}"
    present = f"has({attribute})"
    if isinstance(matcher, Exists):
        return present if matcher.present else f"!{present}"
    if isinstance(matcher, Exact):
        if isinstance(matcher.value, str):
            return f"{present} && {attribute} == {cel_string(matcher.value)}"
        return "false"  # a number or boolean never equals a string attribute
    if isinstance(matcher, Prefix):
        return f"{present} && {attribute}.startsWith({cel_string(matcher.value)})"
    return "false"  # numeric ranges only match numbers


def _data_rule(base: str, matchers: tuple[Matcher, ...]) -> str:
    terms: list[str] = []
    per_candidate = [m for m in matchers if not (isinstance(m, Exists) and not m.present)]
    if len(per_candidate) != len(matchers):
        # Absent, null, or a list holding a null (the portable matcher's "not exists").
        nulls = [f'(has(message.{base}t{i}) && message.{base}t{i} == "z")' for i in range(MAX_LIST_ITEMS)]
        terms.append(f"!has(message.{base}n) || " + " || ".join(nulls))
    if per_candidate:
        for index in range(MAX_LIST_ITEMS):
            kind, value = f"message.{base}t{index}", f"message.{base}v{index}"
            tests = " || ".join(f"({_candidate(m, kind, value)})" for m in per_candidate)
            terms.append(f"(has({kind}) && ({tests}))")
    return " || ".join(terms)


def _candidate(matcher: Matcher, kind: str, value: str) -> str:
    if isinstance(matcher, Exists):
        return f'{kind} != "z"'
    if isinstance(matcher, Exact):
        if isinstance(matcher.value, bool):
            return f'{kind} == "b" && {value} == "{"true" if matcher.value else "false"}"'
        if isinstance(matcher.value, int | float):
            return f'{kind} == "n" && double({value}) == {cel_double(matcher.value)}'
        return f'{kind} == "s" && {value} == {cel_string(matcher.value)}'
    if isinstance(matcher, Prefix):
        return f'{kind} == "s" && {value}.startsWith({cel_string(matcher.value)})'
    assert isinstance(matcher, Numeric)
    bounds = " && ".join(f"double({value}) {_CEL_OPS[op]} {cel_double(bound)}" for op, bound in matcher.conditions)
    return f'{kind} == "n" && {bounds}'
