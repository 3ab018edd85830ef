"""The operation table: every operation of Conveyor, declared once.

Each attribute of ``Client`` is an :class:`~conveyor.client.op.Op`: the service function,
the HTTP method and path of its REST route, and its transaction. The SDK and the CLI call
these attributes; ``conveyor.api`` generates the REST router from them; the transports
(``LocalTransport``, ``HttpTransport``) run them. Adding an operation is one line here
(see docs/architecture.md, "How to add an operation").
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.artifacts.store import write_atomically
from conveyor.client import _streaming
from conveyor.client.op import Op
from conveyor.data import service as datasets
from conveyor.deployments import compile, interventions, rollout_ops
from conveyor.deployments import service as deployments
from conveyor.errors import NotFound
from conveyor.explain import summary as explanations
from conveyor.features import materialization as feature_materialize
from conveyor.features import monitoring as feature_monitoring
from conveyor.features import online_ops as feature_online
from conveyor.features import registry as features
from conveyor.features import serving as feature_serving
from conveyor.gates import runner as gate_runner
from conveyor.gates import service as gates
from conveyor.governance import approvals, audit, holds, inference_keys, projects, retention
from conveyor.governance import users as identity
from conveyor.lineage import bundle, card, card_fields
from conveyor.lineage import service as lineage
from conveyor.monitoring import crud as monitors
from conveyor.monitoring import operations as monitoring
from conveyor.monitoring import traffic
from conveyor.pipelines import service as pipelines
from conveyor.pipelines import triggers
from conveyor.registry import pickle_trust, register
from conveyor.registry import service as registry
from conveyor.tracking import ingest, metric_chart, run_artifacts
from conveyor.tracking import service as tracking

if TYPE_CHECKING:
    import pandas as pd

    from conveyor.client.transport import Transport
    from conveyor.registry.entities import ModelVersion

__all__ = ["Client"]


class Client:
    """Every Conveyor operation, over one transport (embedded stores or a server)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @property
    def kind(self) -> str:
        """``"local"`` (embedded) or ``"http"`` (a server)."""
        return self.transport.kind

    @property
    def location(self) -> str:
        """Where the data lives (store URLs, or the server URL); for messages."""
        return self.transport.location

    def close(self) -> None:
        """Release the transport's pools and connections."""
        self.transport.close()

    # -- experiments ---------------------------------------------------------------------
    create_experiment = Op(
        tracking.create_experiment, "POST", "/experiments", tx="write", status=201
    )
    get_or_create_experiment = Op(
        tracking.open_experiment, "POST", "/experiments/get-or-create", tx="stores"
    )
    list_experiments = Op(tracking.list_experiments, "GET", "/experiments", key="experiments")
    get_experiment = Op(tracking.get_experiment, "GET", "/experiments/{id_or_name:path}")

    # -- runs ----------------------------------------------------------------------------
    # create_run, log_batch and end_run: the metric ingest hot path keeps hand-written
    # server routes (api/routers/runs.py); clients call them through this table.
    create_run = Op(tracking.create_run, "POST", "/runs", tx="write", status=201, route=False)
    log_batch = Op(ingest.log_batch, "POST", "/runs/{run_id}/log-batch", tx="stores", route=False)
    end_run = Op(ingest.end_run, "POST", "/runs/{run_id}/end", tx="stores", route=False)
    get_run = Op(tracking.get_run, "GET", "/runs/{run_id}")
    search_runs = Op(
        tracking.search_runs,
        "POST",
        "/runs/search",
        key="runs",
        wire_names={"filter_string": "filter"},
    )
    get_metric_history = Op(
        tracking.get_metric_history, "GET", "/runs/{run_id}/metric-history", key="points"
    )
    get_metric_columns = Op(tracking.get_metric_columns, "GET", "/runs/{run_id}/metric-columns")
    get_metric_chart = Op(metric_chart.get_metric_chart, "GET", "/runs/{run_id}/metric-chart")

    # -- artifacts (streamed: hand-written routes in api/routers/artifacts.py) -------------
    upload_artifact = Op(
        run_artifacts.upload_artifact,
        "PUT",
        "/runs/{run_id}/artifacts/{path:path}",
        tx="stores",
        status=201,
        route=False,
        http=_streaming.upload_artifact,
    )
    list_artifacts = Op(
        tracking.list_run_artifacts, "GET", "/runs/{run_id}/artifacts", key="artifacts"
    )
    iter_blob = Op(
        run_artifacts.iter_blob,
        "GET",
        "/blobs/{sha256}",
        tx="stores",
        permission="blobs:read",
        route=False,
        http=_streaming.iter_blob,
    )

    def artifact_entry(self, run_id: str, path: str) -> dict[str, Any]:
        """The stored entry (path, sha256, size) of one run artifact file."""
        from conveyor.tracking.service import check_artifact_path

        path = check_artifact_path(path)
        for entry in self.list_artifacts(run_id, path):
            if entry["path"] == path:
                return entry
        raise NotFound(f"run {run_id} has no artifact {path!r}")

    def download_blob(self, sha256: str, dest: Path) -> Path:
        """Write the verified blob to ``dest`` atomically; a corrupted blob leaves no file."""
        return write_atomically(dest, self.iter_blob(sha256))

    # -- datasets ------------------------------------------------------------------------
    log_dataset = Op(
        datasets.log_dataset,
        "POST",
        "/datasets/{name:path}/versions",
        tx="stores",
        status=201,
        route=False,
        http=_streaming.log_dataset,
    )
    link_input = Op(datasets.link_run_input, "POST", "/runs/{run_id}/inputs", tx="write")
    list_datasets = Op(datasets.list_datasets, "GET", "/datasets", key="datasets")
    list_dataset_versions = Op(
        datasets.list_versions, "GET", "/datasets/{name:path}/versions", key="versions"
    )
    get_dataset_version = Op(
        datasets.get_dataset_version,
        "GET",
        "/datasets/{name:path}/versions/{version}",
        none_as="latest",
    )
    get_dataset_version_by_id = Op(
        datasets.get_dataset_version_by_id, "GET", "/dataset-versions/{dataset_version_id}"
    )

    def load_dataset(self, name: str, version: int | str | None = None) -> pd.DataFrame:
        """A dataset version's rows as a DataFrame, verified by sha256 on arrival."""
        import pandas as pd

        from conveyor.data.frames import read_parquet

        dv = self.get_dataset_version(name, version)
        frame = read_parquet(b"".join(self.iter_blob(dv.file_sha256))).to_pandas()
        assert isinstance(frame, pd.DataFrame)
        return frame

    # -- registry ------------------------------------------------------------------------
    register_model = Op(
        register.register_model,
        "POST",
        "/models/{name:path}/versions",
        tx="stores",
        status=201,
        wire_names={"model_uri": "source"},
    )
    create_model = Op(registry.create_model, "POST", "/models", tx="write", status=201)
    search_models = Op(registry.search_models, "GET", "/models", key="models")
    get_model = Op(registry.get_model, "GET", "/models/{name:path}")
    list_model_versions = Op(
        registry.list_model_versions, "GET", "/models/{name:path}/versions", key="versions"
    )
    get_model_version = Op(
        registry.resolve_version, "GET", "/models/{name:path}/versions/{version}"
    )
    update_model_version = Op(
        registry.update_model_version, "PATCH", "/models/{name:path}/versions/{version}", tx="write"
    )
    set_model_version_tag = Op(
        registry.set_model_version_tag,
        "PUT",
        "/models/{name:path}/versions/{version}/tags",
        tx="write",
    )
    trust_model_version = Op(
        pickle_trust.trust_model_version,
        "POST",
        "/models/{name:path}/versions/{version}/trust",
        tx="stores",
        permission=pickle_trust.TRUST_PERMISSION,
    )
    set_model_alias = Op(
        registry.set_alias, "PUT", "/models/{name:path}/aliases/{alias}", tx="write"
    )
    delete_model_alias = Op(
        registry.delete_alias, "DELETE", "/models/{name:path}/aliases/{alias}", tx="write"
    )

    # -- deployments ---------------------------------------------------------------------
    deploy = Op(
        compile.deploy_endpoint,
        "POST",
        "/deployments/{endpoint:path}/revisions",
        tx="stores",
        status=201,
    )
    rollback = Op(
        deployments.rollback,
        "POST",
        "/deployments/{endpoint:path}/rollback",
        tx="write",
        status=201,
    )
    list_deployments = Op(deployments.list_deployments, "GET", "/deployments", key="deployments")
    get_deployment = Op(deployments.get_deployment, "GET", "/deployments/{endpoint:path}")
    list_revisions = Op(
        deployments.list_revisions, "GET", "/deployments/{endpoint:path}/revisions", key="revisions"
    )
    get_revision = Op(
        deployments.get_revision,
        "GET",
        "/deployments/{endpoint:path}/revisions/{revision}",
        none_as="current",
    )
    # human oversight (conveyor.deployments.interventions): each needs a reason, audited
    stop_deployment = Op(
        interventions.stop_deployment, "POST", "/deployments/{endpoint:path}/stop", tx="write"
    )
    resume_deployment = Op(
        interventions.resume_deployment, "POST", "/deployments/{endpoint:path}/resume", tx="write"
    )
    override_traffic = Op(
        interventions.override_traffic,
        "POST",
        "/deployments/{endpoint:path}/override",
        tx="write",
        status=201,
    )

    # -- monitoring ----------------------------------------------------------------------
    create_monitor = Op(monitors.create_monitor, "POST", "/monitors", tx="write", status=201)
    apply_monitors = Op(monitors.apply_monitors, "POST", "/monitors/apply", tx="write")
    list_monitors = Op(monitors.list_monitors, "GET", "/monitors", key="monitors")
    get_monitor = Op(monitors.get_monitor, "GET", "/monitors/{name}")
    update_monitor = Op(monitors.update_monitor, "PATCH", "/monitors/{name}", tx="write")
    delete_monitor = Op(monitors.delete_monitor, "DELETE", "/monitors/{name}", tx="write")
    list_monitor_checks = Op(monitors.list_checks, "GET", "/monitors/{name}/checks", key="checks")
    run_monitors = Op(monitoring.run_monitors, "POST", "/monitors/run", tx="stores", key="outcomes")
    monitor_report = Op(
        monitoring.monitor_report,
        "POST",
        "/monitors/report",
        tx="stores",
        permission="monitors:read",
    )
    list_alerts = Op(monitors.list_alerts, "GET", "/alerts", key="alerts")
    get_alert = Op(monitors.get_alert, "GET", "/alerts/{alert_id}")
    endpoint_traffic = Op(
        traffic.endpoint_traffic,
        "GET",
        "/deployments/{endpoint}/traffic",
        tx="stores",
        permission="deployments:read",  # reads the prediction log, writes nothing
    )
    sample_predictions = Op(
        traffic.sample_predictions,
        "GET",
        "/deployments/{endpoint}/predictions",
        tx="stores",
        permission="deployments:read",
    )
    # -- pipelines and triggers (running a pipeline imports user code: local only) --------
    list_pipeline_runs = Op(pipelines.list_pipeline_runs, "GET", "/pipelines/runs", key="runs")
    get_pipeline_run = Op(pipelines.get_pipeline_run, "GET", "/pipelines/runs/{run_id}")
    explain_pipeline_run = Op(
        pipelines.explain_pipeline_run, "GET", "/pipelines/runs/{run_id}/explain", key="steps"
    )
    create_trigger = Op(triggers.create_trigger, "POST", "/triggers", tx="write", status=201)
    list_triggers = Op(triggers.list_triggers, "GET", "/triggers", key="triggers")
    get_trigger = Op(triggers.get_trigger, "GET", "/triggers/{name:path}")
    set_trigger_state = Op(
        triggers.set_trigger_state, "PUT", "/triggers/{name:path}/state", tx="write"
    )
    list_trigger_evaluations = Op(
        triggers.list_evaluations, "GET", "/triggers/{trigger_id}/evaluations", key="evaluations"
    )

    # -- gates ---------------------------------------------------------------------------
    set_gate_policy = Op(gates.set_policy, "PUT", "/models/{model:path}/gate-policy", tx="write")
    get_gate_policy = Op(gates.get_policy, "GET", "/models/{model:path}/gate-policy")
    run_gates = Op(
        gate_runner.run_gates,
        "POST",
        "/models/{model:path}/versions/{version}/gate-reports",
        tx="stores",
        status=201,
    )
    get_gate_report = Op(
        gates.get_report, "GET", "/models/{model:path}/versions/{version}/gate-reports/latest"
    )

    # -- progressive rollouts ------------------------------------------------------------
    start_rollout = Op(
        rollout_ops.start_rollout,
        "POST",
        "/rollouts/{endpoint}",
        tx="stores",
        status=201,
    )
    rollout_status = Op(rollout_ops.rollout_status, "GET", "/rollouts/{endpoint}")
    pause_rollout = Op(rollout_ops.pause_rollout, "POST", "/rollouts/{endpoint}/pause", tx="write")
    resume_rollout = Op(
        rollout_ops.resume_rollout, "POST", "/rollouts/{endpoint}/resume", tx="write"
    )
    promote_rollout = Op(
        rollout_ops.promote_rollout, "POST", "/rollouts/{endpoint}/promote", tx="write"
    )
    abort_rollout = Op(rollout_ops.abort_rollout, "POST", "/rollouts/{endpoint}/abort", tx="write")

    # -- feature store (docs/features.md) ------------------------------------------------
    apply_features = Op(features.apply_features, "POST", "/features/apply", tx="write")
    list_features = Op(features.list_feature_objects, "GET", "/features", key="definitions")
    get_feature_definition = Op(features.get_feature_object, "GET", "/features/{name}")
    list_feature_versions = Op(
        features.list_feature_versions, "GET", "/features/{name}/versions", key="versions"
    )
    resolve_features = Op(features.resolve_features, "POST", "/features/resolve", key="views")
    materialize_features = Op(
        feature_materialize.materialize_features,
        "POST",
        "/features/materialize",
        tx="stores",
        key="materializations",
    )
    list_materializations = Op(
        feature_materialize.list_materializations,
        "GET",
        "/feature-materializations",
        key="materializations",
    )
    get_online_features = Op(feature_online.online_features, "POST", "/features/online")
    feature_freshness = Op(
        feature_online.feature_freshness, "GET", "/feature-freshness", key="views"
    )
    feature_skew = Op(
        feature_monitoring.feature_skew,
        "POST",
        "/features/skew",
        tx="stores",
        permission="monitors:read",
    )
    set_endpoint_features = Op(
        feature_serving.set_endpoint_features, "PUT", "/endpoint-features/{endpoint}", tx="write"
    )
    get_endpoint_features = Op(
        feature_serving.get_endpoint_features, "GET", "/endpoint-features/{endpoint}"
    )
    delete_endpoint_features = Op(
        feature_serving.delete_endpoint_features,
        "DELETE",
        "/endpoint-features/{endpoint}",
        tx="write",
    )

    # -- audit ---------------------------------------------------------------------------
    list_audit_events = Op(audit.list_events, "GET", "/audit/events", key="events")
    verify_audit_chain = Op(audit.verify_chain, "GET", "/audit/verify")
    anchor_audit_chain = Op(audit.anchor_chain, "GET", "/audit/anchor")

    # -- retention and legal holds -------------------------------------------------------
    get_retention = Op(retention.get_retention, "GET", "/retention")
    # purging and legal holds are an admin's (their own verb: ``*:write`` does not reach it)
    purge_retention = Op(
        retention.purge_retention,
        "POST",
        "/retention/purge",
        tx="stores",
        permission="retention:manage",
    )
    create_hold = Op(
        holds.create_hold, "POST", "/holds", tx="write", status=201, permission="holds:manage"
    )
    list_holds = Op(holds.list_holds, "GET", "/holds", key="holds")
    release_hold = Op(
        holds.release_hold,
        "POST",
        "/holds/{hold_id}/release",
        tx="write",
        permission="holds:manage",
    )

    # -- explanations --------------------------------------------------------------------
    explain_model_version = Op(
        explanations.explain_model_version,
        "POST",
        "/models/{model:path}/versions/{version}/explanation",
        tx="stores",
        status=201,
    )
    get_explanation_summary = Op(
        explanations.get_explanation_summary,
        "GET",
        "/models/{model:path}/versions/{version}/explanation",
    )

    # -- lineage, model cards, compliance documents ---------------------------------------
    get_lineage = Op(lineage.get_lineage, "GET", "/lineage")
    get_model_card = Op(
        card.model_card,
        "GET",
        "/models/{name:path}/versions/{version}/card",
        tx="stores",
        permission="models:read",  # a read: viewers see cards (tx="stores" defaults to write)
    )
    set_model_card_fields = Op(
        card_fields.set_card_fields,
        "PATCH",
        "/models/{name:path}/versions/{version}/card",
        tx="write",
    )
    get_compliance_documents = Op(
        bundle.compliance_documents,
        "GET",
        "/models/{name:path}/versions/{version}/compliance-documents",
        tx="stores",
        permission="models:read",
    )

    # -- identity and access (permissions: conveyor.governance.roles) ----------------------
    whoami = Op(identity.whoami, "GET", "/whoami", tx="stores", permission="whoami:read")
    create_user = Op(
        identity.create_user, "POST", "/users", tx="write", status=201, permission="users:manage"
    )
    list_users = Op(identity.list_users, "GET", "/users", key="users", permission="users:manage")
    grant_role = Op(
        identity.grant_role, "PUT", "/users/{name}/role", tx="write", permission="users:manage"
    )
    create_token = Op(
        identity.create_token, "POST", "/tokens", tx="write", status=201, permission="tokens:manage"
    )
    list_tokens = Op(
        identity.list_tokens, "GET", "/tokens", key="tokens", permission="tokens:manage"
    )
    revoke_token = Op(
        identity.revoke_token,
        "POST",
        "/tokens/{token_id}/revoke",
        tx="write",
        permission="tokens:manage",
    )
    # inference keys of endpoints (conveyor.governance.inference_keys): secrets shown once
    create_inference_key = Op(
        inference_keys.create_inference_key,
        "POST",
        "/inference-keys",
        tx="write",
        status=201,
        permission="inference-keys:manage",
    )
    list_inference_keys = Op(
        inference_keys.list_inference_keys, "GET", "/inference-keys", key="keys"
    )
    revoke_inference_key = Op(
        inference_keys.revoke_inference_key,
        "POST",
        "/inference-keys/{key_id}/revoke",
        tx="write",
        permission="inference-keys:manage",
    )

    # -- projects (docs/governance.md, "Projects") ------------------------------------------
    create_project = Op(
        projects.create_project,
        "POST",
        "/projects",
        tx="write",
        status=201,
        permission="projects:manage",
    )
    list_projects = Op(
        projects.list_projects,
        "GET",
        "/projects",
        tx="stores",
        key="projects",
        permission="projects:read",
    )
    get_project = Op(
        projects.get_project, "GET", "/projects/{name}", tx="stores", permission="projects:read"
    )

    # -- approvals -----------------------------------------------------------------------
    request_approval = Op(
        approvals.request_approval,
        "POST",
        "/approvals",
        tx="write",
        status=201,
        permission="approvals:request",
    )
    list_approvals = Op(approvals.list_approvals, "GET", "/approvals", key="approvals")
    get_approval = Op(approvals.get_approval, "GET", "/approvals/{approval_id}")
    may_decide_approval = Op(
        approvals.may_decide,
        "GET",
        "/approvals/{approval_id}/may-decide",
        tx="stores",
        permission="approvals:read",  # a question about the caller: anyone may ask it
    )
    approve_request = Op(
        approvals.approve_request,
        "POST",
        "/approvals/{approval_id}/approve",
        tx="write",
        permission="approvals:decide",
    )
    reject_request = Op(
        approvals.reject_request,
        "POST",
        "/approvals/{approval_id}/reject",
        tx="write",
        permission="approvals:decide",
    )
    set_approval_policy = Op(
        approvals.set_approval_policy,
        "PUT",
        "/approval-policies",
        tx="write",
        permission="approval-policies:manage",
    )
    list_approval_policies = Op(
        approvals.list_approval_policies, "GET", "/approval-policies", key="policies"
    )

    # -- old spellings, kept for one release -----------------------------------------------
    def set_alias(self, name: str, alias: str, version: int | str) -> ModelVersion:
        """Deprecated: use ``set_model_alias`` (same arguments)."""
        warnings.warn(
            "set_alias is deprecated; use set_model_alias (same arguments)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.set_model_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        """Deprecated: use ``delete_model_alias`` (same arguments)."""
        warnings.warn(
            "delete_alias is deprecated; use delete_model_alias (same arguments)",
            DeprecationWarning,
            stacklevel=2,
        )
        self.delete_model_alias(name, alias)
