"""The ``omnicloud`` command.

``omnicloud preview --stack dev-aws`` runs the project's program under the mock engine with
that stack's config and prints every resource it would create, as a tree under each
component, with its key properties. ``--json`` prints the same for machines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from components.errors import OmnicloudError
from components.preview import PreviewResult, ProjectError, preview_stack
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
