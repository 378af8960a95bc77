"""docs/support-matrix.md is exactly what the contract tests produce."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

MATRIX = REPO_ROOT / "docs" / "support-matrix.md"


def test_support_matrix_matches_the_contract_tests(tmp_path):
    out = tmp_path / "matrix.md"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/contract"],
        cwd=REPO_ROOT,
        env={**os.environ, "OMNICLOUD_SUPPORT_MATRIX": str(out)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert out.read_text() == MATRIX.read_text(), (
        "docs/support-matrix.md is stale: regenerate it with "
        "OMNICLOUD_SUPPORT_MATRIX=docs/support-matrix.md python -m pytest tests/contract"
    )
