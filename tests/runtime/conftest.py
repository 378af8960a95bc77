"""Fixtures: a throwaway user handler module on sys.path, named by OMNICLOUD_HANDLER."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.runtime import env, handler

APP_SOURCE = textwrap.dedent(
    '''
    """A user's handler module, as a developer would write it."""
    from components.runtime import HttpRequest, HttpResponse, Scheduled

    CALLS = []


    def handle(event, ctx):
        CALLS.append((event, ctx))
        if isinstance(event, Scheduled):
            return "ignored"
        if event.path == "/boom":
            raise RuntimeError("db password is hunter2")
        if event.path == "/binary":
            return HttpResponse(200, bytes(range(256)), {"Content-Type": "image/png"})
        if event.path == "/none":
            return None
        if event.path == "/text":
            return "hello"
        if event.path == "/set-cookies":
            return HttpResponse(
                200, "ok", {"content-type": "text/plain"}, cookies=("a=1; Path=/", "b=2")
            )
        return {
            "method": event.method,
            "path": event.path,
            "query": dict(event.query),
            "query_string": event.query_string,
            "headers": dict(event.headers),
            "body": event.text,
            "cookies": list(event.cookies),
            "source_ip": event.source_ip,
            "function": ctx.function,
            "cloud": ctx.cloud,
            "invocation_id": ctx.invocation_id,
        }


    def failing(event, ctx):
        CALLS.append((event, ctx))
        raise RuntimeError("scheduled job failed")
    '''
)


@dataclass
class UserApp:
    """The installed handler module: its import name and recorded calls."""

    name: str
    module_dir: Path

    @property
    def calls(self) -> list[tuple[Any, Any]]:
        return sys.modules[self.name].CALLS

    def spec(self, func: str = "handle") -> str:
        """The OMNICLOUD_HANDLER value for one of the module's functions."""
        return f"{self.name}.{func}"


@pytest.fixture
def user_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UserApp]:
    """A fresh handler module (unique name, so sys.modules never serves a stale one)."""
    name = f"omni_user_app_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(APP_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(env.HANDLER, f"{name}.handle")
    monkeypatch.setenv(env.FUNCTION, "api")
    monkeypatch.delenv(env.SCHEDULE, raising=False)
    handler._clear_cache()
    yield UserApp(name=name, module_dir=tmp_path)
    handler._clear_cache()
    sys.modules.pop(name, None)
