"""CLI: ``conveyor package <model>/<version> --output DIR`` (a container build context).

``app`` has no name, so the root CLI adds ``package`` at the top level. It goes through the
backend, so it packages from the embedded store or, with ``CONVEYOR_URI`` set, a server.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command("package")
def package_cmd(
    model: Annotated[str, typer.Argument(help="Model version: <model>/<version>.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the build context.")],
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="Endpoint and Kubernetes name (default: the model's)."),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="Image the Deployment runs (default: <endpoint>:<version>)."),
    ] = None,
    cpu: Annotated[str, typer.Option("--cpu", help="CPU request.")] = "250m",
    memory: Annotated[str, typer.Option("--memory", help="Memory request.")] = "512Mi",
    cpu_limit: Annotated[str, typer.Option("--cpu-limit", help="CPU limit.")] = "1",
    memory_limit: Annotated[str, typer.Option("--memory-limit", help="Memory limit.")] = "1Gi",
    min_replicas: Annotated[int, typer.Option("--min-replicas")] = 1,
    max_replicas: Annotated[int, typer.Option("--max-replicas")] = 5,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the contents of a non-empty --output.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a container build context (Dockerfile, pinned requirements, verified model
    files, `conveyor serve` entry point) and Kubernetes manifests for a model version."""
    from conveyor.deployments.packaging import Resources, package_model

    resources = Resources(
        cpu_request=cpu,
        memory_request=memory,
        cpu_limit=cpu_limit,
        memory_limit=memory_limit,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
    )
    bundle = package_model(
        backend(), model, output, endpoint=endpoint, image=image, resources=resources,
        force=force,
    )  # fmt: skip

    def show() -> None:
        console().print(
            f"Packaged {bundle.model}/{bundle.version} as endpoint {bundle.endpoint} in "
            f"{output}\n  docker build -t {bundle.image} {output}\n"
            f"  kubectl apply -f {output / 'k8s'}",
            markup=False,
        )

    emit({**asdict(bundle), "output": str(output)}, show, as_json)
