"""``conveyor datasets``: dataset versions with schema, checks and a compact profile."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, fmt_float, fmt_time, kv_table, table

__all__ = ["app"]

app = typer.Typer(name="datasets", help="Versioned datasets.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Dataset name.")]


def _checks_label(checks: dict[str, Any] | None) -> str:
    if checks is None:
        return "no checks"
    failed, total = checks.get("num_failed", 0), checks.get("num_checks", 0)
    return "passed" if checks.get("passed") else f"failed ({failed} of {total})"


@app.command("list")
def list_datasets(as_json: JsonOption = False) -> None:
    """Every dataset."""
    items = backend().list_datasets()
    emit(
        [d.to_dict() for d in items],
        lambda: console().print(
            table(
                f"Datasets ({len(items)})",
                ["name", "latest", "created", "description"],
                [[d.name, d.latest_version, fmt_time(d.created_at), d.description] for d in items],
            )
        ),
        as_json,
    )


@app.command("versions")
def versions(name: NameArg, as_json: JsonOption = False) -> None:
    """The versions of a dataset."""
    items = backend().list_dataset_versions(name)
    emit(
        [v.to_dict(include_profile=False) for v in items],
        lambda: console().print(
            table(
                f"Versions of {name} ({len(items)})",
                ["version", "rows", "bytes", "sha256", "checks", "created", "by"],
                [
                    [
                        v.version,
                        v.num_rows,
                        v.num_bytes,
                        v.sha256[:16],
                        _checks_label(v.checks),
                        fmt_time(v.created_at),
                        v.created_by,
                    ]
                    for v in items
                ],
            )
        ),
        as_json,
    )


def _yes_no(value: Any) -> str:
    return "" if value is None else ("yes" if value else "no")


def _compact_profile(profile: dict[str, Any] | None) -> dict[str, Any]:
    """The profile's per-column summaries without the mergeable sketch state."""
    profile = profile or {}
    columns = [
        {k: v for k, v in col.items() if k != "sketch"} for col in profile.get("columns") or []
    ]
    return {**profile, "columns": columns}


def _profile_rows(profile: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for col in profile.get("columns") or []:
        if col.get("top") is not None:
            top = ", ".join(f"{t['value']} ({t['count']})" for t in col["top"][:3])
            summary = f"distinct {col.get('distinct')}; top {top}"
        elif "mean" in col:
            summary = (
                f"min {fmt_float(col.get('min'))}, mean {fmt_float(col.get('mean'))}, "
                f"max {fmt_float(col.get('max'))}, std {fmt_float(col.get('std'))}"
            )
        else:
            summary = ""
        rows.append(
            [
                col.get("name"),
                col.get("kind"),
                col.get("nulls"),
                f"{col.get('null_fraction', 0.0):.1%}",
                summary,
            ]
        )
    return rows


def _render_version(dv: Any) -> None:
    out = console()
    out.print(
        kv_table(
            f"Dataset {dv.uri}",
            {
                "id": dv.id,
                "rows": dv.num_rows,
                "bytes": dv.num_bytes,
                "sha256": dv.sha256,
                "file sha256": dv.file_sha256,
                "checks": _checks_label(dv.checks),
                "source": dv.source,
                "description": dv.description,
                "created": fmt_time(dv.created_at),
                "created by": dv.created_by,
            },
        )
    )
    out.print(
        table(
            "Schema",
            ["column", "type", "nullable"],
            [[c.get("name"), c.get("type"), _yes_no(c.get("nullable"))] for c in dv.schema],
        )
    )
    if dv.checks is not None:
        out.print(
            table(
                "Checks",
                ["check", "result", "message"],
                [
                    [r.get("name"), "pass" if r.get("passed") else "FAIL", r.get("message")]
                    for r in dv.checks.get("results", [])
                ],
            )
        )
    rows = _profile_rows(dv.profile or {})
    if rows:
        out.print(table("Profile", ["column", "kind", "nulls", "null %", "summary"], rows))


@app.command("show")
def show(
    name: NameArg,
    version: Annotated[
        int | None, typer.Option("--version", "-v", min=1, help="Version (default: latest).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """One dataset version: schema, row count, sha256, check results, profile."""
    dv = backend().get_dataset_version(name, version)
    data = {**dv.to_dict(), "profile": _compact_profile(dv.profile)}
    emit(data, lambda: _render_version(dv), as_json)
