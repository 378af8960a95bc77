"""What ``omnicloud dev`` prints: for people a rich console, for machines one JSON object per line.

Every record has a ``kind``: ``start`` (what runs where), ``invocation`` (function, trigger,
outcome, duration), ``log`` (a line a handler wrote), ``error`` (a failed invocation with the
handler's traceback) and ``notice`` (reloads, recoveries, dead letters). Thread-safe: the
server logs from many threads at once. Records are formatted and written by a thread of their
own, so a request never waits for the terminal (rich rendering costs more than a local
invocation); :meth:`DevLog.close` writes what is still queued.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["DevLog"]

_OUTCOME_STYLE = {"ok": "green", "partial": "yellow", "failed": "red", "timeout": "red", "crashed": "red"}


class DevLog:
    """The server's output, rich (default) or JSON lines (``as_json``)."""

    def __init__(self, *, as_json: bool = False, stream: TextIO | None = None) -> None:
        self.as_json = as_json
        self._stream = stream or sys.stdout
        # Values are data: no emoji codes and no markup inside them; no colour when piped.
        self._console = Console(file=self._stream, emoji=False, highlight=False, soft_wrap=True)
        self._pending: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_all, name="devlog", daemon=True)
        self._writer.start()

    def _write_all(self) -> None:
        while (write := self._pending.get()) is not None:
            write()

    def close(self) -> None:
        """Write every queued record, then stop the writer. Idempotent."""
        if self._writer.is_alive():
            self._pending.put(None)
            self._writer.join(timeout=10)

    def _json(self, record: dict[str, Any]) -> None:
        record = {"ts": round(time.time(), 3), **record}

        def write() -> None:
            self._stream.write(json.dumps(record, default=str) + "\n")
            self._stream.flush()

        self._pending.put(write)

    def _print(self, *renderables: Any) -> None:
        self._pending.put(lambda: self._console.print(*renderables))

    def start(self, summary: dict[str, Any]) -> None:
        """What the server serves, once at start-up (``summary`` is :meth:`LocalApp.to_json`
        plus ``url`` and ``data``)."""
        if self.as_json:
            self._json({"kind": "start", **summary})
            return
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        for name, fn in summary["functions"].items():
            what = []
            if fn["http"]:
                what.append(f"[cyan]{escape(summary['url'])}/{escape(name)}/[/]")
            if fn["schedule"]:
                what.append(f"schedule {escape(fn['schedule'])}")
            for queue_name, subscribers in summary["queues"].items():
                if name in subscribers:
                    what.append(f"queue {escape(queue_name)}")
            for table_name, table_info in summary["tables"].items():
                if name in table_info["listeners"]:
                    what.append(f"changes of {escape(table_name)}")
            table.add_row(f"  {escape(name)}", ", ".join(what) or "[dim]workflow task / invoke only[/]")
        self._print(
            f"[bold green]omnicloud dev[/] · {escape(summary['project'])} / [cyan]{escape(summary['stack'])}[/] "
            f"· listening on [cyan]{escape(summary['url'])}[/] · state in {escape(summary['data'])}"
        )
        self._print(table)
        if summary["workflows"]:
            self._print(f"  [bold]workflows[/]  {escape(', '.join(summary['workflows']))}")
        self._print("[dim]Edit a handler and it reloads; Ctrl-C stops (state is kept).[/]")

    def invocation(self, function: str, trigger: str, outcome: str, duration_ms: float, detail: str = "") -> None:
        """One call of a function: ``trigger`` says what called it (``POST /orders``, ``queue
        jobs (3)``), ``outcome`` is ok / partial / failed / timeout / crashed."""
        if self.as_json:
            self._json(
                {
                    "kind": "invocation",
                    "function": function,
                    "trigger": trigger,
                    "outcome": outcome,
                    "duration_ms": round(duration_ms, 2),
                    "detail": detail,
                }
            )
            return
        style = _OUTCOME_STYLE.get(outcome, "white")
        extra = f" [dim]{escape(detail)}[/]" if detail else ""
        self._print(
            f"{time.strftime('%H:%M:%S')} [bold]{escape(function)}[/] {escape(trigger)} "
            f"[{style}]{escape(outcome)}[/] {duration_ms:.1f} ms{extra}"
        )

    def error(self, function: str, trigger: str, message: str, traceback: str = "") -> None:
        """A failed invocation, with the handler's traceback when there is one."""
        if self.as_json:
            self._json(
                {"kind": "error", "function": function, "trigger": trigger, "message": message, "traceback": traceback}
            )
            return
        self._print(f"[bold red]{escape(function)}[/] {escape(trigger)}: [red]{escape(message)}[/]")
        if traceback:
            self._print(f"[red]{escape(traceback.rstrip())}[/]")

    def log(self, function: str, line: str) -> None:
        """A line a handler process wrote to stdout or stderr."""
        if self.as_json:
            self._json({"kind": "log", "function": function, "line": line})
            return
        self._print(f"[dim]{escape(function)} │[/] {escape(line)}")

    def notice(self, message: str, **fields: Any) -> None:
        """Something the server did on its own: a reload, a recovery, a dead letter."""
        if self.as_json:
            self._json({"kind": "notice", "message": message, **fields})
            return
        self._print(f"[yellow]•[/] {escape(message)}")
