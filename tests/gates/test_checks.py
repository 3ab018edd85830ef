"""Each built-in check passing and failing on real models scored by Conveyor itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.artifacts import ArtifactStore
from conveyor.backend.local import LocalBackend
from conveyor.data.checks import in_range
from conveyor.gates import CheckOutcome, GateReport, register_check, run_gates, service
from conveyor.gates._registry import _CHECKS
from conveyor.registry import service as registry
from conveyor.store import MetadataStore

from .conftest import FEATURES, make_frame, register


@pytest.fixture
def sq(tmp_path: Path) -> LocalBackend:
    """SQLite only: these tests are about the statistics, not the store."""
    meta = MetadataStore(f"sqlite:///{tmp_path / 'meta.db'}")
    return LocalBackend(meta, ArtifactStore.from_uri(str(tmp_path / "artifacts")))


@pytest.fixture
def two(
    sq: LocalBackend,
    tmp_path: Path,
    good_model: LogisticRegression,
    weak_model: LogisticRegression,
    train_frame: pd.DataFrame,
    eval_frame: pd.DataFrame,
) -> LocalBackend:
    """churn/1 good, churn/2 weak, both trained on linked data; churn-eval logged."""
    register(sq, "churn", good_model, tmp_path, train=train_frame)
    register(sq, "churn", weak_model, tmp_path, train=train_frame)
    sq.log_dataset("churn-eval", eval_frame)
    return sq


def gate(backend: LocalBackend, version: int, checks: str, extra: str = "") -> GateReport:
    text = f"evaluation_dataset: churn-eval@latest\n{extra}checks:\n{checks}"
    with backend.meta.write(backend.actor) as uow:
        service.set_policy(uow, "churn", text)
    return run_gates(backend, "churn", version)


def champion(backend: LocalBackend, version: int) -> None:
    with backend.meta.write(backend.actor) as uow:
        registry.set_alias(uow, "churn", "champion", version, override_reason="test setup")


def only(report: GateReport) -> Any:
    assert len(report.checks) == 1
    return report.checks[0]


# -- metric ---------------------------------------------------------------------------------
def test_metric_bounds(two: LocalBackend) -> None:
    good = only(gate(two, 1, "  - metric: auc\n    min: 0.8\n"))
    weak = only(gate(two, 2, "  - metric: auc\n    min: 0.8\n"))
    assert good.verdict == "pass" and good.value > 0.8
    assert weak.verdict == "fail" and weak.value < 0.8
    loss = only(gate(two, 1, "  - metric: log_loss\n    max: 0.01\n"))
    assert loss.verdict == "fail" and loss.threshold == "<= 0.01"


def test_metric_is_computed_not_trusted(two: LocalBackend, eval_frame: pd.DataFrame) -> None:
    from sklearn.metrics import roc_auc_score

    check = only(gate(two, 1, "  - metric: auc\n    min: 0.5\n"))
    model = two.get_model_version("churn", 1)
    from conveyor.deployments.compile import load_version

    loaded = load_version(two, model)
    expected = roc_auc_score(eval_frame["label"], loaded.predict_proba(eval_frame[FEATURES])[:, 1])
    assert check.value == pytest.approx(expected, abs=1e-12)


# -- versus champion ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec",
    [
        "{metric: auc, max_drop: 0.01}",
        "{metric: accuracy, max_drop: 0.01, method: mcnemar}",
        "{metric: log_loss, max_relative_drop: 0.02}",
    ],
)
def test_versus_champion(two: LocalBackend, spec: str) -> None:
    champion(two, 2)  # the weak one is champion: the good candidate is not worse
    better = only(gate(two, 1, f"  - versus_champion: {spec}\n"))
    assert better.verdict == "pass", better.message
    assert better.evidence["champion_version"] == 2
    lo, hi = better.evidence["interval"]
    assert lo <= better.value <= hi
    champion(two, 1)
    worse = only(gate(two, 2, f"  - versus_champion: {spec}\n"))
    assert worse.verdict == "fail", worse.message
    assert worse.value < 0


def test_versus_champion_without_champion(two: LocalBackend) -> None:
    first = only(gate(two, 1, "  - versus_champion: {metric: auc}\n"))
    assert first.verdict == "pass" and "no champion" in first.message
    strict = only(gate(two, 1, "  - versus_champion: {metric: auc, if_no_champion: fail}\n"))
    assert strict.verdict == "fail"


def test_the_champion_against_itself_passes(
    two: LocalBackend,
) -> None:
    champion(two, 1)
    same = only(gate(two, 1, "  - versus_champion: {metric: auc, max_drop: 0.001}\n"))
    assert same.verdict == "pass" and same.value == 0.0


# -- fairness -------------------------------------------------------------------------------
def _biased_eval(n: int = 1500) -> pd.DataFrame:
    frame = make_frame(n, seed=3)
    frame["gender"] = np.where(frame["f0"] > 0.3, "m", "f")  # the model's main feature
    return frame


def test_fairness_pass_and_fail(two: LocalBackend) -> None:
    spec = "  - fairness: {sensitive: [gender, region]}\n"
    fair = only(gate(two, 1, spec))
    assert fair.verdict == "pass", fair.message
    table = fair.evidence["groups:gender"]
    assert {r["group"] for r in table} == {"f", "m"}
    assert set(table[0]) >= {"size", "selection_rate", "tpr", "fpr", "accuracy"}
    two.log_dataset("churn-eval", _biased_eval())
    biased = only(gate(two, 1, spec))
    assert biased.verdict == "fail"
    assert "demographic parity ratio" in biased.message and "on gender" in biased.message
    assert biased.value["demographic_parity_ratio"] < 0.8


def test_small_groups_are_insufficient_not_merged(two: LocalBackend) -> None:
    frame = make_frame(1500, seed=4)
    frame.loc[:9, "region"] = "island"  # 10 rows
    two.log_dataset("churn-eval", frame)
    check = only(gate(two, 1, "  - fairness: {sensitive: region, min_group_size: 30}\n"))
    island = next(r for r in check.evidence["groups:region"] if r["group"] == "island")
    assert island["size"] == 10 and island["status"] == "insufficient"
    tiny = only(gate(two, 1, "  - fairness: {sensitive: region, min_group_size: 1000}\n"))
    assert tiny.verdict == "insufficient_data" and not tiny.passed  # fail closed
    lenient = only(
        gate(
            two,
            1,
            "  - fairness: {sensitive: region, min_group_size: 1000}\n    on_insufficient: pass\n",
        )
    )
    assert lenient.verdict == "insufficient_data" and lenient.passed


# -- slices ---------------------------------------------------------------------------------
def test_slices(two: LocalBackend) -> None:
    spec = (
        "  - slices: {{metric: accuracy, max_gap: {gap},\n"
        "      by: [region, {{column: age, bins: [18, 40, 60, 80]}}]}}\n"
    )
    loose = only(gate(two, 1, spec.format(gap=0.2)))
    assert loose.verdict == "pass"
    names = [r["slice"] for r in loose.evidence["slices"]]
    assert "region=north" in names and "age in [60, 80]" in names
    assert sum(r["size"] for r in loose.evidence["slices"] if r["slice"].startswith("age")) == 1500
    strict = only(gate(two, 1, spec.format(gap=0.0)))
    assert strict.verdict == "fail" and "worst slice" in strict.message


# -- data -----------------------------------------------------------------------------------
def test_data_checks(two: LocalBackend, tmp_path: Path, good_model: LogisticRegression) -> None:
    ok = only(gate(two, 1, "  - data: {}\n"))
    assert ok.verdict == "pass"
    assert [r["role"] for r in ok.evidence["datasets"]] == ["evaluation", "training"]
    two.log_dataset("churn-eval", make_frame(1500, seed=2), expectations=[in_range("f0", 0, 1)])
    failed = only(gate(two, 1, "  - data: {}\n"))
    assert failed.verdict == "fail" and "churn-eval" in failed.message
    register(two, "churn", good_model, tmp_path)  # 3: no training data linked
    two.log_dataset("churn-eval", make_frame(1500, seed=5))
    alone = only(gate(two, 3, "  - data: {}\n"))
    assert alone.verdict == "insufficient_data" and not alone.passed
    # a model a pipeline step returned: the step's input frames are its training data
    from conveyor.data.service import link_run_input

    frame = two.log_dataset("retrain.combine", make_frame(500, seed=6))
    with two.meta.write(two.actor) as uow:
        link_run_input(uow, two.get_model_version("churn", 3).run_id, frame.id, "pipeline-input")
    piped = only(gate(two, 3, "  - data: {}\n"))
    assert piped.verdict == "pass", piped.message
    assert [r["role"] for r in piped.evidence["datasets"]] == ["evaluation", "training"]


# -- serving --------------------------------------------------------------------------------
def test_serving(two: LocalBackend, tmp_path: Path, train_frame: pd.DataFrame) -> None:
    ready = only(gate(two, 1, "  - serving: {max_p99_ms: 1000}\n"))
    assert ready.verdict == "pass", ready.message
    items = {r["item"]: r for r in ready.evidence["items"]}
    assert items["onnx"]["value"] == "onnx" and ready.evidence["parity"]["passed"]
    assert items["size_mb"]["value"] > 0
    slow = only(gate(two, 1, "  - serving: {max_p99_ms: 0.000001, max_size_mb: 0.000001}\n"))
    assert slow.verdict == "fail" and "p99" in slow.message and "size" in slow.message
    champion(two, 1)
    narrow = LogisticRegression().fit(train_frame[["f0", "f1"]], train_frame["label"])
    exp = two.get_or_create_experiment("gates-tests")
    run = two.create_run(exp.id)
    from conveyor.models import save_model

    folder = tmp_path / "narrow"
    save_model(narrow, folder, input_example=train_frame[["f0", "f1"]].head(3))
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            two.upload_artifact(run.id, f"model/{path.relative_to(folder).as_posix()}", fh)
    two.register_model(model_uri=f"runs:/{run.id}/model", name="churn")  # 3: drops input f2
    changed = only(gate(two, 3, "  - serving: {max_p99_ms: 1000}\n"))
    assert changed.verdict == "fail" and "input 'f2' removed" in changed.message


# -- plugins and failing closed ---------------------------------------------------------------
@pytest.fixture
def user_checks() -> Any:
    before = dict(_CHECKS)
    yield
    _CHECKS.clear()
    _CHECKS.update(before)


def test_user_checks_and_fail_closed(two: LocalBackend, user_checks: Any) -> None:
    @register_check("max_positive_rate")
    def max_positive_rate(ctx: Any, max: float = 1.0) -> CheckOutcome:
        rate = float(ctx.candidate.pred_bin.mean())
        return CheckOutcome("pass" if rate <= max else "fail", value=rate, threshold=max)

    @register_check("explodes")
    def explodes(ctx: Any) -> CheckOutcome:
        raise RuntimeError("boom")

    report = gate(two, 1, "  - max_positive_rate: {max: 0.9}\n  - explodes: {}\n")
    rate, boom = report.checks
    assert rate.verdict == "pass" and 0 < rate.value < 0.9
    assert boom.verdict == "error" and "RuntimeError: boom" in boom.message
    assert not report.passed and report.failed_checks == ["explodes"]
    lenient = gate(two, 1, "  - explodes: {}\n    on_error: pass\n")
    assert lenient.passed and lenient.checks[0].verdict == "error"


def test_missing_evaluation_data_fails_every_check_closed(two: LocalBackend) -> None:
    report = gate(two, 1, "  - metric: auc\n    min: 0.5\n")
    blob = two.get_dataset_version("churn-eval").file_sha256
    Path(two.artifacts.backend.root, two.artifacts.key(blob)).unlink()  # type: ignore[attr-defined]
    again = run_gates(two, "churn", 1)
    assert report.passed and not again.passed
    assert again.checks[0].verdict == "error" and "gate setup failed" in again.checks[0].message
