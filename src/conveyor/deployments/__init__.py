"""Deployments: named endpoints, append-only revisions, deploy-time ONNX, hot reload.

::

    from conveyor.deployments import deploy_endpoint, rollback, DeploymentServer

    deploy_endpoint(backend, "churn", model="churn@champion", canary="churn/4:10")
    with backend.meta.write(backend.actor) as uow:
        rollback(uow, "churn")

See ``docs/deployments.md``.
"""

from conveyor.deployments.batch import BatchStats, predict_file
from conveyor.deployments.compile import (
    compile_version,
    deploy_endpoint,
    ensure_compiled,
    load_version,
)
from conveyor.deployments.entities import ROLES, CompileResult, Deployment, Revision, RouteSpec
from conveyor.deployments.service import (
    current_revisions,
    deploy,
    get_compile,
    get_deployment,
    get_revision,
    list_deployments,
    list_revisions,
    plan,
    record_compile,
    rollback,
)
from conveyor.deployments.specs import ModelRef, parse_ref

__all__ = [
    "ROLES",
    "BatchStats",
    "CompileResult",
    "Deployment",
    "ModelRef",
    "Revision",
    "RouteSpec",
    "compile_version",
    "current_revisions",
    "deploy",
    "deploy_endpoint",
    "ensure_compiled",
    "get_compile",
    "get_deployment",
    "get_revision",
    "list_deployments",
    "list_revisions",
    "load_version",
    "parse_ref",
    "plan",
    "predict_file",
    "record_compile",
    "rollback",
]
