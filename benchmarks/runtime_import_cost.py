"""How much importing the function runtime adds to a cold start.

Each sample is a fresh interpreter (``sys.executable``, run from the repository root) that
times one import with ``time.perf_counter`` and counts the modules it loaded; the table shows
the median, min and max over ``--runs`` samples, after one discarded warm-up run that writes
the ``.pyc`` files. Interpreter start-up itself is not included.

Most of that time is standard-library modules (dataclasses pulls in inspect; logging) that
the platforms' own bootstraps usually load anyway, so two more columns split it: "own ms" is
the median over further ``-X importtime`` runs of the *self* time of ``components.*``
modules (our code alone), and the "stdlib floor" row times those standard-library imports
without any of our code.

    python benchmarks/runtime_import_cost.py [--runs 15] [--reference]

``--reference`` adds rows for what the runtime must never pull in (pulumi, pydantic), to
put the numbers in proportion.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# (label, statement timed in a fresh interpreter)
CASES = [
    ("components.runtime", "import components.runtime"),
    ("components.runtime.adapters.aws", "import components.runtime.adapters.aws"),
    ("components.runtime.adapters.azure", "import components.runtime.adapters.azure"),
    ("components.runtime.adapters.gcp", "import components.runtime.adapters.gcp"),
    (
        "  azure + build_app() (incl. azure.functions)",
        "import components.runtime.adapters.azure as a; a.build_app('public', '0 0 2 * * *')",
    ),
]
STDLIB_FLOOR = (
    "  stdlib floor (same stdlib modules, no omnicloud)",
    "import base64, dataclasses, datetime, json, logging, typing, urllib.parse",
)
REFERENCE = [("  reference: pydantic", "import pydantic"), ("  reference: pulumi", "import pulumi")]

PROBE = textwrap.dedent(
    """
    import json, sys, time
    before = len(sys.modules)
    t0 = time.perf_counter()
    {stmt}
    elapsed = time.perf_counter() - t0
    print(json.dumps({{"ms": elapsed * 1000, "modules": len(sys.modules) - before}}))
    """
)


def sample(stmt: str) -> dict[str, float]:
    """One fresh-interpreter measurement of ``stmt``."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(stmt=stmt)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)


def own_self_ms(stmt: str) -> float:
    """Self time (ms) of ``components.*`` modules in one ``-X importtime`` run."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    total_us = 0
    for line in out.stderr.splitlines():
        # "import time:   self [us] | cumulative | imported package"
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if name.split(".")[0] == "components" and self_us.isdigit():
            total_us += int(self_us)
    return total_us / 1000


def measure(stmt: str, runs: int) -> tuple[list[float], int, float]:
    """``runs`` timings in ms (after a warm-up), the module count, and own-code median ms."""
    sample(stmt)  # warm-up: compile .pyc files so every timed run sees the same disk state
    results = [sample(stmt) for _ in range(runs)]
    own = statistics.median(own_self_ms(stmt) for _ in range(runs))
    return [r["ms"] for r in results], int(results[-1]["modules"]), own


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Import cost of the function runtime.")
    parser.add_argument("--runs", type=int, default=15, help="samples per row (default 15)")
    parser.add_argument("--reference", action="store_true", help="add pulumi/pydantic rows")
    args = parser.parse_args(argv)

    cases = [*CASES, STDLIB_FLOOR, *(REFERENCE if args.reference else [])]
    print(f"python {sys.version.split()[0]}, {args.runs} fresh interpreters per row\n")
    header = f"{'import':<52} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'modules':>8} {'own ms':>7}"
    print(header)
    print("-" * len(header))
    for label, stmt in cases:
        times, modules, own = measure(stmt, args.runs)
        print(
            f"{label:<52} {statistics.median(times):>10.2f} {min(times):>8.2f} "
            f"{max(times):>8.2f} {modules:>8} {own:>7.2f}"
        )


if __name__ == "__main__":
    main()
