"""Cold-start hygiene: importing the runtime loads only the standard library.

Each check runs in a fresh interpreter, because this test process has long since imported
pulumi, azure.functions and flask for the other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO_ROOT

HEAVY = ("pulumi", "pydantic", "boto3", "botocore", "google.cloud", "azure", "flask", "werkzeug")

PROBE = textwrap.dedent(
    """
    import json, sys
    before = set(sys.modules)
    import {module}
    {then}
    print(json.dumps(sorted(set(sys.modules) - before)))
    """
)


def newly_imported(module: str, then: str = "") -> list[str]:
    """Modules that ``import module`` (and then ``then``) loaded in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, then=then)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def matching(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "module",
    [
        "components.runtime",
        "components.runtime.handler",
        "components.runtime.adapters.aws",
        "components.runtime.adapters.azure",
        "components.runtime.adapters.gcp",
    ],
)
def test_runtime_import_loads_only_the_standard_library(module: str) -> None:
    loaded = newly_imported(module)

    assert matching(loaded, HEAVY) == []
    outside_stdlib = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names)
    assert outside_stdlib <= {"components"}, outside_stdlib


@pytest.mark.slow
def test_azure_build_app_loads_azure_functions_but_no_deploy_time_or_other_cloud_sdk() -> None:
    loaded = newly_imported(
        "components.runtime.adapters.azure",
        then="components.runtime.adapters.azure.build_app('public', '0 0 2 * * *')",
    )
    assert "azure.functions" in loaded
    assert matching(loaded, ("pulumi", "pydantic", "boto3", "botocore", "google.cloud")) == []


@pytest.mark.slow
def test_gcp_entry_files_render_without_flask() -> None:
    loaded = newly_imported(
        "components.runtime.adapters.gcp",
        then="components.runtime.adapters.gcp.entry_files()",
    )
    assert matching(loaded, HEAVY) == []


def test_runtime_workflow_is_the_client_function_beside_the_orchestration_package() -> None:
    # The entry adapters import the interpreter package for workflow tasks; its name must not
    # shadow ``runtime.workflow`` (an imported subpackage is bound on its parent by name).
    from components import runtime
    from components.runtime import orchestration
    from components.runtime.clients import LinkNotFound

    assert orchestration.__name__ == "components.runtime.orchestration"
    with pytest.raises(LinkNotFound, match="no workflow 'checkout' is linked"):
        runtime.workflow("checkout")
    assert runtime.workflow.__module__ == "components.runtime"
