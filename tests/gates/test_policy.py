"""Policy parsing: the issue's form works; invalid policies are refused naming line and key."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.backend.local import LocalBackend
from conveyor.errors import NotFound
from conveyor.gates import PolicyError, parse_policy, service
from conveyor.governance.audit import list_events

from .conftest import register

ISSUE_FORM = """\
evaluation_dataset: churn-eval@latest          # name@version|latest
checks:
  - metric: auc
    min: 0.80
  - versus_champion: {metric: auc, max_drop: 0.01, confidence: 0.95}
  - fairness:
      sensitive: [gender]
      demographic_parity_ratio: {min: 0.8}
      equalized_odds_difference: {max: 0.1}
protected_aliases: [champion]
"""


def test_the_issue_form_parses_with_defaults() -> None:
    policy = parse_policy(ISSUE_FORM)
    assert policy.evaluation_dataset == "churn-eval@latest"
    assert [c.name for c in policy.checks] == [
        "metric:auc",
        "versus_champion:auc",
        "fairness:gender",
    ]
    champ = policy.checks[1].params
    assert champ["max_drop"] == 0.01 and champ["resamples"] == 1000
    assert champ["method"] == "bootstrap"
    fair = policy.checks[2].params
    assert fair["min_group_size"] == 30
    assert all(c.on_error == "fail" and c.on_insufficient == "fail" for c in policy.checks)
    assert policy.protected_aliases == ["champion"]


def test_a_dict_policy_is_the_same_policy() -> None:
    import yaml

    assert parse_policy(yaml.safe_load(ISSUE_FORM)) == parse_policy(ISSUE_FORM)


@pytest.mark.parametrize(
    ("text", "line", "path", "problem"),
    [
        (ISSUE_FORM.replace("min: 0.80", "min: high"), 4, "checks[0].min", "must be a number"),
        (
            ISSUE_FORM.replace("max_drop: 0.01", "max_drop: -1"),
            5,
            "checks[1].versus_champion.max_drop",
            "must be >= 0, got -1",
        ),
        (ISSUE_FORM.replace("metric: auc\n", "metric: aucc\n"), 3, "checks[0].metric", "aucc"),
        (ISSUE_FORM + "colour: red\n", 11, "colour", "unknown key 'colour'"),
        (
            ISSUE_FORM.replace("  - metric: auc\n    min: 0.80\n", "  - accuracy: 3\n"),
            3,
            "checks[0]",
            "names no check",
        ),
        (
            ISSUE_FORM.replace("sensitive: [gender]", "sensitve: [gender]"),
            7,
            "checks[2].fairness.sensitve",
            "unknown key",
        ),
        ("checks: []\n", None, "evaluation_dataset", "is required"),
        (
            ISSUE_FORM.replace("churn-eval@latest", "churn-eval@newest"),
            1,
            "evaluation_dataset",
            "name@version",
        ),
    ],
)
def test_invalid_policies_name_line_key_and_problem(
    text: str, line: int | None, path: str, problem: str
) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="policy.yaml")
    assert info.value.details["path"] == path
    assert info.value.details["line"] == line
    where = f"policy.yaml line {line}, {path}" if line else f"policy.yaml, {path}"
    assert where in info.value.message
    assert problem in info.value.message


ROLLOUT = (
    ISSUE_FORM
    + """\
rollout:
  steps: [5, 50]
  interval: 2m
  min_samples: 50
  alpha: 0.05
"""
)


def test_the_rollout_section_is_validated_and_normalised() -> None:
    section = parse_policy(ROLLOUT).rollout
    assert section == {
        "steps": [5.0, 50.0, 100.0],
        "interval": 120.0,
        "min_samples": 50,
        "alpha": 0.05,
    }


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "problem"),
    [
        ("steps: [5, 50]", "steps: [50, 5]", 12, "rollout.steps", "weights must increase"),
        ("interval: 2m", "interval: soon", 13, "rollout.interval", "bad duration 'soon'"),
        ("min_samples: 50", "min_samples: 0", 14, "rollout.min_samples", "positive integer"),
        ("alpha: 0.05", "alpha: 5", 15, "rollout.alpha", "between 0 and 1"),
        ("alpha: 0.05", "alfa: 0.05", 15, "rollout.alfa", "unknown key 'alfa'"),
    ],
)
def test_an_invalid_rollout_section_names_line_and_key(
    old: str, new: str, line: int, path: str, problem: str
) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(ROLLOUT.replace(old, new), source="policy.yaml")
    assert info.value.details["path"] == path
    assert f"policy.yaml line {line}, {path}" in info.value.message
    assert problem in info.value.message


def test_yaml_syntax_errors_name_the_line() -> None:
    with pytest.raises(PolicyError, match=r"policy.yaml line 3: not valid YAML"):
        parse_policy("evaluation_dataset: x@1\nchecks:\n\t- metric: auc\n", source="policy.yaml")


def _set(backend: LocalBackend, model: str, text: str) -> service.StoredPolicy:
    with backend.meta.write(backend.actor) as uow:
        return service.set_policy(uow, model, text)


def test_set_policy_checks_dataset_and_columns(
    backend: LocalBackend,
    tmp_path: Path,
    good_model: LogisticRegression,
    eval_frame: pd.DataFrame,
) -> None:
    register(backend, "churn", good_model, tmp_path)
    with pytest.raises(PolicyError, match=r"evaluation_dataset: dataset 'churn-eval'"):
        _set(backend, "churn", ISSUE_FORM)
    backend.log_dataset("churn-eval", eval_frame.drop(columns=["gender"]))
    with pytest.raises(PolicyError, match=r"checks\[2\].fairness.sensitive\[0\]: column 'gender'"):
        _set(backend, "churn", ISSUE_FORM)
    with pytest.raises(PolicyError, match=r"label: column 'churned' is not in"):
        _set(backend, "churn", ISSUE_FORM.replace("checks:", "label: churned\nchecks:"))
    backend.log_dataset("churn-eval", eval_frame)
    with backend.meta.write(backend.actor) as uow:
        first = service.set_policy(uow, "churn", ISSUE_FORM, source="policy.yaml")
    with backend.meta.write(backend.actor) as uow:
        second = service.set_policy(uow, "churn", ISSUE_FORM.replace("0.80", "0.75"))
    assert (first.version, second.version) == (1, 2)
    with backend.meta.read() as conn:
        assert service.get_policy(conn, "churn").version == 2
        assert service.get_policy(conn, "churn", 1).source == ISSUE_FORM
        events = list_events(conn, action="gate_policy.set")
    assert [e.details["policy_version"] for e in events] == [1, 2]


def test_unknown_model_is_not_found(backend: LocalBackend) -> None:
    with pytest.raises(NotFound, match="model 'ghost' is not registered"):
        _set(backend, "ghost", ISSUE_FORM)
    with pytest.raises(NotFound, match="model 'ghost'"), backend.meta.read() as conn:
        service.get_policy(conn, "ghost")
