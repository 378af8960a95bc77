"""The Cloud Workflows compiler, structurally: what the YAML says, against Google's documentation.

The agreement tests (``tests/workflow/test_agreement_gcp.py``) run the goldens on an emulator;
these pin the shape of what is compiled — including the constructs the emulator cannot run
faithfully (fractional back-off multipliers, ``max_delay`` caps, ``null`` in the state) — and
every limit :func:`check_definition` enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from components.errors import InvalidArgsError
from components.runtime.orchestration.task import task_envelope
from components.workflow import (
    Case,
    Catch,
    Choice,
    Eq,
    Exists,
    Fail,
    IsNull,
    Lt,
    Map,
    Ne,
    Parallel,
    Retry,
    Succeed,
    Task,
    Wait,
    WorkflowArgs,
    definition_to_json,
)
from providers.gcp import workflows_limits as limits
from providers.gcp.workflows_yaml import check_definition, compile_workflow
from tests.workflow.golden import GOLDEN

URLS = {
    name: f"https://{name}-abc123-uc.a.run.app" for name in ("echo", "add", "fail", "boom", "flaky", "slow", "price")
}


def definition(*steps: Any) -> dict[str, Any]:
    return definition_to_json(WorkflowArgs(steps=list(steps)))


def compiled(*steps: Any) -> dict[str, Any]:
    return yaml.safe_load(compile_workflow(definition(*steps), URLS, workflow="checkout"))


def steps_of(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named step anywhere under ``node`` (subworkflows, try, except, switch, branches, for)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "steps" and isinstance(value, list):
                for item in value:
                    name, body = next(iter(item.items()))
                    yield name, body
            if key == "branches" and isinstance(value, list):
                for item in value:
                    yield next(iter(item.items()))
            yield from steps_of(value)
    elif isinstance(node, list):
        for item in node:
            yield from steps_of(item)


def step(document: dict[str, Any], name: str) -> dict[str, Any]:
    found = [body for step_name, body in steps_of(document) if step_name == name]
    assert len(found) == 1, f"{name}: {len(found)} steps"
    return found[0]


def called(document: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The subworkflow a ``call`` or a ``${name}`` reference points at."""
    return document[body.strip("${}") if isinstance(body, str) else body["call"]]


# --- the document -------------------------------------------------------------------------------


def test_source_is_deterministic_yaml_whose_main_takes_the_state() -> None:
    golden = next(g for g in GOLDEN if g.name == "nested-map-in-parallel-in-choice")
    first = compile_workflow(golden.definition, URLS, workflow="checkout")
    assert first == compile_workflow(golden.definition, URLS, workflow="checkout")
    document = yaml.safe_load(first)
    assert next(iter(document)) == "main"
    assert document["main"]["params"] == ["state"]
    assert all(name.startswith("omnicloud_") for name in list(document)[1:])
    assert "&id" not in first and "*id" not in first  # plain YAML, no anchors or aliases


def test_every_golden_compiles_and_passes_the_checks() -> None:
    for golden in GOLDEN:
        check_definition(golden.definition)
        assert yaml.safe_load(compile_workflow(golden.definition, URLS, workflow="checkout"))["main"]


def test_generated_step_names_never_collide_with_the_users() -> None:
    users = ["t.call", "t.reply", "end", "lookup.walk", "t.result"]
    document = compiled(
        Task("t", "echo", args={"x": "$.x"}, result="r"),
        *(Task(name, "echo") for name in users),
    )
    names = [name for name, _ in steps_of(document)]
    assert len(names) == len(set(names))
    for name in users:
        # Each user name still names the user's own step: a task block whose first step posts.
        first = next(iter(step(document, name)["steps"][0].values()))
        assert first["try"]["call"] == "http.post"
        assert first["try"]["args"]["body"]["omnicloud"]["step"] == name


# --- Task ---------------------------------------------------------------------------------------


def test_task_posts_the_envelope_to_the_task_route_with_an_oidc_token() -> None:
    document = compiled(Task("reserve", "echo", args={"id": "$.order.id", "n": 5, "all": "$"}, result="r"))
    call = step(document, "reserve.call")["try"]
    assert call["call"] == "http.post"
    assert call["args"]["url"] == "https://echo-abc123-uc.a.run.app/_omnicloud/task"
    assert call["args"]["auth"] == {"type": "OIDC", "audience": "https://echo-abc123-uc.a.run.app"}
    found = step(document, "reserve.id")["result"]
    assert call["args"]["body"] == task_envelope(
        "checkout", "reserve", {"id": f"${{{found}.value}}", "n": 5, "all": "${state}"}
    )
    reply = call["result"]
    assert step(document, "reserve.result")["assign"][0] == {'state["r"]': f"${{{reply}.body.output}}"}


def test_a_reply_error_is_raised_as_error_and_cause() -> None:
    document = compiled(Task("charge", "fail"))
    reply = step(document, "charge.call")["try"]["result"]
    assert step(document, "charge.reply")["switch"] == [
        {
            "condition": f'${{"error" in {reply}.body}}',
            "raise": {"error": f"${{{reply}.body.error}}", "cause": f"${{{reply}.body.cause}}"},
        }
    ]


def test_a_task_without_args_sends_the_whole_state() -> None:
    body = step(compiled(Task("t", "echo")), "t.call")["try"]["args"]["body"]
    assert body["input"] == "${state}"


def test_missing_argument_paths_raise_path_not_found_in_argument_order() -> None:
    document = compiled(Task("t", "echo", args={"a": "$.x.y", "b": "$.z"}))
    first, second = step(document, "t.a")["result"], step(document, "t.b")["result"]
    assert step(document, "t.a")["args"] == {"node": "${state}", "path": ["x", "y"]}
    assert step(document, "t.paths")["switch"] == [
        {
            "condition": f"${{not {first}.found}}",
            "raise": {"error": "PathNotFound", "cause": "$.x.y is not in the state"},
        },
        {
            "condition": f"${{not {second}.found}}",
            "raise": {"error": "PathNotFound", "cause": "$.z is not in the state"},
        },
    ]


@pytest.mark.parametrize(("timeout_s", "seconds"), [(None, 1800), (5, 5)])
def test_a_timed_out_call_fails_with_timeout_and_the_interpreters_cause(timeout_s: int | None, seconds: int) -> None:
    call = step(compiled(Task("slowpoke", "slow", timeout_s=timeout_s)), "slowpoke.call")
    assert call["try"]["args"]["timeout"] == seconds
    fault = call["except"]["as"]
    timeout, other = call["except"]["steps"][0]["slowpoke.call-failed"]["switch"]
    assert timeout == {
        "condition": f'${{"TimeoutError" in {fault}.tags}}',
        "raise": {"error": "Timeout", "cause": f"task 'slowpoke' ran longer than {seconds}s"},
    }
    # Any other call failure (non-2xx, connection) keeps the platform's name and message.
    assert other["raise"] == {"error": f"${{{fault}.tags[0]}}", "cause": f"${{{fault}.message}}"}


# --- Retry --------------------------------------------------------------------------------------


def test_retry_is_try_retry_with_the_interpreters_backoff() -> None:
    retry = Retry(errors=["Throttled"], max_retries=4, interval_s=2, backoff_rate=1.5, max_delay_s=10)
    block = step(compiled(Task("t", "flaky", retry=retry)), "t")
    assert set(block) == {"try", "retry"}
    # initial_delay * multiplier**n, capped at max_delay: the interpreter's formula, a double
    # multiplier (Cloud Workflows' own default back-off multiplies by 1.25).
    assert block["retry"]["max_retries"] == 4
    assert block["retry"]["backoff"] == {"initial_delay": 2, "max_delay": 10, "multiplier": 1.5}


def test_without_max_delay_the_cap_is_one_no_retry_reaches() -> None:
    block = step(compiled(Task("t", "flaky", retry=Retry(max_retries=3, interval_s=3, backoff_rate=2.0))), "t")
    assert block["retry"]["backoff"] == {"initial_delay": 3, "max_delay": 24, "multiplier": 2}
    huge = step(compiled(Task("u", "flaky", retry=Retry(max_retries=100, interval_s=3600, backoff_rate=10))), "u")
    assert huge["retry"]["backoff"]["max_delay"] == limits.SLEEP_MAX_S


@pytest.mark.parametrize("name", ["retry-succeeds-late", "retry-exhausted-uncaught", "retry-max-delay-caps-backoff"])
def test_compiled_backoff_follows_the_interpreters_schedule(name: str) -> None:
    golden = next(g for g in GOLDEN if g.name == name)
    document = yaml.safe_load(compile_workflow(golden.definition, URLS, workflow="checkout"))
    backoff = step(document, "t")["retry"]["backoff"]
    # Workflows: "Delay in seconds between the initial failure and the first retry", each next
    # one the previous times multiplier, never above max_delay.
    delays = [min(backoff["initial_delay"] * backoff["multiplier"] ** n, backoff["max_delay"]) for n in range(4)]
    assert tuple(delays[: len(golden.sleeps)]) == golden.sleeps


def test_zero_retries_compile_to_no_retry_block() -> None:
    without = step(compiled(Task("t", "flaky")), "t")
    assert set(without) == {"steps"}
    assert step(compiled(Task("t", "flaky", retry=Retry(max_retries=0))), "t") == without


def test_the_retry_predicate_matches_only_the_named_errors() -> None:
    document = compiled(Task("t", "flaky", retry=Retry(errors=["Throttled", "Busy"], max_retries=2)))
    predicate = called(document, step(document, "t")["retry"]["predicate"])
    assert predicate["params"] == ["e"]
    platform, named, other = (next(iter(s.values())) for s in predicate["steps"])
    # A platform error map has no "error" key: never retried by name.
    assert platform["switch"] == [{"condition": '${not ("error" in e)}', "return": False}]
    assert named["switch"] == [
        {"condition": '${e.error == "Throttled"}', "return": True},
        {"condition": '${e.error == "Busy"}', "return": True},
    ]
    assert other == {"return": False}


def test_retry_on_all_retries_every_error() -> None:
    document = compiled(Task("t", "flaky", retry=Retry(max_retries=2)))
    predicate = called(document, step(document, "t")["retry"]["predicate"])
    assert [next(iter(s.values())) for s in predicate["steps"]] == [{"return": True}]


# --- Catch --------------------------------------------------------------------------------------


def test_except_routes_to_the_first_matching_catch_and_reraises_the_rest() -> None:
    document = compiled(
        Task(
            "t",
            "fail",
            catch=[
                Catch(errors=["Declined", "Expired"], result="why", steps=[Task("declined", "echo")]),
                Catch(steps=[Fail("other", error="Other")]),
            ],
        ),
        Task("after", "echo"),
    )
    handler = step(document, "t")["except"]
    error = handler["as"]
    router = called(document, step(document, "t.route"))
    assert step(document, "t.route")["args"] == {"e": f"${{{error}}}"}
    assert [c for s in router["steps"][:-1] for c in next(iter(s.values()))["switch"]] == [
        {"condition": '${e.error == "Declined"}', "return": 0},
        {"condition": '${e.error == "Expired"}', "return": 0},
        {"condition": True, "return": 1},
    ]
    assert next(iter(router["steps"][-1].values())) == {"return": -1}
    chosen = step(document, "t.route")["result"]
    first, second, unmatched = step(document, "t.catch")["switch"]
    assert first["condition"] == f"${{{chosen} == 0}}"
    assert first["steps"][0]["t.catch0"]["assign"] == [{'state["why"]': f"${{{error}}}"}, {error: None}]
    assert "declined" in first["steps"][1]
    assert second["steps"][1] == {"other": {"raise": {"error": "Other", "cause": ""}}}
    assert unmatched == {"condition": f"${{{chosen} < 0}}", "raise": f"${{{error}}}"}
    # The block rejoins: the next user step follows the try step in main.
    assert [next(iter(s)) for s in document["main"]["steps"]] == ["t", "after", "end"]


def test_a_platform_error_is_normalised_before_routing() -> None:
    document = compiled(Task("t", "fail", catch=[Catch(steps=[])]))
    error = step(document, "t")["except"]["as"]
    assert step(document, "t.error")["switch"] == [
        {
            "condition": f'${{not ("error" in {error})}}',
            "assign": [{error: {"error": f"${{{error}.tags[0]}}", "cause": f"${{{error}.message}}"}}],
        }
    ]


# --- Parallel and Map ---------------------------------------------------------------------------


def test_parallel_branches_run_subworkflows_into_shared_outcomes_stored_in_order() -> None:
    document = compiled(Parallel("both", branches=[[Task("l", "echo")], [Succeed("stop")]], result="res"))
    run = step(document, "both.branches")["parallel"]
    outcomes = run["shared"]
    assert len(outcomes) == 2 and len(run["branches"]) == 2
    for index, branch in enumerate(run["branches"]):
        (call,) = next(iter(branch.values()))["steps"]
        body = next(iter(call.values()))
        assert body["args"] == {"state": "${state}"} and body["result"] == outcomes[index]
        assert document[body["call"]]["params"] == ["state"]
    assert step(document, "both.failed")["switch"] == [
        {"condition": f'${{"failed" in {o}}}', "raise": f"${{{o}.failed}}"} for o in outcomes
    ]
    assert step(document, "both.result")["assign"][0] == {'state["res"]': [f"${{{o}.state}}" for o in outcomes]}
    # Succeed ends only its branch: the branch subworkflow returns its state.
    assert step(document, "stop") == {"return": {"state": "${state}"}}


@pytest.mark.parametrize(("max_concurrency", "limit"), [(2, 2), (20, 20), (50, 20), (None, None)])
def test_map_is_a_parallel_for_with_a_concurrency_limit(max_concurrency: int | None, limit: int | None) -> None:
    document = compiled(Map("lines", items="$.lines", steps=[Task("p", "price")], max_concurrency=max_concurrency))
    loop = step(document, "lines.iterations")["parallel"]
    assert loop.get("concurrency_limit") == limit
    items = step(document, "lines.items")["result"]
    assert loop["for"]["in"] == f"${{{items}.value}}"
    runs = loop["shared"][0]
    each = step(document, "lines.each")
    value, index = loop["for"]["value"], loop["for"]["index"]
    assert each["args"] == {"state": {"item": f"${{{value}}}", "index": f"${{{index}}}"}}
    # Results are written by index, so they are read back in item order.
    assert step(document, "lines.keep")["assign"] == [{f"{runs}[string({index})]": f"${{{each['result']}}}"}]


def test_map_items_missing_or_not_a_list_raise_like_the_interpreter() -> None:
    document = compiled(Map("lines", items="$.order.lines", steps=[Task("p", "price")]))
    items = step(document, "lines.items")
    assert items["args"] == {"node": "${state}", "path": ["order", "lines"]}
    found = items["result"]
    missing = {"error": "PathNotFound", "cause": "$.order.lines is not in the state"}
    not_a_list = {"error": "InvalidItems", "cause": "$.order.lines is not a list"}
    assert step(document, "lines.check")["switch"] == [
        {"condition": f"${{not {found}.found}}", "raise": missing},
        {"condition": f'${{{found}.kind != "list"}}', "raise": not_a_list},
    ]


# --- Choice -------------------------------------------------------------------------------------


def test_choice_is_a_switch_taking_the_first_true_case_then_rejoining() -> None:
    document = compiled(
        Choice(
            "kind",
            cases=[Case(Exists("$.a"), [Task("one", "echo")]), Case(Exists("$.b"), [Task("two", "echo")])],
            default=[Task("other", "echo")],
        ),
        Task("after", "echo"),
    )
    chain = step(document, "kind.cases")["assign"]
    taken = next(iter(chain[0]))
    first, second = next(iter(chain[1])), next(iter(chain[3]))
    a, b = (step(document, name)["result"] for name in ("kind.path", "kind.path-2"))
    assert chain == [
        {taken: False},
        {first: f"${{not {taken} and ({a}.found)}}"},
        {taken: f"${{{taken} or {first}}}"},
        {second: f"${{not {taken} and ({b}.found)}}"},
        {taken: f"${{{taken} or {second}}}"},
    ]
    switch = step(document, "kind")["switch"]
    assert [case["condition"] for case in switch] == [f"${{{first}}}", f"${{{second}}}", f"${{not {taken}}}"]
    assert [next(iter(s)) for s in document["main"]["steps"]][-2:] == ["after", "end"]


def test_null_tests_look_at_the_kind_of_the_value_not_its_text() -> None:
    document = compiled(
        Choice(
            "nulls",
            cases=[
                Case(IsNull("$.a"), [Task("one", "echo")]),
                Case(Eq("$.a", None), [Task("two", "echo")]),
                Case(Ne("$.a", None), [Task("three", "echo")]),
            ],
        )
    )
    a = step(document, "nulls.path")["result"]
    expressions = [next(iter(entry.values())) for entry in step(document, "nulls.cases")["assign"][1::2]]
    assert [e.split(" and (", 1)[1] for e in expressions] == [
        f'({a}.kind == "null"))}}',
        f'({a}.kind == "null"))}}',
        f'({a}.found and not ({a}.kind == "null")))}}',
    ]
    lookup = document["omnicloud_lookup"]
    assert {"nothing": None} in step(lookup, "lookup.probes")["assign"]
    assert {
        "condition": "${get_type(node) == get_type(nothing)}",
        "return": {"found": True, "kind": "null", "value": "${node}"},
    } in step(lookup, "lookup.classify")["try"]["switch"]


def test_ordered_comparisons_run_only_on_values_of_the_literals_kind() -> None:
    document = compiled(Choice("band", cases=[Case(Lt("$.n", 5), [Task("low", "echo")])]))
    n = step(document, "band.path")["result"]
    literal, holds = (next(iter(entry)) for entry in step(document, "band.values")["assign"])
    assert step(document, "band.values")["assign"] == [{literal: 5}, {holds: False}]
    assert step(document, "band.test")["switch"] == [
        {"condition": f'${{{n}.kind == "number"}}', "assign": [{holds: f"${{{n}.value < {literal}}}"}]}
    ]


# --- Wait, Fail, Succeed ------------------------------------------------------------------------


def test_wait_fail_and_succeed_at_top_level() -> None:
    document = compiled(
        Wait("pause", seconds=7), Choice("c", cases=[Case(Exists("$.x"), [Succeed("done")])]), Fail("Boom", cause="no")
    )
    assert step(document, "pause") == {"call": "sys.sleep", "args": {"seconds": 7}}
    assert step(document, "done") == {"return": "${state}"}
    assert step(document, "Boom") == {"raise": {"error": "Boom", "cause": "no"}}
    assert next(iter(document["main"]["steps"][-1])) == "Boom"  # nothing after a Fail


# --- structural invariants ----------------------------------------------------------------------


def _switches(node: Any) -> Iterator[list[dict[str, Any]]]:
    if isinstance(node, dict):
        if isinstance(node.get("switch"), list):
            yield node["switch"]
        for value in node.values():
            yield from _switches(value)
    elif isinstance(node, list):
        for item in node:
            yield from _switches(item)


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_every_switch_means_the_same_under_first_match_and_all_match(golden: Any) -> None:
    """Either one condition, or conditions that all end the flow, or mutually exclusive picks."""
    document = yaml.safe_load(compile_workflow(golden.definition, URLS, workflow="checkout"))
    exclusive = re.compile(r"^\$\{(oc_case\d+|not oc_taken\d+|oc_catch\d+ (== \d+|< 0))\}$")
    for conditions in _switches(document):
        ends = all("raise" in c or "return" in c for c in conditions)
        assert len(conditions) == 1 or ends or all(exclusive.match(str(c["condition"])) for c in conditions)


def _depth(document: dict[str, Any], name: str, seen: tuple[str, ...] = ()) -> int:
    assert name not in seen, f"recursive call through {name}"
    text = yaml.safe_dump(document[name])
    callees = set(re.findall(r"call: (omnicloud_\w+)", text)) | set(re.findall(r"\$\{(omnicloud_\w+)\}", text))
    return 1 + max((_depth(document, callee, (*seen, name)) for callee in callees), default=0)


def test_the_deepest_allowed_nesting_stays_within_the_call_stack_limit() -> None:
    leaf = Task(
        "leaf", "echo", args={"x": "$.item.x"}, retry=Retry(errors=["E"], max_retries=1), catch=[Catch(steps=[])]
    )
    inner = Map("m", items="$.xs", steps=[Choice("c2", cases=[Case(Eq("$.item.k", 1), [leaf])])])
    deepest = Choice("c", cases=[Case(Eq("$.a.b", 1), [Parallel("p", branches=[[inner], [Task("t", "echo")]])])])
    document = compiled(deepest)
    # main -> branch -> iteration -> lookup / retry predicate / catch router: https://cloud.google.com/workflows/quotas
    # allows a call stack 20 deep, and Parallel/Map cannot nest deeper than this.
    assert _depth(document, "main") == 4


# --- check_definition ---------------------------------------------------------------------------


def _raw_task(**fields: Any) -> dict[str, Any]:
    """A task in JSON form, for limits the portable model cannot even express."""
    return definition(Task("t", "echo"))["steps"][0] | fields


def _nested_maps(depth: int) -> Any:
    step: Any = Task("leaf", "echo")
    for level in range(depth):
        step = Map(f"m{level}", items="$.item", steps=[step])
    return step


@pytest.mark.parametrize(
    ("raw", "field", "limit"),
    [
        (definition(_nested_maps(3)), "steps[0].steps[0].steps[0]", "at most 2 deep"),
        (definition(Parallel("p", branches=[[Task("a", "echo")], [_nested_maps(2)]])),
         "steps[0].branches[1][0].steps[0]", "at most 2 deep"),
        ({"steps": [{"type": "Parallel", "name": "p", "branches": [[_raw_task(name=f"b{i}")] for i in range(11)],
                     "result": None, "retry": None, "catch": []}]}, "steps[0].branches", "at most 10 branches"),
        (definition(Choice("c", cases=[Case(Exists(f"$.k{i}"), [Task(f"t{i}", "echo")]) for i in range(50)],
                           default=[Task("d", "echo")])), "steps[0].cases", "at most 50 conditions"),
        (definition(Task("t", "echo", catch=[Catch(errors=[f"E{i}"], steps=[]) for i in range(50)])), "steps[0].catch",
         "at most 49 catches"),
        (definition(Task("t", "echo", timeout_s=1801)), "steps[0].timeout_s", "at most 1800 s"),
        ({"steps": [{"type": "Wait", "name": "w", "seconds": 31_536_001}]}, "steps[0].seconds", "at most 31536000 s"),
        (definition(Task("t", "echo", args={"tpl": "hello ${name}"})), "steps[0].args.tpl", "'${'"),
        (definition(Task("t", "echo", args={"deep": {"k": ["${x}"]}})), "steps[0].args.deep.k[0]", "'${'"),
        (definition(Task("t", "echo", args={"big": 2**63})), "steps[0].args.big", "64-bit signed integer"),
        (definition(Fail("f", cause="see ${log}")), "steps[0].cause", "'${'"),
        (definition(Choice("c", cases=[Case(Eq("$.a", "${b}"), [Task("t", "echo")])])), "steps[0].cases[0].when.value",
         "'${'"),
    ],
)  # fmt: skip
def test_check_definition_rejects_what_cloud_workflows_cannot_run(raw: dict[str, Any], field: str, limit: str) -> None:
    with pytest.raises(InvalidArgsError) as raised:
        check_definition(raw)
    assert (raised.value.cloud, raised.value.field) == ("gcp", field)
    assert limit in raised.value.limit
    assert "on gcp" in str(raised.value)


def test_compiled_source_over_128_kb_is_rejected_before_deploy() -> None:
    big = definition(*(Task(f"t{i}", "echo", args={"id": "$.order.id"}) for i in range(60)))
    check_definition(big)
    too_big = definition(*(Task(f"t{i}", "echo", args={"id": "$.order.id"}) for i in range(90)))
    with pytest.raises(InvalidArgsError, match=f"at most {limits.SOURCE_BYTES} bytes"):
        check_definition(too_big)
    with pytest.raises(InvalidArgsError, match=f"at most {limits.SOURCE_BYTES} bytes"):
        compile_workflow(too_big, URLS, workflow="checkout")


def test_every_called_function_needs_a_url() -> None:
    with pytest.raises(InvalidArgsError) as raised:
        compile_workflow(definition(Task("t", "echo"), Task("u", "add")), {"echo": URLS["echo"]}, workflow="w")
    assert (raised.value.field, raised.value.value) == ("function_urls", ["add"])


def test_what_cloud_workflows_caps_instead_of_rejecting_passes() -> None:
    check_definition(definition(Map("m", items="$.xs", steps=[Task("t", "echo")], max_concurrency=1000)))
    check_definition(definition(Task("t", "echo", timeout_s=1800), Wait("w", seconds=31_536_000)))
