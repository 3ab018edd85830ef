"""A version stored with a pickle deploys only once an admin trusted it (audited); the
trust mark is no ordinary tag, and a safe version needs none."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.models.test_models_pyfunc import Lookup
from typer.testing import CliRunner

import conveyor
from conveyor.cli.main import app
from conveyor.deployments.compile import load_version
from conveyor.errors import ValidationFailed
from conveyor.registry.pickle_trust import TRUST_TAG


def test_trust_then_deploy_a_pickled_version(conveyor_home: Path) -> None:
    frame = pd.DataFrame({"i": [0, 2]})
    with conveyor.start_run():
        conveyor.log_model(Lookup(), "lookup", input_example=frame, registered_model_name="lk")
        x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
        conveyor.log_model(LogisticRegression().fit(x, [0, 0, 1, 1]), "safe",
                           input_example=x, registered_model_name="safe")  # fmt: skip
    runner = CliRunner()
    refused = runner.invoke(app, ["deploy", "lk-api", "--model", "lk/1", "--no-compile"])
    assert refused.exit_code != 0
    assert "--trust-pickle" in refused.output and "pickle" in refused.output
    needless = runner.invoke(app, ["models", "trust", "safe", "1", "--reason", "x"])
    assert needless.exit_code != 0 and "needs no trust" in needless.output

    backend = conveyor.connect()
    for attempt in (
        lambda: backend.set_model_version_tag("lk", 1, TRUST_TAG, "me"),
        lambda: backend.register_model(
            backend.get_model_version("lk", 1).source, "lk", tags={TRUST_TAG: "me"}
        ),
    ):
        with pytest.raises(ValidationFailed, match="reserved"):
            attempt()

    trusted = runner.invoke(
        app, ["models", "trust", "lk", "1", "--reason", "our own job", "--json"]
    )
    assert trusted.exit_code == 0, trusted.output
    assert json.loads(trusted.output)["tags"][TRUST_TAG]
    again = runner.invoke(app, ["models", "trust", "lk", "1", "--reason", "again"])
    assert again.exit_code == 0  # idempotent: one audit event
    events = backend.list_audit_events(action="model_version.trust_pickle", limit=10)
    assert [e.object_id for e in events] == ["lk/1"]
    deployed = runner.invoke(app, ["deploy", "lk-api", "--model", "lk/1", "--no-compile"])
    assert deployed.exit_code == 0, deployed.output
    mv = backend.get_model_version("lk", 1)
    assert list(load_version(backend, mv).predict(frame)) == [10.0, 30.0]  # the runtime's load
