"""``conveyor models card`` and ``conveyor models card-set`` (registered on the ``models``
group by :mod:`conveyor.cli.models`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import console, print_json
from conveyor.errors import ValidationFailed

__all__ = ["card", "card_set", "split_ref"]

RefArg = Annotated[str, typer.Argument(help="<model>/<version> (a number, alias or 'latest').")]
Many = Annotated[list[str] | None, typer.Option(help="Repeat for several.")]


def split_ref(ref: str) -> tuple[str, str]:
    """``churn/3`` → ``("churn", "3")``; a clear error for anything else."""
    name, sep, version = ref.rpartition("/")
    if not sep or not name or not version:
        raise ValidationFailed(
            f"expected <model>/<version> (e.g. churn/3 or churn/champion), got {ref!r}"
        )
    return name, version


def _write(path: Path, text: str) -> None:
    from conveyor.lineage.files import write_text_atomically

    write_text_atomically(path, text)
    console().print(f"wrote {path}")


def card(
    ref: RefArg,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML page here.")] = None,
    md: Annotated[Path | None, typer.Option("--md", help="Write the Markdown here.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the card (Model Card Toolkit JSON) on stdout.")
    ] = False,
    resamples: Annotated[
        int, typer.Option("--resamples", help="Bootstrap resamples for metric intervals.")
    ] = 1000,
) -> None:
    """The model card of a version: Markdown on stdout, or --html/--md files, or --json."""
    from conveyor.lineage.card_render import card_html, card_markdown

    name, version = split_ref(ref)
    data = backend().get_model_card(name, version, resamples)
    if html is not None:
        _write(html, card_html(data))
    if md is not None:
        _write(md, card_markdown(data))
    if as_json:
        print_json(data)
    elif html is None and md is None:
        typer.echo(card_markdown(data))


def _from_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationFailed(f"cannot read {str(path)!r}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"{str(path)!r} is not YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"{str(path)!r} must hold an object of card fields")
    return data


def card_set(
    ref: RefArg,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="A YAML/JSON file of card fields (see docs/model-cards.md)."),
    ] = None,
    overview: Annotated[str | None, typer.Option(help="One-paragraph description.")] = None,
    intended_use: Many = None,
    user: Many = None,
    out_of_scope: Many = None,
    limitation: Many = None,
    tradeoff: Many = None,
    risk: Annotated[
        list[str] | None, typer.Option(help="An ethical risk, 'risk: mitigation'. Repeatable.")
    ] = None,
    owner: Annotated[list[str] | None, typer.Option(help="'Name <contact>'. Repeatable.")] = None,
    license: Annotated[str | None, typer.Option(help="SPDX identifier or text.")] = None,
    reference: Many = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop the fields not given instead of keeping them.")
    ] = False,
) -> None:
    """Set the user-written fields of a version's model card (intended use, limitations…)."""
    name, version = split_ref(ref)
    fields = _from_file(from_file) if from_file is not None else {}
    given = {
        "overview": overview,
        "use_cases": intended_use,
        "users": user,
        "out_of_scope_uses": out_of_scope,
        "limitations": limitation,
        "tradeoffs": tradeoff,
        "ethical_considerations": risk,
        "owners": owner,
        "licenses": [license] if license else None,
        "references": reference,
    }
    fields.update({k: v for k, v in given.items() if v})
    if not fields and not replace:
        raise ValidationFailed("give at least one field (e.g. --intended-use ...) or --from FILE")
    print_json(backend().set_model_card_fields(name, version, fields, replace))
