"""The distribution's metadata: each cloud's SDK is an extra of its own."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO_ROOT

SDKS = {"aws": "pulumi-aws", "azure": "pulumi-azure-native", "gcp": "pulumi-gcp"}


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_core_dependencies_include_no_cloud_sdk():
    assert not _names(_project()["dependencies"]) & set(SDKS.values())


def test_each_cloud_extra_pulls_only_its_own_sdk():
    extras = _project()["optional-dependencies"]
    for cloud, sdk in SDKS.items():
        assert _names(extras[cloud]) == {sdk}, cloud
    assert extras["all"] == ["omnicloud[aws,azure,gcp]"]


def test_every_dependency_has_a_lower_bound():
    project = _project()
    pinned = project["dependencies"] + [r for rs in project["optional-dependencies"].values() for r in rs]
    for requirement in pinned:
        if requirement.startswith("omnicloud["):
            continue
        assert ">=" in requirement, requirement


def test_packages_and_typing_marker_are_shipped():
    assert (REPO_ROOT / "components" / "py.typed").exists()
    assert (REPO_ROOT / "providers" / "py.typed").exists()
