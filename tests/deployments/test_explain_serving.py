"""``POST /explain`` on the inference server (and the v2 ``/v2/models/{m}/explain``
extension): per-feature contributions equal to shap's own, base + contributions equal to
the model's output; unsupported models get a 422 naming why; pyfunc falls back to LIME
(the answer's ``method``), whose contributions have the signs of the known function."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

shap = pytest.importorskip("shap")

from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402

from conveyor.deployments.runtime import DeploymentServer  # noqa: E402
from conveyor.models import PythonModel, PythonModelContext  # noqa: E402

from .helpers import client, log_and_register, records, run  # noqa: E402


class Doubled(PythonModel):
    """A black box: 2*f0 - f1 (explained by LIME)."""

    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        return 2 * model_input["f0"].to_numpy() - model_input["f1"].to_numpy()


def _rows(frame: pd.DataFrame) -> dict[str, Any]:
    return {"dataframe_records": records(frame)}


def test_explain_a_deployed_forest(
    home_backend: Any,
    forests: list[RandomForestClassifier],
    isotonic: IsotonicRegression,
    clf_data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, _ = clf_data
    forest = forests[0]
    log_and_register(forest, "churn", X.head(20))
    log_and_register(isotonic, "iso", X[["f0"]].head(10))
    log_and_register(Doubled(), "box", X.head(20))
    home_backend.deploy("churn-api", model="churn/1")
    home_backend.deploy("iso-api", model="iso/1")
    home_backend.deploy("box-api", model="box/1")
    server = DeploymentServer(home_backend, ["churn-api", "iso-api", "box-api"], poll_interval=60)
    reference = shap.TreeExplainer(forest).shap_values(X.head(5).to_numpy())

    async def go() -> None:
        async with client(server) as c:
            r = await c.post("/endpoints/churn-api/explain", json=_rows(X.head(5)))
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["method"], body["output"], body["model_version"]) == (
                "tree", "probability", "1"
            )  # fmt: skip
            assert body["features"] == ["f0", "f1", "f2", "f3"] and body["outputs"] == ["0", "1"]
            ours = np.array([[row["contributions"][f] for f in body["features"]]
                             for row in body["rows"]])  # fmt: skip
            np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-9)
            proba = forest.predict_proba(X.head(5))
            for i, row in enumerate(body["rows"]):
                total = np.array(row["base_value"]) + ours[i].sum(axis=0)
                np.testing.assert_allclose(total, row["output_value"], atol=1e-9)
                np.testing.assert_allclose(total, proba[i], atol=1e-6)

            v2 = {"inputs": [{"name": f, "shape": [1], "datatype": "FP64",
                              "data": [float(X[f].iloc[0])]} for f in X.columns]}  # fmt: skip
            r = await c.post("/v2/models/churn-api/versions/1/explain", json=v2)
            assert r.status_code == 200, r.text
            row = r.json()["rows"][0]
            np.testing.assert_allclose(
                [row["contributions"][f] for f in X.columns], reference[0], atol=1e-9
            )

            r = await c.post("/endpoints/iso-api/explain", json=_rows(X[["f0"]].head(2)))
            assert r.status_code == 422
            assert "cannot explain a sklearn model of type sklearn.isotonic" in r.text
            r = await c.get("/endpoints/churn-api/explain")
            assert r.status_code == 405 and r.headers["allow"] == "POST"
            r = await c.post("/endpoints/churn-api/explain", json={"records": [{"f0": 1.0}]})
            assert r.status_code == 422 and "f1" in r.text

            r = await c.post("/endpoints/box-api/explain", json=_rows(X.head(2)))
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["method"], body["output"]) == ("lime", "prediction")
            mean = X.head(20).mean()  # the background: the input example
            for i, row in enumerate(body["rows"]):
                contributions = row["contributions"]
                assert np.sign(contributions["f0"]) == np.sign(X["f0"].iloc[i] - mean["f0"])
                assert np.sign(contributions["f1"]) == -np.sign(X["f1"].iloc[i] - mean["f1"])
                assert abs(contributions["f2"]) + abs(contributions["f3"]) < 0.05 * (
                    abs(contributions["f0"]) + abs(contributions["f1"])
                )
                want = 2 * X["f0"].iloc[i] - X["f1"].iloc[i]
                assert row["output_value"] == pytest.approx(want, abs=0.05 * (1 + abs(want)))

    run(go())
