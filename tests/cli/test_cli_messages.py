"""CLI messages say what is there and what was wrong (issue 9 item 10-11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typer.testing import CliRunner

from conveyor.cli.main import app

if TYPE_CHECKING:
    from tests.cli.conftest import Seeded


def test_server_help_says_what_it_serves(runner: CliRunner) -> None:
    result = runner.invoke(app, ["server", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "web UI at /" in text and "--init-admin" in text
    assert "/api/v1/docs" in text and "/serving" in text


def test_search_on_an_unknown_backticked_key_says_no_run_has_it(
    runner: CliRunner, seeded: Seeded
) -> None:
    result = runner.invoke(app, ["runs", "search", "--filter", "tags.`team name` = 'growth'"])
    assert result.exit_code == 0, result.output
    assert "Runs matching (0)" in result.stdout
    message = " ".join(result.stderr.split())
    assert "No run has tag 'team name'" in message and "backticks" in message
    # backtick quoting works: the same key that exists, quoted, matches
    result = runner.invoke(app, ["runs", "search", "--filter", "tags.`team` = 'growth'"])
    assert "Runs matching (3)" in result.stdout and result.stderr == ""
    # a known key with a value nobody has: nothing matched, and no note about keys
    result = runner.invoke(app, ["runs", "search", "--filter", "tags.team = 'nobody'"])
    assert "Runs matching (0)" in result.stdout and result.stderr == ""


def test_metric_columns_come_from_the_parsed_filter(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(
        app,
        ["runs", "search", "--filter", "metrics.`auc` > 0.8", "--order-by", "metrics.loss"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "metrics.auc" in result.stdout and "metrics.loss" in result.stdout
