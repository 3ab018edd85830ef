"""Batch scoring: stream a Parquet or CSV file through a model into a Parquet file.

::

    stats = predict_file(backend, "models:/churn@champion", "in.parquet", "out.parquet",
                         chunk_rows=50_000)

The input is read in record batches of ``chunk_rows`` rows (pyarrow), each batch is
checked against the model signature (``validate_input``: a schema mismatch names every
bad field), predicted, and appended to the output with a ``ParquetWriter`` — memory stays
bounded by a few chunks whatever the file size. The output holds the input columns plus
``prediction`` (or one column per named model output); input columns outside the model
signature (ids, keys) are not given to the model, only passed through.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from conveyor.errors import NotFound, ValidationFailed
from conveyor.registry.uris import materialize, resolve_model_uri

__all__ = ["BatchStats", "iter_batches", "predict_file", "score_frame"]

DEFAULT_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class BatchStats:
    """What a batch run did."""

    rows: int
    chunks: int
    output: str
    model_uri: str
    model_version: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _format(path: Path) -> str:
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        return "parquet"
    if suffix.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    raise ValidationFailed(f"cannot tell the format of {path}: use a .parquet or .csv file")


def _rebatch(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - size, batch.num_rows)
            pending.append(batch.slice(0, take))
            batch = batch.slice(take)
            size += take
            if size == rows:
                yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
                pending, size = [], 0
    if size:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


_ARROW_TYPES = {
    "double": pa.float64(),
    "float": pa.float32(),
    "long": pa.int64(),
    "integer": pa.int32(),
    "boolean": pa.bool_(),
    "string": pa.string(),
}


def iter_batches(
    path: Path, chunk_rows: int, column_types: dict[str, str] | None = None
) -> tuple[Iterator[pa.RecordBatch], int | None]:
    """Record batches of at most ``chunk_rows`` rows, and the total row count if known.

    ``column_types`` (signature types by column) fixes the CSV parser's types for those
    columns, so every chunk has the same schema.
    """
    if not path.is_file():
        raise NotFound(f"no input file at {path}")
    if _format(path) == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        return _rebatch(pf.iter_batches(batch_size=chunk_rows), chunk_rows), pf.metadata.num_rows
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    types = {
        name: _ARROW_TYPES[kind]
        for name, kind in (column_types or {}).items()
        if kind in _ARROW_TYPES
    }
    try:
        reader = pacsv.open_csv(
            path, parse_options=parse, convert_options=pacsv.ConvertOptions(column_types=types)
        )
    except pa.ArrowInvalid as exc:
        raise _csv_error(path, parse.delimiter, exc) from None
    return _rebatch(_named_errors(reader, path, parse.delimiter), chunk_rows), None


def _named_errors(reader: Any, path: Path, delimiter: str) -> Iterator[pa.RecordBatch]:
    try:
        yield from reader
    except pa.ArrowInvalid as exc:
        raise _csv_error(path, delimiter, exc) from None


_CSV_CONVERSION = re.compile(
    r"In CSV column #(?P<col>\d+): (?:Row #\d+: )?CSV conversion error to (?P<type>\w+): "
    r"invalid value '(?P<value>.*)'$",
    re.DOTALL,
)


def _csv_error(path: Path, delimiter: str, exc: pa.ArrowInvalid) -> ValidationFailed:
    """Arrow's "In CSV column #1: ... invalid value 'x'" as column name, row and value."""
    match = _CSV_CONVERSION.match(str(exc))
    if match is None:
        return ValidationFailed(f"cannot read {path} as CSV: {exc}")
    col, value, kind = int(match["col"]), match["value"], match["type"]
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        rows = csv.reader(fh, delimiter=delimiter)
        header = next(rows, [])
        name = header[col] if col < len(header) else f"#{col + 1}"
        row = next((i for i, cells in enumerate(rows, 1) if cells[col : col + 1] == [value]), None)
    where = f"row {row} (line {row + 1})" if row is not None else "a row"
    return ValidationFailed(
        f"{path}: column {name!r}, {where}: {value!r} is not a valid {kind}; fix or remove "
        "the value (an empty cell is read as missing)",
        details={"column": name, "row": row, "value": value, "type": kind},
    )


def _outputs(result: Any, rows: int) -> dict[str, Any]:
    if isinstance(result, pd.DataFrame):
        return {str(c): result[c].to_numpy() for c in result.columns}
    array = np.asarray(result)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 2:
        return {f"prediction_{i}": array[:, i] for i in range(array.shape[1])}
    if len(array) != rows:
        raise ValidationFailed(f"the model returned {len(array)} predictions for {rows} rows")
    return {"prediction": array}


def score_frame(
    model: Any, frame: pd.DataFrame, *, keep_columns: bool, where: str, model_uri: str
) -> pa.Table:
    """One chunk scored: checked against the signature, predicted, as an Arrow table (the
    input columns, unless ``keep_columns`` is false, plus the outputs). Shared by the local
    path and the Ray workers, so both write the same rows and types."""
    signature = model.signature
    features = signature.input_names if signature is not None else None
    # columns outside the signature (ids, keys) pass through to the output
    inputs = frame if features is None else frame[[c for c in features if c in frame]]
    errors = model.validate_input(inputs)
    if errors:
        fields = ", ".join(f"{e['field']} ({e['error']})" for e in errors[:10])
        raise ValidationFailed(
            f"{where} do not match the signature of {model_uri}: {fields}",
            details={"errors": errors},
        )
    outputs = _outputs(model.predict(inputs), len(frame))
    out = frame if keep_columns else pd.DataFrame(index=frame.index)
    return pa.Table.from_pandas(out.assign(**outputs), preserve_index=False)


def _local_tables(
    model: Any, batches: Iterator[pa.RecordBatch], source: Path, model_uri: str, keep: bool
) -> Iterator[pa.Table]:
    rows = 0
    for batch in batches:
        frame = batch.to_pandas()
        where = f"{source} rows {rows}-{rows + len(frame) - 1}"
        yield score_frame(model, frame, keep_columns=keep, where=where, model_uri=model_uri)
        rows += len(frame)


EXECUTORS = ("local", "ray")


def predict_file(
    backend: Any,
    model_uri: str,
    input_path: str | Path,
    output_path: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    keep_columns: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
    executor: str = "local",
    address: str | None = None,
    concurrency: int | None = None,
) -> BatchStats:
    """Score ``input_path`` (Parquet or CSV) with ``model_uri`` into ``output_path`` (Parquet).

    ``progress(rows_done, total_rows_or_None)`` is called after each chunk. The output file
    is written to a temporary name and renamed at the end, so a failed run leaves none.
    ``executor="ray"`` scores the chunks with Ray Data (``map_batches`` over a pool of
    ``concurrency`` actors, default one per CPU of the cluster at ``address``) and writes
    the same file, rows in input order (see :mod:`conveyor.deployments.batch_ray`).
    """
    import pyarrow.parquet as pq

    from conveyor.models import load_model

    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValidationFailed(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    if executor not in EXECUTORS:
        raise ValidationFailed(f"unknown executor {executor!r}: use {' or '.join(EXECUTORS)}")
    if concurrency is not None and (isinstance(concurrency, bool) or concurrency < 1):
        raise ValidationFailed(f"concurrency must be a positive integer, got {concurrency!r}")
    source, target = Path(input_path), Path(output_path)
    if _format(target) != "parquet":
        raise ValidationFailed(f"the output {target} must be a .parquet file")
    if target.resolve() == source.resolve():
        raise ValidationFailed(
            f"the output {target} is the input file: write the scores to another path"
        )
    resolved = resolve_model_uri(backend, model_uri)
    folder = materialize(backend, resolved)
    model = load_model(folder)
    signature = model.signature
    types: dict[str, str] = {}
    if signature is not None:
        types = dict(zip(signature.input_names, (c.type for c in signature.inputs), strict=True))
    total: int | None
    if executor == "ray":
        from conveyor.deployments.batch_ray import ray_tables

        if not source.is_file():
            raise NotFound(f"no input file at {source}")
        tables, total = ray_tables(
            Path(folder),
            source,
            _format(source),
            chunk_rows=chunk_rows,
            keep_columns=keep_columns,
            model_uri=model_uri,
            column_types=types,
            address=address,
            concurrency=concurrency,
        )
    else:
        batches, total = iter_batches(source, chunk_rows, types)
        tables = _local_tables(model, batches, source, model_uri, keep_columns)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    writer: pq.ParquetWriter | None = None
    rows = chunks = 0
    try:
        for table in tables:
            if writer is None:
                writer = pq.ParquetWriter(partial, table.schema)
            else:
                try:
                    table = table.cast(writer.schema)
                except (pa.ArrowInvalid, ValueError) as exc:
                    raise ValidationFailed(
                        f"{source} rows {rows}-{rows + table.num_rows - 1} have other column "
                        f"types than the first chunk: {exc}"
                    ) from exc
            writer.write_table(table)
            rows += table.num_rows
            chunks += 1
            if progress is not None:
                progress(rows, total)
        if writer is None:  # empty input: an empty output with no rows
            raise ValidationFailed(f"{source} has no rows to score")
        writer.close()
        writer = None
        partial.replace(target)
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
    return BatchStats(rows, chunks, str(target), model_uri, resolved.version)
