"""How omnicloud's ``Function`` scales with the number of functions, against raw pulumi_aws.

For each N it builds N public HTTP Functions on AWS under the Pulumi mock engine twice:

* ``omnicloud``: ``Function(f"fn{i}", FunctionArgs(handler="functions.api.handle", http="public"))``;
* ``raw``: hand-written ``pulumi_aws`` code registering exactly the same resources with
  exactly the same inputs (role, log group, log policy, Lambda, Function URL, the two public
  permissions, under a plain ``ComponentResource`` of the same type so URNs match too).

Both run inside the same :class:`components.testing.MockStack` harness, so the mock
engine's cost is the same on both sides and the ratio isolates omnicloud's own overhead
(validation, pydantic args, archive lookup, provider dispatch, extra Outputs).

Fairness: before anything is timed, both variants run once at the smallest N and must
register the same number of resources, the same multiset of type tokens and the same
(URN, inputs + mocked outputs) set as the engine saw them (a digest). Every measured pair is
checked the same way after its clock stopped, so a drift between the two programs (the
providers change) fails the run instead of skewing it.

Each measurement is one program in a fresh subprocess (this script re-invokes itself with
``--worker``) and a fresh ``MockStack``, so memory peaks never accumulate:

* time: wall time (``time.perf_counter``) of the whole program: construction plus the engine
  settling every registration, after a small warm-up program (lazy SDK imports, archive
  cache) that both variants pay outside the clock. Best of ``--repeat`` runs (other load on
  the machine only ever adds time; medians are in the JSON), the two variants alternating
  first. CPU time (``time.process_time``) is recorded too;
* memory: ``ru_maxrss`` (peak RSS) of that subprocess;
* Python calls per Function (cProfile, one extra run per variant at the smallest N): a
  noise-free proxy for CPU work, whose ratio is steady even on a busy machine.

Usage::

    python benchmarks/function_scaling.py                 # N = 50, 200, 1000; 3 repetitions
    python benchmarks/function_scaling.py --quick         # N = 50, 200; 1 repetition (CI smoke)
    python benchmarks/function_scaling.py --quick --max-ratio 2   # ... failing if omnicloud is >2x raw
    python benchmarks/function_scaling.py --json out.json # also write the raw numbers
    python benchmarks/function_scaling.py --sizes 10,100 --repeat 5
    python benchmarks/function_scaling.py --profile 1000  # cProfile the omnicloud variant
    python benchmarks/function_scaling.py --disable-gc    # the same without CPython's cyclic GC
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

HANDLER = "functions.api.handle"
FULL_SIZES = (50, 200, 1000)
QUICK_SIZES = (50, 200)
VARIANTS = ("omnicloud", "raw")
WARMUP_N = 2
WORKER_TIMEOUT_S = 900


# ---------------------------------------------------------------------------------------
# The two programs. Each builds `n` functions inside an already-entered MockStack.
# ---------------------------------------------------------------------------------------


def program_omnicloud(n: int) -> None:
    from components import Function, FunctionArgs

    for i in range(n):
        Function(f"fn{i}", FunctionArgs(handler=HANDLER, http="public"))


def program_raw(n: int) -> None:
    """What a user would write by hand with pulumi_aws for the same N functions.

    Mirrors providers/aws/function.py for ``http="public"`` with default args: arm64,
    python3.12, 512 MB, 30 s, 30-day log retention, no min/max instances, no schedule.
    The archive is built once (omnicloud's packaging, the same bytes) and shared.
    """
    import pulumi
    import pulumi_aws as aws

    from components.packaging import ArchiveSpec, Vendored, build_archive

    archive = build_archive(
        ArchiveSpec(
            handler=HANDLER,
            dependencies=Vendored(
                platforms=("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
                python_version="3.12",
            ),
        )
    )
    code_path = str(archive.path)
    code_hash = archive.base64_sha256
    project, stack = pulumi.get_project(), pulumi.get_stack()
    assume_role = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        sort_keys=True,
    )

    def log_policy_doc(arn: str) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "FunctionLogs",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": f"{arn}:*",
                    }
                ],
            },
            sort_keys=True,
        )

    for i in range(n):
        name = f"fn{i}"
        group = pulumi.ComponentResource("omnicloud:index:Function", name, None, None)
        child = pulumi.ResourceOptions(parent=group)
        tags = {
            "omnicloud-component": name,
            "omnicloud-project": project,
            "omnicloud-stack": stack,
        }
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role,
            description=f"Execution role of omnicloud Function '{name}'",
            tags=tags,
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/omnicloud/{project}/{stack}/{name}",
            retention_in_days=30,
            tags=tags,
            opts=child,
        )
        log_policy = aws.iam.RolePolicy(
            f"{name}-logs",
            role=role.id,
            policy=log_group.arn.apply(log_policy_doc),
            opts=child,
        )
        function = aws.lambda_.Function(
            name,
            role=role.arn,
            runtime=aws.lambda_.Runtime.PYTHON3D12,
            handler="components.runtime.adapters.aws.handler",
            code=pulumi.FileArchive(code_path),
            source_code_hash=code_hash,
            architectures=["arm64"],
            memory_size=512,
            timeout=30,
            description=f"omnicloud Function '{name}' ({HANDLER})",
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "OMNICLOUD_HANDLER": HANDLER,
                    "OMNICLOUD_FUNCTION": name,
                    "OMNICLOUD_CLOUD": "aws",
                    "OMNICLOUD_HTTP": "public",
                    # Nothing subscribes these functions: omnicloud's late-bound trigger list is empty.
                    "OMNICLOUD_TRIGGERS": "[]",
                }
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=log_group.name,
                application_log_level="INFO",
                system_log_level="WARN",
            ),
            reserved_concurrent_executions=-1,
            publish=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=group, depends_on=[log_policy, log_group]),
        )
        url = aws.lambda_.FunctionUrl(
            f"{name}-url",
            function_name=function.name,
            authorization_type="NONE",
            invoke_mode="BUFFERED",
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-url-public",
            action="lambda:InvokeFunctionUrl",
            function=function.name,
            principal="*",
            function_url_auth_type="NONE",
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-url-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="*",
            invoked_via_function_url=True,
            opts=child,
        )
        group.register_outputs(
            {
                "name": function.name,
                "resource_id": function.arn,
                "url": url.function_url,
                "identity": role.arn,
            }
        )


PROGRAMS = {"omnicloud": program_omnicloud, "raw": program_raw}


def run_once(variant: str, n: int) -> dict[str, dict[str, Any]]:
    """One program in a fresh MockStack (settled on exit).

    Returns what the mock engine registered: URN -> state (the inputs plus the mocked
    outputs computed from them), read from the mock engine's own table so the check does
    not depend on how ``MockStack`` records resources (see README.md, "Harness issue").
    """
    from pulumi.runtime.settings import get_monitor

    from components.testing import MockStack

    with MockStack(cloud="aws", root=str(REPO_ROOT)):
        monitor = get_monitor()
        PROGRAMS[variant](n)
    return {urn: registration.state for urn, registration in monitor.resources.items()}


def _warm_up() -> None:
    # Lazy SDK modules, the provider registry and the archive cache get loaded here for
    # both variants, so neither pays one-time costs inside a measured run.
    import providers.aws.function  # noqa: F401

    for variant in VARIANTS:
        run_once(variant, WARMUP_N)
    gc.collect()


def _maxrss_mb() -> float:
    # Linux reports KiB, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _canonical(value: Any) -> str:
    """JSON for recorded inputs; assets/archives (deserialized as objects) by kind and path."""
    import pulumi

    def default(obj: Any) -> Any:
        if isinstance(obj, pulumi.FileArchive | pulumi.FileAsset):
            return {type(obj).__name__: obj.path}
        raise TypeError(f"cannot compare {type(obj).__name__} values")

    return json.dumps(value, sort_keys=True, default=default)


def _type_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<parent type>$<type>::<name>
    return urn.split("::")[2].split("$")[-1]


def fingerprint(registered: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Count, type multiset and a digest of every (URN, state) the program registered."""
    digest = hashlib.sha256()
    for urn in sorted(registered):
        digest.update(f"{urn}\n{_canonical(registered[urn])}\n".encode())
    return {
        "count": len(registered),
        "types": dict(Counter(_type_of(urn) for urn in registered)),
        "digest": digest.hexdigest(),
    }


# ---------------------------------------------------------------------------------------
# Worker: one measured program in a fresh subprocess.
# ---------------------------------------------------------------------------------------


def worker_run(variant: str, n: int, disable_gc: bool) -> dict[str, Any]:
    _warm_up()
    baseline = _maxrss_mb()
    if disable_gc:
        gc.disable()
    wall, cpu = time.perf_counter(), time.process_time()
    registered = run_once(variant, n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _maxrss_mb()
    # Checked after the clock stopped: what was registered, for the fairness assertion.
    return {"wall_s": wall, "cpu_s": cpu, "maxrss_mb": peak, "baseline_mb": baseline, **fingerprint(registered)}


def worker_calls(variant: str, n: int) -> dict[str, Any]:
    """Python-level calls (function + builtin) per Function: a noise-free proxy for CPU work."""
    import cProfile
    import pstats

    _warm_up()
    profiler = cProfile.Profile()
    profiler.enable()
    run_once(variant, n)
    profiler.disable()
    return {"calls_per_fn": pstats.Stats(profiler).total_calls / n}  # type: ignore[attr-defined]


def worker_profile(variant: str, n: int, top: int) -> None:
    import cProfile
    import pstats

    _warm_up()
    profiler = cProfile.Profile()
    profiler.enable()
    run_once(variant, n)
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"## {variant}, N={n}: omnicloud's own code (components/, providers/), by cumulative time")
    stats.sort_stats("cumulative").print_stats(r"/(components|providers)/(?!.*testing\.py)", top)
    print(f"## {variant}, N={n}: everything, by own time")
    stats.sort_stats("tottime").print_stats(top)


def _spawn(variant: str, n: int, disable_gc: bool, *, calls: bool = False) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", variant, str(n)]
    if disable_gc:
        command.append("--disable-gc")
    if calls:
        command.append("--count-calls")
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=WORKER_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{variant} N={n} failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------------------


def assert_same_resources(n: int, omni: dict[str, Any], raw: dict[str, Any]) -> None:
    """The comparison is only fair if both programs registered the same things.

    Raises (rather than ``assert``) so the gate also holds under ``python -O``.
    """
    if omni["count"] != raw["count"]:
        raise AssertionError(f"N={n}: {omni['count']} vs {raw['count']} resources")
    if Counter(omni["types"]) != Counter(raw["types"]):
        raise AssertionError(f"N={n}: resource types differ: omnicloud {omni['types']} vs raw {raw['types']}")
    if omni["digest"] != raw["digest"]:
        raise AssertionError(
            f"N={n}: same resource types, but URNs or inputs differ; update program_raw to match "
            f"providers/aws/function.py. First differences at N=1:\n{_explain_mismatch()}"
        )


def _explain_mismatch(limit: int = 3) -> str:
    """Which resources differ between the variants (run in-process at N=1)."""
    got = {v: {urn: _canonical(state) for urn, state in run_once(v, 1).items()} for v in VARIANTS}
    omni, raw = got["omnicloud"], got["raw"]
    lines = [
        f"only in {v}: {urn}"
        for v, mine, other in (("omnicloud", omni, raw), ("raw", raw, omni))
        for urn in sorted(set(mine) - set(other))
    ]
    lines += [
        f"{urn}\n  omnicloud: {omni[urn]}\n  raw:       {raw[urn]}"
        for urn in sorted(set(omni) & set(raw))
        if omni[urn] != raw[urn]
    ]
    return "\n".join(lines[:limit]) or (
        "(none at N=1: the project's files probably changed on disk during the run; rerun)"
    )


def measure_pair(n: int, first: str, disable_gc: bool) -> dict[str, dict[str, Any]]:
    order = VARIANTS if first == VARIANTS[0] else tuple(reversed(VARIANTS))
    got = {variant: _spawn(variant, n, disable_gc) for variant in order}
    if got["omnicloud"]["digest"] != got["raw"]["digest"]:
        # The archive hash is an input: if the project's files changed on disk between the two
        # subprocesses (someone editing), the digests differ without either program being at
        # fault. Measure the pair once more before failing.
        print(f"N={n}: registered inputs differ; measuring the pair again", file=sys.stderr)
        got = {variant: _spawn(variant, n, disable_gc) for variant in order}
    assert_same_resources(n, got["omnicloud"], got["raw"])
    return got


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "pulumi_sdk": _dist_version("pulumi"),
        "pulumi_aws": _dist_version("pulumi_aws"),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def render(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    info = meta["machine"]
    lines = [
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"pulumi {info['pulumi_sdk']}, pulumi-aws {info['pulumi_aws']}. "
        f"Best of {meta['repeat']} run(s) per cell, each in a fresh subprocess and MockStack"
        f"{', GC disabled' if meta['disable_gc'] else ''}; "
        f"1-min load average {meta['load_before']} before, {meta['load_after']} after.",
        "",
        "| N | resources | omnicloud s | raw s | ratio | CPU ratio | omnicloud peak MB "
        "| raw peak MB | omnicloud ms/fn | raw ms/fn |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results:
        o, r = row["omnicloud"], row["raw"]
        lines.append(
            f"| {row['n']} | {row['resources']} | {o['wall_s']:.2f} | {r['wall_s']:.2f} "
            f"| {row['ratio']:.2f}x | {row['cpu_ratio']:.2f}x | {o['peak_mb']:.0f} | {r['peak_mb']:.0f} "
            f"| {o['ms_per_fn']:.1f} | {r['ms_per_fn']:.1f} |"
        )
    if len(results) >= 2:
        first, last = results[0], results[-1]
        growth = {v: last[v]["ms_per_fn"] / first[v]["ms_per_fn"] for v in VARIANTS}
        lines += [
            "",
            f"Linearity: ms/fn at N={last['n']} / ms/fn at N={first['n']} (1.00 = linear): "
            f"omnicloud {growth['omnicloud']:.2f}, raw {growth['raw']:.2f}.",
        ]
    calls = meta["calls_per_fn"]
    lines.append(
        f"Python calls per function (cProfile, N={calls['n']}, noise-free): omnicloud "
        f"{calls['omnicloud']:,.0f}, raw {calls['raw']:,.0f}, ratio {calls['ratio']:.2f}x."
    )
    lines.append(
        f"Peak MB = peak RSS of the measuring process (baseline after imports and warm-up "
        f"~{meta['baseline_mb']:.0f} MB)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N=50,200 and 1 repetition (CI smoke)")
    parser.add_argument("--sizes", help="comma-separated N values (default 50,200,1000)")
    parser.add_argument("--repeat", type=int, help="runs per cell (default 3; --quick: 1)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--max-ratio", type=float, metavar="X", help="exit 1 if any omnicloud/raw wall-time ratio exceeds X (CI guard)"
    )
    parser.add_argument(
        "--disable-gc", action="store_true", help="gc.disable() during measured runs (shows the cost of CPython's GC)"
    )
    parser.add_argument("--profile", type=int, metavar="N", help="cProfile one variant at N and exit")
    parser.add_argument("--variant", choices=VARIANTS, default="omnicloud", help="with --profile")
    parser.add_argument("--top", type=int, default=30, help="with --profile: rows to print")
    parser.add_argument("--count-calls", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=2, metavar=("VARIANT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        variant, n = args.worker[0], int(args.worker[1])
        out = worker_calls(variant, n) if args.count_calls else worker_run(variant, n, args.disable_gc)
        print(json.dumps(out))
        return 0
    if args.profile:
        worker_profile(args.variant, args.profile, args.top)
        return 0

    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else QUICK_SIZES if args.quick else FULL_SIZES
    repeat = args.repeat or (1 if args.quick else 3)
    meta: dict[str, Any] = {
        "machine": machine_info(),
        "repeat": repeat,
        "sizes": list(sizes),
        "disable_gc": args.disable_gc,
        "load_before": _load(),
    }
    started = time.perf_counter()

    # Fairness gate before anything is timed: same resources, same inputs, at the smallest N.
    assert_same_resources(min(sizes), *(_spawn(v, min(sizes), args.disable_gc) for v in VARIANTS))

    results = []
    for n in sizes:
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        for rep in range(repeat):
            # Alternate which variant goes first, so drift in machine load hits both alike.
            pair = measure_pair(n, VARIANTS[rep % 2], args.disable_gc)
            for variant in VARIANTS:
                runs[variant].append(pair[variant])
        row: dict[str, Any] = {
            "n": n,
            "resources": runs["omnicloud"][0]["count"],
            "types": runs["omnicloud"][0]["types"],
        }
        for variant in VARIANTS:
            wall = [run["wall_s"] for run in runs[variant]]
            cpu = [run["cpu_s"] for run in runs[variant]]
            row[variant] = {
                "wall_s": min(wall),
                "cpu_s": min(cpu),
                "median_wall_s": statistics.median(wall),
                "median_cpu_s": statistics.median(cpu),
                "runs_wall_s": wall,
                "runs_cpu_s": cpu,
                "peak_mb": max(run["maxrss_mb"] for run in runs[variant]),
                "baseline_mb": statistics.median(run["baseline_mb"] for run in runs[variant]),
                "ms_per_fn": 1000 * min(wall) / n,
            }
            print(
                f"N={n} {variant}: {row[variant]['wall_s']:.2f} s "
                f"(runs {', '.join(f'{w:.2f}' for w in wall)}), peak {row[variant]['peak_mb']:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
        row["ratio"] = row["omnicloud"]["wall_s"] / row["raw"]["wall_s"]
        row["cpu_ratio"] = row["omnicloud"]["cpu_s"] / row["raw"]["cpu_s"]
        results.append(row)

    # Deterministic companion to the timings: Python calls per Function at the smallest N.
    calls = {v: _spawn(v, min(sizes), args.disable_gc, calls=True)["calls_per_fn"] for v in VARIANTS}
    meta["calls_per_fn"] = {**calls, "n": min(sizes), "ratio": calls["omnicloud"] / calls["raw"]}
    meta["load_after"] = _load()
    meta["baseline_mb"] = statistics.median(row[v]["baseline_mb"] for row in results for v in VARIANTS)
    meta["total_wall_s"] = time.perf_counter() - started
    print(render(results, meta))
    print(f"\n(total benchmark wall time {meta['total_wall_s']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({**meta, "results": results}, indent=2) + "\n")
    if args.max_ratio is not None:
        over = [row for row in results if row["ratio"] > args.max_ratio]
        for row in over:
            print(f"FAIL: N={row['n']}: omnicloud/raw = {row['ratio']:.2f}x > {args.max_ratio}x", file=sys.stderr)
        return 1 if over else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
