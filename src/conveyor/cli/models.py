"""``conveyor models``: registered models, their versions and aliases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, fmt_time, kv_table, table
from conveyor.errors import ValidationFailed
from conveyor.explain.cli import explain_cmd
from conveyor.registry.entities import ModelVersion

if TYPE_CHECKING:
    from conveyor.client import Client

__all__ = ["app"]

app = typer.Typer(name="models", help="The model registry.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Registered model name.")]


def _aliases(aliases: dict[str, int]) -> str:
    return ", ".join(f"@{a}→v{v}" for a, v in sorted(aliases.items()))


@app.command("list")
def list_models(
    name_like: Annotated[
        str, typer.Option("--name-like", help="Only names matching this (SQL LIKE) pattern.")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Every registered model."""
    items = backend().search_models(name_like)
    emit(
        [m.to_dict() for m in items],
        lambda: console().print(
            table(
                f"Models ({len(items)})",
                ["name", "latest", "aliases", "updated", "description"],
                [
                    [
                        m.name,
                        m.latest_version,
                        _aliases(m.aliases),
                        fmt_time(m.updated_at),
                        m.description,
                    ]
                    for m in items
                ],
            )
        ),
        as_json,
    )


@app.command("show")
def show(name: NameArg, as_json: JsonOption = False) -> None:
    """A model and its versions (newest first) with their aliases."""
    api = backend()
    model = api.get_model(name)
    versions = api.list_model_versions(name)

    def render() -> None:
        out = console()
        out.print(
            kv_table(
                f"Model {model.name}",
                {
                    "id": model.id,
                    "description": model.description,
                    "latest version": model.latest_version,
                    "aliases": _aliases(model.aliases),
                    "tags": model.tags,
                    "created": fmt_time(model.created_at),
                    "updated": fmt_time(model.updated_at),
                },
            )
        )
        out.print(
            table(
                f"Versions ({len(versions)})",
                ["version", "aliases", "flavor", "approval", "run id", "created", "by"],
                [
                    [
                        v.version,
                        ", ".join(f"@{a}" for a in v.aliases),
                        v.flavor,
                        v.approval,
                        v.run_id or "",
                        fmt_time(v.created_at),
                        v.created_by,
                    ]
                    for v in versions
                ],
            )
        )

    emit({**model.to_dict(), "versions": [v.to_dict() for v in versions]}, render, as_json)


def _signature_rows(signature: dict[str, Any] | None) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for side in ("inputs", "outputs"):
        for spec in (signature or {}).get(side) or []:
            if isinstance(spec, dict):
                required = "yes" if spec.get("required", True) else "no"
                rows.append([side, spec.get("name") or "", spec.get("type", ""), required])
    return rows


def _render_version(mv: ModelVersion) -> None:
    out = console()
    out.print(
        kv_table(
            f"Model version {mv.uri}",
            {
                "id": mv.id,
                "aliases": ", ".join(f"@{a}" for a in mv.aliases),
                "flavor": mv.flavor,
                "approval": mv.approval,
                "source": mv.source,
                "run id": mv.run_id or "",
                "manifest sha256": mv.manifest_sha256,
                "reference dataset": mv.reference_dataset_version_id or "",
                "description": mv.description,
                "tags": mv.tags,
                "created": fmt_time(mv.created_at),
                "created by": mv.created_by,
            },
        )
    )
    rows = _signature_rows(mv.signature)
    if rows:
        out.print(table("Signature", ["side", "name", "type", "required"], rows))
    out.print(
        table(
            f"Files ({len(mv.files)})",
            ["path", "size", "sha256"],
            [[f.get("path"), f.get("size"), f.get("sha256")] for f in mv.files],
        )
    )


@app.command("version")
def version(
    name: NameArg,
    ref: Annotated[str, typer.Argument(help="Version number, alias (champion) or 'latest'.")],
    as_json: JsonOption = False,
) -> None:
    """One model version: flavor, signature, files, lineage, approval."""
    mv = backend().get_model_version(name, ref)
    emit(mv.to_dict(), lambda: _render_version(mv), as_json)


@app.command("alias")
def alias(
    name: NameArg,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="Alias, e.g. champion.")],
    version_ref: Annotated[
        str | None, typer.Argument(metavar="[VERSION]", help="Version to point the alias at.")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias instead.")] = False,
    override_reason: Annotated[
        str | None,
        typer.Option(
            "--override-reason",
            help="Move a protected alias despite failed gates (recorded in the audit log).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Point an alias at a version, or remove it with --delete.

    A protected alias (champion) of a model with a gate policy needs a passing gate report.
    """
    api = backend()
    if delete:
        if version_ref is not None:
            raise ValidationFailed(
                "--delete takes no version: conveyor models alias --delete NAME ALIAS"
            )
        api.delete_model_alias(name, alias_name)
        emit(
            {"name": name, "alias": alias_name, "deleted": True},
            lambda: console().print(f"Removed alias @{alias_name} of {name}", markup=False),
            as_json,
        )
        return
    if version_ref is None:
        raise ValidationFailed(
            f"which version should @{alias_name} point at? "
            f"conveyor models alias {name} {alias_name} VERSION"
        )
    client = cast("Client", api)  # override_reason: the table's signature, not yet the protocol
    mv = client.set_model_alias(name, alias_name, version_ref, override_reason=override_reason)
    emit(
        mv.to_dict(),
        lambda: console().print(f"@{alias_name} → {mv.uri}", markup=False),
        as_json,
    )


@app.command("register")
def register(
    source: Annotated[str, typer.Argument(help="runs:/<run_id>/<path> of a logged model.")],
    name: Annotated[str, typer.Option("--name", help="Registered model name.")],
    description: Annotated[str, typer.Option(help="Description of the version.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Register a logged model as the next version of NAME."""
    mv = backend().register_model(source, name, description=description)
    emit(
        mv.to_dict(),
        lambda: console().print(
            f"Registered {mv.name} version {mv.version} ({mv.uri})", markup=False
        ),
        as_json,
    )


@app.command("trust")
def trust(
    name: NameArg,
    ref: Annotated[str, typer.Argument(help="Version number, alias (champion) or 'latest'.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why its pickle is trusted (recorded in the audit log).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Trust a version stored with a pickle (e.g. logged by MLflow with cloudpickle) so it
    can be deployed and served. Unpickling runs arbitrary code: admin only, audited."""
    mv = backend().trust_model_version(name, ref, reason=reason)
    emit(
        mv.to_dict(),
        lambda: console().print(
            f"Trusted the pickle of {mv.name} version {mv.version}; "
            f"deploy it: conveyor deploy ENDPOINT --model {mv.name}/{mv.version}",
            markup=False,
        ),
        as_json,
    )


def _card_commands() -> None:
    from conveyor.lineage import card_cli

    app.command("card")(card_cli.card)
    app.command("card-set")(card_cli.card_set)


_card_commands()

app.command("explain")(explain_cmd)  # the command lives with the explanations
