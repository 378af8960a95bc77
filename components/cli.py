"""The ``omnicloud`` command.

``omnicloud preview --stack dev-aws`` runs the project's program under the mock engine with
that stack's config and prints every resource it would create, as a tree under each
component, with its key properties. ``--json`` prints the same for machines.

``omnicloud dev`` runs a ``local`` stack's whole app on this machine (see
:mod:`components.dev`); ``omnicloud dev invoke NAME`` fires a scheduled function of the
running server now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from components.errors import OmnicloudError
from components.preview import PreviewResult, ProjectError, load_project, preview_stack
from components.testing import RecordedResource

app = typer.Typer(
    name="omnicloud",
    help="Cloud-neutral serverless components for Pulumi.",
    no_args_is_help=True,
    add_completion=False,
)

DEFAULT_STACK = "dev-local"
# Inputs that are noise in a summary: provenance tags and code blobs.
_HIDDEN = {"tags", "labels", "code", "source", "sourceCodeHash"}
_MAX_VALUE = 80
_MAX_PROPS = 10


@app.callback()
def _root() -> None:
    """Cloud-neutral serverless components for Pulumi."""


@app.command()
def preview(
    stack: Annotated[
        str, typer.Option("--stack", "-s", help="Stack name (reads stacks/Pulumi.<stack>.yaml).")
    ] = DEFAULT_STACK,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a tree.")] = False,
    project_dir: Annotated[Path, typer.Option("--cwd", "-C", help="Project directory (holds Pulumi.yaml).")] = Path(
        "."
    ),
) -> None:
    """Show the resources a stack would create, without the Pulumi CLI or credentials."""
    # Values are printed as data: no emoji codes (":bus:") and no markup inside them.
    console = Console(emoji=False)
    try:
        result = preview_stack(stack, project_dir)
    except (ProjectError, OmnicloudError) as exc:
        Console(stderr=True, emoji=False).print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(to_json(result), indent=2, sort_keys=True, default=_json_default))
        return
    console.print(render_tree(result))
    custom = sum(1 for r in result.resources if r.custom)
    console.print(
        f"\n[bold]{custom}[/] resources in [bold]{len(result.roots())}[/] components "
        f"· stack [cyan]{result.stack}[/] · cloud [cyan]{result.config.get('omnicloud:cloud', '?')}[/]"
    )
    if result.outputs:
        console.print("\n[bold]Outputs[/]")
        for key, value in sorted(result.outputs.items()):
            console.print(f"  {escape(key)}: {escape(str(value))}")


dev_app = typer.Typer(
    help="Run a local stack's whole app on this machine: HTTP, queues, bus, tables, workflows, schedules.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(dev_app, name="dev")

_StackOption = Annotated[str, typer.Option("--stack", "-s", help="A local stack (omnicloud:cloud: local).")]
_DataOption = Annotated[
    Path | None, typer.Option("--data", help="State directory (default: .omnicloud in the project).")
]
_ProjectOption = Annotated[Path, typer.Option("--cwd", "-C", help="Project directory (holds Pulumi.yaml).")]


@dev_app.callback()
def dev(
    ctx: typer.Context,
    stack: _StackOption = DEFAULT_STACK,
    port: Annotated[int, typer.Option("--port", "-p", help="Loopback port to serve on.")] = 8787,
    data: _DataOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line instead of rich output.")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Processes per function at most.", min=1)] = 4,
    project_dir: _ProjectOption = Path("."),
) -> None:
    """Serve the app of a local stack until Ctrl-C; state survives restarts in --data."""
    if ctx.invoked_subcommand is not None:
        return
    from components.dev.app import load_app
    from components.dev.output import DevLog
    from components.dev.server import DataLocked, DevServer

    log = DevLog(as_json=as_json)
    data_dir = _data_dir(project_dir, data)
    try:
        local = load_app(stack, project_dir, port=port, data_dir=data_dir)
        server = DevServer(local, data_dir, log, max_workers=workers)
    except (ProjectError, OmnicloudError, DataLocked) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc} (choose another --port)")
    try:
        server.start()
    except ValueError as exc:  # e.g. a table's keys changed while it holds items
        server.stop()
        _fail(str(exc))
    server.wait()


@dev_app.command("invoke")
def dev_invoke(
    name: Annotated[str, typer.Argument(help="The scheduled function to fire now.")],
    stack: _StackOption = DEFAULT_STACK,
    data: _DataOption = None,
    project_dir: _ProjectOption = Path("."),
) -> None:
    """Fire a scheduled function of the running `omnicloud dev` now, as its schedule would."""
    import urllib.error
    import urllib.request

    from components.dev.server import ADMIN_PREFIX, server_info

    data_dir = _data_dir(project_dir, data)
    info = server_info(data_dir, stack)
    if info is None:
        _fail(f"no `omnicloud dev` is serving stack '{stack}' from {data_dir}; start it first")
    request = urllib.request.Request(f"{info['url']}{ADMIN_PREFIX}invoke/{name}", method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=900) as response:
            result = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        result = json.loads(exc.read() or b"{}")
    except urllib.error.URLError as exc:
        _fail(f"cannot reach the server at {info['url']}: {exc.reason}")
    if not result.get("ok"):
        _fail(result.get("error", "failed"))
    typer.echo(f"{name}: ok in {result['duration_ms']:.1f} ms")


def _data_dir(project_dir: Path, data: Path | None) -> Path:
    if data is not None:
        return data.resolve()
    try:
        root = load_project(project_dir).root
    except ProjectError as exc:
        _fail(str(exc))
    return root / ".omnicloud"


def _fail(message: str) -> NoReturn:
    Console(stderr=True, emoji=False).print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=2)


def render_tree(result: PreviewResult) -> Tree:
    """The resources as a rich tree: components at the top, their children below."""
    tree = Tree(f"[bold]{escape(result.project)}[/] / [cyan]{escape(result.stack)}[/]")

    def add(node: Tree, resource: RecordedResource) -> None:
        branch = node.add(_label(resource))
        for child in result.children(resource):
            add(branch, child)

    for root in result.roots():
        add(tree, root)
    return tree


def to_json(result: PreviewResult) -> dict[str, Any]:
    """The preview as plain data: resources with parent, key properties and secret names."""
    return {
        "project": result.project,
        "stack": result.stack,
        "cloud": result.config.get("omnicloud:cloud"),
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "urn": r.urn,
                "parent": r.parent,
                "component": not r.custom,
                "properties": key_properties(r),
                "secrets": sorted(r.secret_inputs),
            }
            for r in result.resources
        ],
        "outputs": result.outputs,
    }


def key_properties(resource: RecordedResource) -> dict[str, Any]:
    """Up to ten inputs (for components: outputs) that say what the resource is; secrets
    masked, long values cut."""
    shown: dict[str, Any] = {}
    source = resource.inputs if resource.custom else resource.outputs
    for key in sorted(source):
        if key in _HIDDEN or key.startswith("__"):
            continue
        value = source[key]
        if value is None or value == {} or value == []:
            continue
        shown[key] = "[secret]" if key in resource.secret_inputs else _summarise(value)
        if len(shown) >= _MAX_PROPS:
            break
    return shown


def _summarise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.startswith("{") and len(value) > _MAX_VALUE:
        return f"<json document, {len(value)} chars>"
    if isinstance(value, str) and len(value) > _MAX_VALUE:
        return value[: _MAX_VALUE - 1] + "…"
    if isinstance(value, dict):
        return {k: _summarise(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_summarise(v) for v in value]
    return value if isinstance(value, str | int | float | bool) else str(value)


def _label(resource: RecordedResource) -> str:
    kind = "[bold magenta]" if not resource.custom else "[green]"
    props = key_properties(resource)
    detail = "  " + " ".join(f"[dim]{k}=[/]{escape(_compact(v))}" for k, v in props.items()) if props else ""
    return f"{kind}{escape(resource.type)}[/] [bold]{escape(resource.name)}[/]{detail}"


def _compact(value: Any) -> str:
    text = json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _json_default(value: Any) -> Any:
    return str(value)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
