"""Paths and the Choice condition language, on plain JSON.

Paths are a dotted subset: ``$`` (the whole state), ``$.a``, ``$.a.b``. A path that does not
resolve yields :data:`MISSING`.

Conditions (JSON form): ``{"op": "eq"|"ne"|"lt"|"le"|"gt"|"ge", "path", "value"}``,
``{"op": "exists"|"is_null", "path"}``, ``{"op": "and"|"or", "conds": [...]}``,
``{"op": "not", "cond": {...}}``.

Portable rules: a comparison whose path is missing is False (every operator, ``ne`` included);
``lt/le/gt/ge`` compare numbers with numbers (bools are not numbers) or strings with strings,
any other pairing is False. ``exists`` is True for a present value, ``null`` included;
``is_null`` is True only for a present ``null``.
"""

from __future__ import annotations

import re
from typing import Any

PATH_RE = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_-]*)*$")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def is_path(value: object) -> bool:
    return isinstance(value, str) and value.startswith("$")


def resolve(state: Any, path: str) -> Any:
    """The value at ``path`` in ``state``, or :data:`MISSING`."""
    if not PATH_RE.match(path):
        raise ValueError(f"malformed path {path!r}")
    current = state
    for part in path.split(".")[1:]:
        if not isinstance(current, dict) or part not in current:
            return MISSING
        current = current[part]
    return current


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _ordered(a: Any, b: Any) -> bool:
    return (_num(a) and _num(b)) or (isinstance(a, str) and isinstance(b, str))


def evaluate(cond: dict[str, Any], state: Any) -> bool:
    """Evaluate a JSON condition against ``state``."""
    op = cond["op"]
    if op == "and":
        return all(evaluate(c, state) for c in cond["conds"])
    if op == "or":
        return any(evaluate(c, state) for c in cond["conds"])
    if op == "not":
        return not evaluate(cond["cond"], state)
    value = resolve(state, cond["path"])
    if op == "exists":
        return value is not MISSING
    if op == "is_null":
        return value is None
    if value is MISSING:
        return False
    other = cond["value"]
    if op == "eq":
        return (value == other and type(value) is type(other)) or (_num(value) and _num(other) and value == other)
    if op == "ne":
        return not evaluate({"op": "eq", "path": cond["path"], "value": other}, state)
    if not _ordered(value, other):
        return False
    if op == "lt":
        return value < other
    if op == "le":
        return value <= other
    if op == "gt":
        return value > other
    if op == "ge":
        return value >= other
    raise ValueError(f"unknown condition op {op!r}")
