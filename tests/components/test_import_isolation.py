"""Only the selected cloud's SDK is ever imported; the deploy-time package is lazy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

SDKS = {"aws": "pulumi_aws", "azure": "pulumi_azure_native", "gcp": "pulumi_gcp"}

PROGRAM = """
import json, sys
from components import Function, FunctionArgs
from components.testing import MockStack
with MockStack(cloud={cloud!r}, root={root!r}):
    Function("api", FunctionArgs(handler="functions.api.handle", http="public"))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {sdks!r})))
"""


def _loaded_sdks(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp", "local"])
def test_a_stack_imports_only_its_own_cloud_sdk(cloud):
    code = PROGRAM.format(cloud=cloud, root=str(REPO_ROOT), sdks=set(SDKS.values()))
    loaded = {name.split(".")[0] for name in _loaded_sdks(code)}
    assert loaded == ({SDKS[cloud]} if cloud in SDKS else set())


def test_importing_components_loads_no_pulumi_until_a_name_is_used():
    code = (
        "import json, sys, components; print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'pulumi', 'pydantic'})))"
    )
    assert _loaded_sdks(code) == []
