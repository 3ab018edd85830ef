"""Item 3: the stock client's everyday round trip against MLFLOW_TRACKING_URI.

Run in the mlflow venv; prints one JSON object of what it saw (the test asserts on it).
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

out = {}
mlflow.set_experiment("mlflow-compat")
X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
y = (X["a"] > 9).astype(int)
with mlflow.start_run(run_name="roundtrip") as run:
    mlflow.log_params({"C": 1.0, "solver": "lbfgs"})
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "notes.txt")
        with open(path, "w") as f:
            f.write("hello conveyor")
        mlflow.log_artifact(path)
        mlflow.log_artifact(path, artifact_path="sub/dir")
    model = LogisticRegression(C=1.0).fit(X, y)
    info = mlflow.sklearn.log_model(
        model, name="model", registered_model_name="mlflow-compat-model", input_example=X.head(2)
    )
    out["model_id"] = info.model_id
    pickled = mlflow.sklearn.log_model(
        model,
        name="pickled",
        registered_model_name="mlflow-compat-pickled",
        serialization_format="cloudpickle",
        input_example=X.head(2),
    )
    rows = X.iloc[7:13]
    out["pickled_rows"] = rows.to_dict(orient="records")
    out["pickled_expected"] = [int(v) for v in model.predict(rows)]
    out["pickled_version"] = pickled.registered_model_version
    out["registered_version"] = info.registered_model_version
out["run_id"] = run.info.run_id
out["experiment_id"] = run.info.experiment_id
client = MlflowClient()
client.set_registered_model_alias("mlflow-compat-model", "champion", info.registered_model_version)
loaded = mlflow.pyfunc.load_model("models:/mlflow-compat-model@champion")
out["predictions"] = [int(v) for v in loaded.predict(X.head(4))]
out["expected"] = [int(v) for v in model.predict(X.head(4))]
got = client.get_run(run.info.run_id)
out["status"] = got.info.status
out["params"] = got.data.params
out["metrics"] = got.data.metrics
out["run_name"] = got.info.run_name
out["history"] = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")]
out["artifacts"] = sorted(a.path for a in client.list_artifacts(run.info.run_id))
out["sub_artifacts"] = sorted(a.path for a in client.list_artifacts(run.info.run_id, "sub/dir"))
local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="notes.txt")
out["notes"] = Path(local).read_text()
mv = client.get_model_version_by_alias("mlflow-compat-model", "champion")
out["alias_version"] = mv.version
out["alias_version_type"] = type(mv.version).__name__
out["logged_model_status"] = str(client.get_logged_model(info.model_id).status)
json.dump(out, sys.stdout)
