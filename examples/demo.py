"""Conveyor's closed loop on embedded defaults: `make demo`.

1. Version the training data (content hash, schema, profile, data checks).
2. Train several candidate models as tracked runs (params, metrics, safe model files).
3. Register the best with the `champion` alias, load it back by alias and predict.

Everything lands in ./.conveyor (SQLite + a local artifact folder) unless CONVEYOR_HOME
or CONVEYOR_URI say otherwise.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
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

console = Console()
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


def main() -> None:
    settings = get_settings()
    where = settings.uri or str(settings.home_path.absolute())
    console.print(f"[bold]Conveyor demo[/] — store: {where}")
    dataset, (train, test) = version_data()
    train_candidates(dataset, train, test)
    register_champion(test)
    step("Where to look")
    console.print(
        '  conveyor runs search --filter "metrics.auc > 0.8" --order-by "metrics.auc DESC"\n'
        "  conveyor models show churn\n"
        "  conveyor datasets show churn-train\n"
        "  conveyor audit verify\n"
        f"  (run them with CONVEYOR_HOME={settings.home_path.absolute()})"
    )


if __name__ == "__main__":
    main()
