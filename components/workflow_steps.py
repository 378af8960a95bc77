"""The portable workflow steps: a structured tree (no goto), compiled per cloud.

Every model is a frozen pydantic model (``extra="forbid"``). Steps take their ``name``
positionally, as in ``Task("reserve", worker, result="reservation")``. Whole-tree rules
(unique names, limits, paths) are checked by :func:`validate_steps`, which
:class:`WorkflowArgs` runs at construction, raising :class:`InvalidArgsError` with the step's
path (``steps[2].catch[0].steps[0]``) as ``field``. Users import these names from
:mod:`components.workflow`.

:func:`definition_to_json` turns the model into the plain, deterministic JSON form that the
standard-library interpreter (:mod:`components.runtime.orchestration`) and the cloud compilers read.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from components._args import ComponentArgs
from components.errors import InvalidArgsError, require

COMPONENT = "Workflow"
PATH_RE = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
"""Step names: at most 64 characters, so a compiler's helper states (a name plus a short
suffix) stay within Amazon States Language's 80-character limit."""
ERROR_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
"""Error names: word characters, '.' and '-' (a handler's error is its exception class name)."""
RESERVED_ERROR_PREFIX = "States."

MAX_RETRIES = (0, 100)
INTERVAL_S = (1, 3600)
BACKOFF_RATE = (1.0, 10.0)
BRANCHES = (2, 10)
MAP_CONCURRENCY = (1, 1000)
TIMEOUT_S = (1, 31_536_000)
WAIT_S = (0, 31_536_000)


# ---------------------------------------------------------------- conditions


def _positional(cls: type, names: tuple[str, ...], args: tuple[Any, ...], data: dict[str, Any]) -> dict[str, Any]:
    """Map positional arguments onto ``names`` (the dict form passes keywords instead)."""
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes at most {len(names)} positional arguments ({len(args)} given)")
    for key, value in zip(names, args, strict=False):
        if key in data:
            raise TypeError(f"{cls.__name__}() got {key!r} both positionally and by keyword")
        data[key] = value
    return data


class _Compare(ComponentArgs):
    path: str
    value: Any

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("path", "value"), args, data))


class Eq(_Compare):
    op: Literal["eq"] = "eq"


class Ne(_Compare):
    op: Literal["ne"] = "ne"


class Lt(_Compare):
    op: Literal["lt"] = "lt"


class Le(_Compare):
    op: Literal["le"] = "le"


class Gt(_Compare):
    op: Literal["gt"] = "gt"


class Ge(_Compare):
    op: Literal["ge"] = "ge"


class Exists(ComponentArgs):
    op: Literal["exists"] = "exists"
    path: str

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("path",), args, data))


class IsNull(ComponentArgs):
    op: Literal["is_null"] = "is_null"
    path: str

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("path",), args, data))


class And(ComponentArgs):
    op: Literal["and"] = "and"
    conds: list[Condition]

    def __init__(self, *conds: Condition, **data: Any) -> None:
        BaseModel.__init__(self, **(data if "conds" in data else {**data, "conds": list(conds)}))


class Or(ComponentArgs):
    op: Literal["or"] = "or"
    conds: list[Condition]

    def __init__(self, *conds: Condition, **data: Any) -> None:
        BaseModel.__init__(self, **(data if "conds" in data else {**data, "conds": list(conds)}))


class Not(ComponentArgs):
    op: Literal["not"] = "not"
    cond: Condition

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("cond",), args, data))


Condition = Eq | Ne | Lt | Le | Gt | Ge | Exists | IsNull | And | Or | Not

# short helper constructors
eq, ne, lt, le, gt, ge = Eq, Ne, Lt, Le, Gt, Ge
exists, is_null, and_, or_, not_ = Exists, IsNull, And, Or, Not


# ---------------------------------------------------------------- retry / catch


class Retry(ComponentArgs):
    """Retry a block on matching errors; ``max_retries`` counts retries, not attempts."""

    errors: list[str] = Field(default_factory=lambda: ["ALL"])
    max_retries: int = 3
    interval_s: int = 1
    backoff_rate: float = 2.0
    max_delay_s: int | None = None


class Catch(ComponentArgs):
    """After retries: run ``steps`` with ``{error, cause}`` at ``state[result]``, then continue."""

    errors: list[str] = Field(default_factory=lambda: ["ALL"])
    steps: list[Step] = Field(default_factory=list)
    result: str | None = None


# ---------------------------------------------------------------- steps


def _function_name(function: Any) -> str:
    if isinstance(function, str):
        return function
    name = getattr(function, "logical_name", None)
    if not isinstance(name, str):
        raise InvalidArgsError(COMPONENT, "function", function, "a Function or a function name (str)")
    return name


class Task(ComponentArgs):
    """Call a Function with ``args`` (literals or ``$.path`` strings); store its output at ``result``."""

    kind: Literal["Task"] = "Task"
    name: str
    function: str
    args: dict[str, Any] | None = None
    result: str | None = None
    timeout_s: int | None = None
    retry: Retry | None = None
    catch: list[Catch] = Field(default_factory=list)

    def __init__(self, *args: Any, **data: Any) -> None:
        data = _positional(type(self), ("name", "function"), args, data)
        data["function"] = _function_name(data.get("function"))
        BaseModel.__init__(self, **data)

    @property
    def function_name(self) -> str:
        return self.function


class Case(ComponentArgs):
    when: Condition
    steps: list[Step]

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("when", "steps"), args, data))


class Choice(ComponentArgs):
    kind: Literal["Choice"] = "Choice"
    name: str
    cases: list[Case]
    default: list[Step] = Field(default_factory=list)

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("name",), args, data))


class Parallel(ComponentArgs):
    kind: Literal["Parallel"] = "Parallel"
    name: str
    branches: list[list[Step]]
    result: str | None = None
    retry: Retry | None = None
    catch: list[Catch] = Field(default_factory=list)

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("name",), args, data))


class Map(ComponentArgs):
    """Run ``steps`` for each item of the list at ``items``, on ``{"item", "index"}``."""

    kind: Literal["Map"] = "Map"
    name: str
    items: str
    steps: list[Step]
    max_concurrency: int | None = None  # None = unbounded
    result: str | None = None
    retry: Retry | None = None
    catch: list[Catch] = Field(default_factory=list)

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("name",), args, data))


class Wait(ComponentArgs):
    kind: Literal["Wait"] = "Wait"
    name: str
    seconds: int

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("name",), args, data))


class Fail(ComponentArgs):
    kind: Literal["Fail"] = "Fail"
    name: str
    error: str = ""
    cause: str = ""

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("name",), args, data))

    @model_validator(mode="after")
    def _default_error(self) -> Fail:
        if not self.error:
            object.__setattr__(self, "error", self.name)
        return self


class Succeed(ComponentArgs):
    kind: Literal["Succeed"] = "Succeed"
    name: str

    def __init__(self, *args: Any, **data: Any) -> None:
        BaseModel.__init__(self, **_positional(type(self), ("name",), args, data))


Step = Annotated[Task | Choice | Parallel | Map | Wait | Fail | Succeed, Field(discriminator="kind")]

for _model in (And, Or, Not, Catch, Case, Choice, Parallel, Map, Task):
    _model.model_rebuild()


# ---------------------------------------------------------------- validation


def _check_path(path: Any, field: str) -> None:
    require(
        isinstance(path, str) and bool(PATH_RE.match(path)),
        COMPONENT,
        field,
        path,
        "a dotted path: '$', '$.a' or '$.a.b' (no indexes or expressions)",
    )


def _check_key(key: str | None, field: str) -> None:
    if key is not None:
        require(bool(KEY_RE.match(key)), COMPONENT, field, key, "a plain key: letters, digits, '_' and '-'")


def _check_error_name(name: str, field: str) -> None:
    require(
        isinstance(name, str) and bool(ERROR_RE.match(name)),
        COMPONENT,
        field,
        name,
        "an error name: 1-128 letters, digits, '_', '.' or '-'",
    )
    require(
        not name.startswith(RESERVED_ERROR_PREFIX),
        COMPONENT,
        field,
        name,
        f"error names starting {RESERVED_ERROR_PREFIX!r} are reserved by AWS Step Functions",
    )


def _check_errors(errors: list[str], field: str) -> None:
    require(bool(errors), COMPONENT, field, errors, "at least one error name (or 'ALL')")
    require(
        "ALL" not in errors or errors == ["ALL"],
        COMPONENT,
        field,
        errors,
        "'ALL' matches every error, so it must be the only name in its list",
    )
    for i, name in enumerate(errors):
        _check_error_name(name, f"{field}[{i}]")


def _check_condition(cond: Any, field: str) -> None:
    if isinstance(cond, And | Or):
        require(bool(cond.conds), COMPONENT, f"{field}.conds", cond.conds, "at least one condition")
        for i, sub in enumerate(cond.conds):
            _check_condition(sub, f"{field}.conds[{i}]")
    elif isinstance(cond, Not):
        _check_condition(cond.cond, f"{field}.cond")
    else:
        _check_path(cond.path, f"{field}.path")
        if isinstance(cond, Eq | Ne):
            require(
                cond.value is None or isinstance(cond.value, str | int | float),
                COMPONENT,
                f"{field}.value",
                cond.value,
                "a string, number, boolean or None (every target compares scalars only)",
            )
        elif isinstance(cond, Lt | Le | Gt | Ge):
            require(
                isinstance(cond.value, str | int | float) and not isinstance(cond.value, bool),
                COMPONENT,
                f"{field}.value",
                cond.value,
                "a string or a number (ordering is defined for those only)",
            )


def _check_retry(retry: Retry, field: str) -> None:
    _check_errors(retry.errors, f"{field}.errors")
    for attr, (lo, hi) in (("max_retries", MAX_RETRIES), ("interval_s", INTERVAL_S), ("backoff_rate", BACKOFF_RATE)):
        value = getattr(retry, attr)
        require(lo <= value <= hi, COMPONENT, f"{field}.{attr}", value, f"between {lo} and {hi}")
    if retry.max_delay_s is not None:
        require(
            retry.max_delay_s >= retry.interval_s,
            COMPONENT,
            f"{field}.max_delay_s",
            retry.max_delay_s,
            f"at least interval_s ({retry.interval_s})",
        )
        require(
            retry.max_delay_s <= INTERVAL_S[1] * 24,
            COMPONENT,
            f"{field}.max_delay_s",
            retry.max_delay_s,
            f"at most {INTERVAL_S[1] * 24}",
        )


def _walk(steps: list[Any], field: str, names: dict[str, str], *, allow_empty: bool = False) -> None:
    require(allow_empty or bool(steps), COMPONENT, field, steps, "at least one step")
    for i, step in enumerate(steps):
        where = f"{field}[{i}]"
        require(
            bool(NAME_RE.match(step.name)),
            COMPONENT,
            f"{where}.name",
            step.name,
            "1-64 characters: letters, digits, '_', '-', '.'",
        )
        require(
            step.name not in names,
            COMPONENT,
            f"{where}.name",
            step.name,
            f"step names must be unique (also used at {names.get(step.name)})",
        )
        names[step.name] = where
        if isinstance(step, Fail | Succeed):
            require(i == len(steps) - 1, COMPONENT, where, step.name, f"{step.kind} must be the last step of its list")
        if isinstance(step, Task | Parallel | Map):
            _check_key(step.result, f"{where}.result")
            if step.retry is not None:
                _check_retry(step.retry, f"{where}.retry")
            for j, catch in enumerate(step.catch):
                _check_errors(catch.errors, f"{where}.catch[{j}].errors")
                require(
                    catch.errors != ["ALL"] or j == len(step.catch) - 1,
                    COMPONENT,
                    f"{where}.catch[{j}].errors",
                    catch.errors,
                    "a catch of 'ALL' must be the last catch (later ones could never run)",
                )
                _check_key(catch.result, f"{where}.catch[{j}].result")
                _walk(catch.steps, f"{where}.catch[{j}].steps", names, allow_empty=True)
        if isinstance(step, Task):
            require(bool(step.function), COMPONENT, f"{where}.function", step.function, "a function name")
            for key, value in (step.args or {}).items():
                if isinstance(value, str) and value.startswith("$"):
                    _check_path(value, f"{where}.args.{key}")
            if step.timeout_s is not None:
                lo, hi = TIMEOUT_S
                require(
                    lo <= step.timeout_s <= hi,
                    COMPONENT,
                    f"{where}.timeout_s",
                    step.timeout_s,
                    f"between {lo} and {hi}",
                )
        elif isinstance(step, Choice):
            require(bool(step.cases), COMPONENT, f"{where}.cases", step.cases, "at least one case")
            for j, case in enumerate(step.cases):
                _check_condition(case.when, f"{where}.cases[{j}].when")
                _walk(case.steps, f"{where}.cases[{j}].steps", names)
            _walk(step.default, f"{where}.default", names, allow_empty=True)
        elif isinstance(step, Parallel):
            lo, hi = BRANCHES
            require(
                lo <= len(step.branches) <= hi,
                COMPONENT,
                f"{where}.branches",
                len(step.branches),
                f"between {lo} and {hi} branches",
            )
            for j, branch in enumerate(step.branches):
                _walk(branch, f"{where}.branches[{j}]", names)
        elif isinstance(step, Map):
            _check_path(step.items, f"{where}.items")
            if step.max_concurrency is not None:
                lo, hi = MAP_CONCURRENCY
                require(
                    lo <= step.max_concurrency <= hi,
                    COMPONENT,
                    f"{where}.max_concurrency",
                    step.max_concurrency,
                    f"between {lo} and {hi} (None = unbounded)",
                )
            _walk(step.steps, f"{where}.steps", names)
        elif isinstance(step, Wait):
            lo, hi = WAIT_S
            require(lo <= step.seconds <= hi, COMPONENT, f"{where}.seconds", step.seconds, f"between {lo} and {hi}")
        elif isinstance(step, Fail):
            _check_error_name(step.error, f"{where}.error")
            require(step.error != "ALL", COMPONENT, f"{where}.error", step.error, "'ALL' is reserved for Retry/Catch")


def validate_steps(steps: list[Any], field: str = "steps") -> None:
    """Check the whole tree; raise :class:`InvalidArgsError` naming the offending step path."""
    _walk(steps, field, {})


def task_functions(steps: list[Any]) -> list[tuple[str, str]]:
    """Every task's ``(step path, function name)``, in definition order."""
    from components.runtime.orchestration.definition import iter_steps

    return [(path, step["function"]) for path, step in iter_steps(_steps_json(steps)) if step["type"] == "Task"]


# ---------------------------------------------------------------- JSON form


def _cond_json(cond: Any) -> dict[str, Any]:
    if isinstance(cond, And | Or):
        return {"op": cond.op, "conds": [_cond_json(c) for c in cond.conds]}
    if isinstance(cond, Not):
        return {"op": "not", "cond": _cond_json(cond.cond)}
    if isinstance(cond, Exists | IsNull):
        return {"op": cond.op, "path": cond.path}
    return {"op": cond.op, "path": cond.path, "value": cond.value}


def _block_json(step: Task | Parallel | Map) -> dict[str, Any]:
    return {
        "retry": None if step.retry is None else step.retry.model_dump(mode="json"),
        "catch": [{"errors": list(c.errors), "result": c.result, "steps": _steps_json(c.steps)} for c in step.catch],
    }


def _step_json(step: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": step.kind, "name": step.name}
    if isinstance(step, Task):
        out |= {"function": step.function, "args": step.args, "result": step.result, "timeout_s": step.timeout_s}
        out |= _block_json(step)
    elif isinstance(step, Choice):
        out["cases"] = [{"when": _cond_json(c.when), "steps": _steps_json(c.steps)} for c in step.cases]
        out["default"] = _steps_json(step.default)
    elif isinstance(step, Parallel):
        out |= {"branches": [_steps_json(b) for b in step.branches], "result": step.result}
        out |= _block_json(step)
    elif isinstance(step, Map):
        out |= {
            "items": step.items,
            "steps": _steps_json(step.steps),
            "max_concurrency": step.max_concurrency,
            "result": step.result,
        }
        out |= _block_json(step)
    elif isinstance(step, Wait):
        out["seconds"] = step.seconds
    elif isinstance(step, Fail):
        out |= {"error": step.error, "cause": step.cause}
    return out


def _steps_json(steps: list[Any]) -> list[dict[str, Any]]:
    return [_step_json(s) for s in steps]


def definition_to_json(definition: Any) -> dict[str, Any]:
    """The plain JSON form (``{"version": 1, "steps": [...]}``) of a ``WorkflowArgs`` or a list
    of steps; same model, same dict."""
    steps = definition if isinstance(definition, list) else definition.steps
    return {"version": 1, "steps": _steps_json(list(steps))}


__all__ = [
    "And",
    "Case",
    "Catch",
    "Choice",
    "Condition",
    "Eq",
    "Exists",
    "Fail",
    "Ge",
    "Gt",
    "IsNull",
    "Le",
    "Lt",
    "Map",
    "Ne",
    "Not",
    "Or",
    "Parallel",
    "Retry",
    "Step",
    "Succeed",
    "Task",
    "Wait",
    "and_",
    "definition_to_json",
    "eq",
    "exists",
    "ge",
    "gt",
    "is_null",
    "le",
    "lt",
    "ne",
    "not_",
    "or_",
    "task_functions",
    "validate_steps",
]
