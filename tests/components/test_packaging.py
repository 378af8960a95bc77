"""The deployment archive: what goes in, what stays out, and that the bytes are reproducible."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from components.errors import InvalidArgsError
from components.packaging import ArchiveSpec, BuiltArchive, RemoteBuild, Vendored, build_archive

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER = "pkg.handler.handle"
HANDLER_SOURCE = "def handle(event, ctx):\n    return 'ok'\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user project with a handler package full of things that must not ship."""
    files = {
        "pkg/__init__.py": "",
        "pkg/handler.py": HANDLER_SOURCE,
        "pkg/data.json": '{"shipped": true}\n',
        "pkg/sub/__init__.py": "",
        "pkg/sub/helper.py": "VALUE = 1\n",
        "pkg/__pycache__/x.pyc": "not python",
        "pkg/sub/__pycache__/helper.cpython-311.pyc": "not python",
        "pkg/tests/test_x.py": "def test_x(): pass\n",
        "pkg/tests/fixtures.json": "{}",
        "pkg/test_y.py": "def test_y(): pass\n",
        "pkg/helper_test.py": "def test_z(): pass\n",
        "pkg/conftest.py": "",
        "pkg/stale.pyc": "stale",
        "pkg/.pytest_cache/v/cache": "x",
        "pkg/build/lib/leftover.py": "",
        "pkg/thing.egg-info/PKG-INFO": "",
        "other/unrelated.py": "NOT_SHIPPED = True\n",
        "requirements.txt": "pulumi>=3\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def build(root: Path, handler: str = HANDLER, **spec: object) -> BuiltArchive:
    spec.setdefault("dependencies", RemoteBuild())
    return build_archive(ArchiveSpec(handler=handler, **spec), root=root)  # type: ignore[arg-type]


def members(archive: BuiltArchive) -> dict[str, bytes]:
    with zipfile.ZipFile(archive.path) as zipped:
        return {name: zipped.read(name) for name in zipped.namelist()}


# -- contents -----------------------------------------------------------------------------------


def test_archive_holds_the_handler_package_and_the_runtime(project: Path) -> None:
    archive = build(project)
    files = set(archive.files)
    assert {"pkg/__init__.py", "pkg/handler.py", "pkg/data.json", "pkg/sub/helper.py"} <= files
    assert "components/__init__.py" in files
    assert {"components/runtime/__init__.py", "components/runtime/handler.py"} <= files
    assert {f"components/runtime/adapters/{cloud}.py" for cloud in ("aws", "azure", "gcp")} <= files
    assert members(archive)["pkg/handler.py"] == HANDLER_SOURCE.encode()


def test_archive_excludes_caches_tests_build_leftovers_and_other_packages(project: Path) -> None:
    files = build(project).files
    for name in files:
        parts = name.split("/")
        assert "__pycache__" not in parts and ".pytest_cache" not in parts, name
        assert "tests" not in parts and "build" not in parts, name
        assert not name.endswith((".pyc", ".pyo")), name
        assert ".egg-info" not in name, name
    for excluded in ("pkg/test_y.py", "pkg/helper_test.py", "pkg/conftest.py", "other/unrelated.py"):
        assert excluded not in files
    # The Pulumi program's own requirements at the project root are never shipped.
    assert "requirements.txt" not in files


def test_archive_ships_only_the_runtime_from_components_not_the_deploy_time_code(project: Path) -> None:
    components = [name for name in build(project).files if name.startswith("components/")]
    assert all(name == "components/__init__.py" or name.startswith("components/runtime/") for name in components)
    assert "components/packaging.py" not in components


def test_files_list_is_sorted_and_matches_the_zip(project: Path) -> None:
    archive = build(project)
    assert list(archive.files) == sorted(archive.files)
    with zipfile.ZipFile(archive.path) as zipped:
        assert zipped.namelist() == list(archive.files), "zip entries must be written in sorted order"
    assert archive.size == archive.path.stat().st_size
    assert archive.sha256 == hashlib.sha256(archive.path.read_bytes()).hexdigest()
    assert base64.b64decode(archive.base64_sha256).hex() == archive.sha256


def test_archive_is_written_content_addressed_under_the_build_dir(project: Path) -> None:
    archive = build(project)
    assert archive.path.parent == project / ".omnicloud" / "build"
    assert archive.path.name == f"{archive.sha256[:24]}.zip"


def test_zip_entries_have_fixed_timestamps_and_modes(project: Path) -> None:
    with zipfile.ZipFile(build(project).path) as zipped:
        infos = zipped.infolist()
    assert infos
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        assert info.external_attr >> 16 == 0o100644, info.filename


def test_a_handler_in_a_top_level_module_ships_just_that_module(tmp_path: Path) -> None:
    (tmp_path / "solo.py").write_text(HANDLER_SOURCE)
    (tmp_path / "unrelated.py").write_text("")
    files = build(tmp_path, "solo.handle").files
    assert "solo.py" in files
    assert "unrelated.py" not in files
    assert "components/runtime/handler.py" in files


def test_entry_files_appear_at_the_archive_root(project: Path) -> None:
    entry = {"main.py": "from components.runtime.adapters.gcp import entry\n", "host.json": '{"version": "2.0"}'}
    archive = build(project, entry_files=entry)
    contents = members(archive)
    assert contents["main.py"] == entry["main.py"].encode()
    assert contents["host.json"] == entry["host.json"].encode()


@pytest.mark.parametrize("handler", ["pkg.nope.handle", "ghost.handler.handle", "pkg.sub.missing.handle"])
def test_a_missing_handler_module_raises_naming_the_handler(project: Path, handler: str) -> None:
    with pytest.raises(InvalidArgsError) as caught:
        build_archive(
            ArchiveSpec(handler=handler, dependencies=RemoteBuild()), root=project, component="Function 'api'"
        )
    error = caught.value
    module_path = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    assert (error.component, error.field, error.value) == ("Function 'api'", "handler", handler)
    assert module_path in str(error)
    assert not (project / ".omnicloud").exists()


# -- determinism --------------------------------------------------------------------------------

_BUILD_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from components.packaging import ArchiveSpec, RemoteBuild, build_archive
    spec = ArchiveSpec("pkg.handler.handle", RemoteBuild(always=("functions-framework",)),
                       entry_files={"main.py": "x = 1\\n"})
    print(build_archive(spec, root=Path(sys.argv[1])).sha256)
    """
)


def _sha_in_fresh_process(root: Path, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONHASHSEED": hash_seed}
    env.pop("OMNICLOUD_PROJECT_ROOT", None)
    result = subprocess.run(
        [sys.executable, "-c", _BUILD_SCRIPT, str(root)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.slow
def test_two_builds_in_fresh_processes_give_identical_bytes(project: Path) -> None:
    first = _sha_in_fresh_process(project, "1")
    for built in (project / ".omnicloud").rglob("*.zip"):
        built.unlink()
    second = _sha_in_fresh_process(project, "2")
    in_process = build(
        project, dependencies=RemoteBuild(always=("functions-framework",)), entry_files={"main.py": "x = 1\n"}
    ).sha256
    assert len(first) == 64
    assert first == second == in_process


def test_touching_a_file_without_changing_it_keeps_the_digest(project: Path) -> None:
    before = build(project)
    handler = project / "pkg" / "handler.py"
    later = handler.stat().st_mtime_ns + 10**12
    os.utime(handler, ns=(later, later))
    after = build(project)
    assert after is not before, "the build must not have been served from the in-process cache"
    assert after.sha256 == before.sha256


def test_changing_a_file_changes_the_digest(project: Path) -> None:
    before = build(project)
    (project / "pkg" / "handler.py").write_text(HANDLER_SOURCE + "# changed\n")
    after = build(project)
    assert after.sha256 != before.sha256
    assert members(after)["pkg/handler.py"].endswith(b"# changed\n")


def test_adding_a_test_file_does_not_change_the_digest(project: Path) -> None:
    before = build(project)
    (project / "pkg" / "test_new.py").write_text("def test_new(): pass\n")
    (project / "pkg" / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"\0\1")
    assert build(project).sha256 == before.sha256


def test_entry_files_are_part_of_the_digest(project: Path) -> None:
    plain = build(project)
    with_entry = build(project, entry_files={"main.py": "x = 1\n"})
    assert with_entry.sha256 != plain.sha256


# -- dependencies: remote build ------------------------------------------------------------------


def test_remote_build_ships_requirements_merging_the_adapters_and_the_handlers(project: Path) -> None:
    (project / "pkg" / "requirements.txt").write_text("requests>=2\nboto3  \n")
    archive = build(project, dependencies=RemoteBuild(always=("functions-framework==3.*",)))
    assert members(archive)["requirements.txt"] == b"functions-framework==3.*\nrequests>=2\nboto3\n"


def test_remote_build_uses_the_requirements_beside_a_nested_handler_module(project: Path) -> None:
    (project / "pkg" / "sub" / "requirements.txt").write_text("httpx\n")
    archive = build(project, "pkg.sub.helper.handle", dependencies=RemoteBuild())
    assert members(archive)["requirements.txt"] == b"httpx\n"


def test_remote_build_with_only_the_adapters_needs_ships_those(project: Path) -> None:
    archive = build(project, dependencies=RemoteBuild(always=("functions-framework",)))
    assert members(archive)["requirements.txt"] == b"functions-framework\n"


def test_the_programs_own_requirements_at_the_root_never_ship_with_a_top_level_handler(tmp_path: Path) -> None:
    (tmp_path / "solo.py").write_text(HANDLER_SOURCE)
    (tmp_path / "requirements.txt").write_text("pulumi>=3\n")
    files = build(tmp_path, "solo.handle", dependencies=RemoteBuild()).files
    assert "requirements.txt" not in files


def test_remote_build_without_any_requirement_ships_no_requirements_file(project: Path) -> None:
    assert "requirements.txt" not in build(project, dependencies=RemoteBuild()).files


# -- dependencies: vendored wheels ----------------------------------------------------------------

TINYDEP_SOURCE = b'def hello():\n    return "hi from tinydep"\n'


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with one tiny pure-Python wheel, ``tinydep`` (py3-none-any).

    Written with zipfile rather than ``pip wheel``: the venv has no ``wheel`` package and the
    bundled setuptools cannot build wheels without it, and a build must never reach the network.
    """
    out = tmp_path_factory.mktemp("wheels")
    dist_info = "tinydep-1.0.dist-info"
    files = {
        "tinydep/__init__.py": TINYDEP_SOURCE,
        f"{dist_info}/METADATA": b"Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n",
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: omnicloud-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }

    def record_hash(data: bytes) -> str:
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data in files.items())
    record += f"{dist_info}/RECORD,,\n"
    with zipfile.ZipFile(out / "tinydep-1.0-py3-none-any.whl", "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr(f"{dist_info}/RECORD", record)
    return out


def vendored(wheel_dir: Path, platforms: tuple[str, ...] = ("any",), target_dir: str = "") -> Vendored:
    return Vendored(
        platforms=platforms,
        python_version="3.12",
        target_dir=target_dir,
        extra_index_args=("--no-index", "--find-links", str(wheel_dir)),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "platforms",
    [("any",), ("manylinux2014_aarch64", "manylinux_2_28_aarch64"), ("manylinux2014_x86_64",)],
    ids=["any", "lambda-arm64", "lambda-x86_64"],
)
def test_vendored_dependencies_land_at_the_archive_root(
    project: Path, wheel_dir: Path, platforms: tuple[str, ...]
) -> None:
    (project / "pkg" / "requirements.txt").write_text("tinydep==1.0\n")
    archive = build(project, dependencies=vendored(wheel_dir, platforms))
    contents = members(archive)
    assert contents["tinydep/__init__.py"] == TINYDEP_SOURCE
    assert "tinydep-1.0.dist-info/METADATA" in contents
    assert "requirements.txt" not in contents  # vendored, not left for a remote build
    assert "pkg/handler.py" in contents


@pytest.mark.slow
def test_vendored_dependencies_go_under_target_dir_when_set(project: Path, wheel_dir: Path) -> None:
    (project / "pkg" / "requirements.txt").write_text("tinydep\n")
    files = build(project, dependencies=vendored(wheel_dir, target_dir="python/")).files
    assert "python/tinydep/__init__.py" in files
    assert "tinydep/__init__.py" not in files
    assert "pkg/handler.py" in files


@pytest.mark.slow
def test_vendored_builds_are_deterministic(project: Path, wheel_dir: Path) -> None:
    (project / "pkg" / "requirements.txt").write_text("tinydep\n")
    first = build(project, dependencies=vendored(wheel_dir))
    # Force a full rebuild: drop pip's cached install and change the tree's fingerprint.
    (project / ".omnicloud").rename(project / "previous-build")
    handler = project / "pkg" / "handler.py"
    later = handler.stat().st_mtime_ns + 10**12
    os.utime(handler, ns=(later, later))
    second = build(project, dependencies=vendored(wheel_dir))
    assert (project / ".omnicloud" / "build" / "vendor").is_dir(), "pip did not run again"
    assert second is not first
    assert second.sha256 == first.sha256


def test_vendored_without_requirements_runs_no_pip_and_ships_no_extras(project: Path, wheel_dir: Path) -> None:
    archive = build(project, dependencies=vendored(wheel_dir))
    assert not (project / ".omnicloud" / "build" / "vendor").exists()
    assert not [name for name in archive.files if name.startswith("tinydep")]


@pytest.mark.slow
def test_a_dependency_pip_cannot_find_fails_the_build_with_pips_message(project: Path, wheel_dir: Path) -> None:
    (project / "pkg" / "requirements.txt").write_text("omnicloud-no-such-package-xyz\n")
    with pytest.raises(RuntimeError, match="vendoring dependencies") as caught:
        build(project, dependencies=vendored(wheel_dir))
    assert "omnicloud-no-such-package-xyz" in str(caught.value)
