"""The import contract (issue 8): domain packages never import a transport, the client or
the REST API; the serving runtime never imports the API. Checked on every module's
imports, function-level ones included (``make check`` runs this test)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "conveyor"

#: The transports and what serves them.
TRANSPORT = ("conveyor.backend", "conveyor.client", "conveyor.api")
#: Domain packages: services, entities, stores, engines.
DOMAIN = (
    "conveyor.artifacts",
    "conveyor.data",
    "conveyor.deployments",
    "conveyor.evaluation",
    "conveyor.features",
    "conveyor.gates",
    "conveyor.governance",
    "conveyor.jobs",
    "conveyor.models",
    "conveyor.monitoring",
    "conveyor.pipelines",
    "conveyor.registry",
    "conveyor.serving",
    "conveyor.store",
    "conveyor.tracking",
)
#: The SDK and CLI edge inside domain packages: the functions users call, which pick a
#: client with ``conveyor.connect()``. Nothing else in a domain package may.
EDGE = {
    "conveyor.data.sdk",
    "conveyor.features.sdk",
    "conveyor.registry.sdk",
    "conveyor.tracking.fluent",
    "conveyor.monitoring._sources",  # dataset_version_source(dv) defaults to connect()
    "conveyor.deployments.runtime",  # `conveyor serve` opens the embedded client
    # Landed by other areas before the contract; to move onto Stores / the SDK edge:
    "conveyor.deployments.rollout_controller",
    "conveyor.pipelines.controller",
    "conveyor.pipelines.engine",
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_domain_packages_never_import_a_transport() -> None:
    broken = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module(path)
        if not _under(module, DOMAIN) or module in EDGE or module.endswith(".cli"):
            continue
        bad = sorted(i for i in _imports(path) if _under(i, TRANSPORT))
        if bad:
            broken.append(f"{module} imports {bad}")
    assert not broken, "domain modules must not import transports:\n" + "\n".join(broken)


def test_serving_never_imports_the_api() -> None:
    for path in sorted((SRC / "serving").rglob("*.py")):
        bad = sorted(i for i in _imports(path) if _under(i, ("conveyor.api",)))
        assert not bad, f"{_module(path)} imports {bad}"


def test_the_contract_sees_imports() -> None:  # the walker itself can fail
    assert "conveyor.backend" in _imports(SRC / "tracking" / "fluent.py")
    assert _module(SRC / "client" / "__init__.py") == "conveyor.client"
