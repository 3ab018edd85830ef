"""The operation table: every operation of Conveyor, declared once.

Each attribute of ``Client`` is an :class:`~conveyor.client.op.Op`: the service function,
the HTTP method and path of its REST route, and its transaction. The SDK and the CLI call
these attributes; ``conveyor.api`` generates the REST router from them; the transports
(``LocalTransport``, ``HttpTransport``) run them. Adding an operation is one line here
(see docs/architecture.md, "How to add an operation").
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from conveyor.client.op import Op
from conveyor.deployments import rollout_ops
from conveyor.gates import runner as gate_runner
from conveyor.gates import service as gates
from conveyor.governance import audit
from conveyor.pipelines import service as pipelines
from conveyor.pipelines import triggers
from conveyor.registry import register
from conveyor.registry import service as registry
from conveyor.tracking import service as tracking

if TYPE_CHECKING:
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

    # -- registry ------------------------------------------------------------------------
    register_model = Op(
        register.register_model, "POST", "/models/{name:path}/versions", tx="stores", status=201
    )
    create_model = Op(registry.create_model, "POST", "/models", tx="write", status=201)
    search_models = Op(registry.search_models, "GET", "/models", key="models")
    get_model = Op(registry.get_model, "GET", "/models/{name:path}")
    list_model_versions = Op(
        registry.list_model_versions, "GET", "/models/{name:path}/versions", key="versions"
    )
    get_model_version = Op(registry.resolve_version, "GET", "/models/{name:path}/versions/{ref}")
    update_model_version = Op(
        registry.update_model_version, "PATCH", "/models/{name:path}/versions/{version}", tx="write"
    )
    set_model_version_tag = Op(
        registry.set_model_version_tag,
        "PUT",
        "/models/{name:path}/versions/{version}/tags",
        tx="write",
    )
    set_model_alias = Op(
        registry.set_alias, "PUT", "/models/{name:path}/aliases/{alias}", tx="write"
    )
    delete_model_alias = Op(
        registry.delete_alias, "DELETE", "/models/{name:path}/aliases/{alias}", tx="write"
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

    # -- audit ---------------------------------------------------------------------------
    list_audit_events = Op(audit.list_events, "GET", "/audit/events", key="events")
    verify_audit_chain = Op(audit.verify_chain, "GET", "/audit/verify")

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
