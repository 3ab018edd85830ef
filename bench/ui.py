# ruff: noqa: RUF001, E501  (the MLflow seed script is a string run in its own venv)
"""Web UI benchmark: Conveyor's UI in headless Chromium over 10,000 runs (beside MLflow's UI).

The store holds ``--runs`` runs (default 10,000) with ``--metrics`` metrics (20) and
``--params`` params (10) each, plus one run with ``--points`` points (100,000) of one metric.
Conveyor's store is seeded in-process (LocalBackend, 500 runs per transaction), then
``conveyor server`` starts on it as a subprocess; Debian's Chromium (Playwright, headless)
opens the pages. Each figure is read in the page through the Performance API: a
MutationObserver notes ``performance.now()`` when the view is complete, then one animation
frame more (the paint); navigations count from the navigation start.

Measured (median of ``--reps``):
  a. first render of the runs table (50 rows, every metric/param column picked by default)
  b. sort by a metric (click on its header, until the new first page is shown)
  c. filter by a search expression (submit, until the matching rows are shown)
  d. compare 200 runs (param diff, parallel coordinates, one metric overlay)
  e. a run page charting a metric of 100,000 points (drawn from the min/max envelope the
     server computes for the chart's width: 2 values per pixel column of the viewport)
and, with a plain HTTP client, each API request those pages make (server-side time: loopback,
so it is the server's time plus a few tenths of a millisecond).

With ``--mlflow`` the same data is loaded into ``mlflow server`` (SQLite, seeded through its
own SqlAlchemyStore ORM; its venv in bench/.peers/mlflow) and its UI timed on a, b, c, e and d
(its compare page, ``#/compare-runs?runs=[...]&experiments=[...]``, with the same 200 runs).

Usage::

    .venv/bin/python bench/ui.py                 # 10,000 runs, ours only, a few minutes
    .venv/bin/python bench/ui.py --mlflow        # beside MLflow's UI
    .venv/bin/python bench/ui.py --runs 1000 --no-doc   # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, free_port, log, machine_info, server_process, update_doc_section

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXPERIMENT = "bench-ui"
FILTER = "metrics.m01 > 0.5 and params.p00 = 'a'"

# In the page: resolve with performance.now() (minus t0) once `pred()` holds, after a frame.
_UNTIL = """
// After an action: first the table is busy (the request went out), then `pred` holds.
window.__after = (pred, t0) => window.__until(() => document.querySelector('[aria-busy="true"]'), t0)
  .then(() => window.__until(pred, t0));
window.__until = (pred, t0) => new Promise((resolve, reject) => {
  const late = setTimeout(() => reject(new Error("not ready after 60 s: " + pred)), 60000);
  const done = () => requestAnimationFrame(() => { clearTimeout(late); resolve(performance.now() - t0); });
  if (pred()) return done();
  const obs = new MutationObserver(() => { if (pred()) { obs.disconnect(); done(); } });
  obs.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
});
"""
_RUNS_READY = (
    "() => document.querySelectorAll('table[aria-label=\"Runs\"] tbody tr').length >= 50"
    " && document.querySelector('table[aria-label=\"Runs\"]').getAttribute('aria-busy') === 'false'"
)


# -- seeding -------------------------------------------------------------------------------
def seed_ours(home: Path, runs: int, metrics: int, params: int, points: int) -> dict[str, Any]:
    os.environ["CONVEYOR_HOME"] = str(home)
    import conveyor
    from conveyor.tracking.metric_rows import MetricRows

    backend = conveyor.connect()
    exp = backend.get_or_create_experiment(EXPERIMENT)
    rng = random.Random(7)
    now = int(time.time() * 1000)
    t0 = time.perf_counter()
    ids: list[str] = []
    for start in range(0, runs, 500):
        with backend.meta.write(backend.actor):
            for i in range(start, min(runs, start + 500)):
                run = backend.create_run(
                    exp.id,
                    name=f"run-{i:05d}",
                    params={f"p{j:02d}": rng.choice("abc") for j in range(params)},
                    tags={"team": "bench"},
                    start_time=now - (runs - i) * 1000,
                )
                keys = [f"m{j:02d}" for j in range(metrics)]
                rows = MetricRows(
                    keys, [rng.random() for _ in keys], [0] * metrics, [now] * metrics
                )
                backend.log_batch(run.id, metrics=rows)
                backend.end_run(run.id, "FINISHED", end_time=now - (runs - i) * 1000 + 500)
                ids.append(run.id)
        log(f"seeded {min(runs, start + 500):,}/{runs:,} runs")
    big = backend.create_run(exp.id, name="long-training", start_time=now)
    for s in range(0, points, 50_000):
        k = min(50_000, points - s)
        rows = MetricRows(
            ["loss"] * k,
            [1.0 / (1 + (s + j) / 1000) + rng.random() * 0.01 for j in range(k)],
            list(range(s, s + k)),
            [now + (s + j) * 10 for j in range(k)],
        )
        backend.log_batch(big.id, metrics=rows)
    backend.end_run(big.id, "FINISHED")
    seconds = time.perf_counter() - t0
    backend.close()
    return {"experiment": exp.id, "runs": ids, "big": big.id, "seed_s": seconds}


# -- timing in the browser -----------------------------------------------------------------
def _browser(pw: Any) -> Any:
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def _page(browser: Any, base: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=base)
    context.add_init_script(_UNTIL)
    return context, context.new_page()


def _navigate(browser: Any, base: str, path: str, ready: str) -> float:
    context, page = _page(browser, base)
    try:
        page.goto(path, wait_until="commit")
        return float(page.evaluate(f"window.__until({ready}, 0)"))
    finally:
        context.close()


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def time_ours(base: str, seeded: dict[str, Any], reps: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    exp, big = seeded["experiment"], seeded["big"]
    compare = ",".join(seeded["runs"][-200:])
    out: dict[str, list[float]] = {k: [] for k in ("table", "sort", "filter", "compare", "run")}
    with sync_playwright() as pw:
        browser = _browser(pw)
        _navigate(browser, base, f"/experiments/{exp}", _RUNS_READY)  # warm the server caches
        for rep in range(reps):
            out["table"].append(_navigate(browser, base, f"/experiments/{exp}", _RUNS_READY))
            context, page = _page(browser, base)
            page.goto(f"/experiments/{exp}", wait_until="commit")
            page.evaluate(f"window.__until({_RUNS_READY}, 0)")
            for direction in ("descending", "ascending"):
                ms = page.evaluate(
                    """([direction, ready]) => {
                      const button = [...document.querySelectorAll('th button.sort')]
                        .find((b) => b.textContent.startsWith('m00'));
                      const t0 = performance.now();
                      button.click();
                      const done = () => eval(ready)() &&
                        button.closest('th').getAttribute('aria-sort') === direction;
                      return window.__after(done, t0);
                    }""",
                    [direction, _RUNS_READY],
                )
                out["sort"].append(float(ms))
            ms = page.evaluate(
                """([filter, ready]) => {
                  const input = document.getElementById('filter');
                  input.value = filter + ' '.repeat(window.__rep || 0);
                  input.dispatchEvent(new Event('input', { bubbles: true }));
                  const t0 = performance.now();
                  input.form.requestSubmit();
                  const done = () => location.search.includes('filter=') && eval(ready)();
                  return window.__after(done, t0);
                }""",
                [FILTER, _RUNS_READY],
            )
            out["filter"].append(float(ms))
            context.close()
            out["compare"].append(
                _navigate(
                    browser,
                    base,
                    f"/compare?runs={compare}",
                    "() => document.querySelector('svg.parallel') &&"
                    " document.querySelector('table[aria-label=\"Param diff\"]') &&"
                    " document.querySelector('figure.chart canvas') &&"
                    " !document.querySelector('.state.loading')",
                )
            )
            out["run"].append(
                _navigate(
                    browser,
                    base,
                    f"/runs/{big}?tab=metrics",
                    "() => document.querySelector('figure.chart canvas') &&"
                    " !document.querySelector('.state.loading')",
                )
            )
            log(
                f"ours rep {rep + 1}/{reps}: "
                + ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in out.items())
            )
        browser.close()
    return {k: {"median_ms": _median(v), "samples_ms": v} for k, v in out.items()}


def time_requests(base: str, seeded: dict[str, Any], reps: int, points: int) -> dict[str, float]:
    """Each API request the pages make, timed from a plain client (median ms)."""
    import httpx

    exp, big = seeded["experiment"], seeded["big"]
    ids = seeded["runs"][-200:]
    search = "/api/v1/runs/search"
    page = {"experiment_ids": [exp], "max_results": 51, "offset": 0}
    calls: dict[str, tuple[str, str, Any]] = {
        "experiment": ("GET", f"/api/v1/experiments/{exp}", None),
        "runs page": ("POST", search, page),
        "runs page sorted by a metric": (
            "POST",
            search,
            {**page, "order_by": ["metrics.m00 DESC"]},
        ),
        "runs page filtered": ("POST", search, {**page, "filter": FILTER}),
        "runs page 101 (offset 5,000)": ("POST", search, {**page, "offset": 5000}),
        "200 runs by id (compare)": (
            "POST",
            search,
            {
                "filter": f"attributes.run_id IN ({', '.join(repr(i) for i in ids)})",
                "max_results": 200,
            },
        ),
        "one run": ("GET", f"/api/v1/runs/{big}", None),
        f"metric chart, {points:,} points to 2,800 (what the run page asks)": (
            "GET",
            f"/api/v1/runs/{big}/metric-chart?key=loss&max_points=2800",
            None,
        ),
        f"metric columns, all {points:,} points (on demand)": (
            "GET",
            f"/api/v1/runs/{big}/metric-columns?key=loss",
            None,
        ),
    }
    out: dict[str, float] = {}
    with httpx.Client(base_url=base, timeout=60) as http:
        for name, (method, path, body) in calls.items():
            samples = []
            for _ in range(reps + 1):
                t0 = time.perf_counter()
                response = http.request(method, path, json=body)
                response.raise_for_status()
                samples.append((time.perf_counter() - t0) * 1000)
            out[name] = _median(samples[1:])
    return out


# -- MLflow's UI ---------------------------------------------------------------------------
_MLFLOW_SEED = r"""
import json, random, sys, time, uuid, logging, warnings
warnings.filterwarnings("ignore"); logging.getLogger("mlflow").setLevel(logging.ERROR)
from mlflow.tracking import MlflowClient
from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
a = json.loads(sys.argv[1])
client = MlflowClient(tracking_uri=a["db_uri"])
exp_id = client.create_experiment(a["experiment"], artifact_location=a["artifact_root"])
store = client._tracking_client.store
rng = random.Random(7); now = int(time.time() * 1000); t0 = time.perf_counter(); ids = []
def run_row(rid, name, start):
    return SqlRun(run_uuid=rid, name=name, experiment_id=int(exp_id), user_id="bench",
        status="FINISHED", start_time=start, end_time=start + 500, lifecycle_stage="active",
        source_type="LOCAL", source_name="", entry_point_name="", source_version="",
        artifact_uri=f"{a['artifact_root']}/{rid}/artifacts")
with store.ManagedSessionMaker() as s:
    for i in range(a["runs"]):
        rid = uuid.uuid4().hex; ids.append(rid)
        s.add(run_row(rid, f"run-{i:05d}", now - (a["runs"] - i) * 1000))
        s.flush() if i == 0 else None
        s.add_all([SqlParam(run_uuid=rid, key=f"p{j:02d}", value=rng.choice("abc")) for j in range(a["params"])])
        s.add_all([SqlTag(run_uuid=rid, key="team", value="bench"), SqlTag(run_uuid=rid, key="mlflow.runName", value=f"run-{i:05d}")])
        for j in range(a["metrics"]):
            p = {"key": f"m{j:02d}", "value": rng.random(), "timestamp": now, "step": 0, "is_nan": False}
            s.add(SqlMetric(run_uuid=rid, **p)); s.add(SqlLatestMetric(run_uuid=rid, **p))
        if (i + 1) % 2000 == 0:
            s.flush()
    big = uuid.uuid4().hex
    s.add(run_row(big, "long-training", now)); s.flush()
    s.add(SqlTag(run_uuid=big, key="mlflow.runName", value="long-training"))
    last = None
    for k in range(a["points"]):
        last = {"key": "loss", "value": 1.0 / (1 + k / 1000), "timestamp": now + k * 10, "step": k, "is_nan": False}
        s.add(SqlMetric(run_uuid=big, **last))
        if (k + 1) % 20000 == 0:
            s.flush()
    s.add(SqlLatestMetric(run_uuid=big, **last))
print(json.dumps({"experiment": exp_id, "big": big, "compare": ids[-200:], "seed_s": time.perf_counter() - t0}))
"""


def _mlflow_first(base: str, exp: str, order: str | None, flt: str) -> str:
    """The name of the run MLflow's own search puts first (what its UI must show first)."""
    import httpx

    body: dict[str, Any] = {"experiment_ids": [exp], "max_results": 1, "filter": flt}
    if order:
        body["order_by"] = [order]
    found = httpx.post(f"{base}/api/2.0/mlflow/runs/search", json=body, timeout=120).json()
    return str(found["runs"][0]["info"]["run_name"])


def time_mlflow(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    import subprocess

    from _common import ensure_venv, pkg_version
    from playwright.sync_api import sync_playwright

    python = ensure_venv("mlflow", ["mlflow"], check_import="mlflow")
    db_uri = f"sqlite:///{work / 'mlflow.db'}"
    arts = work / "mlruns"
    spec = {
        "db_uri": db_uri,
        "artifact_root": str(arts),
        "experiment": EXPERIMENT,
        "runs": args.runs,
        "metrics": args.metrics,
        "params": args.params,
        "points": args.points,
    }
    log("seeding mlflow's store")
    done = subprocess.run(
        [str(python), "-c", _MLFLOW_SEED, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    seeded = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"mlflow seeded in {seeded['seed_s']:.0f} s")
    port = free_port()
    cmd = [
        str(python.parent / "mlflow"), "server", "--backend-store-uri", db_uri,
        "--default-artifact-root", str(arts), "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    out: dict[str, list[float]] = {"table": [], "sort": [], "filter": [], "compare": [], "run": []}
    exp, big = seeded["experiment"], seeded["big"]
    rows = "() => document.querySelectorAll('.ag-row').length >= 20"
    table = f"/#/experiments/{exp}/runs"
    # Sort and filter are URL state in MLflow's UI too: change the hash, wait for the first
    # row its REST API says comes first.
    views = {
        "sort": (
            "orderByKey=" + quote("metrics.`m00`") + "&orderByAsc=false",
            "metrics.m00 DESC",
            "",
        ),
        "filter": ("searchFilter=" + quote(FILTER), None, FILTER),
    }
    step = (
        "([hash, name]) => { const t0 = performance.now(); location.hash = hash;"
        " return window.__until(() => [...document.querySelectorAll('.ag-row[row-index=\"0\"]')]"
        ".some((r) => r.textContent.includes(name)), t0); }"
    )
    plotted = "() => document.querySelector('.js-plotly-plot path.js-line')"
    # MLflow's compare link (its Routes.getCompareRunPageRoute): JSON lists in the hash's query
    compare = (
        f"/#/compare-runs?runs={json.dumps(seeded['compare'], separators=(',', ':'))}"
        f"&experiments={json.dumps([str(exp)], separators=(',', ':'))}"
    )
    # drawn: the run table lists the 200 runs (the newest's name), the parallel coordinates
    # plot (its default tab) has its axes
    newest = f"run-{args.runs - 1:05d}"
    compared = (
        "() => [...document.querySelectorAll('.mlflow-compare-run-table')]"
        f".some((t) => t.textContent.includes('{newest}'))"
        " && document.querySelector('.js-plotly-plot .parcoords .y-axis')"
    )
    with server_process(
        "mlflow-server", cmd, health_url=f"{base}/health", base_url=base, env=env, log_dir=work
    ):
        firsts = {k: _mlflow_first(base, exp, order, flt) for k, (_, order, flt) in views.items()}
        with sync_playwright() as pw:
            browser = _browser(pw)
            _navigate(browser, base, table, rows)  # warm-up
            for rep in range(args.reps):
                out["table"].append(_navigate(browser, base, table, rows))
                for key, (query, _, _) in views.items():
                    context, page = _page(browser, base)
                    page.goto(table, wait_until="commit")
                    page.evaluate(f"window.__until({rows}, 0)")
                    hash_ = f"#/experiments/{exp}/runs?{query}"
                    out[key].append(float(page.evaluate(step, [hash_, firsts[key]])))
                    context.close()
                out["compare"].append(_navigate(browser, base, compare, compared))
                run_page = f"/#/experiments/{exp}/runs/{big}/model-metrics"
                out["run"].append(_navigate(browser, base, run_page, plotted))
                log(
                    f"mlflow rep {rep + 1}: "
                    + ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in out.items())
                )
            browser.close()
    return {
        "version": pkg_version(python, "mlflow"),
        "seed_s": seeded["seed_s"],
        **{k: {"median_ms": _median(v), "samples_ms": v} for k, v in out.items()},
    }


# -- report --------------------------------------------------------------------------------
def report(res: dict[str, Any]) -> str:
    ours, server = res["ours"], res["requests"]
    peer = res.get("mlflow")
    targets = {"table": 1000, "sort": 300, "filter": 300, "compare": 1000, "run": 1000}
    names = {
        "table": f"runs table, first render ({res['runs']:,} runs)",
        "sort": "sort by a metric",
        "filter": "filter by a search expression",
        "compare": "compare 200 runs",
        "run": f"run page, {res['points']:,} metric points",
    }
    lines = [
        f"`python bench/ui.py{' --mlflow' if peer else ''}` — {res['runs']:,} runs × "
        f"{res['metrics']} metrics × {res['params']} params, one run with {res['points']:,} "
        f"points; headless Chromium ({res['chromium']}), median of {res['reps']}; "
        f"{res['machine']}; {res['date']}, load average (1 min) {res['load'][0]:.1f} at the "
        f"start and {res['load'][1]:.1f} at the end: other jobs shared the 2 cores, so every "
        f"figure is a busy-machine figure. Seeded in {res['seed_s']:.0f} s.",
        "",
        "| view | Conveyor | target |"
        + (f" MLflow {peer['version']} UI | ratio |" if peer else ""),
        "|---|---:|---:|" + ("---:|---:|" if peer else ""),
    ]
    for key, label in names.items():
        ms = ours[key]["median_ms"]
        row = f"| {label} | {ms:,.0f} ms | ≤ {targets[key]:,} ms{'' if ms <= targets[key] else ' MISSED'} |"
        if peer:
            theirs = peer.get(key)
            row += (
                f" {theirs['median_ms']:,.0f} ms | {theirs['median_ms'] / ms:.1f}× |"
                if theirs
                else " not timed | |"
            )
        lines.append(row)
    lines += ["", "API requests of those pages (plain client on loopback, median):", ""]
    lines += ["| request | ms |", "|---|---:|"]
    lines += [
        f"| {name} | {ms:,.1f}{'' if ms <= 200 else ' (over 200 ms)'} |"
        for name, ms in server.items()
    ]
    if peer:
        lines += [
            "",
            "MLflow's UI: its runs page until the grid shows rows; sort and filter as the URL "
            "state its UI keeps (`orderByKey`, `searchFilter`) set on a loaded page, until the "
            "first row is the run MLflow's own search puts first; the long run's model-metrics "
            "tab until its plot is drawn (MLflow charts a sample of the points, not all "
            "100,000); its compare page (`#/compare-runs?runs=[...]&experiments=[...]`, the "
            "link its runs table makes) with the same 200 runs until its run table lists them "
            "and its default plot, parallel coordinates, has its axes.",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--params", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--mlflow", action="store_true", help="also time MLflow's UI")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    log(f"work folder {work}")
    seeded = seed_ours(work / "home", args.runs, args.metrics, args.params, args.points)
    log(f"seeded ours in {seeded['seed_s']:.0f} s")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "conveyor", "server", "--port", str(port)]
    env = {"CONVEYOR_HOME": str(work / "home"), "PYTHONPATH": str(REPO / "src")}
    with server_process(
        "conveyor-server",
        cmd,
        health_url=f"{base}/api/v1/health",
        base_url=base,
        env=env,
        log_dir=work,
    ):
        ours = time_ours(base, seeded, args.reps)
        requests = time_requests(base, seeded, 5, args.points)
    res: dict[str, Any] = {
        "runs": args.runs,
        "metrics": args.metrics,
        "params": args.params,
        "points": args.points,
        "reps": args.reps,
        "seed_s": seeded["seed_s"],
        "ours": ours,
        "requests": requests,
        "machine": _machine(),
        "chromium": _chromium_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if args.mlflow:
        res["mlflow"] = time_mlflow(work, args)
    res["load"] = [load_start, os.getloadavg()[0]]
    text = report(res)
    print(text)
    print(json.dumps(res, indent=1))
    if not args.no_doc:
        update_doc_section(REPO / "docs" / "benchmarks.md", "Web UI", text)


def _machine() -> str:
    info = machine_info()
    return f"{info.get('nproc')} cores ({info.get('cpu', '?')}), {info.get('mem_gb', '?')} GB"


def _chromium_version() -> str:
    import subprocess

    try:
        return subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
