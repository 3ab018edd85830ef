"""Four processes logging to one embedded store at once lose nothing and never see
"database is locked" — the SQLite WAL + BEGIN IMMEDIATE design, exercised for real."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conveyor.backend.local import LocalBackend

WORKER = textwrap.dedent(
    """
    import sys
    import conveyor

    worker = int(sys.argv[1])
    conveyor.set_experiment("shared")
    for r in range(8):
        with conveyor.start_run(run_name=f"w{worker}-r{r}"):
            conveyor.log_params({"worker": worker, "run": r})
            for step in range(250):
                conveyor.log_metric("loss", 1.0 / (step + 1), step=step)
                conveyor.log_metric("acc", step / 250, step=step)
            conveyor.end_run()
    print("done", worker)
    """
)


def test_four_processes_log_to_one_sqlite_store(conveyor_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "CONVEYOR_HOME": str(conveyor_home), "CONVEYOR_METRIC_FLUSH_SIZE": "50"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower()
        assert out.startswith("done")

    backend = LocalBackend.from_settings()
    runs = backend.search_runs(max_results=100)
    assert len(runs) == 32
    assert all(r.status == "FINISHED" for r in runs)
    for run in runs:
        assert len(backend.get_metric_history(run.id, "loss")) == 250
        assert len(backend.get_metric_history(run.id, "acc")) == 250
        assert run.metrics["acc"] == 249 / 250
    assert backend.verify_audit_chain().ok
