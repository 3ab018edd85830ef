"""Batch scoring on Ray: ``conveyor predict --executor ray [--address head:6379]``.

Ray Data reads the input file (Parquet or CSV), ``map_batches`` sends chunks of
``chunk_rows`` rows to a pool of actors — each holds the model, loaded once from the
verified model files shipped with it (every file checked against its manifest sha256,
no pickle of the model itself) — and each actor scores a chunk with the same
:func:`conveyor.deployments.batch.score_frame` as the local path. The scored chunks stream
back in input order to the caller, which writes the one Parquet file the local path
writes: same rows, same order, same types.

On a cluster the input path must be readable from every node (a shared folder, or an
``s3://`` path Ray Data can read); the model travels with the actors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from conveyor import _ray
from conveyor.errors import ConveyorError, ValidationFailed

__all__ = ["ray_tables"]


def _model_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class _Scorer:
    """A Ray Data actor: the model, loaded once, scoring one chunk per call."""

    def __init__(self, files: dict[str, bytes], keep_columns: bool, model_uri: str) -> None:
        import tempfile

        from conveyor.models import load_model

        self._dir = tempfile.TemporaryDirectory(prefix="conveyor-ray-model-")
        root = Path(self._dir.name)
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.model = load_model(root)  # every file verified against the manifest
        self.keep_columns, self.model_uri = keep_columns, model_uri

    def __call__(self, frame: Any) -> pa.Table:
        from conveyor.deployments.batch import score_frame

        return score_frame(
            self.model,
            frame,
            keep_columns=self.keep_columns,
            where=f"a chunk of {len(frame)} rows",
            model_uri=self.model_uri,
        )


def _dataset(ray: Any, source: Path, fmt: str, column_types: dict[str, str]) -> Any:
    if fmt == "parquet":
        return ray.data.read_parquet(str(source))
    import pyarrow.csv as pacsv

    from conveyor.deployments.batch import _ARROW_TYPES

    types = {n: _ARROW_TYPES[k] for n, k in column_types.items() if k in _ARROW_TYPES}
    parse = pacsv.ParseOptions(delimiter="\t" if source.suffix.lower() == ".tsv" else ",")
    return ray.data.read_csv(
        str(source),
        parse_options=parse,
        convert_options=pacsv.ConvertOptions(column_types=types),
    )


def _check_columns(source: Path, fmt: str, column_types: dict[str, str], model_uri: str) -> None:
    """Fail before starting any actor when a Parquet input lacks a signature column (each
    chunk is still validated by the actor that scores it)."""
    if fmt != "parquet" or not column_types:
        return
    import pyarrow.parquet as pq

    present = set(pq.read_schema(source).names)
    missing = [c for c in column_types if c not in present]
    if missing:
        raise ValidationFailed(
            f"{source} rows do not match the signature of {model_uri}: missing column(s) "
            f"{', '.join(missing)}",
            details={"errors": [{"field": c, "error": "missing"} for c in missing]},
        )


def _rows(source: Path, fmt: str) -> int | None:
    if fmt != "parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(source).metadata.num_rows)


def ray_tables(
    folder: Path,
    source: Path,
    fmt: str,
    *,
    chunk_rows: int,
    keep_columns: bool,
    model_uri: str,
    column_types: dict[str, str],
    address: str | None,
    concurrency: int | None,
) -> tuple[Iterator[pa.Table], int | None]:
    """The scored chunks in input order (a generator), and the row count when known."""
    _check_columns(source, fmt, column_types, model_uri)
    ray = _ray.connect(address)
    _ray.ship_project_code()  # a custom PythonModel's class from the project folder
    cpus = float(ray.cluster_resources().get("CPU", 1))
    pool = concurrency or max(1, int(cpus))
    # the actors hold the model for the whole run: if they reserved every CPU, Ray Data's
    # read tasks (1 CPU each) could never be scheduled; leave one CPU's worth for them
    per_actor = 1.0 if cpus - pool >= 1 else max(0.25, (cpus - 1) / pool)
    files = _model_files(folder)
    context = ray.data.DataContext.get_current()
    total = _rows(source, fmt)
    # one block per chunk (at least one per actor): a single file is read as one block,
    # which would leave all actors but one idle; splitting adjacent blocks keeps the order
    blocks = max(pool, -(-total // chunk_rows)) if total else pool * 4

    def tables() -> Iterator[pa.Table]:
        previous = context.execution_options.preserve_order
        context.execution_options.preserve_order = True  # output rows in input order
        try:
            data = _dataset(ray, source, fmt, column_types).repartition(blocks)
            scored = data.map_batches(
                _Scorer,
                fn_constructor_args=(files, keep_columns, model_uri),
                batch_size=chunk_rows,
                batch_format="pandas",
                compute=ray.data.ActorPoolStrategy(size=pool),
                num_cpus=per_actor,
            )
            for batch in scored.iter_batches(batch_size=None, batch_format="pyarrow"):
                yield batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        except ConveyorError:
            raise
        except Exception as exc:
            raise _task_error(exc) from None
        finally:
            context.execution_options.preserve_order = previous

    return tables(), total


def _task_error(exc: Exception) -> Exception:
    """A worker's ValidationFailed (or other Conveyor error) as itself; else a clear error."""
    seen: BaseException | None = exc
    while seen is not None:
        cause = _ray.unwrap(seen)
        if isinstance(cause, ConveyorError):
            return cause
        seen = cause.__cause__ if cause is seen else cause
    return ValidationFailed(f"batch scoring on Ray failed: {type(exc).__name__}: {exc}")
