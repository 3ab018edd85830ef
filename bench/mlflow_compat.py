# ruff: noqa: RUF001
"""The stock MLflow client against ``conveyor server`` and against ``mlflow server``.

The same client script as ``bench/tracking.py``'s MLflow side (``MLFLOW_CLIENT``), the
same sizes, in the same run: once with ``MLFLOW_TRACKING_URI`` at a Conveyor server (its
MLflow REST adapter), once at ``mlflow server`` (SQLite). Both stores are seeded with the
same 10,000 runs before their servers start. CPU per operation is split into server and
client, which says where the time goes: the stock client sends one HTTP request per
``log_metric`` and parses every search answer into protobuf objects, which bounds what
any server can gain.

Usage::

    .venv/bin/python bench/mlflow_compat.py           # full run, a few minutes
    .venv/bin/python bench/mlflow_compat.py --quick   # smoke run
    .venv/bin/python bench/tracking.py --mlflow-client   # the same, after tracking's run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    REPO,
    ensure_venv,
    free_port,
    log,
    machine_info,
    pkg_version,
    run_client,
    server_process,
    update_doc_section,
)

from tracking import (
    MLFLOW_CLIENT,
    OURS_CLIENT,
    SEARCH_EXPERIMENT,
    SEARCH_FILTER,
    _git_commit,
    _loadavg,
    _median,
    _mlflow_server_cmd,
    _ours_server_cmd,
    _p95,
    _project_python,
)

MLFLOW_PIN = "mlflow==3.17.2"  # the release tests/mlflow_compat pins
FULL = {"per_call": 300, "batch_points": 20_000, "runs": 50, "search_runs": 10_000, "reps": 20}
QUICK = {"per_call": 50, "batch_points": 3_000, "runs": 10, "search_runs": 1_000, "reps": 5}
HEADING = "Stock MLflow client: Conveyor server vs mlflow server"


def _mlflow_python() -> Path:
    """The tests' stock-client venv when it exists, else bench/.peers/mlflow (pinned)."""
    tests_venv = REPO / ".venv-clients" / "mlflow" / "bin" / "python"
    if tests_venv.exists():
        return tests_venv
    return ensure_venv("mlflow-pinned", [MLFLOW_PIN], check_import="mlflow")


def run(sizes: dict[str, int]) -> dict[str, Any]:
    ours_py, mlflow_py = _project_python(), _mlflow_python()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mlflow-compat-"))
    work = tmp / "cwd"
    work.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "MLFLOW_"))}
    ours_env = {**clean, "CONVEYOR_HOME": str(tmp / "conveyor-home")}
    db_uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow_env = {**clean, "MLFLOW_TRACKING_URI": db_uri}
    common = {"experiment": SEARCH_EXPERIMENT, "filter": SEARCH_FILTER, "max_results": 1000}
    seed = {**common, "mode": "seed", "runs": sizes["search_runs"]}
    log(f"seeding {sizes['search_runs']:,} runs into each store")
    run_client(ours_py, OURS_CLIENT, {**seed, "who": "conveyor"}, env=ours_env, cwd=work)
    run_client(
        mlflow_py,
        MLFLOW_CLIENT,
        {**seed, "who": "mlflow", "db_uri": db_uri, "artifact_root": str(tmp / "mlruns")},
        env=mlflow_env,
        cwd=work,
        inherit_env=False,
    )
    bench = {
        **common,
        "mode": "bench",
        "per_call": sizes["per_call"],
        "batch_points": sizes["batch_points"],
        "batch_size": 1000,
        "runs": sizes["runs"],
        "search_reps": sizes["reps"],
    }
    results: dict[str, Any] = {
        "versions": {
            "mlflow": pkg_version(mlflow_py, "mlflow"),
            "conveyor": pkg_version(ours_py, "conveyor-mlops"),
        }
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server_process(
        "conveyor-server",
        _ours_server_cmd(ours_py, port),
        health_url=f"{url}/api/v1/health",
        base_url=url,
        env=ours_env,
        cwd=work,
        inherit_env=False,
        log_dir=tmp,
    ) as srv:
        results["conveyor"] = run_client(
            mlflow_py,
            MLFLOW_CLIENT,
            {**bench, "who": "mlflow→conveyor", "server_pids": [srv.pid]},
            env={**clean, "MLFLOW_TRACKING_URI": url},
            cwd=work,
            inherit_env=False,
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server_process(
        "mlflow-server",
        _mlflow_server_cmd(mlflow_py, db_uri, tmp / "mlruns", port),
        health_url=f"{url}/health",
        base_url=url,
        env={**clean, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        cwd=work,
        inherit_env=False,
        log_dir=tmp,
        deadline_s=180.0,
    ) as srv:
        results["mlflow"] = run_client(
            mlflow_py,
            MLFLOW_CLIENT,
            {**bench, "who": "mlflow→mlflow", "server_pids": [srv.pid]},
            env={**clean, "MLFLOW_TRACKING_URI": url},
            cwd=work,
            inherit_env=False,
        )
    return results


def render(res: dict[str, Any], sizes: dict[str, int], cmd: str) -> str:
    c, m = res["conveyor"], res["mlflow"]
    rows = [
        "| workload (stock MLflow client) | → Conveyor server | → mlflow server | ratio |",
        "|---|---:|---:|---:|",
    ]
    for key, label, unit in (
        ("per_call", "log_metric, single calls", "calls/s"),
        ("batched", "metric points, log_batch of 1,000", "points/s"),
        ("runs", "runs created (2 params + 1 metric)", "runs/s"),
    ):
        o, p = c[key]["per_s"], m[key]["per_s"]
        rows.append(f"| {label} | {o:,.1f} {unit} | {p:,.1f} {unit} | {o / p:,.1f}× |")
    for stat, fn in (("median", _median), ("p95", _p95)):
        o, p = fn(c["search"]["samples_s"]) * 1000, fn(m["search"]["samples_s"]) * 1000
        rows.append(
            f"| search_runs over {sizes['search_runs']:,} runs ({c['search']['returned']} "
            f"returned), {stat} | {o:,.1f} ms | {p:,.1f} ms | {p / o:,.1f}× |"
        )
    cpu = [
        "| CPU per operation | Conveyor server | mlflow server | client (→ Conveyor) "
        "| client (→ mlflow) |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, what, scale, unit in (
        ("per_call", "log_metric call", 1e3, "ms"),
        ("batched", "metric point", 1e6, "µs"),
        ("runs", "run", 1e3, "ms"),
        ("search", "search", 1e3, "ms"),
    ):
        cells = [
            f"{d[side] / d['n'] * scale:,.2f} {unit}"
            for side in ("server_cpu_s", "client_cpu_s")
            for d in (c[key], m[key])
        ]
        cpu.append(f"| per {what} | " + " | ".join(cells) + " |")
    info = machine_info()
    return "\n".join(
        [
            "The same stock-client script (`MLFLOW_CLIENT` of `bench/tracking.py`) with "
            "`MLFLOW_TRACKING_URI` at `conveyor server` (its MLflow REST adapter) and at "
            "`mlflow server` (SQLite), same sizes, same run (`bench/mlflow_compat.py`).",
            "",
            f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: "
            f"{info.get('nproc')} CPUs, Python {info.get('python')}; MLflow "
            f"{res['versions']['mlflow']}, Conveyor {res['versions']['conveyor']}",
            f"- Command: `{cmd}` (repo commit {res['commit']}); load average at start / end: "
            f"{res['load'][0]} / {res['load'][1]}",
            f"- Sizes: {sizes['per_call']} `log_metric` calls, {sizes['batch_points']:,} "
            f"batched points, {sizes['runs']} runs, {sizes['reps']} timed searches "
            f"(`{SEARCH_FILTER}`, max_results=1000) over {sizes['search_runs']:,} seeded runs",
            "",
            *rows,
            "",
            "Ratios: Conveyor/MLflow for throughput, MLflow/Conveyor for latency.",
            "",
            *cpu,
            "",
            "Where the time goes: the stock client pays the same CPU against both servers "
            "(the right two columns): one HTTP request per `log_metric`, five to six requests "
            "per run (`create`, `log-batch`, `log-metric`, `update`, experiment look-ups), and "
            "parsing every search answer into protobuf and `Run` objects (the largest share of "
            "a 1,000-run search). Against Conveyor that client cost is most of the total, so "
            "it bounds the gain whatever the server does: with the server at zero CPU, "
            "per-call logging could not be more than (MLflow server + client) / client faster. "
            "On Conveyor's side each write request is one transaction with its hash-chained "
            "audit event and commit (the same path as `/api/v1` log-batch); a search is the "
            "same indexed query as `conveyor.search_runs` plus building MLflow's JSON. Compare "
            "the server CPU columns for what the server itself costs; the wall-time ratios "
            "fall short of the issue's ≥ 5× target on a busy machine because the client's "
            "share, the same on both sides, is most of the total against Conveyor. Conveyor's "
            "own SDK (the Tracking section above) buffers and batches, which is where the "
            "large ratios are.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, small sizes")
    parser.add_argument("--no-doc", action="store_true", help="do not update the doc")
    parser.add_argument("--doc", default=str(REPO / "docs" / "benchmarks.md"))
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    cmd = "python bench/mlflow_compat.py" + (" --quick" if args.quick else "")
    load0 = _loadavg()
    res = run(sizes)
    res["load"], res["commit"] = [load0, _loadavg()], _git_commit()
    text = render(res, sizes, cmd)
    print(text)
    if not args.no_doc:
        update_doc_section(args.doc, HEADING, text)
        log(f"updated {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
