"""How omnicloud's ``Function`` scales with the number of functions, against raw pulumi_aws.

For each N it builds N public HTTP Functions on AWS under the Pulumi mock engine twice:

* ``omnicloud``: ``Function(f"fn{i}", FunctionArgs(handler="functions.api.handle", http="public"))``;
* ``raw``: hand-written ``pulumi_aws`` code registering exactly the same resources with
  exactly the same inputs (role, log group, log policy, Lambda, Function URL, the two public
  permissions, under a plain ``ComponentResource`` of the same type so URNs match too).

Both run inside the same :class:`components.testing.MockStack` harness, so the mock
engine's cost is the same on both sides and the ratio isolates omnicloud's own overhead
(validation, pydantic args, archive lookup, provider dispatch, extra Outputs).

Before anything is timed, a verification run per N checks that both variants registered
the same number of resources, the same multiset of type tokens, and the same
(URN, inputs) set (a digest of it), so the comparison is apples to apples.

Each measurement runs in a fresh subprocess (this script re-invokes itself with
``--worker``), so peaks never accumulate across variants or sizes:

* time: wall time (``time.perf_counter``) of one whole program inside a fresh ``MockStack``
  (construction + the engine settling every registration), median of ``--repeat`` runs, after
  one small warm-up program (lazy SDK imports, the cached archive);
* memory: ``tracemalloc`` peak of Python allocations during one program (separate
  subprocess, since tracemalloc slows Python down), plus ``ru_maxrss`` of the timing process.

Usage::

    python benchmarks/function_scaling.py                 # N = 50, 200, 1000; 3 repetitions
    python benchmarks/function_scaling.py --quick         # N = 50, 200; 1 repetition (CI smoke)
    python benchmarks/function_scaling.py --json out.json # also write the raw numbers
    python benchmarks/function_scaling.py --sizes 10,100 --repeat 5
    python benchmarks/function_scaling.py --profile 1000  # cProfile the omnicloud variant
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


def run_once(variant: str, n: int) -> Any:
    """One program in a fresh MockStack; returns the stack (settled on exit)."""
    from components.testing import MockStack

    with MockStack(cloud="aws", root=str(REPO_ROOT)) as stack:
        PROGRAMS[variant](n)
    return stack


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


# ---------------------------------------------------------------------------------------
# Workers (run in a fresh subprocess each).
# ---------------------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    """JSON for recorded inputs; assets/archives (deserialized as objects) by kind and path."""
    import pulumi

    def default(obj: Any) -> Any:
        if isinstance(obj, pulumi.FileArchive | pulumi.FileAsset):
            return {type(obj).__name__: obj.path}
        raise TypeError(f"cannot compare {type(obj).__name__} values")

    return json.dumps(value, sort_keys=True, default=default)


def worker_verify(variant: str, n: int) -> dict[str, Any]:
    stack = run_once(variant, n)
    types = Counter(r.type for r in stack.resources)
    digest = hashlib.sha256()
    for urn, inputs in sorted(
        (r.urn, _canonical(r.inputs)) for r in stack.resources
    ):
        digest.update(f"{urn}\n{inputs}\n".encode())
    return {"count": len(stack.resources), "types": dict(types), "digest": digest.hexdigest()}


def worker_time(variant: str, n: int, repeat: int) -> dict[str, Any]:
    _warm_up()
    rss_before = _maxrss_mb()
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run_once(variant, n)
        times.append(time.perf_counter() - start)
    return {"times_s": times, "maxrss_before_mb": rss_before, "maxrss_mb": _maxrss_mb()}


def worker_memory(variant: str, n: int) -> dict[str, Any]:
    import tracemalloc

    _warm_up()
    tracemalloc.start()
    run_once(variant, n)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"tracemalloc_peak_mb": peak / (1024 * 1024)}


def worker_profile(variant: str, n: int, top: int) -> None:
    import cProfile
    import pstats

    _warm_up()
    profiler = cProfile.Profile()
    profiler.enable()
    run_once(variant, n)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def _spawn(*args: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=WORKER_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------------------


def verify(n: int) -> dict[str, Any]:
    """Both variants must register the same resources with the same inputs."""
    got = {variant: _spawn("verify", variant, str(n)) for variant in VARIANTS}
    omni, raw = got["omnicloud"], got["raw"]
    assert omni["count"] == raw["count"], f"N={n}: {omni['count']} vs {raw['count']} resources"
    assert Counter(omni["types"]) == Counter(raw["types"]), (
        f"N={n}: resource types differ: {omni['types']} vs {raw['types']}"
    )
    assert omni["digest"] == raw["digest"], f"N={n}: same types, but URNs or inputs differ"
    return {"count": omni["count"], "types": omni["types"]}


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


def render(results: list[dict[str, Any]], info: dict[str, Any], repeat: int) -> str:
    lines = [
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"pulumi {info['pulumi_sdk']}, pulumi-aws {info['pulumi_aws']}; "
        f"median of {repeat} run(s) per cell, each in a fresh MockStack.",
        "",
        "| N | resources | omnicloud s | raw s | ratio | omnicloud peak MB | raw peak MB "
        "| omnicloud ms/fn | raw ms/fn |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results:
        lines.append(
            f"| {row['n']} | {row['resources']} | {row['omnicloud']['time_s']:.2f} "
            f"| {row['raw']['time_s']:.2f} | {row['ratio']:.2f}x "
            f"| {row['omnicloud']['peak_mb']:.1f} | {row['raw']['peak_mb']:.1f} "
            f"| {row['omnicloud']['ms_per_fn']:.1f} | {row['raw']['ms_per_fn']:.1f} |"
        )
    if len(results) >= 2:
        first, last = results[0], results[-1]
        lines += [
            "",
            f"Linearity (ms/fn at N={last['n']} / ms/fn at N={first['n']}; 1.00 = linear): "
            f"omnicloud {last['omnicloud']['ms_per_fn'] / first['omnicloud']['ms_per_fn']:.2f}, "
            f"raw {last['raw']['ms_per_fn'] / first['raw']['ms_per_fn']:.2f}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N=50,200 and 1 repetition (CI smoke)")
    parser.add_argument("--sizes", help="comma-separated N values (default 50,200,1000)")
    parser.add_argument("--repeat", type=int, help="repetitions per cell (default 3; --quick: 1)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--profile", type=int, metavar="N", help="cProfile one variant at N and exit")
    parser.add_argument("--variant", choices=VARIANTS, default="omnicloud", help="with --profile")
    parser.add_argument("--top", type=int, default=40, help="with --profile: rows to print")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, variant, n = args.worker[0], args.worker[1], int(args.worker[2])
        if kind == "verify":
            out = worker_verify(variant, n)
        elif kind == "time":
            out = worker_time(variant, n, int(args.worker[3]))
        elif kind == "memory":
            out = worker_memory(variant, n)
        else:
            raise SystemExit(f"unknown worker {kind}")
        print(json.dumps(out))
        return 0

    if args.profile:
        worker_profile(args.variant, args.profile, args.top)
        return 0

    sizes = (
        tuple(int(s) for s in args.sizes.split(","))
        if args.sizes
        else QUICK_SIZES if args.quick else FULL_SIZES
    )
    repeat = args.repeat or (1 if args.quick else 3)
    info = machine_info()
    started = time.perf_counter()
    results = []
    for n in sizes:
        checked = verify(n)
        row: dict[str, Any] = {"n": n, "resources": checked["count"], "types": checked["types"]}
        for variant in VARIANTS:
            timed = _spawn("time", variant, str(n), str(repeat))
            cell = {
                "times_s": timed["times_s"],
                "time_s": statistics.median(timed["times_s"]),
                "best_s": min(timed["times_s"]),
                "maxrss_mb": timed["maxrss_mb"],
                "maxrss_before_mb": timed["maxrss_before_mb"],
            }
            cell["ms_per_fn"] = 1000 * cell["time_s"] / n
            if not args.no_memory:
                cell["peak_mb"] = _spawn("memory", variant, str(n))["tracemalloc_peak_mb"]
            else:
                cell["peak_mb"] = float("nan")
            row[variant] = cell
            print(f"N={n} {variant}: {cell['time_s']:.2f} s, peak {cell['peak_mb']:.1f} MB",
                  file=sys.stderr, flush=True)
        row["ratio"] = row["omnicloud"]["time_s"] / row["raw"]["time_s"]
        results.append(row)
    elapsed = time.perf_counter() - started

    print(render(results, info, repeat))
    print(f"\n(total benchmark wall time {elapsed:.0f} s)")
    if args.json:
        payload = {"machine": info, "repeat": repeat, "sizes": list(sizes), "results": results,
                   "total_wall_s": elapsed}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
