"""Conveyor's closed loop on embedded defaults: `make demo`.

 1. Version the data (content hash, schema, profile, data checks).
 2. Train candidates as tracked runs; register each as a version of `churn`.
 3. Gates: every candidate is scored by Conveyor on the evaluation data; one trained on a
    biased sample fails fairness (its per-group table is printed).
 4. The best passing candidate becomes the champion (the failing one is refused).
 5. Deploy it: compiled to ONNX after a parity check, served over real HTTP.
 6. Live traffic with labels fed back; monitors, a retraining trigger bound to the drift
    alert.
 7. Prices go up: drift and decay are detected, the alert fires, the trigger starts the
    retraining pipeline; run again, its steps are cache hits.
 8. CI stage: the version the pipeline produced is gated.
 9. Progressive rollout on live traffic, promoted automatically.
10. A deliberately bad candidate is rolled back automatically.
11. A lineage walk from the last prediction back to the data; where to look.

Scenario data is generated (examples/churn_data.py, with a drift knob); nothing is
downloaded. Everything lands in ./.conveyor (SQLite + a local artifact folder) unless
CONVEYOR_HOME or CONVEYOR_URI say otherwise; `make demo` gives it a store of its own,
./.conveyor-demo, made anew on every run. The loop needs an empty store (its gates compare
against the champion it made itself), so a store that already holds a run of it is
refused up front, saying what to do. Nothing sleeps: each stage waits for the
event it needs (a server started, a log flushed), and the rollout controller is ticked
after each batch of traffic.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.metrics import accuracy_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))

from churn_data import FEATURES, TARGET, make_churn
from demo_models import gradient_boosting, logistic

import conveyor
from conveyor.config import get_settings
from conveyor.data.checks import allowed_values, in_range, not_null, row_count

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 120)
ENDPOINT = "churn"
POLICY = """\
evaluation_dataset: churn-eval@latest
label: churned
checks:
  - metric: auc
    min: 0.75
  - versus_champion: {metric: auc, max_drop: 0.01, confidence: 0.95, resamples: 300}
  - fairness:
      sensitive: [region]
      demographic_parity_ratio: {min: 0.7}
      equalized_odds_difference: {max: 0.25}
      resamples: 0
  - data: {}
rollout:
  steps: [25, 50, 100]
  interval: 0.001          # the demo ticks the controller after each batch of traffic
  max_hold: 1h
  min_samples: 150         # requests and labels per route before a step is judged
  latency_max_ratio: 3     # a shared laptop's p99 is noisy; errors and accuracy decide
  max_shift: 0.3           # retraining after drift is expected to move the outputs
"""
EXPECTATIONS = [
    row_count(min=1_000),
    not_null("tenure_months"),
    not_null("monthly_charges"),
    in_range("monthly_charges", 0, 500),
    in_range("age", 18, 120),
    allowed_values("contract", ["month-to-month", "one-year", "two-year"]),
]


def stage(title: str) -> None:
    console.rule(f"[bold cyan]{title}")


def backend() -> Any:
    return conveyor.connect()


# -- 1-2: data and candidates ---------------------------------------------------------------
def version_data() -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    stage("1. Version the data")
    train = make_churn(12_000, seed=7)
    evaluation = make_churn(3_000, seed=8)
    dataset = conveyor.log_dataset(train, "churn-train", expectations=EXPECTATIONS)
    again = conveyor.log_dataset(train, "churn-train")
    conveyor.log_dataset(evaluation, "churn-eval", expectations=EXPECTATIONS)
    console.print(
        f"dataset [bold]churn-train[/] v{dataset.version}: {dataset.num_rows:,} rows, "
        f"sha256 {dataset.sha256[:12]}…, checks "
        + ("[green]passed" if dataset.checks and dataset.checks["passed"] else "[red]FAILED")
    )
    console.print(
        f"logging the same rows again returns the same version: v{again.version} "
        f"({'same' if again.id == dataset.id else 'different'} id); churn-eval v1: "
        f"{len(evaluation):,} held-out rows for the gates"
    )
    return dataset, train, evaluation


def _biased_sample_weight(train: pd.DataFrame) -> np.ndarray:
    # a sampling bug: churners from the south were collected six times over
    return np.where((train["region"] == "south") & (train[TARGET] == 1), 6.0, 1.0)


def train_candidates(dataset: Any, train: pd.DataFrame, evaluation: pd.DataFrame) -> list[int]:
    stage("2. Train candidates as tracked runs")
    conveyor.set_experiment("churn")
    x, y = train[FEATURES], train[TARGET]
    candidates = {
        "logistic": (logistic, None, {"model": "logistic", "C": 0.5}),
        "gradient-boosting": (gradient_boosting, None, {"model": "hgb", "max_iter": 120}),
        "gb-biased-sample": (
            gradient_boosting,
            _biased_sample_weight(train),
            {"model": "hgb", "max_iter": 120, "sample": "south churners x6"},
        ),
    }
    table = Table("run", "candidate", "AUC (own eval)", "accuracy", "→ version")
    versions = []
    for name, (build, weight, params) in candidates.items():
        with conveyor.start_run(run_name=name) as run:
            conveyor.log_input(dataset, context="training")
            conveyor.log_params(params)
            model = build()
            if weight is None:
                model.fit(x, y)
            else:
                model.fit(x, y, clf__sample_weight=weight)
            proba = model.predict_proba(evaluation[FEATURES])[:, 1]
            metrics = {
                "auc": roc_auc_score(evaluation[TARGET], proba),
                "accuracy": accuracy_score(evaluation[TARGET], proba > 0.5),
            }
            conveyor.log_metrics(metrics)
            info = conveyor.log_model(
                model, "model", input_example=x.head(20), registered_model_name="churn"
            )
        assert info.registered_version is not None
        versions.append(info.registered_version.version)
        table.add_row(
            run.id[:8],
            name,
            f"{metrics['auc']:.4f}",
            f"{metrics['accuracy']:.4f}",
            f"churn v{info.registered_version.version}",
        )
    console.print(table)
    return versions


# -- 3-4: gates and champion ----------------------------------------------------------------
def _group_table(check: Any) -> Table:
    groups = check.evidence.get("groups:region", [])
    table = Table("region", "rows", "selection rate", "TPR", "FPR", title="per-group rates")
    for g in groups:
        table.add_row(
            str(g["group"]),
            str(g["size"]),
            *(f"{g[k]:.3f}" if g[k] is not None else "—" for k in ("selection_rate", "tpr", "fpr")),
        )
    return table


def gate_candidates(versions: list[int]) -> dict[int, Any]:
    stage("3. Gates: Conveyor scores every candidate itself")
    from conveyor.gates import render_table

    api = backend()
    policy = api.set_gate_policy("churn", POLICY, source="policy.yaml")
    console.print(f"gate policy v{policy.version} on churn (fairness on region, AUC, data)")
    reports = {}
    for version in versions:
        report = conveyor.run_gates(f"churn/{version}")
        reports[version] = report
        console.print(render_table(report))
        for check in report.checks:
            if check.kind == "fairness" and check.verdict == "fail":
                console.print(f"  [red]fairness failed[/] on churn v{version}: {check.message}")
                console.print(_group_table(check))
    return reports


def choose_champion(reports: dict[int, Any], evaluation: pd.DataFrame) -> int:
    stage("4. Champion: the best candidate that passed its gates")
    from conveyor.errors import GateFailed

    def auc(version: int) -> float:
        checks = {c.name: c for c in reports[version].checks}
        return float(checks["metric:auc"].value)

    failed = [v for v, r in reports.items() if not r.passed]
    passed = sorted((v for v, r in reports.items() if r.passed), key=auc, reverse=True)
    for version in failed:
        try:
            conveyor.set_model_alias("churn", "champion", version)
        except GateFailed as exc:
            console.print(f"  alias champion → v{version} refused: {exc.message}", markup=False)
    champion = passed[0]
    conveyor.set_model_alias("churn", "champion", champion)
    console.print(
        f"churn v{champion} (gate AUC {auc(champion):.4f}) → alias champion", highlight=False
    )
    model = conveyor.load_model("models:/churn@champion")
    sample = evaluation[FEATURES].head(5)
    console.print(
        f"models:/churn@champion predicts {np.asarray(model.predict(sample)).tolist()} on 5 rows",
        markup=False,
    )
    return champion


def deploy_champion(evaluation: pd.DataFrame) -> None:
    stage("5. Deploy the champion: compile to ONNX, check parity, record a revision")
    from conveyor.deployments import deploy_endpoint

    revision = deploy_endpoint(
        backend(),
        ENDPOINT,
        model="churn@champion",
        validation_data=evaluation[FEATURES].head(1000),
        description="first release",
    )
    _print_compiled(revision)
    console.print(f"endpoint [bold]{ENDPOINT}[/] at revision {revision.revision}")


def _print_compiled(revision: Any) -> None:
    for key, result in revision.compiled.items():
        parity = result.parity or {}
        detail = (
            f"label agreement {parity.get('label_agreement', parity.get('agreement'))}, "
            f"max |Δp| {parity.get('max_abs_diff')}"
            if result.status == "onnx"
            else result.reason
        )
        console.print(f"  {key}: runtime [bold]{result.status}[/] ({detail})", highlight=False)


# -- live traffic -----------------------------------------------------------------------------
@contextmanager
def serving() -> Iterator[httpx.Client]:
    """The endpoint on a real HTTP server (loopback), loading the current revision at
    start; leaving the block flushes the prediction log (the server's shutdown closes it)."""
    from conveyor.api.testing import ServerThread
    from conveyor.deployments.runtime import DeploymentServer
    from conveyor.monitoring.windows import default_log_uri
    from conveyor.serving import PredictionLog

    app = DeploymentServer(
        backend(), [ENDPOINT], prediction_log=PredictionLog(default_log_uri()), poll_interval=60
    )
    with (
        ServerThread(app, lifespan="on") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        client.server_url = server.url  # type: ignore[attr-defined]
        yield client


def send_traffic(client: httpx.Client, frame: pd.DataFrame, label: str, rows: int = 5) -> dict:
    """POST the frame in requests of ``rows`` rows, then its labels as feedback."""
    records = frame[FEATURES].to_dict(orient="records")
    ids: list[str] = []
    routes: dict[str, int] = {}
    started = time.perf_counter()
    for start in range(0, len(records), rows):
        response = client.post(
            f"/endpoints/{ENDPOINT}/invocations", json={"records": records[start : start + rows]}
        )
        response.raise_for_status()
        ids += [str(p) for p in response.json()["prediction_ids"]]
        route = response.headers.get("x-conveyor-route", "primary")
        routes[route] = routes.get(route, 0) + 1
    elapsed = time.perf_counter() - started
    feedback = [
        {"prediction_id": pid, "label": int(y)} for pid, y in zip(ids, frame[TARGET], strict=True)
    ]
    client.post("/feedback", json={"endpoint": ENDPOINT, "feedback": feedback}).raise_for_status()
    split = ", ".join(f"{k} {v}" for k, v in sorted(routes.items()))
    console.print(
        f"  {label}: {len(ids):,} predictions in {elapsed:.1f} s "
        f"({len(ids) / elapsed:,.0f} rows/s; requests by route: {split}), "
        f"{len(feedback):,} labels fed back",
        highlight=False,
    )
    return {"ids": ids, "routes": routes}


MONITORS = [
    {
        "name": "churn-drift",
        "endpoint": ENDPOINT,
        "metric": "drift.share",
        "threshold": 0.25,
        "comparison": ">",
        "window": "1h",
        "severity": "warning",
        "notifiers": [{"type": "log"}],
    },
    {
        "name": "churn-decay",
        "endpoint": ENDPOINT,
        "metric": "performance.accuracy",
        "threshold": 0.78,
        "comparison": "<",
        "window": "1h",
        "severity": "critical",
    },
]


def watch() -> None:
    stage("6. Live traffic with labels fed back; monitors and a retraining trigger")
    from conveyor.monitoring import service as monitoring

    api = backend()
    with api.meta.write(api.actor) as uow:
        monitoring.apply_monitors(uow, MONITORS)
    with serving() as client:
        console.print(f"  serving on {client.server_url} (v2 protocol + /invocations)")  # type: ignore[attr-defined]
        send_traffic(client, make_churn(1_000, seed=11), "week 1")
    log_labelled()
    trigger = api.create_trigger(
        "retrain-on-drift",
        pipeline="demo_flows:retrain",
        cause_kind="alert",
        cause="churn-drift",
        model="churn",
        cooldown_s=6 * 3600,
        labels_dataset="churn-labelled",
        min_labels=1_000,
    )
    console.print(
        f"  trigger [bold]{trigger.name}[/]: alert churn-drift → demo_flows:retrain "
        f"(cooldown 6h, needs ≥ {trigger.min_labels:,} labelled rows in churn-labelled)",
        highlight=False,
    )
    for outcome in monitoring.run_once(api, due_only=False):
        console.print(
            f"  monitor {outcome.monitor}: value {outcome.value:.3f} → {outcome.status}",
            markup=False,
        )


def log_labelled() -> Any:
    """Labelled live traffic (prediction log joined with feedback) → dataset churn-labelled."""
    from conveyor.monitoring.windows import read_window

    window = read_window(ENDPOINT, "1h").table.to_pandas()
    labelled = window[window["label_num"].notna()]
    frame = pd.DataFrame({c: labelled[f"input_{c}"].to_numpy() for c in FEATURES})
    frame[TARGET] = labelled["label_num"].astype("int64").to_numpy()
    dv = conveyor.log_dataset(frame, "churn-labelled", source=f"prediction log of {ENDPOINT}")
    console.print(
        f"  labelled traffic → dataset churn-labelled v{dv.version}: {dv.num_rows:,} rows"
    )
    return dv


# -- 7: drift → alert → trigger → pipeline ----------------------------------------------------
def drift_and_retrain() -> str:
    stage("7. Prices go up: drift and decay detected → alert → trigger → retraining pipeline")
    from conveyor.monitoring import service as monitoring
    from conveyor.monitoring.report import window_report

    api = backend()
    with serving() as client:
        send_traffic(client, make_churn(3_000, seed=12, drift=1.0), "week 2 (prices up)")
    log_labelled()
    report = window_report(api, ENDPOINT, "1h")
    if report.drift is not None:
        drifted = ", ".join(report.drift.drifted_columns) or "none"
        console.print(
            f"  drift vs the training data: {report.drift.share_drifted:.0%} of columns "
            f"drifted ({drifted})"
        )
    html_path = home() / "reports" / "churn-window.html"
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(report.to_html(), encoding="utf-8")
    console.print(f"  window report (opens offline): {html_path}", markup=False)
    # the alert hook runs the trigger controller: the retraining starts inside this call
    outcomes = monitoring.run_once(api, due_only=False)
    for outcome in outcomes:
        console.print(
            f"  monitor {outcome.monitor}: value {outcome.value:.3f} → {outcome.status}",
            markup=False,
        )
    with api.meta.read() as conn:
        open_alerts = monitoring.list_alerts(conn, open_only=True)
    for alert in open_alerts:
        console.print(
            f"  [bold red]ALERT[/] {alert.monitor} ({alert.severity}): {alert.state}",
            highlight=False,
        )
    trigger = api.get_trigger("retrain-on-drift")
    fired = [e for e in api.list_trigger_evaluations(trigger.id) if e["fired"]]
    if not fired:
        raise SystemExit(
            "the trigger did not fire: " + api.list_trigger_evaluations(trigger.id)[0]["reason"]
        )
    console.print(f"  trigger retrain-on-drift: {fired[0]['reason']}", markup=False)
    run_id = str(fired[0]["pipeline_run_id"])
    show_pipeline_run(run_id, "retraining pipeline run")
    return run_id


def show_pipeline_run(run_id: str, title: str) -> Any:
    run = backend().get_pipeline_run(run_id)
    table = Table("step", "cache", "why", title=f"{title} {run_id[:8]} ({run.status})")
    for s in run.steps:
        colour = "green" if s.cache == "hit" else "yellow"
        table.add_row(s.name, f"[{colour}]{s.cache}[/]", s.reason)
    console.print(table)
    if run.status != "succeeded":
        raise SystemExit(f"pipeline run {run_id} failed: {run.error}")
    return run


def rerun(first: str) -> None:
    stage("7b. Run the retraining pipeline again: cache hits")
    from conveyor.pipelines import run_pipeline

    started = time.perf_counter()
    result = run_pipeline("demo_flows:retrain")
    elapsed = time.perf_counter() - started
    run = show_pipeline_run(result.id, "re-run")
    hits = sum(s.cache == "hit" for s in run.steps)
    console.print(
        f"  {hits} of {len(run.steps)} steps were cache hits ({elapsed:.2f} s; the loads "
        f"always read the latest data) — `conveyor pipeline explain {result.id}`",
        highlight=False,
    )


# -- 8-10: CI stage, rollout, rollback --------------------------------------------------------
def gate_retrained(run_id: str) -> int:
    stage("8. CI stage: register the version the pipeline produced, run its gates")
    from conveyor.gates import render_table
    from conveyor.pipelines.ci import produced_version

    api = backend()
    run = api.get_pipeline_run(run_id)
    _, version, _ = produced_version(api, run, "churn")
    mv = api.get_model_version("churn", version)
    inputs = ", ".join(c["name"] for c in (mv.signature or {}).get("inputs", []))
    console.print(f"  churn v{version} from {mv.source}; signature inferred: {inputs}")
    report = conveyor.run_gates(f"churn/{version}")
    console.print(render_table(report))
    if not report.passed:
        raise SystemExit(f"the retrained version failed its gates: {report.failed_checks}")
    return version


def controller() -> Any:
    from conveyor.deployments.rollout_controller import RolloutController
    from conveyor.monitoring.windows import default_log_uri

    return RolloutController(backend().meta, log_uri=default_log_uri())


def _decision(transition: Any) -> str:
    rollout = backend().rollout_status(ENDPOINT)
    last = rollout["decisions"][-1]
    checks = (last.get("analysis") or {}).get("checks", [])
    verdicts = ", ".join(f"{c['name']} {c['verdict']}" for c in checks)
    return f"{transition.action} → {rollout['state']} at {rollout['weight']:.0f}%" + (
        f" ({verdicts})" if verdicts else ""
    )


def roll_out(version: int, seed: int, title: str) -> dict[str, Any]:
    """Start a rollout of churn/<version> and move it on live traffic until it ends."""
    stage(title)
    api = backend()
    started = api.start_rollout(ENDPOINT, f"churn/{version}")
    console.print(
        f"  rollout of churn v{version}: steps {started['config']['steps']}, "
        f"≥ {started['config']['thresholds']['min_samples']} requests and labels per route "
        "per step",
        highlight=False,
    )
    ctl = controller()
    batch = 0
    while True:
        transitions = ctl.tick()
        for t in transitions:
            console.print(f"  controller: {_decision(t)}", highlight=False)
        status = api.rollout_status(ENDPOINT)
        if status["state"] not in ("pending", "progressing"):
            break
        batch += 1
        if batch > 8:
            raise SystemExit(f"the rollout did not finish: {status['reason']}")
        with serving() as client:
            send_traffic(client, make_churn(1_000, seed=seed + batch, drift=1.0), f"batch {batch}")
    console.print(f"  rollout {status['state']}: {status['reason']}", highlight=False)
    return status


def bad_candidate(train: pd.DataFrame) -> int:
    """A candidate whose training labels were shifted by one row (a join bug)."""
    shifted = train.assign(**{TARGET: np.roll(train[TARGET].to_numpy(), 1)})
    with conveyor.start_run(run_name="gb-shifted-labels") as run:
        conveyor.log_params({"model": "logistic", "bug": "labels shifted by one row"})
        model = logistic().fit(shifted[FEATURES], shifted[TARGET])
        info = conveyor.log_model(
            model, "model", input_example=train[FEATURES].head(20), registered_model_name="churn"
        )
    assert info.registered_version is not None
    console.print(
        f"  run {run.id[:8]}: labels shifted by one row → churn "
        f"v{info.registered_version.version} (not gated: a canary is how it is tried)",
        highlight=False,
    )
    return info.registered_version.version


# -- 11: lineage ------------------------------------------------------------------------------
def lineage_walk() -> None:
    stage("11. Lineage: from the last prediction back to the data")
    from conveyor.monitoring.windows import read_window

    api = backend()
    window = read_window(ENDPOINT, "1h").table.to_pandas().sort_values("ts")
    last = window.iloc[-1]
    console.print(
        f"  prediction {last['prediction_id']} at {last['ts']}: endpoint {ENDPOINT}, "
        f"route {last['route']}, model version {last['model_version']}",
        highlight=False,
    )
    revision = api.get_revision(ENDPOINT)
    rollout = api.rollout_status(ENDPOINT)
    console.print(
        f"  ← endpoint {ENDPOINT} revision {revision.revision} "
        f"({revision.reason or revision.rollout_state}); last rollout: "
        f"churn v{rollout['candidate_version']} {rollout['state']}",
        highlight=False,
        markup=False,
    )
    _trace(api, str(last["prediction_id"]))


def _trace(api: Any, prediction_id: str) -> None:
    """The lineage service's walk from the prediction, one cause per object (the one on the
    path to the data), then the model card and the compliance bundle of the version."""
    from conveyor.lineage.bundle import write_bundle
    from conveyor.lineage.card_render import card_html
    from conveyor.lineage.graph import LineageGraph
    from conveyor.lineage.html import lineage_page

    graph = api.get_lineage(f"prediction:{prediction_id}", "upstream", 12)
    nodes = {n["id"]: n for n in graph["nodes"]}
    prefer = ["predicted", "registered", "training", "step", "pipeline-input", "produced"]
    causes: dict[str, tuple[str, str]] = {}
    for e in sorted(
        graph["edges"],
        key=lambda e: -(prefer.index(e["relation"]) if e["relation"] in prefer else 99),
    ):
        causes[e["target"]] = (e["source"], e["relation"])
    node, seen = graph["root"], {graph["root"]}
    console.print(f"  {node}", markup=False, highlight=False)
    while node in causes and causes[node][0] not in seen:
        node, relation = causes[node]
        seen.add(node)
        console.print(f"    ←{relation}— {node}", markup=False, highlight=False)
        if nodes[node]["type"] == "alert":  # the loop's start: what made it retrain
            break
    data = sorted(i for i, n in nodes.items() if n["type"] == "dataset_version")
    console.print(f"  built on: {', '.join(data)}", markup=False, highlight=False)
    reports = home() / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "lineage.html").write_text(
        lineage_page(LineageGraph.from_dict(graph)), encoding="utf-8"
    )
    model = next(n["key"] for n in graph["nodes"] if n["type"] == "model_version")
    name, _, version = model.rpartition("/")
    card = api.get_model_card(name, version, 200)
    (reports / "model-card.html").write_text(card_html(card), encoding="utf-8")
    write_bundle(api.get_compliance_documents(name, version), reports / "bundle.zip")
    console.print(
        f"  lineage graph, model card and compliance bundle of {model} in {reports}",
        markup=False,
        highlight=False,
    )
    console.print(f"  same walk: conveyor lineage prediction:{prediction_id}", markup=False)


def where_to_look() -> None:
    stage("Where to look")
    settings = get_settings()
    for line in (
        f"export CONVEYOR_HOME={settings.home_path.absolute()}",
        f"open {home() / 'reports' / 'churn-window.html'}",
        "conveyor models show churn",
        "conveyor gates run churn/1 --html gates.html",
        "conveyor datasets show churn-train",
        "conveyor pipeline list",
        "conveyor trigger show retrain-on-drift",
        f"conveyor rollout status {ENDPOINT}",
        f"conveyor deployments revisions {ENDPOINT}",
        "conveyor monitor alerts",
        f"conveyor serve {ENDPOINT} --port 8080   # then POST /endpoints/{ENDPOINT}/invocations",
        "conveyor audit verify",
        "conveyor lineage model:churn/4 --downstream",
        "conveyor models card churn/4 --html card.html",
        "conveyor export-docs churn/4 --output bundle.zip",
    ):
        print(f"  {line}")  # plain print: never wrapped, safe to paste


def home() -> Path:
    return get_settings().home_path.absolute()


def require_empty_store(where: str) -> None:
    """Stop before anything is written when the store holds an earlier run of the demo:
    its champion and datasets would change every gate's verdict below."""
    from conveyor.errors import NotFound

    try:
        backend().get_model(ENDPOINT)
    except NotFound:
        return
    raise SystemExit(
        f"the store {where} already holds a run of the demo (model {ENDPOINT!r}); the demo "
        "needs an empty store: run `make demo` (its own store, .conveyor-demo, made anew "
        "each run) or set CONVEYOR_HOME to a new folder"
    )


def main() -> None:
    settings = get_settings()
    where = settings.uri or str(settings.home_path.absolute())
    require_empty_store(where)
    console.print(f"[bold]Conveyor demo[/] — store: {where}")
    started = time.perf_counter()
    dataset, train, evaluation = version_data()
    versions = train_candidates(dataset, train, evaluation)
    reports = gate_candidates(versions)
    choose_champion(reports, evaluation)
    deploy_champion(evaluation)
    watch()
    run_id = drift_and_retrain()
    rerun(run_id)
    version = gate_retrained(run_id)
    roll_out(version, 100, "9. Progressive rollout of the retrained version on live traffic")
    stage("10. A deliberately bad candidate")
    bad = bad_candidate(train)
    roll_out(bad, 200, "10b. Its rollout: rolled back automatically")
    with serving() as client:
        sent = send_traffic(client, make_churn(200, seed=300, drift=1.0), "after the rollback")
    if set(sent["routes"]) != {"primary"}:
        raise SystemExit(f"traffic after the rollback went to {sent['routes']}")
    lineage_walk()
    where_to_look()
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
