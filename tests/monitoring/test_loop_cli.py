"""``conveyor monitors ...`` through typer's CliRunner on the embedded store (CONVEYOR_HOME)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import conveyor
from conveyor._util import now_ms
from conveyor.cli.main import ConveyorGroup
from conveyor.data import service as data_service
from conveyor.monitoring.cli import app as monitor_app
from conveyor.registry import service as registry

from .test_loop_helpers import ENDPOINT, http_sink, write_log

root = typer.Typer(cls=ConveyorGroup)
root.add_typer(monitor_app)
runner = CliRunner()


def _cli(*args: str, code: int = 0) -> str:
    result = runner.invoke(root, ["monitors", *args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def log_uri(tmp_path: Path) -> str:
    root_dir = tmp_path / "plog"
    write_log(root_dir, start_ms=now_ms() - 20 * 60_000, step_ms=5_000, shift=1.5)
    return str(root_dir)


def _register_reference() -> None:
    backend = conveyor.connect()
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x0": rng.normal(size=1000), "c0": rng.choice(["a", "b", "c"], 1000)})
    dv = data_service.record_dataset_version(
        backend.meta, backend.artifacts, backend.actor, name="train", data=frame
    )
    with backend.meta.write(backend.actor) as uow:
        registry.create_model_version(
            uow, "churn-model", source="test", manifest_sha256="0" * 64, flavor="sklearn",
            files=[{"path": "model.skops", "sha256": "0" * 64}],
            reference_dataset_version_id=dv.id,
        )  # fmt: skip


def test_create_run_and_alerts(log_uri: str, tmp_path: Path) -> None:
    with http_sink() as (url, got):
        _cli(
            "create", "p99", "-e", ENDPOINT, "-m", "latency.p99", "-t", "1", "-w", "1h",
            "--notify", f"webhook={url}", "--notify", "log", "--severity", "critical",
        )  # fmt: skip
        listed = json.loads(_cli("list", "--json"))
        assert listed[0]["name"] == "p99" and listed[0]["notifiers"][0]["url"] == url
        out = json.loads(_cli("run", "--once", "--json", "--log-uri", log_uri))
        assert out[0]["status"] == "breach" and out[0]["action"] == "fire"
        assert got.bodies[0]["kind"] == "firing"
    assert "p99" in _cli("run", "--once", "--all", "--log-uri", log_uri)
    alerts = json.loads(_cli("alerts", "--open", "--json"))
    assert [a["state"] for a in alerts] == ["firing"]
    assert "firing" in _cli("alerts")
    checks = json.loads(_cli("checks", "p99", "--json"))
    assert [c["status"] for c in checks] == ["breach", "breach"]
    assert "exists" in _cli("create", "p99", "-e", ENDPOINT, "-m", "volume", "-t", "1", code=1)
    assert "monitor 'nope' does not exist" in _cli("alerts", "--monitor", "nope", code=1)
    _cli("delete", "p99")
    assert json.loads(_cli("list", "--json")) == []


def test_create_from_a_file_is_declarative(tmp_path: Path) -> None:
    spec = tmp_path / "monitors.yaml"
    spec.write_text(
        "monitors:\n"
        "  - {name: auc, endpoint: churn, metric: performance.auc, comparison: '<',"
        " threshold: 0.7, for: 15m}\n"
        "  - {name: vol, endpoint: churn, metric: volume, comparison: '<', threshold: 1}\n"
    )
    first = json.loads(_cli("create", "--file", str(spec), "--json"))
    assert [m["action"] for m in first] == ["created", "created"]
    again = json.loads(_cli("create", "--file", str(spec), "--json"))
    assert [m["action"] for m in again] == ["unchanged", "unchanged"]
    spec.write_text(spec.read_text().replace("0.7", "0.8"))
    third = json.loads(_cli("create", "--file", str(spec), "--json"))
    assert [m["action"] for m in third] == ["updated", "unchanged"]
    assert "give NAME" in _cli("create", code=2)


def test_report_json_and_html(log_uri: str, tmp_path: Path) -> None:
    _register_reference()
    html = tmp_path / "report.html"
    out = json.loads(
        _cli(
            "report",
            "-e",
            ENDPOINT,
            "-w",
            "1h",
            "--model",
            "churn-model",
            "--model-version",
            "1",
            "--html",
            str(html),
            "--json",
            "--log-uri",
            log_uri,
            "--value-matrix",
            '{"tp": 10, "fp": -1, "fn": -10, "tn": 0}',
        )
    )
    assert out["window"]["rows"] == 75 * 4
    assert out["drift"]["drifted_columns"] == ["x0"]
    assert out["performance"]["status"] == "ok" and out["performance"]["overall"]["metrics"]["auc"]
    assert out["operational"]["latency_ms"]["p99"] is not None
    assert out["business"]["overall"]["total"] is not None
    page = html.read_text()
    assert page.startswith("<!") and "Performance" in page and "Operational" in page
    # compact tables: a row per group, no calibration-bin dump, ISO times, a real title
    assert "<title>Window report: churn</title>" in page
    appended = page[page.index("<h2>Window</h2>") :]
    assert appended.count("<tr>") < 60
    assert "<td>model_version 1</td>" in appended and "<td>route primary</td>" in appended
    assert "calibration_bins" not in appended and "<h2>Calibration (window)</h2>" in appended
    assert str(out["window"]["window"]["start_ms"]) not in appended
    assert out["window"]["window"]["start"] in appended
    assert "<h2>Business value</h2>" in appended and "uplift" in appended
    text = _cli("report", "-e", ENDPOINT, "--log-uri", log_uri)  # no reference: still a report
    assert "Drift: no reference data" in text and "Performance" in text
    unknown = _cli("report", "-e", "nothing", "--log-uri", log_uri, code=1)
    assert "endpoint 'nothing' does not exist" in unknown


def test_report_with_a_bad_value_matrix_says_which_key(log_uri: str) -> None:
    out = _cli(
        "report", "-e", ENDPOINT, "--log-uri", log_uri, "--value-matrix", '{"tp":1,"xx":2}',
        code=2,
    )  # fmt: skip
    assert "Unexpected error" not in out and "--value-matrix has unknown key(s) ['xx']" in out
    assert "accepted keys: ['tp', 'tn', 'fp', 'fn', 'positive', 'threshold']" in out


def test_create_refuses_monitors_that_could_never_evaluate(tmp_path: Path) -> None:
    base = ("create", "m", "-e", "not-deployed-yet", "-t", "1")
    out = _cli(*base, "-m", "volume", "--notify", "webhook=notaurl", code=2)
    assert "webhook notifier needs an http(s) URL, got 'notaurl'" in out
    out = _cli(*base, "-m", "business.total", code=2)
    assert "business.total: business metrics need options.value_matrix" in out
    out = _cli(*base, "-m", "business.total", "-o", 'value_matrix={"tp":1,"xx":2}', code=2)
    assert "unknown key(s) ['xx']" in out
    spec = tmp_path / "monitors.yaml"
    spec.write_text(
        "- {name: ok, endpoint: e, metric: volume, threshold: 1}\n"
        "- {name: biz, endpoint: e, metric: business.uplift, threshold: 0}\n"
    )
    out = _cli("create", "--file", str(spec), code=2)
    assert "monitor 'biz': business.uplift: business metrics need" in out
    assert json.loads(_cli("list", "--json")) == []  # nothing half-applied
    # an endpoint that is not deployed yet is fine: monitors may come first
    out = _cli(*base, "-m", "business.total", "-o", 'value_matrix={"tp":1}')
    assert "created" in out and "business.total" in out


def test_report_text_names_what_matters(log_uri: str, tmp_path: Path) -> None:
    _register_reference()
    args = ("report", "-e", ENDPOINT, "--model", "churn-model")
    full = json.loads(_cli(*args, "--log-uri", log_uri, "--json"))
    text = _cli(*args, "--log-uri", log_uri)
    assert "Drifted columns: x0" in text
    issues = full["quality"]["issues"]
    assert issues and f"[{issues[0]['severity']}] {issues[0]['check']}:" in text
    assert "Performance by version and route" in text
    assert "model_version 2" in text and "route canary" in text
    unlabelled = tmp_path / "unlabelled"
    write_log(unlabelled, start_ms=now_ms() - 20 * 60_000, step_ms=5_000, label_share=0.0)
    text = _cli("report", "-e", ENDPOINT, "--log-uri", str(unlabelled))
    assert "insufficient_data (no labels have arrived yet)" in text
