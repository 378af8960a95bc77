"""Walking the plain JSON form of a definition (``{"version": 1, "steps": [...]}``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def iter_steps(steps: list[dict[str, Any]], field: str = "steps") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every step, depth first in definition order, with its path (``steps[1].branches[0][2]``).

    Nested lists: a Choice's cases and default, a Parallel's branches, a Map's steps and every
    block's catch steps.
    """
    for i, step in enumerate(steps):
        where = f"{field}[{i}]"
        yield where, step
        for j, case in enumerate(step.get("cases") or []):
            yield from iter_steps(case["steps"], f"{where}.cases[{j}].steps")
        yield from iter_steps(step.get("default") or [], f"{where}.default")
        for j, branch in enumerate(step.get("branches") or []):
            yield from iter_steps(branch, f"{where}.branches[{j}]")
        yield from iter_steps(step.get("steps") or [], f"{where}.steps")
        for j, catch in enumerate(step.get("catch") or []):
            yield from iter_steps(catch["steps"], f"{where}.catch[{j}].steps")
