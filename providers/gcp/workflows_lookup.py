"""The one fixed subworkflow compiled workflows share: ``omnicloud_lookup(node, path)``.

It resolves a portable path (``$.a.b`` → ``path: [a, b]``) against ``node`` and returns
``{"found": bool, "kind": str, "value": any}`` — never raises — where ``kind`` is ``missing``
(``found`` false), ``number``, ``string``, ``boolean``, ``null``, ``list`` or ``other`` (a map,
bytes). Tasks use ``found`` for ``PathNotFound``, Map uses ``kind == "list"`` for
``InvalidItems``, and Choice compares values only after checking ``kind``, so no expression ever
compares values of different types (Cloud Workflows raises ``TypeError`` for ``1 < "a"``).

Why it is written the way it is:

* Every expression that can fail (a key in a non-map, ``get_type``) sits in a ``switch``
  condition inside ``try``: failing there means "absent" / "other". Assignments only run once
  their expression is known to succeed.
* Types are compared with the type of a literal (``get_type(node) == get_type(0.5)``) rather
  than a spelled name, so nothing depends on how the platform spells its type names.
* Every ``switch`` has either a single condition or conditions that all ``return``, so it reads
  the same under first-match and under evaluate-every-true-condition semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NAME = "omnicloud_lookup"

_ABSENT = {"found": False, "kind": "missing", "value": None}


def _found(kind: str) -> dict[str, Any]:
    return {"found": True, "kind": kind, "value": "${node}"}


def lookup_subworkflow(step: Callable[[str], str]) -> dict[str, Any]:
    """The subworkflow definition; ``step`` allocates each step name (they must not collide
    with the user's step names)."""
    descend = {
        "try": {
            "steps": [
                # The access is tried in the condition, so a failing one means "absent".
                {
                    step("lookup.check"): {
                        "switch": [{"condition": "${not (key in node and node[key] == node[key])}", "return": _ABSENT}]
                    }
                },
                {step("lookup.down"): {"assign": [{"node": "${node[key]}"}]}},
            ]
        },
        "except": {"as": "e", "steps": [{step("lookup.inaccessible"): {"return": _ABSENT}}]},
    }
    probes: list[tuple[str, str]] = [
        ("${get_type(node) == get_type(0) or get_type(node) == get_type(0.5)}", "number"),
        ('${get_type(node) == get_type("")}', "string"),
        ("${get_type(node) == get_type(True)}", "boolean"),
        ("${get_type(node) == get_type(nothing)}", "null"),
        ("${get_type(node) == get_type(empty)}", "list"),
    ]
    return {
        "params": ["node", "path"],
        "steps": [
            {
                step("lookup.walk"): {
                    "for": {"value": "key", "in": "${path}", "steps": [{step("lookup.descend"): descend}]}
                }
            },
            {step("lookup.probes"): {"assign": [{"nothing": None}, {"empty": []}]}},
            {
                step("lookup.classify"): {
                    "try": {"switch": [{"condition": test, "return": _found(kind)} for test, kind in probes]},
                    "except": {"as": "e", "steps": [{step("lookup.untyped"): {"return": _found("other")}}]},
                }
            },
            {step("lookup.other"): {"return": _found("other")}},
        ],
    }


__all__ = ["NAME", "lookup_subworkflow"]
