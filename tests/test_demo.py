"""`make demo` keeps working: the closed loop runs end to end on embedded defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


@pytest.mark.slow
def test_demo_runs_the_loop_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    out = subprocess.run(
        [sys.executable, str(DEMO)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    for needle in (
        "churn-train v1",
        "fairness failed on churn v3",  # the biased candidate, with its group table
        "per-group rates",
        "alias champion → v3 refused",
        "churn v1 (gate AUC",
        "runtime onnx",
        "labels fed back",
        "drift vs the training data",
        "ALERT churn-drift",
        "ALERT churn-decay",
        "trigger retrain-on-drift: alert",
        "retraining pipeline run",
        "4 of 6 steps were cache hits",
        "signature inferred: tenure_months",
        "PASSED  evaluation datasets:/churn-eval/2",
        "rollout promoted: churn/4 is primary at 100% and @champion",
        "rollback → rolled_back",
        "conveyor audit verify",
        "←registered— run:",  # the lineage walk from the last prediction
        "built on: dataset:",
        "lineage graph, model card and compliance bundle of churn/4",
    ):
        assert needle in text, needle
    assert text.index("rollout promoted") < text.index("rollback → rolled_back")
    report = (tmp_path / ".conveyor" / "reports" / "churn-window.html").read_text()
    assert "DRIFT DETECTED" in report and "<pre>" not in report  # tables, not raw JSON
    assert "<th>accuracy</th>" in report
    assert "Window report: churn" in report
    verify = subprocess.run(
        [sys.executable, "-m", "conveyor", "audit", "verify"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_demo_refuses_a_store_that_holds_an_earlier_run(tmp_path: Path) -> None:
    """A second run on the same store would gate against its own champion and fail halfway:
    it stops before writing anything, saying how to run it again."""
    from conveyor.artifacts import ArtifactStore
    from conveyor.backend import LocalBackend
    from conveyor.store import MetadataStore

    home = tmp_path / ".conveyor"
    meta = MetadataStore(f"sqlite:///{home / 'conveyor.db'}")
    earlier = LocalBackend(meta, ArtifactStore.from_uri(str(home / "artifacts")))
    earlier.create_model("churn")
    earlier.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    out = subprocess.run(
        [sys.executable, str(DEMO)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode != 0
    assert "already holds a run of the demo (model 'churn')" in out.stderr
    assert "make demo" in out.stderr and "CONVEYOR_HOME" in out.stderr
    assert "Conveyor demo" not in out.stdout  # stopped before the first stage
