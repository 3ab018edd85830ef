"""Column sources: one read interface over pandas, Arrow, Parquet files and dataset objects.

Monitoring code never holds a whole table when it does not have to: it asks a source for
one column at a time, as a stream of Arrow arrays of at most ``chunk_rows`` rows.

* :class:`ArrowSource` wraps a ``pyarrow.Table`` (zero-copy slices of its chunks).
* :class:`PandasSource` wraps a ``pandas.DataFrame`` and converts one column at a time.
* :class:`ParquetSource` reads one column of a Parquet file batch by batch, so memory
  holds a batch of one column, never the file.
* :func:`dataset_version_source` reads a ``conveyor.data`` dataset version through the
  backend (streamed from its Parquet file when the artifact store is a local folder).

:func:`open_source` picks the right one, and accepts any object with ``to_arrow()`` or
``to_pandas()`` (the adapter point for ``conveyor.data`` dataset versions and profiles).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from conveyor.errors import ValidationFailed

__all__ = [
    "ArrowSource",
    "ColumnKind",
    "PandasSource",
    "ParquetSource",
    "Source",
    "dataset_version_source",
    "kind_of",
    "narrowest_float",
    "open_source",
    "round_to",
    "to_float_array",
]

ColumnKind = Literal["numeric", "categorical", "unsupported"]

DEFAULT_CHUNK_ROWS = 262_144


def kind_of(dtype: pa.DataType) -> ColumnKind:
    """How an Arrow type is analysed: numbers numerically, strings/bools as categories."""
    if pa.types.is_dictionary(dtype):
        return kind_of(dtype.value_type)
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
        or pa.types.is_boolean(dtype)
    ):
        return "categorical"
    return "unsupported"


def to_float_array(chunk: pa.Array) -> np.ndarray:
    """A float64 numpy copy of a numeric Arrow chunk; nulls become NaN."""
    if pa.types.is_dictionary(chunk.type):
        chunk = chunk.dictionary_decode()
    if not pa.types.is_float64(chunk.type):
        chunk = pc.cast(chunk, pa.float64(), safe=False)
    return np.asarray(chunk.to_numpy(zero_copy_only=False), dtype=np.float64)


def narrowest_float(*types: pa.DataType) -> np.dtype[Any] | None:
    """The narrowest float type below float64 among ``types`` (a float32 column, e.g. the
    inputs a float32 model received), or None when there is none.

    Numeric columns are compared in that precision: the other side is rounded to it, so
    the training data (float64) and what a float32 model was served from it compare
    equal, and only real changes show as drift or out-of-range values.
    """
    widths = []
    for t in types:
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_floating(t) and t.bit_width < 64:
            widths.append(t.bit_width)
    return np.dtype(f"float{min(widths)}") if widths else None


def round_to(values: np.ndarray, dtype: np.dtype[Any] | None) -> np.ndarray:
    """float64 ``values`` rounded to ``dtype`` (and back to float64); as is for None."""
    if dtype is None:
        return values
    with np.errstate(over="ignore"):  # beyond the narrow range: inf, then missing
        return values.astype(dtype).astype(np.float64)


class Source:
    """A table read column by column. Subclasses implement ``_chunks``."""

    label: str = "table"

    def __init__(self, schema: pa.Schema, num_rows: int) -> None:
        self.schema = schema
        self.num_rows = int(num_rows)

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def type_of(self, name: str) -> pa.DataType:
        return self.schema.field(name).type

    def kind(self, name: str) -> ColumnKind:
        return kind_of(self.type_of(name))

    def chunks(self, name: str, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pa.Array]:
        """The column as Arrow arrays of at most ``chunk_rows`` rows each."""
        for chunk in self._chunks(name, max(1, int(chunk_rows))):
            if len(chunk):
                yield chunk

    def _chunks(self, name: str, chunk_rows: int) -> Iterator[pa.Array]:
        raise NotImplementedError


class ArrowSource(Source):
    """A ``pyarrow.Table`` in memory."""

    label = "arrow table"

    def __init__(self, table: pa.Table) -> None:
        super().__init__(table.schema, table.num_rows)
        self.table = table

    def _chunks(self, name: str, chunk_rows: int) -> Iterator[pa.Array]:
        for chunk in self.table.column(name).chunks:
            for start in range(0, len(chunk), chunk_rows):
                yield chunk.slice(start, chunk_rows)


class PandasSource(Source):
    """A ``pandas.DataFrame``; each column is converted to Arrow only when read."""

    label = "pandas DataFrame"

    def __init__(self, frame: Any) -> None:
        if not frame.columns.is_unique:
            dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            raise ValidationFailed(
                f"the DataFrame has duplicate column names: {dupes}; rename them first",
                details={"duplicates": dupes},
            )
        fields = [pa.field(str(c), _pandas_type(frame[c])) for c in frame.columns]
        super().__init__(pa.schema(fields), len(frame))
        self.frame = frame
        self._names = {str(c): c for c in frame.columns}

    def _chunks(self, name: str, chunk_rows: int) -> Iterator[pa.Array]:
        series = self.frame[self._names[name]]
        for start in range(0, len(series), chunk_rows):
            part = series.iloc[start : start + chunk_rows]
            yield pa.array(part, from_pandas=True)


def _pandas_type(series: Any) -> pa.DataType:
    """The Arrow type a pandas column converts to, without converting the whole column."""
    kind = getattr(series.dtype, "kind", "O")
    if kind in "iuf":
        try:
            return pa.from_numpy_dtype(np.dtype(series.dtype))
        except TypeError:  # pandas nullable extension dtypes (Int64, Float64)
            return pa.float64()
    if kind == "b":
        return pa.bool_()
    if str(series.dtype) == "category":
        return pa.dictionary(pa.int32(), pa.string())
    head = pa.array(series.iloc[:1000], from_pandas=True)
    return head.type if not pa.types.is_null(head.type) else pa.string()


class ParquetSource(Source):
    """A Parquet file read one column and one batch at a time (bounded memory)."""

    label = "Parquet file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ValidationFailed(
                f"Parquet file {str(self.path)!r} does not exist; check the path",
                details={"path": str(self.path)},
            )
        try:
            meta = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValidationFailed(
                f"{str(self.path)!r} is not a readable Parquet file: {exc}",
                details={"path": str(self.path)},
            ) from exc
        super().__init__(meta.schema_arrow, meta.metadata.num_rows)

    def _chunks(self, name: str, chunk_rows: int) -> Iterator[pa.Array]:
        # a fresh reader per column: nothing from other columns stays in memory
        reader = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        try:
            for batch in reader.iter_batches(batch_size=chunk_rows, columns=[name]):
                yield batch.column(0)
        finally:
            reader.close()


def dataset_version_source(dv: Any, backend: Any = None) -> Source:
    """The data of a ``conveyor.data`` dataset version, read through ``backend`` (default
    ``conveyor.connect()``) the way ``conveyor.load_dataset`` reads it.

    On an embedded backend whose artifact store is a local folder, the version's Parquet
    file is verified against its sha256 (streamed, ``IntegrityError`` when corrupted) and
    then read column by column like a Parquet path; other artifact stores are read whole
    (verified), and a server backend downloads the version as ``load_dataset`` does.
    """
    if backend is None:
        from conveyor.backend import connect

        backend = connect()
    artifacts = getattr(backend, "artifacts", None)
    if artifacts is None:  # a server: its API serves the version
        return PandasSource(backend.load_dataset(dv.name, dv.version))
    local = artifacts.backend.local_path(artifacts.key(dv.file_sha256))
    if local is not None and Path(local).is_file():
        for _ in artifacts.iter_chunks(dv.file_sha256):  # verify the sha256, bounded memory
            pass
        return ParquetSource(local)
    from conveyor.data.service import load_dataset_version

    table = load_dataset_version(artifacts, dv)
    assert isinstance(table, pa.Table)
    return ArrowSource(table)


def open_source(data: Any, *, role: str) -> Source:
    """Wrap reference/current data: DataFrame, Arrow table, Parquet path, a
    ``DatasetVersion`` (see :func:`dataset_version_source`), or an adapter."""
    if isinstance(data, Source):
        return data
    if isinstance(data, pa.Table):
        return ArrowSource(data)
    if isinstance(data, pa.RecordBatch):
        return ArrowSource(pa.Table.from_batches([data]))
    if isinstance(data, str | os.PathLike):
        return ParquetSource(data)
    if hasattr(data, "columns") and hasattr(data, "iloc") and hasattr(data, "dtypes"):
        return PandasSource(data)
    from conveyor.data.entities import DatasetVersion

    if isinstance(data, DatasetVersion):
        return dataset_version_source(data)
    if callable(getattr(data, "to_arrow", None)):
        table = data.to_arrow()
        if isinstance(table, pa.Table | pa.RecordBatch):
            return open_source(table, role=role)
    if callable(getattr(data, "to_pandas", None)):
        return open_source(data.to_pandas(), role=role)
    raise ValidationFailed(
        f"cannot read {role} data of type {type(data).__name__}: pass a pandas DataFrame, "
        "a pyarrow Table, a Parquet file path, a DatasetVersion, or an object with "
        "to_arrow()/to_pandas()",
        details={"role": role, "type": type(data).__name__},
    )
