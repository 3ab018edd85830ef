"""`rollout start` takes its defaults from the ``rollout:`` section of the model's policy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.backend.local import LocalBackend
from conveyor.gates import run_gates, service

from .conftest import register

POLICY = """\
evaluation_dataset: churn-eval@latest
checks:
  - metric: auc
    min: 0.5
rollout:
  steps: 5,50
  interval: 2m
  max_hold: 1h
  min_samples: 40
  error_tolerance: 0.02
"""


@pytest.fixture
def endpoint(
    backend: LocalBackend,
    tmp_path: Path,
    good_model: LogisticRegression,
    train_frame: pd.DataFrame,
    eval_frame: pd.DataFrame,
) -> LocalBackend:
    """``churn-ep`` serving churn/1 (gated), churn/2 registered, the policy set."""
    register(backend, "churn", good_model, tmp_path, train=train_frame)
    register(backend, "churn", good_model, tmp_path, train=train_frame)
    backend.log_dataset("churn-eval", eval_frame)
    with backend.meta.write(backend.actor) as uow:
        service.set_policy(uow, "churn", POLICY, source="policy.yaml")
    run_gates(backend, "churn", 1)
    backend.deploy("churn-ep", model="churn/1", compile=False)
    return backend


def test_start_uses_the_policy_rollout_section(endpoint: LocalBackend) -> None:
    config = endpoint.start_rollout("churn-ep", "churn/2")["config"]
    assert config["steps"] == [5.0, 50.0, 100.0]
    assert config["interval_s"] == 120.0 and config["max_hold_s"] == 3600.0
    assert config["thresholds"]["min_samples"] == 40
    assert config["thresholds"]["min_labels"] == 40
    assert config["thresholds"]["error_tolerance"] == 0.02


def test_explicit_options_win_over_the_policy(endpoint: LocalBackend) -> None:
    config = endpoint.start_rollout(
        "churn-ep", "churn/2", steps="20,100", interval="30s", min_samples=7
    )["config"]
    assert config["steps"] == [20.0, 100.0] and config["interval_s"] == 30.0
    assert config["thresholds"]["min_samples"] == 7
    assert config["max_hold_s"] == 3600.0  # not given: still the policy's
    assert config["thresholds"]["error_tolerance"] == 0.02


def test_without_a_policy_section_the_builtin_defaults_apply(endpoint: LocalBackend) -> None:
    with endpoint.meta.write(endpoint.actor) as uow:
        service.set_policy(uow, "churn", POLICY.split("rollout:")[0])
    config = endpoint.start_rollout("churn-ep", "churn/2")["config"]
    assert config["steps"] == [10.0, 25.0, 50.0, 100.0] and config["interval_s"] == 600.0
    assert config["thresholds"]["min_samples"] == 200
