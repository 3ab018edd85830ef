"""Item 2: the stock client against a server with tokens, without and with
MLFLOW_TRACKING_TOKEN (the token to use comes in CONVEYOR_TEST_TOKEN).

Run in the mlflow venv; prints one JSON object of what it saw (the test asserts on it).
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

out = {}
client = MlflowClient()


def refusal(what):
    try:
        client.search_experiments()
    except MlflowException as exc:
        out[what] = [exc.error_code, exc.get_http_status_code(), str(exc)]
    else:
        out[what] = None


refusal("no_token")
os.environ["MLFLOW_TRACKING_TOKEN"] = "not-a-token"
refusal("bad_token")
os.environ["MLFLOW_TRACKING_TOKEN"] = os.environ["CONVEYOR_TEST_TOKEN"]
mlflow.set_experiment("with-token")
with mlflow.start_run() as run:
    mlflow.log_param("p", "1")
    mlflow.log_metric("m", 0.5, step=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.txt")
        with open(path, "w") as f:
            f.write("through the proxy")
        mlflow.log_artifact(path)  # PUT /api/2.0/mlflow-artifacts/... with the token
got = client.get_run(run.info.run_id)
out["run_id"] = run.info.run_id
out["metrics"] = got.data.metrics
out["user"] = got.data.tags.get("mlflow.user")
out["artifacts"] = [a.path for a in client.list_artifacts(run.info.run_id)]
local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="a.txt")
out["artifact"] = Path(local).read_text()
json.dump(out, sys.stdout)
