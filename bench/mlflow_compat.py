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

#: what a profile of the server showed (py-spy over 2,000 stock-client log_metric calls)
PROFILE = (
    "Server side, profiled (`py-spy record --threads` on the server process while the stock "
    "client sent 2,000 `log_metric` calls; server CPU per call from /proc): FastAPI's "
    "routing, not the handler, was the largest share. Matching the app's few hundred routes "
    "in order before the MLflow catch-all and solving FastAPI's dependencies took ~40% of "
    "the server's CPU per call, the handler (one write transaction: run check, point, "
    "latest value, hash-chained audit event, commit; 0.37 ms in-process) ~15%, uvicorn's "
    "HTTP parsing and socket writes most of the rest. The MLflow prefixes now go through a "
    "raw ASGI layer inside the app's own middleware (body limits and error mapping still "
    "apply) ahead of the router: 1.65 → 1.05 ms of server CPU per call at the same load; "
    "an unknown MLflow route (HTTP, middleware, thread hop, no database) costs 0.33 ms, "
    "`/api/v1/health` 0.77 ms. Handler CPU in-process per request of a run: create "
    "0.50 ms, log-batch (2 params) 0.49, log-metric 0.41, get 1.30 (nine indexed reads), "
    "update 0.79; a 1,000-run search 72 ms (half the shared search and hydration, half "
    "MLflow's run JSON), serialising its 0.8 MB answer 2 ms."
)


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


#: (result key, operation, scale, unit) of the per-operation tables
_PER_OPERATION = (
    ("per_call", "log_metric call", 1e3, "ms"),
    ("batched", "metric point", 1e6, "µs"),
    ("runs", "run", 1e3, "ms"),
    ("search", "search", 1e3, "ms"),
)
#: the stock client's HTTP requests per operation (counted at the server)
_REQUESTS = {"per_call": "1", "batched": "1/1,000", "runs": "5", "search": "1"}


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
    for key, what, scale, unit in _PER_OPERATION:
        cells = [
            f"{d[side] / d['n'] * scale:,.2f} {unit}"
            for side in ("server_cpu_s", "client_cpu_s")
            for d in (c[key], m[key])
        ]
        cpu.append(f"| per {what} | " + " | ".join(cells) + " |")
    where = [
        "| per operation (HTTP requests) | wall → Conveyor | its client CPU | its server CPU "
        "| rest (HTTP, loopback, waiting) | wall → mlflow | wall ratio | CPU ratio "
        "| ceiling, wall | ceiling, CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, what, scale, unit in _PER_OPERATION:
        what = f"{what} ({_REQUESTS[key]})"
        o, p = c[key], m[key]
        wall_o, wall_p = o["seconds"] / o["n"], p["seconds"] / p["n"]
        cli, srv = o["client_cpu_s"] / o["n"], o["server_cpu_s"] / o["n"]
        cpu_p = (p["client_cpu_s"] + p["server_cpu_s"]) / p["n"]
        cells = [f"{v * scale:,.2f} {unit}" for v in (wall_o, cli, srv, wall_o - cli - srv)]
        where.append(
            f"| {what} | " + " | ".join(cells) + f" | {wall_p * scale:,.2f} {unit} | "
            f"{wall_p / wall_o:,.1f}× | {cpu_p / (cli + srv):,.1f}× | "
            f"{wall_p / max(wall_o - srv, 1e-12):,.1f}× | {cpu_p / cli:,.1f}× |"
        )
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
            "Where the time goes, per operation of the stock client against Conveyor: its "
            "wall time split into the client's CPU, the server's CPU (both from /proc, all "
            "threads) and the rest (HTTP over loopback, the kernel, waiting for a core on a "
            "shared machine). CPU ratio: (mlflow server + client CPU) / (Conveyor server + "
            "client CPU), which load moves far less than wall time. Ceilings: the ratios if "
            "Conveyor's server took no time at all — wall: MLflow's wall / (Conveyor's wall − "
            "its server CPU); CPU: MLflow's server + client CPU / the client's CPU against "
            "Conveyor. Where a ceiling is under 5×, the stock client's own cost (the same "
            "requests, protobuf parsing of every answer) makes the issue's ≥ 5× target "
            "unreachable whatever the server does.",
            "",
            *where,
            "",
            PROFILE,
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
