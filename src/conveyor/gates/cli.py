"""CLI: ``conveyor gates set-policy|show-policy|run|report``.

Every command goes through the backend (the operation table), so it works embedded and,
with ``CONVEYOR_URI`` set, against a server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from conveyor.cli._backend import backend as _backend
from conveyor.cli._output import JsonOption, console, emit, fmt_time, kv_table, table
from conveyor.errors import ValidationFailed

if TYPE_CHECKING:
    from conveyor.client import Client

__all__ = ["app"]


def backend() -> Client:
    """The backend as the operation table it is (the gate operations are not on the older
    ``Backend`` protocol)."""
    return cast("Client", _backend())


app = typer.Typer(
    name="gates", help="Validation gates: policies, runs and reports.", no_args_is_help=True
)

ModelArg = Annotated[str, typer.Argument(help="Registered model name.")]
VersionArg = Annotated[str, typer.Argument(help="<model>/<version>, e.g. churn/4.")]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Also write the report as an HTML section here.")
]


@app.command("set-policy")
def set_policy(
    model: ModelArg,
    path: Annotated[Path, typer.Argument(help="The policy YAML file.", metavar="POLICY.yaml")],
    as_json: JsonOption = False,
) -> None:
    """Validate POLICY.yaml and attach it to MODEL as its next policy version."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    stored = backend().set_gate_policy(model, text, source=path.name)
    emit(
        stored.to_dict(),
        lambda: console().print(
            f"Policy version {stored.version} of {model}: {len(stored.policy.checks)} checks "
            f"on {stored.policy.evaluation_dataset}",
            markup=False,
        ),
        as_json,
    )


@app.command("show-policy")
def show_policy(
    model: ModelArg,
    version: Annotated[int | None, typer.Option("--version", help="A policy version.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The model's current gate policy (or --version N)."""
    stored = backend().get_gate_policy(model, version)
    policy = stored.policy

    def render() -> None:
        out = console()
        out.print(
            kv_table(
                f"Gate policy {model} v{stored.version}",
                {
                    "evaluation dataset": policy.evaluation_dataset,
                    "label": policy.label or "(inferred)",
                    "protected aliases": ", ".join(policy.protected_aliases),
                    "set by": stored.created_by,
                    "set at": fmt_time(stored.created_at),
                },
            )
        )
        out.print(
            table(
                "Checks",
                ["name", "kind", "parameters", "on error", "on insufficient data"],
                [[c.name, c.kind, c.params, c.on_error, c.on_insufficient] for c in policy.checks],
            )
        )

    emit(stored.to_dict(), render, as_json)


def _split(ref: str) -> tuple[str, str]:
    from conveyor.gates.sdk import parse_model_version

    name, version = parse_model_version(ref)
    return name, str(version)


def _show(report: object, as_json: bool, html: Path | None) -> None:
    from conveyor.gates.report import GateReport, render_html, render_table

    assert isinstance(report, GateReport)
    if html is not None:
        html.write_text(render_html(report), encoding="utf-8")
    emit(report.to_dict(), lambda: console().print(render_table(report)), as_json)
    if not report.passed:
        raise typer.Exit(1)


@app.command("run")
def run(ref: VersionArg, as_json: JsonOption = False, html: HtmlOption = None) -> None:
    """Score MODEL/VERSION on the policy's evaluation dataset, run every check, store the
    report. Exits 1 when the gates fail."""
    name, version = _split(ref)
    _show(backend().run_gates(name, version), as_json, html)


@app.command("report")
def report(ref: VersionArg, as_json: JsonOption = False, html: HtmlOption = None) -> None:
    """The latest stored gate report of MODEL/VERSION. Exits 1 when it failed."""
    name, version = _split(ref)
    _show(backend().get_gate_report(name, version), as_json, html)
