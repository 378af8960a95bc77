"""Every golden's compiled ASL passes two independent Amazon States Language validators.

* ``statelint`` (PyPI, the Python port of awslabs/statelint; a ``dev`` extra), through its
  Python API: it checks field types, JSONPath/intrinsic syntax in ``.$`` keys, reachability,
  the ``States.ALL`` placement rules.
* ``asl-validator`` (npm, pinned in ``package.json``, installed by ``npm ci``): the JSON schema
  of ASL plus path expressions and transition targets.

A deliberately broken definition must fail both, so these tests can fail. A missing tool skips
locally and fails under ``CI=true`` (:func:`tests.runtime.emulators.emulator_missing`).
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from providers.aws.asl import compile_asl
from tests.conftest import REPO_ROOT
from tests.runtime.emulators import emulator_missing
from tests.workflow import handlers
from tests.workflow.golden import GOLDEN

ARNS = {name: f"arn:aws:lambda:us-east-1:123456789012:function:omni-{name}" for name in handlers.NAMES}
ASL_VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"


def compiled(name: str) -> dict[str, Any]:
    golden = next(g for g in GOLDEN if g.name == name)
    return compile_asl(golden.definition, ARNS, workflow=golden.name)


def broken_definitions() -> dict[str, dict[str, Any]]:
    """Definitions ASL rejects: a dangling transition; a literal under a ``.$`` key."""
    dangling = compiled("wait-then-task")
    dangling["States"]["pause"]["Next"] = "nowhere"
    literal = compiled("task-whole-state")
    payload = literal["States"]["t"]["Parameters"]["Payload"]
    payload["input.$"] = 5  # what providers.aws.asl.check_definition exists to prevent
    return {"dangling-next": dangling, "literal-path-key": literal}


def statelint_problems(asl: dict[str, Any]) -> list[str]:
    try:
        from statelint.config import Config
        from statelint.linter import Linter
    except ImportError as exc:
        emulator_missing(f"statelint is not installed ({exc}); pip install -e '.[dev]'")
    return [str(problem) for problem in Linter.validate(json.dumps(asl), Config())]


def asl_validator(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    if not ASL_VALIDATOR.exists():
        emulator_missing(f"{ASL_VALIDATOR} is missing; run `npm ci`")
    args = [str(ASL_VALIDATOR)]
    for path in paths:
        args += ["--json-path", str(path)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_statelint_accepts_every_golden(golden: Any) -> None:
    assert statelint_problems(compile_asl(golden.definition, ARNS, workflow=golden.name)) == []


@pytest.mark.slow
def test_asl_validator_accepts_every_golden(tmp_path: Path) -> None:
    paths = []
    for golden in GOLDEN:
        path = tmp_path / f"{golden.name}.json"
        path.write_text(json.dumps(compile_asl(golden.definition, ARNS, workflow=golden.name)))
        paths.append(path)
    # One process for all of them: node's start-up dominates otherwise.
    result = asl_validator(paths)
    assert result.returncode == 0, result.stderr
    for path in paths:
        assert f'"{path}" is valid' in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(broken_definitions()))
def test_both_validators_reject_a_broken_definition(name: str, tmp_path: Path) -> None:
    asl = copy.deepcopy(broken_definitions()[name])
    assert statelint_problems(asl) != []
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(asl))
    result = asl_validator([path])
    assert result.returncode != 0
    assert f'"{path}" is invalid' in result.stderr
