"""Portable workflows compiled to Amazon States Language (JSONPath) for a STANDARD state machine.

:func:`compile_asl` turns the plain JSON form of a definition
(:func:`components.workflow.definition_to_json`) into an ASL document whose executions produce
what the reference interpreter (:mod:`components.runtime.orchestration.interpreter`) produces: the
same final state, or the same ``error`` and ``cause``. Pure functions, no Pulumi and no AWS SDK,
so the same code runs at deploy time, in the validators' tests and against the emulators.

How each construct compiles (``n`` is the step's name; helper states are ``n@<suffix>``):

* **Task** → an ``arn:aws:states:::lambda:invoke`` Task (``n``, or ``n@invoke`` when wrapped, see
  below) whose ``Payload`` is the
  task envelope (:func:`components.runtime.orchestration.task.task_envelope`): ``input`` is built
  from ``args`` (a top-level ``"$..."`` string is a path → ``"key.$"``, anything else a literal;
  no ``args`` → ``"input.$": "$"``). Around it:

  - ``n@args``: a Choice that sends a missing arg path to a Fail ``PathNotFound`` (``"<path> is
    not in the state"``). Without it ASL raises ``States.Runtime``, which no Catch can catch.
  - ``TimeoutSeconds = timeout_s`` and a Catch of ``States.Timeout`` → Fail ``Timeout`` with the
    interpreter's cause (``"task 'n' ran longer than Ns"``).
  - a Catch of ``States.ALL`` → ``n@error``: Lambda reports a handler's exception as
    ``Error = errorType`` (the portable error name, see the AWS adapter) and ``Cause`` = its
    error JSON, so the cause is read back from ``errorMessage`` (``States.StringToJson``) and
    re-raised by a Fail with ``ErrorPath``/``CausePath``. A cause that is not such a JSON object
    (a Lambda service error) passes through unchanged; it is only parsed when it looks like one
    (``{...}``), since a failed intrinsic cannot be caught.
  - AWS's recommended Retry of transient Lambda service errors (``Lambda.ServiceException``
    and friends) on the invoke itself; it never re-runs a handler that raised.

  With a ``retry`` or ``catch``, all of that is the single branch of a Parallel named ``n``
  (the one-branch Parallel idiom), whose Retry/Catch are the user's: an ASL Catch on the Task
  itself could not see the ``PathNotFound``/``Timeout``/normalised errors raised by the helper
  Fail states, and a Retry must re-run the whole attempt. The output reaches ``state[result]``
  through ``n@result``, a Pass that unwraps ``Payload`` (or the Parallel's one-element list);
  ``result=None`` → ``ResultPath: null``.
* **Parallel** → a Parallel; its output list goes to ``ResultPath "$.<result>"`` (or null).
* **Map** → always a one-branch Parallel ``n`` around ``n@items`` (missing → Fail
  ``PathNotFound``; null/string/number/boolean → Fail ``InvalidItems``), ``n@probe`` (ASL has no
  array test: the first ``,``-separated piece of ``States.JsonToString(items)`` starts with ``[``
  only for an array, tested by ``n@is-list`` with ``StringMatches``) and the INLINE Map
  ``n@map`` with ``ItemSelector {"item", "index"}`` and ``MaxConcurrency`` (None → 0,
  unbounded). Both failures are therefore catchable by the Map's own Catch, as in the
  interpreter.
* **Retry** → ``ErrorEquals`` (``ALL`` → ``States.ALL``), ``MaxAttempts = max_retries``,
  ``IntervalSeconds``, ``BackoffRate``, ``MaxDelaySeconds``. On a Parallel/Map it re-runs the
  whole block, as in the interpreter.
* **Catch** → the block's input plus ``{"Error", "Cause"}`` at ``ResultPath "$.<result>"``,
  reshaped by ``n@catch-<j>`` into the portable lowercase ``{"error", "cause"}`` (``cause`` is
  ``""`` when ASL carries none); no ``result`` → ``ResultPath: null``. The catch's steps then
  continue after the block.
* **Choice** → a Choice; each case's steps and the default rejoin at the step after the Choice
  (``n@end``, a Pass that ends its branch, where the Choice is the last step of its list and
  the default is empty). Conditions follow :mod:`components.runtime.orchestration.conditions`: every
  comparison is guarded by ``IsPresent`` and a type test (``IsString``/``IsNumeric``/
  ``IsBoolean``/``IsNull``), so a missing path or a mismatched type is False; ``ne`` is
  "present and not eq".
* **Wait** → Wait ``Seconds``; **Fail** → Fail ``Error``/``Cause``; **Succeed** → Succeed, which
  in ASL too ends the innermost Parallel branch or Map iteration, else the execution.

Names: step names are at most 64 characters, unique in the whole tree and use only
``[A-Za-z0-9_.-]``; helpers add ``@`` and a suffix of at most 15 characters, so every state name
is unique in the machine and at most 80 characters (ASL's limit). ``@`` is outside the step-name
alphabet (no collision with a user's step) and not among the characters AWS forbids in state
names.

Semantic gaps that remain (documented, not fixable in ASL):

* Parallel branches and Map iterations run concurrently on AWS. When several fail, AWS reports
  whichever failed first *in time*; the interpreter reports the first *in order*. Their side
  effects interleave.
* ``timeout_s``: AWS abandons the call after ``timeout_s`` (the Lambda keeps running until its
  own timeout); the interpreter measures the call after it returns.
* String ordering (``lt``/``gt``...) is Java's UTF-16 code-unit order on AWS and code-point order
  in Python: they differ only between characters above U+FFFF and those in U+E000..U+FFFF.
* AWS limits that the interpreter does not have: 256 KiB per state payload, 25,000 history
  events per execution, 32,768 characters per cause (a longer handler message is truncated, so
  its Lambda error JSON cannot be parsed and the raw, truncated JSON becomes the cause).
* A handler that raises an error *named* like a transient Lambda service error (e.g.
  ``TaskFailed("Lambda.ServiceException")``) is retried by the invoke's own service-error Retry.

:func:`check_definition` rejects, before deploy, what ASL cannot express faithfully: literal
``args`` keys ending in ``.$`` (ASL reads any such key as a path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.errors import InvalidArgsError
from components.runtime.orchestration.definition import iter_steps
from components.runtime.orchestration.task import task_envelope

COMPONENT = "Workflow"
CLOUD = "aws"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SEP = "@"
MAX_STATE_NAME = 80
ALL = "ALL"

LAMBDA_SERVICE_RETRY: dict[str, Any] = {
    "ErrorEquals": [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2.0,
}
"""AWS's recommended retry of transient Lambda *service* errors (not handler errors: those are
named by the handler and never match), so a throttled invoke does not spend a user's retry."""


# ---------------------------------------------------------------- checks


def check_definition(definition: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidArgsError` for what ASL cannot express faithfully.

    The portable model already enforces names, paths and limits that fit ASL (step names of at
    most 64 characters, error names without the reserved ``States.`` prefix, retry bounds); what
    is left is ASL's treatment of Parameters keys: a key ending in ``.$`` is always a path or
    intrinsic, so a literal value under such a key (at any depth) cannot be sent.
    """
    version = definition.get("version")
    if version != 1:
        raise InvalidArgsError(COMPONENT, "version", version, "1 (the only definition format)", cloud=CLOUD)
    _check_steps(definition["steps"], "steps")


def _check_steps(steps: list[dict[str, Any]], field: str) -> None:
    for where, step in iter_steps(steps, field):
        for key, value in (step.get("args") or {}).items():
            if not _is_path(value):
                _check_literal({key: value}, f"{where}.args")


def _check_literal(value: Any, field: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith(".$"):
                raise InvalidArgsError(
                    COMPONENT,
                    f"{field}.{key}",
                    inner,
                    "a literal under a key ending in '.$' (Step Functions reads such keys as paths); rename the key",
                    cloud=CLOUD,
                )
            _check_literal(inner, f"{field}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _check_literal(inner, f"{field}[{i}]")


def _is_path(value: object) -> bool:
    return isinstance(value, str) and value.startswith("$")


# ---------------------------------------------------------------- compiler


def compile_asl(definition: Mapping[str, Any], function_arns: Mapping[str, str], *, workflow: str) -> dict[str, Any]:
    """The ASL document (JSONPath) for ``definition``; ``function_arns`` maps function names to ARNs.

    Raises:
        InvalidArgsError: :func:`check_definition` rejects the definition, or a task names a
            function missing from ``function_arns``.
    """
    check_definition(definition)
    compiler = _Compiler(function_arns, workflow)
    states: dict[str, Any] = {}
    start = compiler.steps(definition["steps"], "steps", states, None)
    if start is None:  # an empty top-level list (the model forbids it; a plain dict may not)
        raise InvalidArgsError(COMPONENT, "steps", [], "at least one step", cloud=CLOUD)
    return {
        "Comment": f"omnicloud workflow {workflow!r}: compiled from the portable definition; "
        f"'{SEP}' marks helper states",
        "QueryLanguage": "JSONPath",
        "StartAt": start,
        "States": _in_flow_order(states, start),
    }


def _in_flow_order(states: dict[str, Any], start: str) -> dict[str, Any]:
    """``states`` reordered depth-first from ``start`` (they are built backwards), for readers.

    Order carries no meaning in ASL; nested branches and Map processors are reordered too.
    """
    ordered: dict[str, Any] = {}
    pending = [start]
    while pending:
        name = pending.pop()
        if name in ordered or name not in states:
            continue
        state = ordered[name] = states[name]
        for branch in state.get("Branches") or []:
            branch["States"] = _in_flow_order(branch["States"], branch["StartAt"])
        processor = state.get("ItemProcessor")
        if processor is not None:
            processor["States"] = _in_flow_order(processor["States"], processor["StartAt"])
        targets = [state.get("Next"), *(c["Next"] for c in state.get("Choices") or [])]
        targets += [state.get("Default"), *(c["Next"] for c in state.get("Catch") or [])]
        pending.extend(reversed([t for t in targets if t is not None]))
    # Every state is reachable (validators reject unreachable ones); keep any stray one anyway.
    return ordered | {name: state for name, state in states.items() if name not in ordered}


def _goto(state: dict[str, Any], then: str | None) -> dict[str, Any]:
    """Continue at ``then``; None ends the enclosing list (execution, branch or iteration)."""
    if then is None:
        state["End"] = True
    else:
        state["Next"] = then
    return state


def _key_path(key: str) -> str:
    return f"$.{key}"


class _Compiler:
    def __init__(self, function_arns: Mapping[str, str], workflow: str) -> None:
        self.function_arns = function_arns
        self.workflow = workflow
        self.names: set[str] = set()

    # -- scopes ---------------------------------------------------------------------------

    def add(self, scope: dict[str, Any], name: str, state: dict[str, Any]) -> str:
        """Add a state; names are unique across the whole machine (ASL requires it)."""
        if name in self.names:
            raise AssertionError(f"duplicate ASL state name {name!r}")  # a compiler bug, not user input
        if len(name) > MAX_STATE_NAME:
            raise InvalidArgsError(
                COMPONENT, "steps", name, f"state names of at most {MAX_STATE_NAME} characters", cloud=CLOUD
            )
        self.names.add(name)
        scope[name] = state
        return name

    def steps(self, steps: list[dict[str, Any]], field: str, scope: dict[str, Any], then: str | None) -> str | None:
        """Compile ``steps`` into ``scope``, the last one continuing at ``then``; the first state's name."""
        entry = then
        # Backwards, so every step knows the state it continues at.
        for i in reversed(range(len(steps))):
            entry = self.step(steps[i], f"{field}[{i}]", scope, entry)
        return entry

    def continuation(self, scope: dict[str, Any], owner: str, then: str | None) -> str:
        """``then``, or a Pass that ends the list when there is no next state to name."""
        if then is not None:
            return then
        name = f"{owner}{SEP}end"
        if name not in scope:
            self.add(scope, name, {"Type": "Pass", "End": True})
        return name

    def branch(self, steps: list[dict[str, Any]], field: str) -> dict[str, Any]:
        scope: dict[str, Any] = {}
        start = self.steps(steps, field, scope, None)
        if start is None:  # the model forbids empty branches and Map steps; a plain dict may not
            raise InvalidArgsError(COMPONENT, field, [], "at least one step", cloud=CLOUD)
        return {"StartAt": start, "States": scope}

    # -- steps ----------------------------------------------------------------------------

    def step(self, step: dict[str, Any], field: str, scope: dict[str, Any], then: str | None) -> str:
        kind = step["type"]
        name = step["name"]
        if kind == "Task":
            return self.task(step, field, scope, then)
        if kind == "Parallel":
            return self.parallel(step, field, scope, then)
        if kind == "Map":
            return self.map(step, field, scope, then)
        if kind == "Choice":
            return self.choice(step, field, scope, then)
        if kind == "Wait":
            return self.add(scope, name, _goto({"Type": "Wait", "Seconds": step["seconds"]}, then))
        if kind == "Fail":
            return self.add(scope, name, _fail(step["error"], step.get("cause") or ""))
        if kind == "Succeed":
            return self.add(scope, name, {"Type": "Succeed"})
        raise InvalidArgsError(COMPONENT, f"{field}.type", kind, "a known step type", cloud=CLOUD)

    def choice(self, step: dict[str, Any], field: str, scope: dict[str, Any], then: str | None) -> str:
        name = step["name"]
        choices = []
        for j, case in enumerate(step["cases"]):
            entry = self.steps(case["steps"], f"{field}.cases[{j}].steps", scope, then)
            choices.append({**condition(case["when"]), "Next": self.continuation(scope, name, entry)})
        default = self.steps(step.get("default") or [], f"{field}.default", scope, then)
        state = {"Type": "Choice", "Choices": choices, "Default": self.continuation(scope, name, default)}
        return self.add(scope, name, state)

    def parallel(self, step: dict[str, Any], field: str, scope: dict[str, Any], then: str | None) -> str:
        branches = [self.branch(b, f"{field}.branches[{j}]") for j, b in enumerate(step["branches"])]
        result = step.get("result")
        state: dict[str, Any] = {
            "Type": "Parallel",
            "Branches": branches,
            "ResultPath": None if result is None else _key_path(result),
        }
        self.retry_catch(state, step, field, scope, then)
        return self.add(scope, step["name"], _goto(state, then))

    def map(self, step: dict[str, Any], field: str, scope: dict[str, Any], then: str | None) -> str:
        name, items = step["name"], step["items"]
        inner: dict[str, Any] = {}
        not_list = self.add(inner, f"{name}{SEP}not-list", _fail("InvalidItems", f"{items} is not a list"))
        missing = self.add(inner, f"{name}{SEP}no-items", _fail("PathNotFound", f"{items} is not in the state"))
        processor = self.branch(step["steps"], f"{field}.steps")
        mapped = self.add(
            inner,
            f"{name}{SEP}map",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **processor},
                "MaxConcurrency": step.get("max_concurrency") or 0,
                "End": True,
            },
        )
        is_list = self.add(
            inner,
            f"{name}{SEP}is-list",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.probe", "StringMatches": "[*", "Next": mapped}],
                "Default": not_list,
            },
        )
        # The first ','-separated piece of the compact JSON keeps the payload small (no copy of
        # the whole list) and starts with '[' exactly when the value is an array.
        probe = f"States.ArrayGetItem(States.StringSplit(States.JsonToString({items}), ','), 0)"
        self.add(
            inner,
            f"{name}{SEP}probe",
            {"Type": "Pass", "Parameters": {"items.$": items, "probe.$": probe}, "Next": is_list},
        )
        scalar = [{"Variable": items, test: True} for test in ("IsNull", "IsString", "IsNumeric", "IsBoolean")]
        start = self.add(
            inner,
            f"{name}{SEP}items",
            {
                "Type": "Choice",
                "Choices": [
                    {"Not": {"Variable": items, "IsPresent": True}, "Next": missing},
                    {"Or": scalar, "Next": not_list},
                ],
                "Default": f"{name}{SEP}probe",
            },
        )
        return self.wrapped(step, field, scope, then, {"StartAt": start, "States": inner})

    def task(self, step: dict[str, Any], field: str, scope: dict[str, Any], then: str | None) -> str:
        name = step["name"]
        if step.get("retry") or step.get("catch"):
            inner: dict[str, Any] = {}
            start = self.attempt(step, field, inner, f"{name}{SEP}invoke", wrapped=True)
            return self.wrapped(step, field, scope, then, {"StartAt": start, "States": inner})
        return self.attempt(step, field, scope, name, wrapped=False, then=then)

    def wrapped(
        self, step: dict[str, Any], field: str, scope: dict[str, Any], then: str | None, branch: dict[str, Any]
    ) -> str:
        """The one-branch Parallel ``step["name"]`` carrying the user's Retry/Catch."""
        name, result = step["name"], step.get("result")
        state: dict[str, Any] = {
            "Type": "Parallel",
            "Branches": [branch],
            "ResultPath": None if result is None else _key_path(result),
        }
        succeeded = then
        if result is not None:
            # The Parallel's output is a one-element list; state[result] becomes its element.
            unwrap = {"Type": "Pass", "InputPath": f"{_key_path(result)}[0]", "ResultPath": _key_path(result)}
            succeeded = self.add(scope, f"{name}{SEP}result", _goto(unwrap, then))
        # Catch steps continue after the block, not at the unwrap.
        self.retry_catch(state, step, field, scope, then)
        return self.add(scope, name, _goto(state, succeeded))

    def attempt(
        self,
        step: dict[str, Any],
        field: str,
        scope: dict[str, Any],
        invoke_name: str,
        *,
        wrapped: bool,
        then: str | None = None,
    ) -> str:
        """One call of a task: arg guards, the invoke and its error normalisation; the entry's name."""
        name, result = step["name"], step.get("result")
        function = step["function"]
        arn = self.function_arns.get(function)
        if arn is None:
            raise InvalidArgsError(
                COMPONENT,
                f"{field}.function",
                function,
                f"a function whose ARN is known (known: {sorted(self.function_arns)})",
                cloud=CLOUD,
            )
        invoke: dict[str, Any] = {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": arn, "Payload": self.payload(step)},
            "Retry": [dict(LAMBDA_SERVICE_RETRY)],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": f"{name}{SEP}error"}],
        }
        timeout = step.get("timeout_s")
        if timeout is not None:
            invoke["TimeoutSeconds"] = timeout
            # First: States.ALL would match the timeout too.
            invoke["Catch"].insert(
                0, {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": f"{name}{SEP}timeout"}
            )
            self.add(scope, f"{name}{SEP}timeout", _fail("Timeout", f"task {name!r} ran longer than {timeout}s"))
        if wrapped:
            invoke["OutputPath"] = "$.Payload"  # the branch's output; the wrapper stores it
            _goto(invoke, None)
        elif result is None:
            invoke["ResultPath"] = None
            _goto(invoke, then)
        else:
            invoke["ResultPath"] = _key_path(result)
            unwrap = {"Type": "Pass", "InputPath": f"{_key_path(result)}.Payload", "ResultPath": _key_path(result)}
            _goto(invoke, self.add(scope, f"{name}{SEP}result", _goto(unwrap, then)))
        self.add(scope, invoke_name, invoke)
        self.error_states(name, scope)
        return self.arg_guards(step, scope, invoke_name)

    def payload(self, step: dict[str, Any]) -> dict[str, Any]:
        envelope: dict[str, Any] = {"omnicloud": task_envelope(self.workflow, step["name"], None)["omnicloud"]}
        args = step.get("args")
        if args is None:
            envelope["input.$"] = "$"
            return envelope
        envelope["input"] = {(f"{key}.$" if _is_path(value) else key): value for key, value in args.items()}
        return envelope

    def arg_guards(self, step: dict[str, Any], scope: dict[str, Any], invoke: str) -> str:
        """A Choice failing with ``PathNotFound`` on the first missing arg path; the entry state."""
        name = step["name"]
        paths: list[str] = []
        for value in (step.get("args") or {}).values():
            if _is_path(value) and value != "$" and value not in paths:
                paths.append(value)
        if not paths:
            return invoke
        choices = []
        for i, path in enumerate(paths):
            missing = self.add(scope, f"{name}{SEP}missing-{i}", _fail("PathNotFound", f"{path} is not in the state"))
            choices.append({"Not": {"Variable": path, "IsPresent": True}, "Next": missing})
        return self.add(scope, f"{name}{SEP}args", {"Type": "Choice", "Choices": choices, "Default": invoke})

    def error_states(self, name: str, scope: dict[str, Any]) -> None:
        """Re-raise a failed invoke as ``(errorType, errorMessage)``; other causes unchanged.

        The invoke's Catch put ``{"Error", "Cause"}`` as the whole state (ResultPath ``$``).
        """
        fail, raw, bare = (f"{name}{SEP}{s}" for s in ("fail", "fail-raw", "fail-bare"))
        cause_is_string = [{"Variable": "$.Cause", "IsPresent": True}, {"Variable": "$.Cause", "IsString": True}]
        self.add(
            scope,
            f"{name}{SEP}error",
            {
                "Type": "Choice",
                "Choices": [
                    # Lambda's error JSON; anything else is not parsed (StringToJson could fail).
                    {
                        "And": [*cause_is_string, {"Variable": "$.Cause", "StringMatches": "{*}"}],
                        "Next": f"{name}{SEP}parse",
                    },
                    {"And": cause_is_string, "Next": raw},
                ],
                "Default": bare,
            },
        )
        self.add(
            scope,
            f"{name}{SEP}parse",
            {
                "Type": "Pass",
                "Parameters": {"Error.$": "$.Error", "Cause.$": "$.Cause", "Parsed.$": "States.StringToJson($.Cause)"},
                "Next": f"{name}{SEP}message",
            },
        )
        message = "$.Parsed.errorMessage"
        self.add(
            scope,
            f"{name}{SEP}message",
            {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [{"Variable": message, "IsPresent": True}, {"Variable": message, "IsString": True}],
                        "Next": fail,
                    }
                ],
                "Default": raw,
            },
        )
        self.add(scope, fail, {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": message})
        self.add(scope, raw, {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"})
        self.add(scope, bare, {"Type": "Fail", "ErrorPath": "$.Error"})

    # -- retry / catch --------------------------------------------------------------------

    def retry_catch(
        self, state: dict[str, Any], step: dict[str, Any], field: str, scope: dict[str, Any], then: str | None
    ) -> None:
        retry = step.get("retry")
        if retry is not None:
            retrier: dict[str, Any] = {
                "ErrorEquals": _error_equals(retry["errors"]),
                "IntervalSeconds": retry["interval_s"],
                "MaxAttempts": retry["max_retries"],
                "BackoffRate": float(retry["backoff_rate"]),
            }
            if retry.get("max_delay_s") is not None:
                retrier["MaxDelaySeconds"] = retry["max_delay_s"]
            state["Retry"] = [retrier]
        catchers = []
        for j, catch in enumerate(step.get("catch") or []):
            entry = self.steps(catch["steps"], f"{field}.catch[{j}].steps", scope, then)
            entry = self.continuation(scope, step["name"], entry)
            result = catch.get("result")
            catcher: dict[str, Any] = {"ErrorEquals": _error_equals(catch["errors"])}
            if result is None:
                catcher |= {"ResultPath": None, "Next": entry}
            else:
                catcher |= {
                    "ResultPath": _key_path(result),
                    "Next": self.reshape(step["name"], j, result, scope, entry),
                }
            catchers.append(catcher)
        if catchers:
            state["Catch"] = catchers

    def reshape(self, name: str, j: int, result: str, scope: dict[str, Any], then: str) -> str:
        """``{"Error", "Cause"}`` at ``state[result]`` → the portable ``{"error", "cause"}``."""
        at = _key_path(result)
        with_cause = self.add(
            scope,
            f"{name}{SEP}catch-{j}-cause",
            {
                "Type": "Pass",
                "Parameters": {"error.$": f"{at}.Error", "cause.$": f"{at}.Cause"},
                "ResultPath": at,
                "Next": then,
            },
        )
        without = self.add(
            scope,
            f"{name}{SEP}catch-{j}-bare",
            {"Type": "Pass", "Parameters": {"error.$": f"{at}.Error", "cause": ""}, "ResultPath": at, "Next": then},
        )
        cause = f"{at}.Cause"
        return self.add(
            scope,
            f"{name}{SEP}catch-{j}",
            {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [{"Variable": cause, "IsPresent": True}, {"Variable": cause, "IsString": True}],
                        "Next": with_cause,
                    }
                ],
                "Default": without,
            },
        )


def _error_equals(errors: list[str]) -> list[str]:
    return ["States.ALL"] if errors == [ALL] else list(errors)


def _fail(error: str, cause: str) -> dict[str, Any]:
    state = {"Type": "Fail", "Error": error}
    if cause:
        state["Cause"] = cause
    return state


# ---------------------------------------------------------------- conditions


def condition(cond: Mapping[str, Any]) -> dict[str, Any]:
    """A portable condition as an ASL Choice rule (without ``Next``)."""
    op = cond["op"]
    if op in ("and", "or"):
        rules = [condition(c) for c in cond["conds"]]
        return rules[0] if len(rules) == 1 else {op.capitalize(): rules}
    if op == "not":
        return {"Not": condition(cond["cond"])}
    path = cond["path"]
    present = {"Variable": path, "IsPresent": True}
    if op == "exists":
        return present
    if op == "is_null":
        return {"And": [present, {"Variable": path, "IsNull": True}]}
    value = cond["value"]
    if op == "eq":
        return {"And": [present, *_equals(path, value)]}
    if op == "ne":
        equal = _equals(path, value)
        return {"And": [present, {"Not": equal[0] if len(equal) == 1 else {"And": equal}}]}
    if op in _ORDERING:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric and not isinstance(value, str):
            raise InvalidArgsError(COMPONENT, "condition.value", value, "a string or a number", cloud=CLOUD)
        family = "Numeric" if numeric else "String"
        return {
            "And": [
                present,
                {"Variable": path, f"Is{family}": True},
                {"Variable": path, f"{family}{_ORDERING[op]}": value},
            ]
        }
    raise InvalidArgsError(COMPONENT, "condition.op", op, "a known condition operator", cloud=CLOUD)


_ORDERING = {"lt": "LessThan", "le": "LessThanEquals", "gt": "GreaterThan", "ge": "GreaterThanEquals"}


def _equals(path: str, value: Any) -> list[dict[str, Any]]:
    """Type test plus comparison for portable ``eq`` (no cross-type equality but int/float)."""
    if value is None:
        return [{"Variable": path, "IsNull": True}]
    if isinstance(value, bool):
        return [{"Variable": path, "IsBoolean": True}, {"Variable": path, "BooleanEquals": value}]
    if isinstance(value, int | float):
        return [{"Variable": path, "IsNumeric": True}, {"Variable": path, "NumericEquals": value}]
    if isinstance(value, str):
        return [{"Variable": path, "IsString": True}, {"Variable": path, "StringEquals": value}]
    raise InvalidArgsError(COMPONENT, "condition.value", value, "a string, number, boolean or None", cloud=CLOUD)


__all__ = ["LAMBDA_INVOKE", "LAMBDA_SERVICE_RETRY", "check_definition", "compile_asl", "condition"]
