"""How the root group reports errors: ConveyorError, unexpected exceptions, --debug."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from conveyor.cli.main import ConveyorGroup, app, exit_code
from conveyor.errors import Conflict, MalformedRequest, NotFound, ValidationFailed


def _app_raising(error: Exception) -> typer.Typer:
    """A root group like the real one, with one command that raises ``error``."""
    demo = typer.Typer(cls=ConveyorGroup, pretty_exceptions_enable=False)

    @demo.callback()
    def root() -> None:
        pass

    @demo.command()
    def boom() -> None:
        raise error

    return demo


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationFailed("bad"), 2),
        (MalformedRequest("bad"), 2),
        (NotFound("gone"), 1),
        (Conflict("clash"), 1),
    ],
)
def test_exit_codes(error: ValidationFailed | NotFound, code: int) -> None:
    assert exit_code(error) == code


def test_conveyor_error_is_one_line(runner: CliRunner) -> None:
    error = ValidationFailed("2 of 3 data checks failed on x:\n  - a: no\n  - b: no")
    result = runner.invoke(_app_raising(error), ["boom"])
    assert result.exit_code == 2
    assert result.stderr == "Invalid input: 2 of 3 data checks failed on x: - a: no - b: no\n"


def test_unexpected_error_is_short_without_debug(runner: CliRunner) -> None:
    result = runner.invoke(_app_raising(RuntimeError("disk on fire")), ["boom"])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Unexpected error: RuntimeError: disk on fire")
    assert "--debug" in result.stderr


def test_debug_env_shows_the_traceback(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_DEBUG", "1")
    result = runner.invoke(_app_raising(RuntimeError("disk on fire")), ["boom"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "disk on fire" in result.stderr


def test_debug_option_shows_the_traceback(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--debug", "runs", "show", "nope"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().endswith("Not found: run 'nope' does not exist")


def test_usage_errors_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["runs", "list", "--max", "0"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["runs", "fly"])
    assert result.exit_code == 2


def test_every_command_has_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("experiments", "runs", "models", "datasets", "audit"):
        sub = runner.invoke(app, [group, "--help"])
        assert sub.exit_code == 0, sub.output
        assert group in result.stdout
    for command in ("settings", "server", "version"):
        assert command in result.stdout
