"""Cloud Workflows YAML from a portable workflow definition: a pure compiler.

:func:`compile_workflow` turns the JSON form (:func:`components.workflow.definition_to_json`)
into Cloud Workflows source whose behaviour matches the reference interpreter
(:mod:`components.runtime.orchestration.interpreter`); :func:`check_definition` rejects, before
deploy, what Cloud Workflows cannot run that way. Same input, same text (names come from
counters and the user's step names, maps keep their order).

The mapping:

* The state is one map variable, ``state`` — the execution argument (which must be a JSON
  object) and the only parameter of every generated subworkflow. Paths (``$.a.b``) are resolved
  by :mod:`~providers.gcp.workflows_lookup`.
* ``Task`` → ``http.post`` to ``<function url>/_omnicloud/task`` with ``auth: {type: OIDC}``
  (audience: the function's root URL) and the task envelope as body; the function's reply is
  always 200 with ``{"output"}`` or ``{"error", "cause"}`` (:mod:`components.runtime.orchestration.task`),
  an ``error`` is raised as ``{error, cause}``. A missing argument path raises ``PathNotFound``.
  The call's ``timeout`` is ``timeout_s`` (default: the 1800 s maximum); Workflows'
  ``TimeoutError`` becomes ``Timeout`` with the interpreter's cause, any other call failure (a
  non-2xx status, a connection error) is raised under the platform's own error tag.
* Errors are always maps ``{error, cause}``; an ``except`` first normalises a platform error
  (``{message, tags}``) to that shape (error = its first tag).
* ``Retry`` → ``try``/``retry`` around the whole block: a predicate subworkflow matching the
  error names (or everything for ``ALL``), ``max_retries``, ``backoff`` with ``initial_delay =
  interval_s`` and ``multiplier = backoff_rate``. Workflows' n-th delay is ``initial_delay *
  multiplier**n`` capped by ``max_delay`` — the interpreter's formula. Without ``max_delay_s``
  the cap is set where no retry reaches it.
* ``Catch`` → ``except``: a router subworkflow returns the index of the first matching catch,
  whose steps run on the block's input state (a failed block never wrote to ``state``) with
  ``state[result] = {error, cause}``; no match re-raises.
* ``Parallel`` → ``parallel: branches``; ``Map`` → ``parallel: for`` (``concurrency_limit`` =
  ``max_concurrency``, at most the platform's 20). Each branch or iteration runs in its own
  subworkflow, which catches its failure and returns ``{"state"}`` or ``{"failed"}`` into a
  shared variable (Map: keyed by index); afterwards the first failure in branch/item order is
  raised, else the states are stored in order. ``Succeed`` in a branch returns from that
  subworkflow; at top level it returns the state from ``main``.
* ``Choice`` → ``switch`` with rejoin: each path is looked up once, each typed comparison is
  computed in a guarded step, and case *i* is taken when its condition holds and no earlier one
  did (so the switch is correct whether the engine stops at the first true condition or not).
* ``Wait`` → ``sys.sleep``; ``Fail`` → ``raise``.

What Cloud Workflows cannot run faithfully (not rejected: they depend on run-time data):
a task running longer than 1800 s fails with ``Timeout`` even without ``timeout_s``; a timed-out
call is abandoned while the function keeps running (the interpreter waits for it); a state or
result beyond Workflows' 512 KB variable memory or 2 MB HTTP response fails the execution; an
execution may take at most 100,000 steps; at most 20 branches or iterations run at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

import yaml

from components.errors import InvalidArgsError
from components.runtime.orchestration.task import TASK_ROUTE, task_envelope
from providers.gcp import workflows_limits as limits
from providers.gcp.workflows_lookup import NAME as LOOKUP
from providers.gcp.workflows_lookup import lookup_subworkflow

Scope = Literal["main", "branch"]
"""Where steps compile: ``main`` (Succeed returns the state) or a branch/iteration
subworkflow (Succeed returns ``{"state": ...}`` to its parallel step)."""

PLACEHOLDER_URL = "https://" + "f" * 63 + "-abcdefghij-uc.a.run.app"
"""A function URL as long as Cloud Run makes them, for the source-size check before deploy."""
_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=="}
_ASSIGNMENTS_PER_STEP = 50
"""https://cloud.google.com/workflows/quotas: at most 50 assignments in one assign step."""


def check_definition(definition: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidArgsError` (``cloud="gcp"``) for what Cloud Workflows cannot run as
    the portable semantics require, including a compiled source over 128 KB."""
    limits.check_constructs(definition)
    _check_size(_compile(definition, dict.fromkeys(_functions(definition["steps"]), PLACEHOLDER_URL), "w"))


def compile_workflow(definition: Mapping[str, Any], function_urls: Mapping[str, str], *, workflow: str) -> str:
    """Cloud Workflows YAML for ``definition``; ``function_urls`` maps each function a task calls
    to its HTTPS URL; ``workflow`` names the workflow in every task envelope."""
    limits.check_constructs(definition)
    missing = sorted(_functions(definition["steps"]) - set(function_urls))
    if missing:
        raise InvalidArgsError(
            limits.COMPONENT,
            "function_urls",
            missing,
            "a URL for every function a task calls (Cloud Workflows calls tasks over HTTP)",
            cloud=limits.CLOUD,
        )
    text = _compile(definition, function_urls, workflow)
    _check_size(text)
    return text


def _compile(definition: Mapping[str, Any], function_urls: Mapping[str, str], workflow: str) -> str:
    document = _Compiler(definition["steps"], function_urls, workflow).document()
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)


class _Dumper(yaml.SafeDumper):
    """Plain YAML: never anchors and aliases, which Cloud Workflows does not document."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _check_size(text: str) -> None:
    size = len(text.encode())
    if size > limits.SOURCE_BYTES:
        raise InvalidArgsError(
            limits.COMPONENT,
            "steps",
            f"{size} bytes of compiled source",
            f"at most {limits.SOURCE_BYTES} bytes of workflow source ({limits.QUOTAS_DOC}); split the workflow",
            cloud=limits.CLOUD,
        )


def _functions(steps: list[Mapping[str, Any]]) -> set[str]:
    return {step["function"] for step in _all_steps(steps) if step["type"] == "Task"}


def _all_steps(steps: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for step in steps:
        found.append(step)
        nested = [step.get("steps") or [], step.get("default") or []]
        nested += [case["steps"] for case in step.get("cases") or []]
        nested += list(step.get("branches") or [])
        nested += [catch["steps"] for catch in step.get("catch") or []]
        for inner in nested:
            found += _all_steps(inner)
    return found


def _terminal(steps: list[Mapping[str, Any]]) -> bool:
    return bool(steps) and steps[-1]["type"] in ("Fail", "Succeed")


def _key(name: str) -> str:
    """``state["name"]``: state keys match ``[A-Za-z_][A-Za-z0-9_-]*``, safe inside quotes."""
    return f'state["{name}"]'


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class _Compiler:
    def __init__(self, steps: list[Mapping[str, Any]], function_urls: Mapping[str, str], workflow: str) -> None:
        self.top = steps
        self.urls = {name: url.rstrip("/") for name, url in function_urls.items()}
        self.workflow = workflow
        # Generated step names must never equal a user's step name, wherever it is.
        self.step_names: set[str] = {step["name"] for step in _all_steps(steps)}
        self.subworkflows: dict[str, Any] = {}
        self.shared: dict[tuple[str, tuple[Any, ...]], str] = {}
        self.counter = 0
        self.uses_lookup = False

    # --- names -------------------------------------------------------------------------

    def step(self, base: str) -> str:
        name, n = base, 1
        while name in self.step_names:
            n += 1
            name = f"{base}-{n}"
        self.step_names.add(name)
        return name

    def var(self, what: str) -> str:
        # Users never name Workflows variables (their data lives inside ``state``), so the
        # ``oc_`` prefix only has to avoid the standard library (``keys``, ``map``, ``list``...).
        self.counter += 1
        return f"oc_{what}{self.counter}"

    def subworkflow(self, base: str) -> str:
        name, n = f"omnicloud_{re.sub(r'[^A-Za-z0-9_]', '_', base)}", 1
        candidate = name
        while candidate in self.subworkflows or candidate in ("main", LOOKUP):
            n += 1
            candidate = f"{name}_{n}"
        self.subworkflows[candidate] = None  # reserved now, filled once its body is compiled
        return candidate

    # --- document ------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        steps = self.steps(self.top, "main")
        if not _terminal(self.top):
            steps.append({self.step("end"): {"return": "${state}"}})
        document: dict[str, Any] = {"main": {"params": ["state"], "steps": steps}}
        document.update(self.subworkflows)
        if self.uses_lookup:
            document[LOOKUP] = lookup_subworkflow(self.step)
        return document

    def steps(self, steps: list[Mapping[str, Any]], scope: Scope) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for step in steps:
            out += self.compile_step(step, scope)
        return out

    def compile_step(self, step: Mapping[str, Any], scope: Scope) -> list[dict[str, Any]]:
        kind, name = step["type"], step["name"]
        if kind == "Task":
            return self.block(step, self.task(step), scope)
        if kind == "Parallel":
            return self.block(step, self.parallel(step), scope)
        if kind == "Map":
            return self.block(step, self.map(step), scope)
        if kind == "Choice":
            return self.choice(step, scope)
        if kind == "Wait":
            return [{name: {"call": "sys.sleep", "args": {"seconds": step["seconds"]}}}]
        if kind == "Fail":
            return [{name: {"raise": {"error": step["error"], "cause": step.get("cause", "")}}}]
        if kind == "Succeed":
            return [{name: {"return": "${state}" if scope == "main" else {"state": "${state}"}}}]
        raise ValueError(f"unknown step type {kind!r}")

    def assigns(self, base: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        chunks = [entries[i : i + _ASSIGNMENTS_PER_STEP] for i in range(0, len(entries), _ASSIGNMENTS_PER_STEP)]
        return [{self.step(base): {"assign": chunk}} for chunk in chunks]

    def switches(self, base: str, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Switch steps of at most 50 conditions; only for conditions that each end the flow
        (``return``/``raise``), where splitting keeps first-match order."""
        size = limits.CONDITIONS_PER_SWITCH
        return [{self.step(base): {"switch": conditions[i : i + size]}} for i in range(0, len(conditions), size)]

    def lookup(self, base: str, path: str, result: str) -> dict[str, Any]:
        self.uses_lookup = True
        keys = path.split(".")[1:]
        return {self.step(base): {"call": LOOKUP, "args": {"node": "${state}", "path": keys}, "result": result}}

    # --- Task ----------------------------------------------------------------------------

    def task(self, step: Mapping[str, Any]) -> list[dict[str, Any]]:
        name = step["name"]
        steps, payload, lookups = self.task_input(step)
        reply, fault = self.var("reply"), self.var("fault")
        url = self.urls[step["function"]]
        timeout = step.get("timeout_s") or limits.HTTP_TIMEOUT_S
        call = {
            "try": {
                "call": "http.post",
                "args": {
                    "url": url + TASK_ROUTE,
                    "auth": {"type": "OIDC", "audience": url},
                    "timeout": timeout,
                    "body": task_envelope(self.workflow, name, payload),
                },
                "result": reply,
            },
            "except": {
                "as": fault,
                "steps": [
                    {
                        self.step(f"{name}.call-failed"): {
                            "switch": [
                                {
                                    "condition": f'${{"TimeoutError" in {fault}.tags}}',
                                    "raise": {"error": "Timeout", "cause": f"task {name!r} ran longer than {timeout}s"},
                                },
                                {
                                    "condition": f'${{not ("TimeoutError" in {fault}.tags)}}',
                                    "raise": {"error": f"${{{fault}.tags[0]}}", "cause": f"${{{fault}.message}}"},
                                },
                            ]
                        }
                    }
                ],
            },
        }
        steps.append({self.step(f"{name}.call"): call})
        failed = {
            "condition": f'${{"error" in {reply}.body}}',
            "raise": {"error": f"${{{reply}.body.error}}", "cause": f"${{{reply}.body.cause}}"},
        }
        steps.append({self.step(f"{name}.reply"): {"switch": [failed]}})
        store = [{_key(step["result"]): f"${{{reply}.body.output}}"}] if step.get("result") else []
        # Drop the reply and looked-up values: every variable counts against 512 KB of memory.
        steps += self.assigns(f"{name}.result", [*store, *({v: None} for v in [reply, *lookups])])
        return steps

    def task_input(self, step: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Any, list[str]]:
        """Steps resolving the argument paths, the payload, and the lookup variables used."""
        args = step.get("args")
        if args is None:
            return [], "${state}", []
        name = step["name"]
        steps: list[dict[str, Any]] = []
        payload: dict[str, Any] = {}
        missing: list[dict[str, Any]] = []
        lookups: list[str] = []
        for key, value in args.items():
            if not (isinstance(value, str) and value.startswith("$")):
                payload[key] = value
            elif value == "$":
                payload[key] = "${state}"
            else:
                found = self.var("arg")
                lookups.append(found)
                steps.append(self.lookup(f"{name}.{key}", value, found))
                missing.append(
                    {
                        "condition": f"${{not {found}.found}}",
                        "raise": {"error": "PathNotFound", "cause": f"{value} is not in the state"},
                    }
                )
                payload[key] = f"${{{found}.value}}"
        return [*steps, *self.switches(f"{name}.paths", missing)], payload, lookups

    # --- Retry / Catch -------------------------------------------------------------------

    def block(self, step: Mapping[str, Any], attempt: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
        retry = step.get("retry")
        catches = step.get("catch") or []
        retries = bool(retry and retry["max_retries"] > 0)
        if not retries and not catches:
            return [{step["name"]: {"steps": attempt}}]
        body: dict[str, Any] = {"try": {"steps": attempt}}
        if retry and retries:
            body["retry"] = self.retry(retry)
        if catches:
            body["except"] = self.catch(step, catches, scope)
        return [{step["name"]: body}]

    def retry(self, retry: Mapping[str, Any]) -> dict[str, Any]:
        interval, rate, count = retry["interval_s"], retry["backoff_rate"], retry["max_retries"]
        cap = retry.get("max_delay_s")
        if cap is None:
            # Delays are interval * rate**n for n < max_retries: a cap at n = max_retries never
            # bites (a delay over a year cannot happen: no execution lasts longer).
            cap = min(math.ceil(interval * rate**count), limits.SLEEP_MAX_S)
        return {
            "predicate": f"${{{self.predicate(retry['errors'])}}}",
            "max_retries": count,
            "backoff": {"initial_delay": interval, "max_delay": cap, "multiplier": _number(rate)},
        }

    def predicate(self, errors: list[str]) -> str:
        """A subworkflow: is error ``e`` retried? (Workflows passes the raw error map.)"""
        key = ("retry", tuple(errors))
        if key in self.shared:
            return self.shared[key]
        name = self.shared[key] = self.subworkflow("retry")
        if errors == ["ALL"]:
            steps: list[dict[str, Any]] = [{self.step("retry.all"): {"return": True}}]
        else:
            platform = {"condition": '${not ("error" in e)}', "return": False}
            named = [{"condition": f'${{e.error == "{error}"}}', "return": True} for error in errors]
            steps = [
                {self.step("retry.platform"): {"switch": [platform]}},
                *self.switches("retry.named", named),
                {self.step("retry.other"): {"return": False}},
            ]
        self.subworkflows[name] = {"params": ["e"], "steps": steps}
        return name

    def router(self, catches: list[Mapping[str, Any]]) -> str:
        """A subworkflow: the index of the first catch matching (normalised) error ``e``, or -1."""
        key = ("catch", tuple(tuple(catch["errors"]) for catch in catches))
        if key in self.shared:
            return self.shared[key]
        name = self.shared[key] = self.subworkflow("catch")
        conditions: list[dict[str, Any]] = []
        for index, catch in enumerate(catches):
            if catch["errors"] == ["ALL"]:
                conditions.append({"condition": True, "return": index})
            else:
                conditions += [
                    {"condition": f'${{e.error == "{error}"}}', "return": index} for error in catch["errors"]
                ]
        steps = [*self.switches("catch.match", conditions), {self.step("catch.none"): {"return": -1}}]
        self.subworkflows[name] = {"params": ["e"], "steps": steps}
        return name

    def normalise(self, base: str, error: str) -> dict[str, Any]:
        """A platform error (``{message, tags}``) becomes ``{error: <first tag>, cause: message}``."""
        portable = {"error": f"${{{error}.tags[0]}}", "cause": f"${{{error}.message}}"}
        condition = {"condition": f'${{not ("error" in {error})}}', "assign": [{error: portable}]}
        return {self.step(f"{base}.error"): {"switch": [condition]}}

    def catch(self, step: Mapping[str, Any], catches: list[Mapping[str, Any]], scope: Scope) -> dict[str, Any]:
        name = step["name"]
        error, chosen = self.var("error"), self.var("catch")
        cases: list[dict[str, Any]] = []
        for index, catch in enumerate(catches):
            first = [{_key(catch["result"]): f"${{{error}}}"}] if catch.get("result") else []
            handler = [
                *self.assigns(f"{name}.catch{index}", [*first, {error: None}]),
                *self.steps(catch["steps"], scope),
            ]
            cases.append({"condition": f"${{{chosen} == {index}}}", "steps": handler})
        cases.append({"condition": f"${{{chosen} < 0}}", "raise": f"${{{error}}}"})
        route = {"call": self.router(catches), "args": {"e": f"${{{error}}}"}, "result": chosen}
        return {
            "as": error,
            "steps": [
                self.normalise(name, error),
                {self.step(f"{name}.route"): route},
                {self.step(f"{name}.catch"): {"switch": cases}},
            ],
        }

    # --- Parallel / Map ------------------------------------------------------------------

    def branch(self, base: str, steps: list[Mapping[str, Any]]) -> str:
        """A subworkflow running ``steps`` on its ``state`` parameter: ``{"state"}`` or ``{"failed"}``."""
        name = self.subworkflow(base)
        error = self.var("error")
        body = self.steps(steps, "branch")
        if not _terminal(steps):
            body.append({self.step(f"{base}.end"): {"return": {"state": "${state}"}}})
        failed = {self.step(f"{base}.failed"): {"return": {"failed": f"${{{error}}}"}}}
        run = {"try": {"steps": body}, "except": {"as": error, "steps": [self.normalise(base, error), failed]}}
        self.subworkflows[name] = {"params": ["state"], "steps": [{self.step(f"{base}.run"): run}]}
        return name

    def first_failure(self, base: str, outcomes: list[str]) -> list[dict[str, Any]]:
        """Raise the first failed branch's error, in branch order."""
        first = [{"condition": f'${{"failed" in {o}}}', "raise": f"${{{o}.failed}}"} for o in outcomes]
        return self.switches(f"{base}.failed", first)

    def parallel(self, step: Mapping[str, Any]) -> list[dict[str, Any]]:
        name = step["name"]
        outcomes = [self.var("branch") for _ in step["branches"]]
        branches = []
        for index, (steps, outcome) in enumerate(zip(step["branches"], outcomes, strict=True)):
            sub = self.branch(f"{name}.{index}", steps)
            call = {self.step(f"{name}.{index}.call"): {"call": sub, "args": {"state": "${state}"}, "result": outcome}}
            branches.append({self.step(f"{name}.{index}"): {"steps": [call]}})
        run = {"shared": outcomes, "branches": branches}
        store = [{_key(step["result"]): [f"${{{o}.state}}" for o in outcomes]}] if step.get("result") else []
        return [
            *self.assigns(f"{name}.start", [{o: None} for o in outcomes]),
            {self.step(f"{name}.branches"): {"parallel": run}},
            *self.first_failure(name, outcomes),
            *self.assigns(f"{name}.result", [*store, *({o: None} for o in outcomes)]),
        ]

    def map(self, step: Mapping[str, Any]) -> list[dict[str, Any]]:
        name, path = step["name"], step["items"]
        items, runs, item, index = self.var("items"), self.var("runs"), self.var("item"), self.var("index")
        run, results, position, one = self.var("run"), self.var("results"), self.var("position"), self.var("one")
        sub = self.branch(f"{name}.item", step["steps"])
        checks = [
            {
                "condition": f"${{not {items}.found}}",
                "raise": {"error": "PathNotFound", "cause": f"{path} is not in the state"},
            },
            {
                "condition": f'${{{items}.kind != "list"}}',
                "raise": {"error": "InvalidItems", "cause": f"{path} is not a list"},
            },
        ]
        iteration = [
            {
                self.step(f"{name}.each"): {
                    "call": sub,
                    "args": {"state": {"item": f"${{{item}}}", "index": f"${{{index}}}"}},
                    "result": run,
                }
            },
            *self.assigns(f"{name}.keep", [{f"{runs}[string({index})]": f"${{{run}}}"}]),
        ]
        loop: dict[str, Any] = {"shared": [runs]}
        if step.get("max_concurrency") is not None:
            loop["concurrency_limit"] = min(step["max_concurrency"], limits.CONCURRENT_BRANCHES)
        loop["for"] = {"value": item, "index": index, "in": f"${{{items}.value}}", "steps": iteration}
        # In item order: the first failed iteration fails the block, else collect the states.
        ordered = [
            *self.assigns(f"{name}.next", [{one: f"${{{runs}[string({position})]}}"}]),
            {
                self.step(f"{name}.failed"): {
                    "switch": [{"condition": f'${{"failed" in {one}}}', "raise": f"${{{one}.failed}}"}]
                }
            },
        ]
        if step.get("result"):
            ordered += self.assigns(f"{name}.append", [{results: f"${{list.concat({results}, {one}.state)}}"}])
        store = [{_key(step["result"]): f"${{{results}}}"}] if step.get("result") else []
        return [
            self.lookup(f"{name}.items", path, items),
            *self.switches(f"{name}.check", checks),
            *self.assigns(f"{name}.start", [{runs: {}}, {results: []}]),
            {self.step(f"{name}.iterations"): {"parallel": loop}},
            {
                self.step(f"{name}.order"): {
                    "for": {
                        "value": self.var("unused"),
                        "index": position,
                        "in": f"${{{items}.value}}",
                        "steps": ordered,
                    }
                }
            },
            *self.assigns(f"{name}.result", [*store, {items: None}, {runs: None}, {results: None}]),
        ]

    # --- Choice --------------------------------------------------------------------------

    def choice(self, step: Mapping[str, Any], scope: Scope) -> list[dict[str, Any]]:
        name = step["name"]
        test = _Conditions(self, name)
        conditions = [test.expression(case["when"]) for case in step["cases"]]
        taken = self.var("taken")
        picks: list[str] = []
        chain: list[dict[str, Any]] = [{taken: False}]
        for expression in conditions:
            pick = self.var("case")
            # Case i holds and no earlier case did: exactly one switch condition is ever true.
            chain += [{pick: f"${{not {taken} and ({expression})}}"}, {taken: f"${{{taken} or {pick}}}"}]
            picks.append(pick)
        cases = [
            {"condition": f"${{{pick}}}", "steps": self.steps(case["steps"], scope)}
            for pick, case in zip(picks, step["cases"], strict=True)
        ]
        if step.get("default"):
            cases.append({"condition": f"${{not {taken}}}", "steps": self.steps(step["default"], scope)})
        return [
            *test.prelude,
            *self.assigns(f"{name}.values", test.values),
            *test.typed,
            *self.assigns(f"{name}.cases", chain),
            {name: {"switch": cases}},
        ]


class _Conditions:
    """Compiles Choice conditions to expressions that never compare values of different types.

    Each path is looked up once (``prelude``); typed comparisons (``<``, ``==`` with a string,
    number or boolean) are computed into a boolean variable by a step guarded by the value's
    kind (``typed``), starting false (``values``, which also hold the literals). What remains —
    ``found``, kind tests, those booleans, ``and``/``or``/``not`` — is safe in any order.
    """

    def __init__(self, compiler: _Compiler, name: str) -> None:
        self.compiler = compiler
        self.name = name
        self.paths: dict[str, str] = {}
        self.prelude: list[dict[str, Any]] = []
        self.values: list[dict[str, Any]] = []
        self.typed: list[dict[str, Any]] = []

    def path(self, path: str) -> str:
        if path not in self.paths:
            found = self.paths[path] = self.compiler.var("path")
            self.prelude.append(self.compiler.lookup(f"{self.name}.path", path, found))
        return self.paths[path]

    def expression(self, cond: Mapping[str, Any]) -> str:
        op = cond["op"]
        if op in ("and", "or"):
            return "(" + f" {op} ".join(self.expression(sub) for sub in cond["conds"]) + ")"
        if op == "not":
            return f"(not {self.expression(cond['cond'])})"
        found = self.path(cond["path"])
        if op == "exists":
            return f"{found}.found"
        if op == "is_null" or (op in ("eq", "ne") and cond["value"] is None):
            equal = f'({found}.kind == "null")'
        else:
            equal = self.compare(found, _COMPARE.get(op, "=="), cond["value"])
        if op == "ne":
            # ne on a missing path is false like every comparison (ne included).
            return f"({found}.found and not {equal})"
        return equal

    def compare(self, found: str, operator: str, literal: str | int | float | bool) -> str:
        kind = "boolean" if isinstance(literal, bool) else "string" if isinstance(literal, str) else "number"
        value, holds = self.compiler.var("literal"), self.compiler.var("holds")
        self.values += [{value: literal}, {holds: False}]
        guarded = {
            "condition": f'${{{found}.kind == "{kind}"}}',
            "assign": [{holds: f"${{{found}.value {operator} {value}}}"}],
        }
        self.typed.append({self.compiler.step(f"{self.name}.test"): {"switch": [guarded]}})
        return holds


__all__ = ["PLACEHOLDER_URL", "check_definition", "compile_workflow"]
