"""``conveyor audit``: the hash-chained audit trail — search, export, verify, anchor."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, err_console, fmt_time, table
from conveyor.errors import ValidationFailed

__all__ = ["app"]

app = typer.Typer(name="audit", help="The append-only audit trail.", no_args_is_help=True)

_PAGE = 1000

ActorOpt = Annotated[str | None, typer.Option("--actor", help="Only events by this actor.")]
ActionOpt = Annotated[
    str | None,
    typer.Option("--action", help="e.g. run.create; a trailing * matches a prefix (deployment.*)."),
]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="From this time: ISO (2026-01-31T12:00Z), epoch ms, or 7d."),
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Before this time (same forms as --since).")
]


def _print_events(events: list[Any], title: str) -> None:
    console().print(
        table(
            title,
            ["seq", "time", "actor", "action", "object", "digest"],
            [
                [
                    e.seq,
                    fmt_time(e.created),
                    e.actor,
                    e.action,
                    f"{e.object_type}:{e.object_id}",
                    e.digest[:12],
                ]
                for e in events
            ],
        )
    )


@app.command("list")
def list_events(
    object_type: Annotated[
        str | None, typer.Option("--object-type", "-t", help="e.g. run, model_version.")
    ] = None,
    object_id: Annotated[str | None, typer.Option("--object-id", help="Object id.")] = None,
    action: ActionOpt = None,
    after: Annotated[int, typer.Option("--after", min=0, help="Only events after this seq.")] = 0,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10_000, help="At most N events.")
    ] = 100,
    oldest_first: Annotated[
        bool,
        typer.Option("--oldest-first", help="The first N events instead of the latest N."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The latest audit events (newest first), optionally for one object or action."""
    filters = {"object_type": object_type, "object_id": object_id, "action": action}
    events = backend().list_audit_events(
        **{k: v for k, v in filters.items() if v},
        limit=limit,
        after_seq=after,
        newest_first=not oldest_first,
    )
    emit(
        [e.to_dict() for e in events],
        lambda: _print_events(events, f"Audit events ({len(events)})"),
        as_json,
    )


def _split_object(obj: str | None) -> dict[str, str]:
    if not obj:
        return {}
    kind, _, ident = obj.partition(":")
    if not kind:
        raise ValidationFailed(f"bad --object {obj!r}: use TYPE or TYPE:ID (deployment:churn)")
    return {"object_type": kind, **({"object_id": ident} if ident else {})}


def _pages(filters: dict[str, Any], limit: int | None) -> Iterator[Any]:
    """Matching events in chain order, fetched a page at a time (at most ``limit``)."""
    client, after, left = backend(), 0, limit
    while left is None or left > 0:
        page = client.list_audit_events(
            **filters, after_seq=after, limit=_PAGE if left is None else min(_PAGE, left)
        )
        yield from page
        if len(page) < _PAGE or not page:
            return
        after = page[-1].seq
        if left is not None:
            left -= len(page)


@app.command("log")
def log_events(
    actor: ActorOpt = None,
    action: ActionOpt = None,
    obj: Annotated[
        str | None,
        typer.Option("--object", help="TYPE or TYPE:ID, e.g. deployment:churn, model_version."),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most N events (default all).")
    ] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One JSON object per line (JSON Lines).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write JSON Lines to this file instead of stdout."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Search the trail in chain order by actor, action, object and time; export JSON Lines."""
    filters: dict[str, Any] = {
        k: v
        for k, v in {"actor": actor, "action": action, "since": since, "until": until}.items()
        if v
    }
    filters.update(_split_object(obj))
    events = _pages(filters, limit)
    if output is not None:
        from conveyor.artifacts.store import write_atomically

        count = 0

        def lines() -> Iterator[bytes]:
            nonlocal count
            for e in events:
                count += 1
                yield orjson.dumps(e.to_dict()) + b"\n"

        write_atomically(output, lines())
        err_console().print(f"Wrote {count} audit events to {output}", markup=False)
        return
    if jsonl:
        for e in events:
            sys.stdout.write(orjson.dumps(e.to_dict()).decode() + "\n")
        return
    listed = list(events)
    emit(
        [e.to_dict() for e in listed],
        lambda: _print_events(listed, f"Audit events ({len(listed)})"),
        as_json,
    )


def _read_anchor(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        import httpx

        try:
            raw = httpx.get(source, timeout=30).raise_for_status().content
        except httpx.HTTPError as exc:
            raise ValidationFailed(f"could not fetch the anchor from {source}: {exc}") from exc
    else:
        path = Path(source)
        if not path.is_file():
            raise ValidationFailed(f"anchor file {source} does not exist")
        raw = path.read_bytes()
    try:
        anchor = orjson.loads(raw)
        return {"anchor": f"{int(anchor['seq'])}:{anchor['hash']}"}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ValidationFailed(
            f"{source} is not an audit anchor: expected JSON with 'seq' and 'hash' "
            "(written by conveyor audit anchor --output)"
        ) from None


@app.command("verify")
def verify(
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor", help="An anchor file or URL (audit anchor --output): detect rewrites."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the hash chain; exit 1 and name the first bad event if it is broken."""
    report = backend().verify_audit_chain(**(_read_anchor(anchor) if anchor else {}))
    data = report.to_dict()

    def render() -> None:
        if report.ok:
            extra = f" (matches the anchor {anchor})" if anchor else ""
            console().print(
                f"Audit chain intact: {report.events} events verified{extra}.", markup=False
            )
        else:
            what = f" ({report.first_bad_action}, id {report.first_bad_id})"
            err_console().print(
                f"Audit chain broken at seq {report.first_bad_seq}"
                f"{what if report.first_bad_id else ''}: {report.reason}",
                style="bold red",
                markup=False,
            )

    emit(data, render, as_json)
    if not report.ok:
        raise typer.Exit(1)


@app.command("anchor")
def anchor_cmd(
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Write the anchor to this file, or POST it to this URL."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the chain head (seq and hash) to keep outside the database."""
    head = backend().anchor_audit_chain()
    body = orjson.dumps(head, option=orjson.OPT_INDENT_2) + b"\n"
    if output and output.startswith(("http://", "https://")):
        import httpx

        try:
            httpx.post(
                output, content=body, headers={"content-type": "application/json"}, timeout=30
            ).raise_for_status()
        except httpx.HTTPError as exc:
            raise ValidationFailed(f"could not post the anchor to {output}: {exc}") from exc
    elif output:
        from conveyor.artifacts.store import write_atomically

        write_atomically(Path(output), iter([body]))
    emit(
        head,
        lambda: console().print(
            f"Audit head: seq {head['seq']} hash {head['hash']}"
            + (f" (written to {output})" if output else ""),
            markup=False,
        ),
        as_json,
    )
