# ruff: noqa: RUF001
"""Tracking benchmark: Conveyor server vs ``mlflow server`` (SQLite), same run, same machine.

Both servers run on loopback as subprocesses with a SQLite backend in a fresh temporary
folder; each is driven by its own SDK from a client subprocess (MLflow's client runs in
MLflow's venv under ``bench/.peers/mlflow``, ours in the project venv), so neither SDK is
imported into the other's process.

Workloads
  a. per-call ``log_metric`` inside one run; the final flush / ``end_run`` is timed too
  b. batched metric points: ours ``backend.log_batch`` with 10k-point columnar batches,
     MLflow ``MlflowClient.log_batch`` with its maximum of 1000 metrics per call
  c. runs per second: ``with start_run(): log_params(2 params); log_metric(1 metric)``
  d. ``search_runs(filter "metrics.auc > 0.8", max_results=1000)`` over 10,000 seeded runs,
     timed over HTTP: median and p95. Both stores are seeded in-process before their
     servers start (MLflow through its own SqlAlchemyStore ORM, ours through LocalBackend).

Usage::

    .venv/bin/python bench/tracking.py            # full run, a few minutes
    .venv/bin/python bench/tracking.py --quick    # ~1 minute smoke run
    .venv/bin/python bench/tracking.py --no-doc   # do not rewrite docs/benchmarks.md

Exits non-zero only when something crashes; a missed target prints MISSED.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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

SEARCH_EXPERIMENT = "bench-search"
SEARCH_FILTER = "metrics.auc > 0.8"

# -- client scripts (run with `python -c SCRIPT ARGS_JSON`; last stdout line is JSON) -------
_CLIENT_PRELUDE = r"""
import json, os, random, statistics, sys, time
args = json.loads(sys.argv[1])
def note(msg):
    stamp = time.strftime('%H:%M:%S')
    print(f"[{stamp}]   {args.get('who', '')}: {msg}", file=sys.stderr, flush=True)
_TICK = os.sysconf("SC_CLK_TCK")
def server_cpu_s():
    # user+system CPU seconds of the server process and its descendants (Linux /proc)
    total, stack, seen = 0, list(args.get("server_pids", [])), set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in os.listdir(f"/proc/{pid}/task"):
                kids = open(f"/proc/{pid}/task/{task}/children").read().split()
                stack.extend(int(x) for x in kids)
        except OSError:
            pass
    return total / _TICK
class Meter:
    # wall time, client CPU (all threads of this process) and server CPU of a section
    def __enter__(self):
        self.s0, self.c0, self.t0 = server_cpu_s(), time.process_time(), time.perf_counter()
        return self
    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.client_cpu_s = time.process_time() - self.c0
        self.server_cpu_s = server_cpu_s() - self.s0
    def result(self, n, **extra):
        return {"n": n, "seconds": self.seconds, "per_s": n / self.seconds,
                "client_cpu_s": self.client_cpu_s, "server_cpu_s": self.server_cpu_s, **extra}
def idle_cpu(seconds):
    # the server's own CPU use while no request is made (background threads, job runners)
    c0 = server_cpu_s()
    time.sleep(seconds)
    return (server_cpu_s() - c0) / seconds
def timed_search(fn, reps):
    fn()  # warm-up (connection, caches) is not timed
    samples, count = [], None
    with Meter() as m:
        for _ in range(reps):
            t0 = time.perf_counter()
            found = fn()
            samples.append(time.perf_counter() - t0)
            count = len(found)
    return m.result(reps, samples_s=samples, returned=count)
"""

OURS_CLIENT = (
    _CLIENT_PRELUDE
    + r"""
import conveyor
from conveyor.tracking.metric_rows import MetricRows

out = {"version": conveyor.__version__}

if args["mode"] == "seed":
    # In-process, embedded store (no CONVEYOR_URI): the server is started afterwards.
    # LocalBackend calls inside an outer write transaction join it, so 500 runs commit
    # together (the same rows and audit events as one call each, far fewer commits).
    backend = conveyor.connect()
    exp = backend.get_or_create_experiment(args["experiment"])
    rng = random.Random(7)
    n, t0 = args["runs"], time.perf_counter()
    now = int(time.time() * 1000)
    for start in range(0, n, 500):
        with backend.meta.write(backend.actor):
            for i in range(start, min(n, start + 500)):
                model, auc, loss = rng.choice(["rf", "gbm", "lr"]), rng.random(), rng.random()
                run = backend.create_run(
                    exp.id, name=f"seed-{i}", params={"model": model, "seed": i},
                    tags={"team": "bench"}, start_time=now - (n - i) * 1000,
                )
                rows = MetricRows(["auc", "loss"], [auc, loss], [0, 0], [now, now])
                backend.log_batch(run.id, metrics=rows)
                backend.end_run(run.id, "FINISHED", end_time=now - (n - i) * 1000 + 500)
        if (start + 500) % 2000 == 0:
            note(f"seeded {min(n, start + 500)}/{n} runs")
    out["seed_s"] = time.perf_counter() - t0
    print(json.dumps(out))
    sys.exit(0)

# -- over HTTP (CONVEYOR_URI is set) -----------------------------------------------------
backend = conveyor.connect()
assert backend.kind == "http", backend
out["server_idle_cpu"] = idle_cpu(args.get("idle_s", 3.0))

# a. per-call log_metric, flush + end_run included
n = args["per_call"]
conveyor.set_experiment("bench-per-call")
active = conveyor.start_run()
with Meter() as m:
    for i in range(n):
        conveyor.log_metric("loss", 1.0 / (i + 1), step=i)
    conveyor.end_run()
got = len(conveyor.get_metric_history(active.id, "loss"))
assert got == n, f"per-call: stored {got} of {n} points"
out["per_call"] = m.result(n)
dt = m.seconds
note(f"per-call log_metric: {n / dt:,.0f}/s")

# b. batched points through the backend's columnar log_batch
total, size = args["batch_points"], args["batch_size"]
exp = backend.get_or_create_experiment("bench-batch")
run = backend.create_run(exp.id, name="batched")
now = int(time.time() * 1000)
batches, sent = [], 0
while sent < total:
    k = min(size, total - sent)
    idx = range(sent, sent + k)
    batches.append(MetricRows(
        [f"m{j % 10}" for j in idx], [j * 1e-6 for j in idx], [j // 10 for j in idx], [now] * k
    ))
    sent += k
with Meter() as m:
    for rows in batches:
        backend.log_batch(run.id, metrics=rows)
    backend.end_run(run.id, "FINISHED")
expect = len([j for j in range(total) if j % 10 == 0])
got = len(backend.get_metric_history(run.id, "m0"))
assert got == expect, f"batched: stored {got} of {expect} m0 points"
out["batched"] = m.result(total, batch=size)
dt = m.seconds
note(f"batched: {total / dt:,.0f} points/s")

# c. runs per second
n = args["runs"]
conveyor.set_experiment("bench-runs")
with Meter() as m:
    for i in range(n):
        with conveyor.start_run():
            conveyor.log_params({"lr": 0.01, "depth": i})
            conveyor.log_metric("acc", 0.5 + i * 1e-6)
out["runs"] = m.result(n)
dt = m.seconds
note(f"runs: {n / dt:,.1f}/s")

# d. search over the seeded runs
res = timed_search(
    lambda: conveyor.search_runs(
        experiment_names=[args["experiment"]], filter_string=args["filter"],
        max_results=args["max_results"],
    ),
    args["search_reps"],
)
out["search"] = res
note(f"search: median {statistics.median(res['samples_s']) * 1000:.1f} ms, {res['returned']} runs")
print(json.dumps(out))
"""
)

MLFLOW_CLIENT = (
    _CLIENT_PRELUDE
    + r"""
import logging, warnings
warnings.filterwarnings("ignore")
logging.getLogger("mlflow").setLevel(logging.ERROR)
import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

out = {"version": mlflow.__version__}

if args["mode"] == "seed":
    # In-process against the SQLite file through MLflow's own SqlAlchemyStore: the
    # experiment through the client, the runs as ORM rows in one session (seeding 10k runs
    # over HTTP at a few runs/s would take an hour). The server is started afterwards.
    import uuid
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag,
    )
    client = MlflowClient(tracking_uri=args["db_uri"])
    exp_id = client.create_experiment(args["experiment"], artifact_location=args["artifact_root"])
    store = client._tracking_client.store
    rng = random.Random(7)
    n, t0 = args["runs"], time.perf_counter()
    now = int(time.time() * 1000)
    with store.ManagedSessionMaker() as session:
        for i in range(n):
            rid = uuid.uuid4().hex
            model, auc, loss = rng.choice(["rf", "gbm", "lr"]), rng.random(), rng.random()
            session.add(SqlRun(
                run_uuid=rid, name=f"seed-{i}", experiment_id=int(exp_id), user_id="bench",
                status="FINISHED", start_time=now - (n - i) * 1000,
                end_time=now - (n - i) * 1000 + 500, lifecycle_stage="active",
                source_type="LOCAL", source_name="", entry_point_name="", source_version="",
                artifact_uri=f"{args['artifact_root']}/{rid}/artifacts",
            ))
            session.flush() if i == 0 else None
            session.add_all([
                SqlParam(run_uuid=rid, key="model", value=model),
                SqlParam(run_uuid=rid, key="seed", value=str(i)),
                SqlTag(run_uuid=rid, key="team", value="bench"),
                SqlTag(run_uuid=rid, key="mlflow.runName", value=f"seed-{i}"),
            ])
            for key, value in (("auc", auc), ("loss", loss)):
                point = {"key": key, "value": value, "timestamp": now, "step": 0, "is_nan": False}
                session.add(SqlMetric(run_uuid=rid, **point))
                session.add(SqlLatestMetric(run_uuid=rid, **point))
            if (i + 1) % 2000 == 0:
                session.flush()
                note(f"seeded {i + 1}/{n} runs")
    out["seed_s"] = time.perf_counter() - t0
    check = client.search_runs([exp_id], args["filter"], max_results=5)
    assert check and check[0].data.params.get("model"), "seeded runs are not searchable"
    print(json.dumps(out))
    sys.exit(0)

# -- over HTTP (MLFLOW_TRACKING_URI is set) ---------------------------------------------
client = MlflowClient()
out["server_idle_cpu"] = idle_cpu(args.get("idle_s", 3.0))

# a. per-call log_metric
n = args["per_call"]
mlflow.set_experiment("bench-per-call")
active = mlflow.start_run()
with Meter() as m:
    for i in range(n):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    mlflow.end_run()
got = len(client.get_metric_history(active.info.run_id, "loss"))
assert got == n, f"per-call: stored {got} of {n} points"
out["per_call"] = m.result(n)
dt = m.seconds
note(f"per-call log_metric: {n / dt:,.1f}/s")

# b. batched points, 1000 per log_batch (MLflow's limit)
total, size = args["batch_points"], args["batch_size"]
exp_id = mlflow.set_experiment("bench-batch").experiment_id
run_id = client.create_run(exp_id, run_name="batched").info.run_id
now = int(time.time() * 1000)
batches, sent = [], 0
while sent < total:
    k = min(size, total - sent)
    batches.append([Metric(f"m{j % 10}", j * 1e-6, now, j // 10) for j in range(sent, sent + k)])
    sent += k
with Meter() as m:
    for metrics in batches:
        client.log_batch(run_id, metrics=metrics)
    client.set_terminated(run_id)
expect = len([j for j in range(total) if j % 10 == 0])
got = len(client.get_metric_history(run_id, "m0"))
assert got == expect, f"batched: stored {got} of {expect} m0 points"
out["batched"] = m.result(total, batch=size)
dt = m.seconds
note(f"batched: {total / dt:,.0f} points/s")

# c. runs per second
n = args["runs"]
mlflow.set_experiment("bench-runs")
with Meter() as m:
    for i in range(n):
        with mlflow.start_run():
            mlflow.log_params({"lr": 0.01, "depth": i})
            mlflow.log_metric("acc", 0.5 + i * 1e-6)
out["runs"] = m.result(n)
dt = m.seconds
note(f"runs: {n / dt:,.1f}/s")

# d. search over the seeded runs
res = timed_search(
    lambda: mlflow.search_runs(
        experiment_names=[args["experiment"]], filter_string=args["filter"],
        max_results=args["max_results"], output_format="list",
    ),
    args["search_reps"],
)
out["search"] = res
note(f"search: median {statistics.median(res['samples_s']) * 1000:.1f} ms, {res['returned']} runs")
print(json.dumps(out))
"""
)

# -- sizes ---------------------------------------------------------------------------------
FULL = {
    "ours_per_call": 100_000,
    "mlflow_per_call": 300,
    "ours_batch_points": 1_000_000,
    "mlflow_batch_points": 20_000,
    "ours_runs": 500,
    "mlflow_runs": 50,
    "search_runs": 10_000,
    "search_reps": 30,
}
QUICK = {
    "ours_per_call": 20_000,
    "mlflow_per_call": 30,
    "ours_batch_points": 200_000,
    "mlflow_batch_points": 3_000,
    "ours_runs": 100,
    "mlflow_runs": 10,
    "search_runs": 1_000,
    "search_reps": 5,
}

TARGETS = {
    "per_call": "≥ 100× MLflow",
    "batched": "≥ 200,000 points/s",
    "runs": "≥ 200 runs/s",
    "search": "< 100 ms median",
}


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _p95(xs: list[float]) -> float:
    s = sorted(xs)
    k = (len(s) - 1) * 0.95
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _git_commit() -> str:
    """Short HEAD commit, marked when src/ has uncommitted changes (they were measured)."""
    import subprocess

    def git(*args: str) -> str:
        out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return out.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    return f"{commit} + uncommitted changes in src/" if dirty else commit


def _project_python() -> Path:
    venv = REPO / ".venv" / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


def _ours_server_cmd(python: Path, port: int) -> list[str]:
    probe = f"import conveyor.api.server as s; s.run('127.0.0.1', {port}, log_level='warning')"
    return [str(python), "-c", probe]


def _mlflow_server_cmd(python: Path, db_uri: str, artifacts: Path, port: int) -> list[str]:
    return [
        str(python.parent / "mlflow"),
        "server",
        "--backend-store-uri",
        db_uri,
        "--default-artifact-root",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def run_bench(
    sizes: dict[str, int], *, batch_size: int, max_results: int, mlflow_jobs: bool = False
) -> dict[str, Any]:
    ours_py = _project_python()
    mlflow_py = ensure_venv("mlflow", ["mlflow"], check_import="mlflow")
    versions = {
        "mlflow": pkg_version(mlflow_py, "mlflow"),
        "conveyor": pkg_version(ours_py, "conveyor-mlops"),
    }
    log(f"MLflow {versions['mlflow']} ({mlflow_py}); Conveyor {versions['conveyor']} ({ours_py})")

    tmp = Path(tempfile.mkdtemp(prefix="bench-tracking-"))
    work = tmp / "cwd"  # neutral cwd: no conveyor.toml, no git repo for either SDK
    work.mkdir()
    ours_home = tmp / "conveyor-home"
    db_path = tmp / "mlflow.db"
    db_uri = f"sqlite:///{db_path}"
    mlruns = tmp / "mlruns"
    common = {"experiment": SEARCH_EXPERIMENT, "filter": SEARCH_FILTER, "max_results": max_results}
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "MLFLOW_"))}
    ours_env = {**clean_env, "CONVEYOR_HOME": str(ours_home)}
    mlflow_env = {**clean_env, "MLFLOW_TRACKING_URI": db_uri}
    results: dict[str, Any] = {"versions": versions, "tmp": str(tmp)}

    # -- seeding (in-process, before each server starts) --------------------------------
    log(f"seeding {sizes['search_runs']:,} runs into each store")
    seed_args = {**common, "mode": "seed", "runs": sizes["search_runs"]}
    ours_seed = run_client(
        ours_py, OURS_CLIENT, {**seed_args, "who": "conveyor"}, env=ours_env, cwd=work
    )
    mlflow_seed = run_client(
        mlflow_py,
        MLFLOW_CLIENT,
        {**seed_args, "who": "mlflow", "db_uri": db_uri, "artifact_root": str(mlruns)},
        env=mlflow_env,
        cwd=work,
        inherit_env=False,
    )
    results["seed_s"] = {"ours": ours_seed["seed_s"], "mlflow": mlflow_seed["seed_s"]}
    log(f"seeded: ours {ours_seed['seed_s']:.1f}s, MLflow {mlflow_seed['seed_s']:.1f}s")

    # -- ours over HTTP -------------------------------------------------------------------
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
        log(f"conveyor server ready in {srv.startup_s:.2f}s at {url} (pid {srv.pid})")
        ours = run_client(
            ours_py,
            OURS_CLIENT,
            {
                **common,
                "mode": "bench",
                "who": "conveyor",
                "per_call": sizes["ours_per_call"],
                "batch_points": sizes["ours_batch_points"],
                "batch_size": batch_size,
                "runs": sizes["ours_runs"],
                "search_reps": sizes["search_reps"],
                "server_pids": [srv.pid],
            },
            env={**ours_env, "CONVEYOR_URI": url},
            cwd=work,
            inherit_env=False,
        )
        ours["server_rss_mb"] = srv.rss_mb()
        ours["startup_s"] = srv.startup_s

    # -- MLflow over HTTP -----------------------------------------------------------------
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server_process(
        "mlflow-server",
        _mlflow_server_cmd(mlflow_py, db_uri, mlruns, port),
        health_url=f"{url}/health",
        base_url=url,
        env={
            **{k: v for k, v in mlflow_env.items() if k != "MLFLOW_TRACKING_URI"},
            # The job runner (huey consumer, GenAI jobs) plays no part in tracking and
            # polls its queue even when idle (most of a core here): off unless asked for.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "true" if mlflow_jobs else "false",
        },
        cwd=work,
        inherit_env=False,
        log_dir=tmp,
        deadline_s=180.0,
    ) as srv:
        log(f"mlflow server ready in {srv.startup_s:.2f}s at {url} (pid {srv.pid})")
        peer = run_client(
            mlflow_py,
            MLFLOW_CLIENT,
            {
                **common,
                "mode": "bench",
                "who": "mlflow",
                "per_call": sizes["mlflow_per_call"],
                "batch_points": sizes["mlflow_batch_points"],
                "batch_size": 1000,
                "runs": sizes["mlflow_runs"],
                "search_reps": sizes["search_reps"],
                "server_pids": [srv.pid],
            },
            env={**mlflow_env, "MLFLOW_TRACKING_URI": url},
            cwd=work,
            inherit_env=False,
        )
        peer["server_rss_mb"] = srv.rss_mb()
        peer["startup_s"] = srv.startup_s

    results["ours"], results["mlflow"] = ours, peer
    return results


def build_rows(res: dict[str, Any], search_runs: int) -> list[dict[str, Any]]:
    ours, peer = res["ours"], res["mlflow"]
    rows: list[dict[str, Any]] = []

    def rate_row(key: str, label: str, unit: str, target_ok: bool) -> None:
        o, m = ours[key]["per_s"], peer[key]["per_s"]
        rows.append(
            {
                "workload": label,
                "ours": f"{o:,.0f} {unit}",
                "mlflow": f"{m:,.1f} {unit}",
                "ratio": f"{o / m:,.1f}×",
                "target": TARGETS[key],
                "met": target_ok,
            }
        )

    o, m = ours["per_call"]["per_s"], peer["per_call"]["per_s"]
    rate_row("per_call", "log_metric, single calls", "calls/s", o / m >= 100)
    rate_row("batched", "metric points, batched", "points/s", ours["batched"]["per_s"] >= 200_000)
    rate_row("runs", "runs created (2 params + 1 metric)", "runs/s", ours["runs"]["per_s"] >= 200)
    so, sm = ours["search"]["samples_s"], peer["search"]["samples_s"]
    om, mm = _median(so) * 1000, _median(sm) * 1000
    rows.append(
        {
            "workload": f"search_runs over {search_runs:,} runs, median",
            "ours": f"{om:,.1f} ms",
            "mlflow": f"{mm:,.1f} ms",
            "ratio": f"{mm / om:,.1f}×",
            "target": TARGETS["search"],
            "met": om < 100,
        }
    )
    op, mp = _p95(so) * 1000, _p95(sm) * 1000
    rows.append(
        {
            "workload": f"search_runs over {search_runs:,} runs, p95",
            "ours": f"{op:,.1f} ms",
            "mlflow": f"{mp:,.1f} ms",
            "ratio": f"{mp / op:,.1f}×",
            "target": "",
            "met": None,
        }
    )
    return rows


_CPU_UNITS = {
    "per_call": ("log_metric call", 1e6, "µs"),
    "batched": ("metric point", 1e6, "µs"),
    "runs": ("run", 1e3, "ms"),
    "search": ("search", 1e3, "ms"),
}


def render_cpu_table(res: dict[str, Any]) -> str:
    """CPU time per operation, server and client side: less sensitive to machine load."""
    lines = [
        "| CPU per operation | Conveyor server | MLflow server | Conveyor client | MLflow client |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, (what, scale, unit) in _CPU_UNITS.items():
        o, m = res["ours"][key], res["mlflow"][key]
        cells = [
            f"{d[side] / d['n'] * scale:,.1f} {unit}"
            for side in ("server_cpu_s", "client_cpu_s")
            for d in (o, m)
        ]
        lines.append(f"| per {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_table(rows: list[dict[str, Any]]) -> str:
    head = "| workload | Conveyor | MLflow | ratio | target | status |"
    sep = "|---|---:|---:|---:|---|---|"
    lines = [head, sep]
    for r in rows:
        status = "" if r["met"] is None else ("met" if r["met"] else "**MISSED**")
        lines.append(
            f"| {r['workload']} | {r['ours']} | {r['mlflow']} | {r['ratio']} | "
            f"{r['target']} | {status} |"
        )
    return "\n".join(lines)


def render_doc(
    res: dict[str, Any], rows: list[dict[str, Any]], sizes: dict[str, int], cmd: str, args: Any
) -> str:
    m = machine_info()
    ours, peer = res["ours"], res["mlflow"]
    mode = "quick (smoke) run — sizes are small; use the full run for figures" if args.quick else ""
    lines = [
        "Conveyor's server vs `mlflow server` with a SQLite backend, both on loopback, measured",
        "in the same run on the same machine, each driven by its own Python SDK from a",
        "separate client process (`bench/tracking.py`).",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        + (f" — {mode}" if mode else ""),
        f"- Machine: {m.get('nproc')} CPUs ({m.get('cpu', '?')}), {m.get('mem_gb', '?')} GB RAM, "
        f"{m.get('os')}; Python {m.get('python')}",
        f"- Versions: Conveyor {res['versions']['conveyor']}, MLflow {res['versions']['mlflow']} "
        "(own venv, `pip install mlflow`)",
        f"- Command: `{cmd}` (repo commit {res.get('commit', '?')})",
        f"- Load average (1 min) at start / end: {res['load'][0]} / {res['load'][1]} — other "
        "jobs shared this machine; wall-time figures move with it, CPU figures much less",
        "",
        render_table(rows),
        "",
        "Ratios are Conveyor/MLflow for throughput and MLflow/Conveyor for latency "
        "(higher is better for Conveyor).",
        "",
        "CPU time per operation (user + system, from `/proc`; the server figure covers the "
        "server process and its children, the client figure every thread of the SDK's "
        "process). It is less sensitive than wall time to other load on the machine:",
        "",
        render_cpu_table(res),
        "",
        "Workload sizes (Conveyor / MLflow):",
        "",
        f"- per-call: {sizes['ours_per_call']:,} / {sizes['mlflow_per_call']:,} "
        "`log_metric` calls in one run; the final flush and `end_run` are inside the timed "
        "section (our SDK buffers; MLflow sends each call)",
        f"- batched: {sizes['ours_batch_points']:,} points in {args.batch_size:,}-point "
        f"`log_batch` calls / {sizes['mlflow_batch_points']:,} points in 1,000-metric "
        "`MlflowClient.log_batch` calls (MLflow's maximum)",
        f"- runs: {sizes['ours_runs']:,} / {sizes['mlflow_runs']:,} × "
        "`with start_run(): log_params({2}); log_metric(...)`",
        f'- search: `search_runs(experiment_names=[...], filter_string="{SEARCH_FILTER}", '
        f"max_results={args.max_results})` over {sizes['search_runs']:,} runs (2 params, "
        "2 metrics, tags each, start times 1 s apart, the same seeded values in both "
        "stores; ~20% match, newest first), "
        f"{sizes['search_reps']} timed calls after one warm-up; both return "
        f"{ours['search']['returned']:,} / {peer['search']['returned']:,} runs. Seeding is not "
        "timed (ours through `LocalBackend` in-process, MLflow as ORM rows through its "
        f"`SqlAlchemyStore`: {res['seed_s']['ours']:.1f} s / {res['seed_s']['mlflow']:.1f} s).",
        f"- Server RSS after the workloads (sum over the server's process tree): Conveyor "
        f"{ours['server_rss_mb']:.0f} MiB, MLflow {peer['server_rss_mb']:.0f} MiB; time to "
        f"ready: {ours['startup_s']:.1f} s / {peer['startup_s']:.1f} s.",
        "- `mlflow server` also starts a job runner (a huey consumer for its GenAI jobs) that "
        "polls while idle and has no part in tracking; "
        + (
            "it was left on (`--mlflow-jobs`), so its CPU counts in MLflow's figures."
            if res.get("mlflow_jobs")
            else "it was switched off (`MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`) so that it "
            "does not take CPU from MLflow's own server and client on this 2-core machine; "
            "`--mlflow-jobs` keeps it on."
        )
        + " Idle server CPU, measured for 3 s before the workloads: "
        f"Conveyor {ours['server_idle_cpu'] * 100:.1f}% of a core, MLflow "
        f"{peer['server_idle_cpu'] * 100:.1f}%.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~1 minute smoke run")
    parser.add_argument("--per-call", type=int, help="our per-call log_metric calls")
    parser.add_argument("--mlflow-per-call", type=int, help="MLflow per-call log_metric calls")
    parser.add_argument("--batch-points", type=int, help="our batched points")
    parser.add_argument("--mlflow-batch-points", type=int, help="MLflow batched points")
    parser.add_argument("--batch-size", type=int, default=10_000, help="our points per batch")
    parser.add_argument("--runs", type=int, help="our runs to create")
    parser.add_argument("--mlflow-runs", type=int, help="MLflow runs to create")
    parser.add_argument("--search-runs", type=int, help="runs seeded for the search")
    parser.add_argument("--search-reps", type=int, help="timed search calls")
    parser.add_argument("--max-results", type=int, default=1000, help="search max_results")
    parser.add_argument(
        "--mlflow-jobs",
        action="store_true",
        help="keep mlflow server's job runner on (its default; off by default here because "
        "it burns CPU while idle and does nothing for tracking)",
    )
    parser.add_argument("--doc", default=str(REPO / "docs" / "benchmarks.md"))
    parser.add_argument("--no-doc", action="store_true", help="do not update the doc")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument(
        "--mlflow-client",
        action="store_true",
        help="then run bench/mlflow_compat.py: the stock MLflow client against both servers",
    )
    args = parser.parse_args(argv)

    sizes = dict(QUICK if args.quick else FULL)
    overrides = {
        "ours_per_call": args.per_call,
        "mlflow_per_call": args.mlflow_per_call,
        "ours_batch_points": args.batch_points,
        "mlflow_batch_points": args.mlflow_batch_points,
        "ours_runs": args.runs,
        "mlflow_runs": args.mlflow_runs,
        "search_runs": args.search_runs,
        "search_reps": args.search_reps,
    }
    sizes.update({k: v for k, v in overrides.items() if v is not None})
    cmd = " ".join(
        shlex.quote(a) for a in [os.path.relpath(sys.executable, Path.cwd()), "bench/tracking.py"]
    )
    cmd = " ".join([cmd, *(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))])

    t0 = time.monotonic()
    load0 = _loadavg()
    res = run_bench(
        sizes,
        batch_size=args.batch_size,
        max_results=args.max_results,
        mlflow_jobs=args.mlflow_jobs,
    )
    res["mlflow_jobs"] = args.mlflow_jobs
    res["load"] = [load0, _loadavg()]
    res["commit"] = _git_commit()
    rows = build_rows(res, sizes["search_runs"])
    print()
    print(
        f"Tracking: Conveyor {res['versions']['conveyor']} vs MLflow {res['versions']['mlflow']}"
        f" ({os.cpu_count()} CPUs, {time.monotonic() - t0:.0f}s)"
    )
    print(render_table(rows))
    print()
    print(render_cpu_table(res))
    print(f"load average (1 min) at start/end: {res['load'][0]} / {res['load'][1]}")
    missed = [r["workload"] for r in rows if r["met"] is False]
    for name in missed:
        print(f"MISSED target: {name}")
    if not missed:
        print("all targets met")
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": sizes, **res}, indent=2))
    if not args.no_doc:
        update_doc_section(args.doc, "Tracking", render_doc(res, rows, sizes, cmd, args))
        print(f"wrote the Tracking section of {args.doc}")
    if args.mlflow_client:  # the stock MLflow client against both servers, same machine state
        import mlflow_compat

        flags = ["--quick"] if args.quick else []
        mlflow_compat.main(flags + (["--no-doc"] if args.no_doc else []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
