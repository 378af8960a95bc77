"""What Cloud Workflows cannot run faithfully: checked before anything is deployed.

:func:`check_constructs` walks the portable JSON definition
(:func:`components.workflow.definition_to_json`) and raises
:class:`~components.errors.InvalidArgsError` (``cloud="gcp"``) naming the step path, the value
and the documented limit. Every limit cites its source. Limits that only bite at run time
(executed steps, variable memory, response size) cannot be checked here; they are listed in
:mod:`providers.gcp.workflows_yaml`.

What is deliberately *not* rejected: ``max_concurrency`` above the platform's 20 concurrent
branches and iterations. ``max_concurrency`` is an upper bound (the reference interpreter runs
iterations one at a time and honours it), so running at most 20 at once is faithful; the
compiler caps ``concurrency_limit`` there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components.errors import InvalidArgsError

CLOUD = "gcp"
COMPONENT = "Workflow"

QUOTAS_DOC = "https://cloud.google.com/workflows/quotas"
PARALLEL_DEPTH = 2
"""Quotas and limits, "Parallel steps": the maximum depth that parallel steps can be nested.
Parallel and Map both compile to ``parallel`` steps."""
BRANCHES_PER_PARALLEL = 10
"""Quotas and limits, "Parallel steps": the maximum number of branches in one parallel step."""
CONCURRENT_BRANCHES = 20
"""Quotas and limits, "Parallel steps": branches and iterations running at once before further
ones are queued (used by the compiler as the ``concurrency_limit`` cap, not rejected)."""
CONDITIONS_PER_SWITCH = 50
"""Quotas and limits, "Steps": the maximum number of conditions in one switch block."""
SOURCE_BYTES = 128 * 1024
"""Quotas and limits, "Resource limits": the maximum size of the YAML or JSON source (128 KB)."""
HTTP_TIMEOUT_S = 1800
"""https://cloud.google.com/workflows/docs/reference/stdlib/http/post: ``timeout`` defaults to
300 s and may be at most 1800 s; a longer request raises ``TimeoutError``."""
SLEEP_MAX_S = 31_536_000
"""https://cloud.google.com/workflows/docs/reference/stdlib/sys/sleep: at most 31536000 s (one
year)."""
INT64 = (-(2**63), 2**63 - 1)
"""https://cloud.google.com/workflows/docs/reference/syntax/datatypes: integers are 64-bit
signed."""
EXPRESSION_MARK = "${"
"""https://cloud.google.com/workflows/docs/reference/syntax/expressions: a value written as
``${...}`` is an expression, so a literal string holding ``${`` would be evaluated, not kept."""


def check_constructs(definition: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidArgsError` for the first construct Cloud Workflows cannot run as
    the portable semantics require (the compiled source size is checked by
    :func:`providers.gcp.workflows_yaml.check_definition`)."""
    _walk(definition["steps"], "steps", parallel_depth=0)


def _fail(field: str, value: Any, limit: str) -> None:
    raise InvalidArgsError(COMPONENT, field, value, limit, cloud=CLOUD)


def _walk(steps: list[Mapping[str, Any]], field: str, *, parallel_depth: int) -> None:
    for i, step in enumerate(steps):
        where = f"{field}[{i}]"
        kind = step["type"]
        depth = parallel_depth + (kind in ("Parallel", "Map"))
        if depth > PARALLEL_DEPTH:
            _fail(
                where,
                step["name"],
                f"Parallel and Map nest at most {PARALLEL_DEPTH} deep on Cloud Workflows "
                f"(both compile to parallel steps; see {QUOTAS_DOC})",
            )
        if kind == "Task":
            _check_task(step, where)
        elif kind == "Choice":
            _check_choice(step, where, depth)
        elif kind == "Parallel":
            if len(step["branches"]) > BRANCHES_PER_PARALLEL:
                _fail(
                    f"{where}.branches",
                    len(step["branches"]),
                    f"at most {BRANCHES_PER_PARALLEL} branches per parallel step ({QUOTAS_DOC})",
                )
            for j, branch in enumerate(step["branches"]):
                _walk(branch, f"{where}.branches[{j}]", parallel_depth=depth)
        elif kind == "Map":
            _walk(step["steps"], f"{where}.steps", parallel_depth=depth)
        elif kind == "Wait" and step["seconds"] > SLEEP_MAX_S:
            _fail(f"{where}.seconds", step["seconds"], f"sys.sleep takes at most {SLEEP_MAX_S} s (one year)")
        elif kind == "Fail":
            _check_literal(step.get("cause", ""), f"{where}.cause")
        if kind in ("Task", "Parallel", "Map"):
            _check_catches(step, where, parallel_depth)


def _check_task(step: Mapping[str, Any], where: str) -> None:
    timeout = step.get("timeout_s")
    if timeout is not None and timeout > HTTP_TIMEOUT_S:
        _fail(
            f"{where}.timeout_s",
            timeout,
            f"at most {HTTP_TIMEOUT_S} s: a task is an HTTP call, and Cloud Workflows' http.post "
            f"waits at most {HTTP_TIMEOUT_S} s",
        )
    for key, value in (step.get("args") or {}).items():
        _check_literal(key, f"{where}.args.<key>")
        if not (isinstance(value, str) and value.startswith("$")):
            _check_literal(value, f"{where}.args.{key}")


def _check_choice(step: Mapping[str, Any], where: str, depth: int) -> None:
    conditions = len(step["cases"]) + bool(step.get("default"))
    if conditions > CONDITIONS_PER_SWITCH:
        _fail(
            f"{where}.cases",
            len(step["cases"]),
            f"at most {CONDITIONS_PER_SWITCH} conditions per switch, the default counting as one ({QUOTAS_DOC})",
        )
    for j, case in enumerate(step["cases"]):
        for sub_field, cond in _leaves(case["when"], f"{where}.cases[{j}].when"):
            if "value" in cond:
                _check_literal(cond["value"], f"{sub_field}.value")
        _walk(case["steps"], f"{where}.cases[{j}].steps", parallel_depth=depth)
    _walk(step.get("default") or [], f"{where}.default", parallel_depth=depth)


def _check_catches(step: Mapping[str, Any], where: str, parallel_depth: int) -> None:
    catches = step.get("catch") or []
    # The compiled except block switches over the catches plus one condition that re-raises.
    if len(catches) + 1 > CONDITIONS_PER_SWITCH:
        _fail(
            f"{where}.catch",
            len(catches),
            f"at most {CONDITIONS_PER_SWITCH - 1} catches (one switch of at most {CONDITIONS_PER_SWITCH} "
            f"conditions routes an error; {QUOTAS_DOC})",
        )
    for j, catch in enumerate(catches):
        # Catch steps run in the block's scope: they nest no deeper than the block itself.
        _walk(catch["steps"], f"{where}.catch[{j}].steps", parallel_depth=parallel_depth)


def _leaves(cond: Mapping[str, Any], field: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    op = cond["op"]
    if op in ("and", "or"):
        for i, sub in enumerate(cond["conds"]):
            yield from _leaves(sub, f"{field}.conds[{i}]")
    elif op == "not":
        yield from _leaves(cond["cond"], f"{field}.cond")
    else:
        yield field, cond


def _check_literal(value: Any, field: str) -> None:
    """A literal is written into the YAML as data; it must stay data."""
    if isinstance(value, str):
        if EXPRESSION_MARK in value:
            _fail(
                field,
                value,
                "a literal string may not contain '${': Cloud Workflows would evaluate it as an expression",
            )
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        lo, hi = INT64
        if not lo <= value <= hi:
            _fail(field, value, "a 64-bit signed integer (Cloud Workflows' integer type)")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_literal(key, f"{field}.<key>")
            _check_literal(item, f"{field}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_literal(item, f"{field}[{i}]")


__all__ = [
    "BRANCHES_PER_PARALLEL",
    "CONCURRENT_BRANCHES",
    "CONDITIONS_PER_SWITCH",
    "HTTP_TIMEOUT_S",
    "PARALLEL_DEPTH",
    "SLEEP_MAX_S",
    "SOURCE_BYTES",
    "check_constructs",
]
