"""Create an MLflow store with the stock client (run in the mlflow venv, not Conveyor's).

Usage: python make_store.py <tracking-uri> <artifact-root or -> <out.json>
Writes what it created (ids, values) to out.json for the test to compare against.
"""

import json
import math
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

uri, artifact_root, out = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
client = MlflowClient()
location = None if artifact_root == "-" else artifact_root + "/exp"
exp_id = client.create_experiment("imported-exp", artifact_location=location, tags={"team": "ml"})
mlflow.set_experiment("imported-exp")
X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
y = (X["a"] > 9).astype(int)
model = LogisticRegression().fit(X, y)
runs = {}
with mlflow.start_run(run_name="first") as run:
    mlflow.log_params({"lr": 0.1, "model": "lr"})
    for step in range(5):
        mlflow.log_metric("loss", -12.0 + step * 0.5, step=step)
    mlflow.log_metric("nan_metric", math.nan)
    mlflow.set_tag("stage", "dev")
    mlflow.set_tag("long", "x" * 7000)  # MLflow allows 8000 characters, Conveyor 6000
    notes = Path(out).parent / "notes.txt"
    notes.write_text("hello from mlflow")
    mlflow.log_artifact(str(notes), "docs")
    mlflow.sklearn.log_model(
        model, name="model", input_example=X[:3], registered_model_name="imported-model"
    )
    runs["first"] = run.info.run_id
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("child_metric", 1.0)
        runs["child"] = child.info.run_id
with mlflow.start_run(run_name="second") as run:
    mlflow.log_param("lr", 0.2)
    mlflow.log_metric("loss", 3.0)
    mlflow.sklearn.log_model(
        model,
        name="pickled",
        serialization_format="cloudpickle",
        registered_model_name="imported-model",
    )
    runs["second"] = run.info.run_id
with mlflow.start_run(run_name="deleted") as run:
    runs["deleted"] = run.info.run_id
client.delete_run(runs["deleted"])
client.set_registered_model_alias("imported-model", "champion", "1")
client.set_registered_model_alias("imported-model", "legacy", "2")
client.set_model_version_tag("imported-model", "1", "validated", "yes")
Path(out).write_text(
    json.dumps(
        {
            "experiment_id": exp_id,
            "runs": runs,
            "predictions": model.predict(X[:3]).tolist(),
            "mlflow": mlflow.__version__,
        }
    )
)
