"""The one code path that builds a function's deployment archive.

An archive holds, at its root:

* the handler's top-level package (``functions/`` for ``functions.api.handle``), without
  caches, tests or build leftovers;
* the omnicloud runtime (``components/__init__.py`` and ``components/runtime/``), which holds
  the entry adapter of every cloud;
* the entry files the target's adapter asks for (``function_app.py``, ``main.py``, ...);
* dependencies from a ``requirements.txt`` beside the handler module, handled the way the
  target needs: vendored as wheels for the target platform (:class:`Vendored`), or copied to
  the archive root for the cloud to install when it builds the function (:class:`RemoteBuild`).

Archives are deterministic: entries sorted, fixed timestamps and modes, so the same inputs
give the same bytes and an unchanged function never redeploys. Archives are content-addressed
under ``.omnicloud/build/``.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from components.errors import InvalidArgsError
from components.project import build_dir, project_root

# Names never shipped: caches, tests, VCS and build leftovers.
EXCLUDED_DIRS = frozenset(
    {
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".git",
        "tests",
        "test",
        ".venv",
        "venv",
        "node_modules",
        ".omnicloud",
        "build",
        "dist",
    }
)
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".zip")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True)
class Vendored:
    """Install dependencies into the archive from wheels built for the target platform."""

    platforms: tuple[str, ...]
    """pip ``--platform`` tags, e.g. ``("manylinux2014_aarch64", "manylinux_2_28_aarch64")``."""
    python_version: str
    """e.g. ``"3.12"``."""
    target_dir: str = ""
    """Directory inside the archive ('' = root, as Lambda expects)."""
    extra_index_args: tuple[str, ...] = ()
    """Extra pip arguments (e.g. ``--find-links DIR --no-index`` for offline builds)."""
    always: tuple[str, ...] = ()
    """Requirements the target needs whatever the handler's file says (e.g. the SDKs of the
    linked services where the platform does not provide them)."""


@dataclass(frozen=True)
class RemoteBuild:
    """Ship ``requirements.txt`` at the archive root; the cloud installs it at build time."""

    always: tuple[str, ...] = ()
    """Requirements the target's entry adapter needs (e.g. ``functions-framework``)."""


Dependencies = Vendored | RemoteBuild


@dataclass(frozen=True)
class ArchiveSpec:
    """What goes into one function's archive."""

    handler: str | None
    """``module.function`` under the project root; None for an archive of the omnicloud runtime
    and ``entry_files`` only (a Workflow's orchestrator app on Azure runs no user code)."""
    dependencies: Dependencies
    entry_files: Mapping[str, str] = field(default_factory=dict)
    """Generated files (archive path -> text), from the target's entry adapter."""

    def key(self) -> tuple[object, ...]:
        return (self.handler, self.dependencies, tuple(sorted(self.entry_files.items())))


@dataclass(frozen=True)
class BuiltArchive:
    """A built archive on disk."""

    path: Path
    sha256: str
    """Hex digest of the archive bytes."""
    size: int
    files: tuple[str, ...]
    """Archive member names, sorted."""

    @property
    def base64_sha256(self) -> str:
        """The digest as Lambda's ``source_code_hash`` expects it."""
        import base64

        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


def build_archive(spec: ArchiveSpec, root: Path | None = None, *, component: str = "Function") -> BuiltArchive:
    """Build (or reuse) the archive for ``spec`` from the project at ``root``."""
    root = (root or project_root()).resolve()
    if spec.handler is None:
        key = (spec.key(), root, None)
        if key not in _BUILT:
            _BUILT[key] = _build(spec, root, component)
        return _BUILT[key]
    package = _handler_package(spec.handler, root, component)
    # Within one program run the files do not change: stat them once per package, not once
    # per function (a program with hundreds of functions would re-walk the tree each time).
    run = _program_run()
    cache_key = (root, package, run)
    fingerprint = _FINGERPRINTS.get(cache_key) if run is not None else None
    if fingerprint is None:
        fingerprint = _tree_fingerprint(root, package)
        if run is not None:
            _FINGERPRINTS[cache_key] = fingerprint
    # Building reads and compresses every file; a program with many functions sharing one
    # handler package reuses the archive while nothing on disk has changed.
    key = (spec.key(), root, fingerprint)
    if key not in _BUILT:
        _BUILT[key] = _build(spec, root, component)
    return _BUILT[key]


_BUILT: dict[tuple[object, ...], BuiltArchive] = {}
_FINGERPRINTS: dict[tuple[Path, Path, int | None], str] = {}


def _program_run() -> int | None:
    """An id of the running Pulumi program (its root stack resource), or None outside one."""
    if "pulumi" not in sys.modules:
        return None
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    return id(root) if root is not None else None


def _build(spec: ArchiveSpec, root: Path, component: str) -> BuiltArchive:
    files: dict[str, bytes] = {}
    if spec.handler is not None:
        for path in _walk(_handler_package(spec.handler, root, component)):
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    for path in _runtime_files():
        files[path.relative_to(_RUNTIME_ROOT).as_posix()] = path.read_bytes()
    for name, text in spec.entry_files.items():
        files[name] = text.encode()
    requirements = _requirements_beside(spec.handler, root) if spec.handler is not None else None
    lines = list(spec.dependencies.always)
    if requirements is not None:
        lines += requirements.read_text().splitlines()
    text = ("\n".join(line.rstrip() for line in lines) + "\n").encode() if lines else b""
    if isinstance(spec.dependencies, RemoteBuild):
        if text:
            files[REQUIREMENTS] = text
    elif text:
        for name, data in _vendor(text, spec.dependencies, build_dir(root)).items():
            files[name] = data
    data = _zip(files)
    digest = hashlib.sha256(data).hexdigest()
    out = build_dir(root)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{digest[:24]}.zip"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return BuiltArchive(path=path, sha256=digest, size=len(data), files=tuple(sorted(files)))


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # Unix, so the mode bits above are honoured everywhere
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


_RUNTIME_ROOT = Path(__file__).resolve().parent.parent


def _runtime_files() -> list[Path]:
    package = Path(__file__).resolve().parent
    return [package / "__init__.py", *_walk(package / "runtime")]


def _walk(top: Path) -> list[Path]:
    if top.is_file():
        return [top]
    found: list[Path] = []
    for path in sorted(top.rglob("*")):
        relative = path.relative_to(top).parts
        if any(part in EXCLUDED_DIRS or part.endswith(".egg-info") for part in relative):
            continue
        if path.is_file() and not path.name.endswith(EXCLUDED_SUFFIXES) and not _is_test_file(path):
            found.append(path)
    return found


def _is_test_file(path: Path) -> bool:
    return path.suffix == ".py" and (
        path.name.startswith("test_") or path.name.endswith("_test.py") or path.name == "conftest.py"
    )


def locate_handler(handler: str, component: str, root: Path | None = None) -> Path:
    """The handler's top-level package or module; :class:`InvalidArgsError` when it is missing."""
    return _handler_package(handler, (root or project_root()).resolve(), component)


def _handler_package(handler: str, root: Path, component: str) -> Path:
    """The top-level package (directory) or module (file) the handler lives in."""
    module = handler.rsplit(".", 1)[0]
    top = module.split(".")[0]
    for candidate in (root / top, root / f"{top}.py"):
        if candidate.exists():
            module_file = root.joinpath(*module.split("."))
            if not (module_file.with_suffix(".py").exists() or (module_file / "__init__.py").exists()):
                break
            return candidate
    raise InvalidArgsError(
        component,
        "handler",
        handler,
        f"module '{module}' not found under the project root {root} (expected {module.replace('.', '/')}.py)",
    )


def _requirements_beside(handler: str, root: Path) -> Path | None:
    module = handler.rsplit(".", 1)[0].split(".")
    directory = root.joinpath(*module).parent if len(module) > 1 else root
    candidate = directory / REQUIREMENTS
    # A requirements.txt at the project root is the Pulumi program's own, never the handler's.
    if candidate.exists() and directory != root:
        return candidate
    return None


def _tree_fingerprint(root: Path, package: Path) -> str:
    h = hashlib.sha256()
    for path in (*_walk(package), *_runtime_files()):
        stat = path.stat()
        h.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _vendor(requirements: bytes, how: Vendored, out: Path) -> dict[str, bytes]:
    """Install requirements for the target platform into a cached directory; return its files."""
    key = hashlib.sha256(requirements + repr(how).encode()).hexdigest()[:24]
    cache_dir = out / "vendor" / key
    if not (cache_dir / ".complete").exists():
        staging = cache_dir.with_name(key + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / REQUIREMENTS).write_bytes(requirements)
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            how.python_version,
            *(arg for platform in how.platforms for arg in ("--platform", platform)),
            *how.extra_index_args,
            "--target",
            str(staging / "site"),
            "-r",
            str(staging / REQUIREMENTS),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"vendoring dependencies for {how.platforms} failed:\n{result.stderr.strip()}")
        shutil.rmtree(cache_dir, ignore_errors=True)
        staging.rename(cache_dir)
        (cache_dir / ".complete").touch()
    site = cache_dir / "site"
    prefix = f"{how.target_dir.strip('/')}/" if how.target_dir else ""
    return {prefix + path.relative_to(site).as_posix(): path.read_bytes() for path in _iter_vendored(site)}


def _iter_vendored(site: Path) -> Iterable[Path]:
    for path in sorted(site.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            yield path
