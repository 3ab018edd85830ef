"""Item 4: many checks of the stock client against MLFLOW_TRACKING_URI in one process.

Prints one JSON object; each key is a check's observation (the test asserts on them).
"""

import json
import math
import sys
import time

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression

client = MlflowClient()
out = {}


def code(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except MlflowException as exc:
        return exc.error_code
    return None


# -- pagination, filters, order_by ---------------------------------------------------------
exp = client.create_experiment("conformance", tags={"team": "ml"})
now = int(time.time() * 1000)
run_ids = []
for i in range(25):
    run = client.create_run(exp, run_name=f"r{i:02d}", start_time=now + i)
    model = "rf" if i % 2 else "xgb"
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("m", float(i), now, 0), Metric("neg", -12.5 if i < 5 else 3.0, now, 0)],
        params=[Param("model", model)],
        tags=[RunTag("note", "it's" if i == 3 else "plain")],
    )
    client.set_terminated(run.info.run_id)
    run_ids.append(run.info.run_id)
pages, token = [], None
while True:
    page = client.search_runs([exp], max_results=10, page_token=token)
    pages.append(len(page))
    token = page.token
    if not token:
        break
out["page_sizes"] = pages
seen = [r.info.run_id for t in [None] for r in client.search_runs([exp], max_results=1000)]
out["all_runs"] = len(set(seen))
out["neg_lt"] = len(client.search_runs([exp], "metrics.neg < -12.0"))
out["neg_eq"] = len(client.search_runs([exp], "metrics.neg = -12.5"))
out["sq"] = len(client.search_runs([exp], "params.model = 'rf'"))
out["dq"] = len(client.search_runs([exp], 'params.model = "rf"'))
out["quote_in_string"] = len(client.search_runs([exp], 'tags.note = "it\'s"'))
out["and"] = len(client.search_runs([exp], "params.model = 'rf' and metrics.m >= 20"))
out["like"] = len(client.search_runs([exp], "attributes.run_name LIKE 'r0%'"))
out["run_name_tag"] = len(client.search_runs([exp], "tags.mlflow.runName = 'r07'"))
out["status"] = len(client.search_runs([exp], "attributes.status = 'FINISHED'"))
out["run_id_in"] = len(
    client.search_runs([exp], f"attributes.run_id IN ('{run_ids[0]}', '{run_ids[1]}')")
)
out["order_desc"] = client.search_runs([exp], order_by=["metrics.m DESC"], max_results=1)[
    0
].data.metrics["m"]
out["order_two"] = [
    r.info.run_name
    for r in client.search_runs(
        [exp], order_by=["params.model ASC", "metrics.m DESC"], max_results=2
    )
]
out["fluent_pandas_rows"] = len(mlflow.search_runs([exp], filter_string="metrics.m < 3"))
out["bad_filter"] = code(client.search_runs, [exp], "metrics.m >>> 1")
out["or_filter"] = code(client.search_runs, [exp], "metrics.m > 1 or metrics.m < 0")

# -- NaN / ±Inf, unicode keys ----------------------------------------------------------------
mlflow.set_experiment(experiment_id=exp)
with mlflow.start_run(run_name="special") as run:
    mlflow.log_metric("nan", float("nan"))
    mlflow.log_metric("pinf", float("inf"))
    mlflow.log_metric("ninf", float("-inf"))
    mlflow.log_metric("précision", 0.5, step=3)
    mlflow.log_param("paramètre", "é")
    mlflow.set_tag("标签", "值")
special = client.get_run(run.info.run_id)
m = special.data.metrics
out["nan"] = math.isnan(m["nan"])
out["pinf"] = m["pinf"] == math.inf
out["ninf"] = m["ninf"] == -math.inf
out["hist_nan"] = math.isnan(client.get_metric_history(run.info.run_id, "nan")[0].value)
out["unicode"] = [m["précision"], special.data.params["paramètre"], special.data.tags["标签"]]
out["unicode_search"] = len(client.search_runs([exp], "params.`paramètre` = 'é'"))
out["step"] = client.get_metric_history(run.info.run_id, "précision")[0].step

# -- errors ------------------------------------------------------------------------------------
out["err_missing_run"] = code(client.get_run, "0" * 32)
out["err_exp_exists"] = code(client.create_experiment, "conformance")
out["err_param_change"] = code(client.log_param, run_ids[0], "model", "other")
out["err_missing_exp"] = code(client.get_experiment_by_name, "nope") or "returned None"
out["missing_exp_none"] = client.get_experiment_by_name("nope") is None
too_many = [Metric("x", 1.0, now, i) for i in range(1001)]
out["err_batch_too_big"] = code(client.log_batch, run_ids[0], metrics=too_many)
out["err_max_results"] = code(client.search_runs, [exp], max_results=60000)

# -- lifecycle ----------------------------------------------------------------------------------
client.delete_run(run_ids[0])
out["after_delete"] = len(client.search_runs([exp], max_results=1000))
out["deleted_only"] = len(client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY))
out["deleted_stage"] = client.get_run(run_ids[0]).info.lifecycle_stage
client.restore_run(run_ids[0])
out["after_restore"] = len(client.search_runs([exp], max_results=1000))
client.set_experiment_tag(exp, "stage", "dev")
out["exp_tags"] = client.get_experiment(exp).tags
client.rename_experiment(exp, "conformance-renamed")
out["renamed"] = client.get_experiment(exp).name
out["exp_search"] = [e.name for e in client.search_experiments(filter_string="name LIKE 'conf%'")]
other = client.create_experiment("to-delete")
client.delete_experiment(other)
out["exp_deleted_stage"] = client.get_experiment(other).lifecycle_stage
out["exp_deleted_listed"] = "to-delete" in [e.name for e in client.search_experiments()]
client.restore_experiment(other)
out["exp_restored_listed"] = "to-delete" in [e.name for e in client.search_experiments()]
client.set_tag(run_ids[1], "temp", "x") if False else None
with mlflow.start_run(run_name="tags") as tag_run:
    mlflow.set_tag("temp", "x")
    client.delete_tag(tag_run.info.run_id, "temp")
    mlflow.set_tag("mlflow.runName", "renamed-run")
got = client.get_run(tag_run.info.run_id)
out["tag_deleted"] = "temp" not in got.data.tags
out["renamed_run"] = got.info.run_name
out["default_experiment_run"] = None
mlflow.set_experiment("Default")
with mlflow.start_run() as default_run:
    mlflow.log_metric("x", 1.0)
out["default_experiment_run"] = client.get_run(default_run.info.run_id).info.experiment_id != ""

# -- logged models and the registry -----------------------------------------------------------
mlflow.set_experiment(experiment_id=exp)
with mlflow.start_run(run_name="registry") as reg_run:
    X = np.arange(10.0).reshape(-1, 1)
    info = mlflow.sklearn.log_model(LinearRegression().fit(X, X.ravel() * 2), name="lin")
found = client.search_logged_models(
    experiment_ids=[exp], filter_string=f"source_run_id = '{reg_run.info.run_id}'"
)
out["logged_models_found"] = [m.model_id for m in found] == [info.model_id]
client.set_logged_model_tags(info.model_id, {"quality": "good"})
out["logged_model_tags"] = client.get_logged_model(info.model_id).tags.get("quality")
rm = client.create_registered_model("conf-model", tags={"owner": "me"}, description="d0")
out["rm_name"] = rm.name
out["err_rm_exists"] = code(client.create_registered_model, "conf-model")
mv = client.create_model_version(
    "conf-model", f"models:/{info.model_id}", run_id=reg_run.info.run_id, model_id=info.model_id
)
mv2 = client.create_model_version(
    "conf-model", f"models:/{info.model_id}", run_id=reg_run.info.run_id, model_id=info.model_id
)
out["versions"] = [mv.version, mv2.version]
out["mv_status"] = str(mv.status)
client.update_model_version("conf-model", "1", description="first")
out["mv_description"] = client.get_model_version("conf-model", "1").description
client.set_model_version_tag("conf-model", "1", "validated", "yes")
client.delete_model_version_tag("conf-model", "2", "nothing") if False else None
out["mv_tags"] = client.get_model_version("conf-model", "1").tags
client.delete_model_version_tag("conf-model", "1", "validated")
out["mv_tags_after"] = client.get_model_version("conf-model", "1").tags
client.set_registered_model_alias("conf-model", "champion", "2")
out["alias"] = client.get_model_version_by_alias("conf-model", "champion").version
out["rm_aliases"] = client.get_registered_model("conf-model").aliases
client.delete_registered_model_alias("conf-model", "champion")
out["err_alias_gone"] = code(client.get_model_version_by_alias, "conf-model", "champion")
out["mv_search"] = sorted(m.version for m in client.search_model_versions("name='conf-model'"))
out["mv_search_run"] = len(client.search_model_versions(f"run_id='{reg_run.info.run_id}'"))
out["latest"] = [m.version for m in client.get_latest_versions("conf-model")]
out["download_uri"] = client.get_model_version_download_uri("conf-model", "1")
client.update_registered_model("conf-model", description="d1")
client.set_registered_model_tag("conf-model", "k", "v")
client.delete_registered_model_tag("conf-model", "owner")
rm = client.get_registered_model("conf-model")
out["rm_after"] = [rm.description, rm.tags]
out["rm_search"] = [m.name for m in client.search_registered_models("name LIKE 'conf%'")]
out["err_mv_delete"] = code(client.delete_model_version, "conf-model", "1")
out["err_missing_model"] = code(client.get_registered_model, "nope")
out["err_missing_version"] = code(client.get_model_version, "conf-model", "99")
client.rename_registered_model("conf-model", "conf-model-2")
out["renamed_model"] = client.get_registered_model("conf-model-2").name
client.create_registered_model("empty-model")
client.delete_registered_model("empty-model")
out["err_deleted_model"] = code(client.get_registered_model, "empty-model")
loaded = mlflow.pyfunc.load_model("models:/conf-model-2/1")
out["predict"] = [round(float(v), 6) for v in loaded.predict(np.array([[1.0], [2.0]]))]
json.dump(out, sys.stdout, default=str)
