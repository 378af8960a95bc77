"""The support matrix, generated from these contract tests (never written by hand).

Every test here is parametrized over the targets and ends by saying, through the ``matrix``
fixture, whether its feature is supported on that target or is a stated gap (the provider
refused it before deploying, with its reason). Run with ``OMNICLOUD_SUPPORT_MATRIX=<file>``
to write the matrix; ``tests/test_support_matrix.py`` checks docs/support-matrix.md is it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from components.errors import InvalidArgsError

TARGETS = ("aws", "azure", "gcp", "local")
T = TypeVar("T")


@dataclass
class _Row:
    component: str
    feature: str
    cells: dict[str, str] = field(default_factory=dict)


_ROWS: dict[tuple[str, str], _Row] = {}


class Matrix:
    """What one contract test found for one target."""

    def __init__(self, component: str, feature: str, target: str) -> None:
        self.component = component
        self.feature = feature
        self.target = target
        self.outcome: str | None = None

    def supported(self, note: str = "") -> None:
        self._record("yes" + (f" ({note})" if note else ""))

    def gap(self, reason: str) -> None:
        self._record(f"no: {reason}")

    def stated_gap(self, kind: str, key: str) -> None:
        """A semantic gap the target's provider declares in ``LIMITATIONS[key]`` (it deploys, but
        behaves differently), else supported."""
        from providers.registry import provider_for

        limitation = getattr(provider_for(kind, self.target), "LIMITATIONS", {}).get(key)
        if limitation:
            self.gap(limitation)
        else:
            self.supported()

    def build(self, make: Callable[[], T]) -> T | None:
        """Run ``make``; a refusal before deploy (InvalidArgsError) is recorded as the gap."""
        try:
            return make()
        except InvalidArgsError as refused:
            self.gap(refused.limit)
            return None

    def _record(self, outcome: str) -> None:
        assert self.outcome is None, "a contract test records one outcome per target"
        self.outcome = outcome
        row = _ROWS.setdefault((self.component, self.feature), _Row(self.component, self.feature))
        row.cells[self.target] = outcome


def feature(component: str, name: str) -> pytest.MarkDecorator:
    """Mark a contract test with the matrix row it fills."""
    return pytest.mark.omnicloud_feature(component=component, name=name)


@pytest.fixture
def matrix(request: pytest.FixtureRequest, target: str) -> Iterator[Matrix]:
    marker = request.node.get_closest_marker("omnicloud_feature")
    assert marker is not None, "contract tests need @feature(component, name)"
    found = Matrix(marker.kwargs["component"], marker.kwargs["name"], target)
    yield found
    assert found.outcome is not None, "the test must end with matrix.supported() or matrix.gap(...)"


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    return request.param


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "omnicloud_feature(component, name): support-matrix row")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    out = os.environ.get("OMNICLOUD_SUPPORT_MATRIX")
    if out and exitstatus == 0:
        Path(out).write_text(render(_ROWS.values()))


def render(rows: Any) -> str:
    lines = [
        "# Support matrix",
        "",
        "Generated from `tests/contract` (run `OMNICLOUD_SUPPORT_MATRIX=docs/support-matrix.md "
        'python -m pytest tests/contract`); do not edit by hand. "no" cells are refused before '
        "deploy with the reason shown.",
        "",
        "| component | feature | " + " | ".join(TARGETS) + " |",
        "|---|---|" + "---|" * len(TARGETS),
    ]
    for row in sorted(rows, key=lambda r: (r.component, r.feature)):
        cells = [row.cells.get(t, "?").replace("|", "\\|") for t in TARGETS]
        lines.append(f"| {row.component} | {row.feature} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
