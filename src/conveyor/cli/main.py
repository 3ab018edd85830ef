"""The ``conveyor`` app: the root options, the command modules, and error handling.

Adding an area is one line in ``MODULES``: the dotted path of a module exposing ``app``
(a ``typer.Typer`` with a ``name`` for a command group, or without one to add its commands
at the top level).

Errors: a ``ConveyorError`` prints ``<headline>: <message>`` in red on stderr and exits 2
for invalid input (``ValidationFailed``), 1 otherwise. Anything unexpected prints a short
message and exits 1; ``--debug`` (or ``CONVEYOR_DEBUG=1``) adds the traceback.
"""

from __future__ import annotations

import importlib
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from conveyor.backend import reset_backends
from conveyor.cli._output import debug_enabled, err_console, state
from conveyor.errors import ConveyorError, ValidationFailed

__all__ = ["MODULES", "app", "exit_code", "main"]

#: The command modules (dotted paths), in help order. Each exposes ``app``.
MODULES = [
    "conveyor.cli.experiments",
    "conveyor.cli.runs",
    "conveyor.cli.models",
    "conveyor.cli.datasets",
    "conveyor.cli.audit",
    "conveyor.cli.retention",
    "conveyor.cli.holds",
    "conveyor.deployments.cli",
    "conveyor.gates.cli",
    "conveyor.deployments.rollout_cli",
    "conveyor.deployments.packaging_cli",
    "conveyor.monitoring.cli",
    "conveyor.monitoring.traffic_cli",
    "conveyor.pipelines.cli",
    "conveyor.pipelines.trigger_cli",
    "conveyor.pipelines.ci_cli",
    "conveyor.lineage.cli",
    "conveyor.features.cli",
    "conveyor.governance.cli",
    "conveyor.governance.approvals_cli",
    "conveyor.cli.system",
    "conveyor.mlflow_import.cli",
]


def exit_code(error: ConveyorError) -> int:
    """2 for invalid input or usage, 1 for every other error."""
    return 2 if isinstance(error, ValidationFailed) else 1


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


#: Exceptions click/typer turn into exit codes and usage messages themselves. ClickException
#: is found through BadParameter so this works whether typer vendors click or imports it.
_PASS_THROUGH: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


class ConveyorGroup(TyperGroup):
    """The root group: turns errors raised by any command into a message and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # a click Context (vendored by typer >= 0.24)
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except BrokenPipeError:
            # stdout closed early (`conveyor runs list | head`): stop quietly, like Unix tools
            import os
            import sys

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except ConveyorError as error:
            if debug_enabled():
                err_console().print(traceback.format_exc(), markup=False, style="dim")
            err_console().print(
                f"{error.headline}: {_one_line(error.message)}",
                style="bold red",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(exit_code(error)) from None
        except Exception as error:
            if debug_enabled():
                err_console().print(traceback.format_exc(), markup=False)
            hint = "" if debug_enabled() else " (run with --debug for the traceback)"
            err_console().print(
                f"Unexpected error: {type(error).__name__}: {_one_line(str(error))}{hint}",
                style="bold red",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    name="conveyor",
    cls=ConveyorGroup,
    help="Conveyor: versioned data, tracked experiments, a model registry, serving and "
    "monitoring. Works on the embedded store, or a server when CONVEYOR_URI is set.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output on stdout for every list/show command.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of errors (or CONVEYOR_DEBUG=1).")
    ] = False,
) -> None:
    state.json = as_json
    state.debug = debug
    ctx.call_on_close(_close)


def _close() -> None:
    """After each invocation: close the backends it opened, forget the global options."""
    state.json = state.debug = False
    reset_backends()


#: Old singular group names, kept (hidden) for one release: old name -> group name.
DEPRECATED_GROUPS = {"monitor": "monitors"}

for _module in MODULES:
    _area = importlib.import_module(_module).app
    app.add_typer(_area)
    for _old, _new in DEPRECATED_GROUPS.items():
        if _area.info.name == _new:
            app.add_typer(_area, name=_old, hidden=True, help=f"Deprecated: `conveyor {_new}`.")


def main() -> None:
    """Entry point of the ``conveyor`` executable."""
    app(prog_name="conveyor")


if __name__ == "__main__":  # python -m conveyor.cli.main
    main()
