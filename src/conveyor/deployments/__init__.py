"""Deployments: named endpoints, append-only revisions, deploy-time ONNX, hot reload.

::

    client = conveyor.connect()
    client.deploy("churn", model="churn@champion", canary="churn/4:10")
    client.rollback("churn", reason="canary errors")

The operations (``deploy``, ``rollback``, ``list_deployments``, ``get_deployment``,
``list_revisions``, ``get_revision``) are declared in the operation table
(``conveyor.client.Client``) and run the same embedded or on a server (which compiles the
models itself).

The serving side is ``conveyor.deployments.runtime`` (``DeploymentServer``, ``serve``,
``mount_endpoints``). See ``docs/deployments.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor._lazy import lazy_getattr

# Names load on first use: the CLI and serving workers skip pandas/pyarrow they do not need.
_SERVICE = "conveyor.deployments.service"
_COMPILE = "conveyor.deployments.compile"
_ENTITIES = "conveyor.deployments.entities"
_LAZY = {
    "BatchStats": "conveyor.deployments.batch",
    "predict_file": "conveyor.deployments.batch",
    "ModelRef": "conveyor.deployments.specs",
    "parse_ref": "conveyor.deployments.specs",
    **dict.fromkeys(["ROLES", "CompileResult", "Deployment", "Revision", "RouteSpec"], _ENTITIES),
    **dict.fromkeys(
        ["compile_version", "deploy_endpoint", "ensure_compiled", "load_version"], _COMPILE
    ),
    **dict.fromkeys(
        [
            "current_revisions",
            "deploy",
            "get_compile",
            "get_deployment",
            "get_revision",
            "list_deployments",
            "list_revisions",
            "plan",
            "record_compile",
            "rollback",
        ],
        _SERVICE,
    ),
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:
    from conveyor.deployments.batch import BatchStats, predict_file
    from conveyor.deployments.compile import (
        compile_version,
        deploy_endpoint,
        ensure_compiled,
        load_version,
    )
    from conveyor.deployments.entities import (
        ROLES,
        CompileResult,
        Deployment,
        Revision,
        RouteSpec,
    )
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
