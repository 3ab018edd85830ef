"""``conveyor lineage <object>``: walk the lineage graph; ``conveyor export-docs``: the
compliance bundle of a model version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, table
from conveyor.errors import ValidationFailed

__all__ = ["app"]

app = typer.Typer()  # no name: top-level commands

RefArg = Annotated[
    str,
    typer.Argument(
        help="model:<name>/<version>, dataset:<name>/<version>, run:<id>, pipeline-run:<id>, "
        "prediction:<id>, deployment:<endpoint>[/<revision>], rollout:<id>, alert:<id>, "
        "trigger:<name>, gate-report:<id>, approval:<id>, commit:<sha>."
    ),
]


def _direction(upstream: bool, downstream: bool) -> str:
    if upstream and downstream:
        raise ValidationFailed("give --upstream or --downstream, not both (neither: both ways)")
    return "upstream" if upstream else "downstream" if downstream else "both"


def _write(path: Path, text: str) -> None:
    from conveyor.lineage.files import write_text_atomically

    write_text_atomically(path, text)
    console().print(f"wrote {path}")


def _render(graph: dict[str, Any]) -> None:
    edges = graph["edges"]
    rows = []
    for n in sorted(graph["nodes"], key=lambda n: (n["distance"] or 0, n["type"], n["id"])):
        rel = [f"{e['relation']} → {e['target']}" for e in edges if e["source"] == n["id"]]
        rows.append([n["distance"], n["type"], n["id"], n["label"], "; ".join(rel[:3])])
    title = f"Lineage of {graph['root']} ({graph['direction']}, depth {graph['depth']})"
    console().print(table(title, ["dist", "type", "id", "label", "edges"], rows))
    if graph["truncated"]:
        console().print("[yellow]the depth limit cut the walk; raise --depth to see more[/]")


@app.command("lineage")
def lineage(
    ref: RefArg,
    upstream: Annotated[
        bool, typer.Option("--upstream", help="Only back towards the data.")
    ] = False,
    downstream: Annotated[
        bool, typer.Option("--downstream", help="Only forward to what was built on it.")
    ] = False,
    depth: Annotated[int, typer.Option("--depth", help="At most this many edges away.")] = 8,
    svg: Annotated[
        Path | None, typer.Option("--svg", help="Also write the graph as an SVG file.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a page with the graph drawn.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Walk the lineage of an object: back to its data and code, forward to everything
    built on it (edges point from cause to effect)."""
    graph = backend().get_lineage(ref, _direction(upstream, downstream), depth)
    if svg is not None or html is not None:
        from conveyor.lineage.graph import LineageGraph
        from conveyor.lineage.html import lineage_page
        from conveyor.lineage.svg import render_svg

        typed = LineageGraph.from_dict(graph)
        if svg is not None:
            _write(svg, render_svg(typed))
        if html is not None:
            _write(html, lineage_page(typed))
    emit(graph, lambda: _render(graph), as_json)


@app.command("export-docs")
def export_docs(
    ref: Annotated[str, typer.Argument(help="<model>/<version> (a number, alias or 'latest').")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The bundle to write (a .zip file).")
    ],
) -> None:
    """Write the compliance bundle of a version (model card, lineage, gate reports,
    approvals, audit extract with chain proof, monitoring, retention), organised after the
    EU AI Act's Annex IV, with an index page."""
    from conveyor.lineage.bundle import write_bundle
    from conveyor.lineage.card_cli import split_ref

    name, version = split_ref(ref)
    documents = backend().get_compliance_documents(name, version)
    write_bundle(documents, output)
    console().print(f"wrote {output} ({len(documents)} files; open index.html first)")
