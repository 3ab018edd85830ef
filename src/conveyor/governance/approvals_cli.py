"""``conveyor approvals``: request, approve, reject and list approvals; approval policies."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, fmt_time, table

__all__ = ["app"]

app = typer.Typer(
    name="approvals",
    help="Approvals of model versions for protected aliases and deployments.",
    no_args_is_help=True,
)

CommentOption = Annotated[str, typer.Option("--comment", "-m", help="Why (kept in the history).")]


def _one(data: dict[str, Any]) -> None:
    line = (
        f"Approval {data['id']}: {data['model']}/{data['version']} for {data['target']} is "
        f"{data['status']} (requested by {data['requested_by']}"
    )
    if data["decided_by"]:
        line += f"; {data['status']} by {data['decided_by']}: {data['decision_comment']}"
    console().print(line + ")", markup=False)


@app.command("request")
def request(
    ref: Annotated[str, typer.Argument(help="The model version: <model>/<version>.")],
    target: Annotated[
        str, typer.Option("--target", "-t", help="alias:<name> or deployment:<endpoint>.")
    ],
    comment: CommentOption = "",
    as_json: JsonOption = False,
) -> None:
    """Ask for a model version to be approved for a target."""
    from conveyor.gates.sdk import parse_model_version

    model, version = parse_model_version(ref)
    data = backend().request_approval(model, version, target, comment).to_dict()
    emit(data, lambda: _one(data), as_json)


@app.command("approve")
def approve(approval_id: str, comment: CommentOption, as_json: JsonOption = False) -> None:
    """Approve a pending request (not your own version or request; final)."""
    data = backend().approve_request(approval_id, comment).to_dict()
    emit(data, lambda: _one(data), as_json)


@app.command("reject")
def reject(approval_id: str, comment: CommentOption, as_json: JsonOption = False) -> None:
    """Reject a pending request (final)."""
    data = backend().reject_request(approval_id, comment).to_dict()
    emit(data, lambda: _one(data), as_json)


@app.command("show")
def show(approval_id: str, as_json: JsonOption = False) -> None:
    """One request and its decision."""
    data = backend().get_approval(approval_id).to_dict()
    emit(data, lambda: _one(data), as_json)


@app.command("list")
def list_approvals(
    model: Annotated[str | None, typer.Option("--model", help="Only this model's.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, approved or rejected.")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only this target.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Approval requests, newest first."""
    found = [a.to_dict() for a in backend().list_approvals(model, status, target)]
    emit(
        found,
        lambda: console().print(
            table(
                f"Approvals ({len(found)})",
                ["id", "version", "target", "status", "requested by", "decided by", "when"],
                [
                    [
                        a["id"],
                        f"{a['model']}/{a['version']}",
                        a["target"],
                        a["status"],
                        a["requested_by"],
                        a["decided_by"] or "",
                        fmt_time(a["decided_at"] or a["requested_at"]),
                    ]
                    for a in found
                ],
            )
        ),
        as_json,
    )


@app.command("policy")
def policy(
    target: Annotated[
        str, typer.Argument(help="alias:<name> or deployment:<endpoint>; * and ? match.")
    ],
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role", "-r", help="A role that may approve (repeat; default approver, admin)."
        ),
    ] = None,
    optional: Annotated[
        bool, typer.Option("--optional", help="Approvals allowed but not required.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Set who may approve a target and whether it requires an approval (admins)."""
    data = backend().set_approval_policy(target, role or None, not optional).to_dict()
    emit(
        data,
        lambda: console().print(
            f"{data['target']}: {'requires' if data['required'] else 'allows'} approval by "
            f"{', '.join(data['roles'])}",
            markup=False,
        ),
        as_json,
    )


@app.command("policies")
def policies(as_json: JsonOption = False) -> None:
    """Every approval policy."""
    found = [p.to_dict() for p in backend().list_approval_policies()]
    emit(
        found,
        lambda: console().print(
            table(
                f"Approval policies ({len(found)})",
                ["target", "roles", "required", "updated by"],
                [
                    [p["target"], ", ".join(p["roles"]), p["required"], p["updated_by"]]
                    for p in found
                ],
            )
        ),
        as_json,
    )
