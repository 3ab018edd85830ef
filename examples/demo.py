"""Conveyor's closed loop on embedded defaults: `make demo`.

1. Version the training data (content hash, schema, profile, data checks).
2. Train several candidate models as tracked runs (params, metrics, safe model files).
3. Register the best with the `champion` alias, load it back by alias and predict.
4. Deploy it: compiled to ONNX after a parity check, served on a real HTTP server.
5. Serve two weeks of traffic — the second after prices went up — and send the labels
   back as feedback.
6. Monitor: drift, quality, performance and latency of the window; monitors fire alerts.
7. Respond: retrain on recent labelled data, register a challenger, canary it at 20%.

Everything lands in ./.conveyor (SQLite + a local artifact folder) unless CONVEYOR_HOME
or CONVEYOR_URI say otherwise.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).parent))

from churn_data import FEATURES, TARGET, make_churn

import conveyor
from conveyor.config import get_settings
from conveyor.data.checks import allowed_values, in_range, not_null, row_count

console = Console(soft_wrap=True)
NUMERIC = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "data_usage_gb",
    "num_products",
    "age",
]
CATEGORICAL = ["contract", "payment_method", "region"]


def preprocessor(scale: bool) -> ColumnTransformer:
    numeric = StandardScaler() if scale else "passthrough"
    return ColumnTransformer(
        [
            ("num", numeric, NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )


CANDIDATES = {
    "logistic": (
        lambda: Pipeline(
            [("prep", preprocessor(True)), ("clf", LogisticRegression(C=0.5, max_iter=500))]
        ),
        {"model": "logistic", "C": 0.5},
    ),
    "random-forest": (
        lambda: Pipeline(
            [
                ("prep", preprocessor(False)),
                (
                    "clf",
                    RandomForestClassifier(
                        n_estimators=120, max_depth=10, min_samples_leaf=5, n_jobs=2, random_state=0
                    ),
                ),
            ]
        ),
        {"model": "random-forest", "n_estimators": 120, "max_depth": 10},
    ),
    "gradient-boosting": (
        lambda: Pipeline(
            [
                ("prep", preprocessor(False)),
                (
                    "clf",
                    HistGradientBoostingClassifier(
                        max_iter=120, learning_rate=0.08, max_leaf_nodes=24, random_state=0
                    ),
                ),
            ]
        ),
        {"model": "gradient-boosting", "max_iter": 120, "learning_rate": 0.08},
    ),
}


def step(title: str) -> None:
    console.rule(f"[bold cyan]{title}")


def version_data() -> tuple[object, object]:
    step("1. Version the training data")
    frame = make_churn(20_000, seed=7)
    train, test = train_test_split(frame, test_size=0.25, random_state=0, stratify=frame[TARGET])
    expectations = [
        row_count(min=1_000),
        not_null("tenure_months"),
        not_null("monthly_charges"),
        in_range("monthly_charges", 0, 500),
        in_range("age", 18, 120),
        allowed_values("contract", ["month-to-month", "one-year", "two-year"]),
    ]
    dataset = conveyor.log_dataset(train, "churn-train", expectations=expectations)
    again = conveyor.log_dataset(train, "churn-train")
    console.print(
        f"dataset [bold]churn-train[/] v{dataset.version}: {dataset.num_rows:,} rows, "
        f"sha256 {dataset.sha256[:12]}…, checks "
        + ("[green]passed" if dataset.checks and dataset.checks["passed"] else "[red]FAILED")
    )
    console.print(
        f"logging the same rows again returns the same version: v{again.version} "
        f"({'same' if again.id == dataset.id else 'different'} id)"
    )
    return dataset, (train, test)


def train_candidates(dataset: object, train: object, test: object) -> list[conveyor.ActiveRun]:
    step("2. Train candidate models as tracked runs")
    conveyor.set_experiment("churn")
    x_train, y_train = train[FEATURES], train[TARGET]  # type: ignore[index]
    x_test, y_test = test[FEATURES], test[TARGET]  # type: ignore[index]
    table = Table("run", "model", "AUC", "accuracy", "log loss", "fit s")
    for name, (build, params) in CANDIDATES.items():
        with conveyor.start_run(run_name=name) as run:
            conveyor.log_input(dataset, context="training")
            conveyor.log_params(params)
            started = time.perf_counter()
            model = build()
            model.fit(x_train, y_train)
            fit_s = time.perf_counter() - started
            proba = model.predict_proba(x_test)[:, 1]
            metrics = {
                "auc": roc_auc_score(y_test, proba),
                "accuracy": accuracy_score(y_test, proba > 0.5),
                "log_loss": log_loss(y_test, proba),
                "fit_seconds": fit_s,
            }
            conveyor.log_metrics(metrics)
            conveyor.log_model(model, "model", input_example=x_test.head(20))
            table.add_row(
                run.id[:8],
                name,
                f"{metrics['auc']:.4f}",
                f"{metrics['accuracy']:.4f}",
                f"{metrics['log_loss']:.4f}",
                f"{fit_s:.1f}",
            )
    console.print(table)
    return []


def register_champion(test: object) -> None:
    step("3. Register the best model as champion, load it back by alias")
    best = conveyor.search_runs(
        ["churn"], filter_string="metrics.auc > 0.5", order_by="metrics.auc DESC", max_results=1
    )[0]
    version = conveyor.register_model(f"runs:/{best.id}/model", "churn")
    conveyor.set_model_alias("churn", "champion", version.version)
    console.print(
        f"best run {best.name} (AUC {best.metrics['auc']:.4f}) → model [bold]churn[/] "
        f"v{version.version}, flavor {version.flavor}, alias champion"
    )
    model = conveyor.load_model("models:/churn@champion")
    sample = test[FEATURES].head(5)  # type: ignore[index]
    predictions = model.predict(sample)
    console.print(
        f"models:/churn@champion predicts {np.asarray(predictions).tolist()} on 5 rows",
        markup=False,
    )


def deploy_champion(test: Any) -> Any:
    step("4. Deploy the champion: compile to ONNX, check parity, record a revision")
    from conveyor.deployments import deploy_endpoint

    revision = deploy_endpoint(
        conveyor.connect(),
        "churn",
        model="churn@champion",
        validation_data=test[FEATURES].head(1000),
        description="first release",
    )
    for key, result in revision.compiled.items():
        parity = result.parity or {}
        detail = (
            f"label agreement {parity.get('label_agreement', parity.get('agreement'))}, "
            f"max |Δp| {parity.get('max_abs_diff')}"
            if result.status == "onnx"
            else result.reason
        )
        console.print(f"  {key}: runtime [bold]{result.status}[/] ({detail})", highlight=False)
    console.print(f"endpoint [bold]churn[/] at revision {revision.revision}")
    return revision


def _post_rows(client: httpx.Client, rows: list[dict[str, Any]]) -> list[str]:
    response = client.post("/invocations", json={"dataframe_records": rows})
    response.raise_for_status()
    return [str(p) for p in response.json()["prediction_ids"]]


def serve_traffic() -> dict[str, Any]:
    step("5. Serve two weeks of traffic over HTTP; labels come back as feedback")
    from conveyor.api.testing import ServerThread
    from conveyor.deployments.runtime import DeploymentServer
    from conveyor.monitoring.windows import default_log_uri
    from conveyor.serving import PredictionLog

    server_app = DeploymentServer(
        conveyor.connect(), ["churn"], prediction_log=PredictionLog(default_log_uri())
    )
    weeks = {
        "week 1": make_churn(3_000, seed=11),
        "week 2 (prices up)": make_churn(3_000, seed=12, drifted=True),
    }
    latencies: list[float] = []
    with (
        ServerThread(server_app, lifespan="on") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        for label, frame in weeks.items():
            ids: list[str] = []
            records = frame[FEATURES].to_dict(orient="records")
            started = time.perf_counter()
            for start in range(0, len(records), 10):
                t0 = time.perf_counter()
                ids += _post_rows(client, records[start : start + 10])
                latencies.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - started
            feedback = [
                {"prediction_id": pid, "label": int(y)}
                for pid, y in zip(ids, frame[TARGET], strict=True)
            ]
            client.post("/feedback", json=feedback).raise_for_status()
            console.print(
                f"  {label}: {len(ids):,} predictions in {elapsed:.1f} s "
                f"({len(ids) / elapsed:,.0f} rows/s), {len(feedback):,} labels fed back"
            )
        console.print(f"  served by {server.url} (v2 protocol + MLflow /invocations)")
    p99 = float(np.percentile(latencies, 99) * 1000)
    console.print(f"  client-side p99 per 10-row request: {p99:.1f} ms")
    return {"p99_ms": p99, "last_prediction": ids[-1]}


def monitor_window() -> None:
    step("6. Monitor the window: drift, quality, performance, latency; alerts")
    from conveyor.monitoring import service as monitoring

    backend = conveyor.connect()
    report = monitoring.window_report(backend, "churn", "1d")
    if report.drift is not None:
        drifted = ", ".join(report.drift.drifted_columns) or "none"
        console.print(
            f"  drift vs the training data: {report.drift.share_drifted:.0%} of columns "
            f"drifted ({drifted})"
        )
    perf = report.performance.to_dict()
    overall = perf.get("overall", perf)
    metrics = overall.get("metrics", overall) if isinstance(overall, dict) else {}
    names = ("accuracy", "precision", "recall", "f1", "auc", "log_loss", "ece")
    shown = {k: metrics[k] for k in names if metrics.get(k) is not None}
    console.print(f"  performance with the labels that arrived: {_fmt(shown)}")
    html_path = settings_home() / "reports" / "churn-window.html"
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(report.to_html(), encoding="utf-8")
    console.print(f"  full report (opens offline): {html_path}", markup=False)
    specs = [
        {
            "name": "churn-drift",
            "endpoint": "churn",
            "metric": "drift.share",
            "threshold": 0.25,
            "comparison": ">",
            "window": "1d",
            "severity": "warning",
            "notifiers": [{"type": "log"}],
        },
        {
            "name": "churn-latency",
            "endpoint": "churn",
            "metric": "latency.p99",
            "threshold": 250,
            "comparison": ">",
            "window": "1d",
            "severity": "critical",
        },
    ]
    with backend.meta.write(backend.actor) as uow:
        monitoring.apply_monitors(uow, specs)
    outcomes = monitoring.run_once(backend, due_only=False)
    for outcome in outcomes:
        console.print(
            f"  monitor {outcome.monitor}: value {outcome.value:.3f} → {outcome.status}",
            markup=False,
        )
    with backend.meta.read() as conn:
        open_alerts = monitoring.list_alerts(conn, open_only=True)
    for alert in open_alerts:
        console.print(
            f"  [bold red]ALERT[/] {alert.monitor} ({alert.severity}): {alert.state}",
            highlight=False,
        )


def respond(train: Any) -> None:
    step("7. Respond: retrain on recent labelled data, canary the challenger at 20%")
    from conveyor.deployments import deploy_endpoint

    recent = make_churn(3_000, seed=12, drifted=True)
    combined = pd.concat([train, recent], ignore_index=True)
    dataset = conveyor.log_dataset(combined, "churn-train")
    console.print(f"  churn-train v{dataset.version}: {dataset.num_rows:,} rows incl. week 2")
    build, params = CANDIDATES["logistic"]
    with conveyor.start_run(run_name="logistic-retrained"):
        conveyor.log_input(dataset)
        conveyor.log_params({**params, "trigger": "drift alert"})
        model = build().fit(combined[FEATURES], combined[TARGET])
        proba = model.predict_proba(recent[FEATURES])[:, 1]
        conveyor.log_metric("auc_recent", roc_auc_score(recent[TARGET], proba))
        info = conveyor.log_model(
            model, "model", input_example=recent[FEATURES].head(20), registered_model_name="churn"
        )
    version = info.registered_version
    assert version is not None
    conveyor.set_model_alias("churn", "challenger", version.version)
    revision = deploy_endpoint(
        conveyor.connect(), "churn", model="churn@champion", canary=f"churn/{version.version}:20"
    )
    routes = ", ".join(f"{r.role} v{r.version} {r.weight:.0f}%" for r in revision.routes)
    console.print(
        f"  churn v{version.version} (challenger) → revision {revision.revision}: {routes}"
    )


def trace(prediction_id: str) -> None:
    step("8. Lineage: from the last prediction back to the data; model card and bundle")
    from conveyor.lineage.bundle import write_bundle
    from conveyor.lineage.card_render import card_html
    from conveyor.lineage.graph import LineageGraph
    from conveyor.lineage.html import lineage_page

    backend = conveyor.connect()
    graph = backend.get_lineage(f"prediction:{prediction_id}", "upstream", 8)
    nodes = {n["id"]: n for n in graph["nodes"]}
    prefer = ["predicted", "registered", "training", "step", "pipeline-input", "produced"]
    causes: dict[str, tuple[str, str]] = {}
    for e in sorted(  # one cause per object: the one nearest the data path
        graph["edges"],
        key=lambda e: -(prefer.index(e["relation"]) if e["relation"] in prefer else 99),
    ):
        causes[e["target"]] = (e["source"], e["relation"])
    node, chain, seen = graph["root"], [graph["root"]], {graph["root"]}
    while node in causes and causes[node][0] not in seen:
        node, relation = causes[node]
        seen.add(node)
        chain.append(f"<-{relation}- {node}")
    console.print("  " + "\n    ".join(chain), markup=False)
    data = sorted(i for i, n in nodes.items() if n["type"] == "dataset_version")
    console.print(f"  trained on: {', '.join(data)}", markup=False)
    reports = settings_home() / "reports"
    (reports / "lineage.html").write_text(
        lineage_page(LineageGraph.from_dict(graph)), encoding="utf-8"
    )
    model = next(n["key"] for n in graph["nodes"] if n["type"] == "model_version")
    name, _, version = model.rpartition("/")
    card = backend.get_model_card(name, version, 200)
    (reports / "model-card.html").write_text(card_html(card), encoding="utf-8")
    write_bundle(backend.get_compliance_documents(name, version), reports / "bundle.zip")
    console.print(f"  lineage, model card and compliance bundle in {reports}", markup=False)


def _fmt(values: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()
    )


def settings_home() -> Path:
    return get_settings().home_path.absolute()


def main() -> None:
    settings = get_settings()
    where = settings.uri or str(settings.home_path.absolute())
    console.print(f"[bold]Conveyor demo[/] — store: {where}")
    dataset, (train, test) = version_data()
    train_candidates(dataset, train, test)
    register_champion(test)
    deploy_champion(test)
    served = serve_traffic()
    monitor_window()
    respond(train)
    trace(served["last_prediction"])
    step("Where to look")
    for line in (
        f"export CONVEYOR_HOME={settings.home_path.absolute()}",
        'conveyor runs search --filter "metrics.auc > 0.8" --order-by "metrics.auc DESC"',
        "conveyor models show churn",
        "conveyor datasets show churn-train",
        "conveyor deployments revisions churn",
        "conveyor monitor alerts",
        "conveyor serve churn --port 8080",
        "conveyor audit verify",
        f"conveyor lineage prediction:{served['last_prediction']} --upstream",
        "conveyor models card churn/1 --html card.html",
        "conveyor export-docs churn/1 --output bundle.zip",
    ):
        print(f"  {line}")  # plain print: never wrapped, safe to paste


if __name__ == "__main__":
    main()
