"""User data in, Arrow out: reading frames, the logical content hash, deterministic Parquet.

``to_table`` accepts a pandas DataFrame, a pyarrow Table or RecordBatch, or a path to a
``.parquet``/``.pq`` or ``.csv`` file, and returns a ``pyarrow.Table``.

``content_hash`` is sha256 over the *logical* content of a table — column names, logical
types, values and row order — and never over encoder output, so the same data logged twice
(from pandas, from Arrow, or read back from our own Parquet file) hashes the same,
however it is chunked. The scheme (format ``conveyor.content-hash/1``):

1. Header: canonical JSON of ``{"format", "num_rows", "columns": [[name, type], ...]}``,
   where ``type`` is the canonical type text: ``large_string``/``string_view`` become
   ``string``, ``large_binary``/``binary_view`` become ``binary``, dictionary
   (categorical) columns become ``dictionary<value type>`` (index width, ordering flag
   and dictionary order are ignored: values are decoded before hashing).
2. Per column, three sha256 streams fed chunk by chunk (so chunking cannot change them):
   *validity* — one byte per row (1 valid, 0 null); *lengths* — little-endian int64
   byte length of each non-null value of variable-width columns; *values* — for
   fixed-width types the little-endian value bytes of every row with null slots zeroed
   and every NaN replaced by the one canonical quiet NaN, for booleans one byte per row,
   for strings/binaries the concatenated bytes of the non-null values, and for nested
   types (lists, structs, maps) the canonical JSON of each row followed by a newline.
   The column digest is sha256(name length, name, validity, lengths, values digests).
3. The content hash is sha256(header, column digests in column order).

Parquet files are written deterministically (zstd level 3, fixed row-group size, no
timestamps in the file), but their bytes may still differ across pyarrow versions;
the file's own sha256 is what the artifact store verifies.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from conveyor.errors import ValidationFailed

__all__ = [
    "HASH_FORMAT",
    "DataLike",
    "canonical_type",
    "content_hash",
    "iter_batches",
    "read_parquet",
    "to_table",
    "write_parquet",
]

HASH_FORMAT = "conveyor.content-hash/1"
ROW_GROUP_ROWS = 1 << 20
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_CSV_SUFFIXES = {".csv"}
_CANONICAL_NAN = np.array([np.nan], dtype=np.float64)

DataLike = pd.DataFrame | pa.Table | pa.RecordBatch | str | os.PathLike[str]


# -- reading ------------------------------------------------------------------------------
def _keeps_index(index: pd.Index) -> bool:
    # A named index is data (customer_id ...); an unnamed one is row bookkeeping that
    # train_test_split, filtering or sampling reshuffles, so it is not part of the data.
    return any(name is not None for name in index.names)


def _from_pandas(df: pd.DataFrame) -> pa.Table:
    try:
        return pa.Table.from_pandas(df, preserve_index=_keeps_index(df.index))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise ValidationFailed(
            f"cannot convert the DataFrame to Arrow: {exc}. Give each column one type "
            "(e.g. df[col] = df[col].astype(str))"
        ) from exc


def _read_path(path: Path) -> pa.Table:
    if not path.is_file():
        raise ValidationFailed(f"no such data file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in _PARQUET_SUFFIXES:
            return pq.read_table(path)
        if suffix in _CSV_SUFFIXES:
            return pacsv.read_csv(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationFailed(f"cannot read data file {path}: {exc}") from exc
    raise ValidationFailed(
        f"unsupported data file {path}: use a .parquet, .pq or .csv file, "
        "or pass a pandas DataFrame or pyarrow Table"
    )


def to_table(data: Any) -> pa.Table:
    """Read ``data`` (DataFrame, Table, RecordBatch or .parquet/.csv path) into a Table.

    A pandas index is kept as columns unless it is the default ``RangeIndex``. Duplicate
    column names are rejected: every column must be addressable by name.
    """
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    elif isinstance(data, pd.DataFrame):
        table = _from_pandas(data)
    elif isinstance(data, str | os.PathLike):
        table = _read_path(Path(data))
    else:
        raise ValidationFailed(
            f"cannot read data of type {type(data).__name__}: pass a pandas DataFrame, a "
            "pyarrow Table or RecordBatch, or the path of a .parquet or .csv file"
        )
    names = table.column_names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValidationFailed(f"duplicate column names {duplicates}: rename them first")
    return table


def iter_batches(table: pa.Table, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Record batches of at most ``chunk_rows`` rows (zero-copy slices)."""
    if chunk_rows < 1:
        raise ValidationFailed(f"chunk_rows must be at least 1, got {chunk_rows}")
    yield from table.to_batches(max_chunksize=chunk_rows)


# -- the content hash ---------------------------------------------------------------------
def canonical_type(dtype: pa.DataType) -> str:
    """Type text used by the content hash: storage variants of one logical type agree."""
    if pa.types.is_dictionary(dtype):
        return f"dictionary<{canonical_type(dtype.value_type)}>"
    if pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return "string"
    if pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype):
        return "binary"
    text = str(dtype)
    for variant in ("large_list", "large_string", "large_binary", "string_view", "list_view"):
        text = text.replace(variant, variant.replace("large_", "").replace("_view", ""))
    return text


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal | bytes):
        return str(obj)
    return repr(obj)


def _byte_width(dtype: pa.DataType) -> int:
    """Bytes per value of a flat fixed-width type, 0 for anything else."""
    if dtype.num_fields or pa.types.is_boolean(dtype):
        return 0
    try:
        bits = int(dtype.bit_width)
    except ValueError:
        return 0
    return bits // 8 if bits % 8 == 0 else 0


def _fixed_width_bytes(chunk: pa.Array, valid: np.ndarray) -> bytes:
    width = _byte_width(chunk.type)
    buf = chunk.buffers()[1]
    start = chunk.offset * width
    raw = np.frombuffer(buf, dtype=np.uint8, count=len(chunk) * width, offset=start)
    values = raw.reshape(len(chunk), width).copy()
    if pa.types.is_floating(chunk.type) and width == 8:
        floats = values.view(np.float64).reshape(-1)
        floats[np.isnan(floats)] = _CANONICAL_NAN[0]
    elif pa.types.is_floating(chunk.type):
        small = values.view(np.float32 if width == 4 else np.float16).reshape(-1)
        small[np.isnan(small)] = np.nan
    values[~valid] = 0
    return values.tobytes()


def _variable_width(chunk: pa.Array) -> tuple[bytes, bytes]:
    values = chunk.drop_null().cast(pa.large_binary())
    if len(values) == 0:
        return b"", b""
    bufs = values.buffers()
    offsets = np.frombuffer(
        bufs[1], dtype=np.int64, count=len(values) + 1, offset=8 * values.offset
    )
    lengths = np.diff(offsets).astype("<i8")
    data = b"" if bufs[2] is None else bufs[2].to_pybytes()[offsets[0] : offsets[-1]]
    return lengths.tobytes(), data


def _column_digest(name: str, column: pa.ChunkedArray) -> bytes:
    validity, lengths, values = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_decode()
        dtype = chunk.type
        valid = (
            np.ones(len(chunk), dtype=bool)
            if chunk.null_count == 0
            else (chunk.is_valid().to_numpy(zero_copy_only=False))
        )
        validity.update(valid.astype(np.uint8).tobytes())
        if pa.types.is_null(dtype):
            continue
        if pa.types.is_boolean(dtype):
            filled = chunk.fill_null(False).to_numpy(zero_copy_only=False)
            values.update(filled.astype(np.uint8).tobytes())
        elif (
            pa.types.is_string(dtype)
            or pa.types.is_large_string(dtype)
            or pa.types.is_string_view(dtype)
            or pa.types.is_binary(dtype)
            or pa.types.is_large_binary(dtype)
            or pa.types.is_binary_view(dtype)
        ):
            lens, data = _variable_width(chunk)
            lengths.update(lens)
            values.update(data)
        elif _byte_width(dtype):
            values.update(_fixed_width_bytes(chunk, valid))
        else:  # nested types: canonical JSON per row (slow path, rare)
            opts = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
            for row in chunk.to_pylist():
                values.update(orjson.dumps(row, default=_json_default, option=opts) + b"\n")
    encoded = name.encode()
    out = hashlib.sha256(len(encoded).to_bytes(8, "little") + encoded)
    for part in (validity, lengths, values):
        out.update(part.digest())
    return out.digest()


def content_hash(data: Any) -> str:
    """sha256 hex of the logical content of ``data`` (see the module docstring)."""
    table = to_table(data)
    header = {
        "format": HASH_FORMAT,
        "num_rows": table.num_rows,
        "columns": [[f.name, canonical_type(f.type)] for f in table.schema],
    }
    out = hashlib.sha256(orjson.dumps(header, option=orjson.OPT_SORT_KEYS))
    for name, column in zip(table.column_names, table.columns, strict=True):
        out.update(_column_digest(name, column))
    return out.hexdigest()


# -- Parquet ------------------------------------------------------------------------------
def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` as Parquet with fixed settings (zstd, 1M-row groups, statistics)."""
    target = Path(path)
    pq.write_table(
        table,
        target,
        compression="zstd",
        compression_level=3,
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=True,
        write_statistics=True,
        version="2.6",
        data_page_version="1.0",
        store_schema=True,
    )
    return target


def read_parquet(source: str | os.PathLike[str] | bytes) -> pa.Table:
    """Read a Parquet file (path or bytes) into a Table."""
    try:
        if isinstance(source, bytes):
            return pq.read_table(pa.BufferReader(source))
        return pq.read_table(source)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationFailed(f"cannot read Parquet data: {exc}") from exc
