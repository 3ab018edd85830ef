"""Prediction and feedback capture into partitioned Parquet, off the request path.

The request path appends one tuple per request (numpy arrays, no copies) to the list of
its stream (endpoint, model version, route, signature) and returns; a background thread
takes all streams every ``poll_s``, turns each into Arrow columns with vectorised calls
(no per-row Python), buffers, and writes one Parquet file per (endpoint, UTC date,
input schema) when ``flush_rows`` rows are buffered or ``flush_interval_s`` has passed,
and on ``close()``::

    <log_uri>/predictions/endpoint=<name>/date=YYYY-MM-DD/part-<uuid hex>.parquet
    <log_uri>/feedback/endpoint=<name>/date=YYYY-MM-DD/part-<uuid hex>.parquet

Files appear atomically (written as ``.tmp`` then renamed on local disks), so readers that
glob ``*.parquet`` never see a partial file.

Prediction columns: ``prediction_id`` (uuid hex), ``ts`` (timestamp[ms, UTC]), ``endpoint``,
``model_version``, ``route``, ``latency_ms`` (double, the request's), one typed column
``input_<name>`` per signature column, ``output`` (JSON text of the row's output),
``output_num`` (double, null when the output is not a scalar number), ``proba``
(list<double>: the class probabilities in the model's class order, null when the model
gives none), ``shadow_of`` (the
served prediction id for shadow rows, else null) and ``agree`` (shadow output equal to
the served one, else null). Feedback columns: ``prediction_id``, ``ts``, ``endpoint``,
``label`` (JSON text), ``label_num`` (double or null).

Back-pressure: when the queue holds ``max_queue_rows`` rows, new rows are dropped and
counted (``dropped``, exported as ``conveyor_prediction_log_dropped_total``); the request
never blocks and never fails because of logging. A failed write is logged and its rows
are counted as dropped too.
"""

from __future__ import annotations

import itertools
import logging
import operator
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from conveyor.serving.predictor import Signature

__all__ = ["PredictionLog"]

log = logging.getLogger("conveyor.serving.prediction_log")

_ARROW_KIND = {"float": "float64", "int": "int64", "bool": "bool_", "str": "string"}


_DAYS: dict[int, str] = {}


def _date(ts_ms: int) -> str:
    day = ts_ms // 86_400_000
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")
    return text


def _json_texts(values: list[Any]) -> list[str]:
    return [orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY).decode() for v in values]


def _output_texts(out: np.ndarray) -> Any:
    """The JSON text of each row's output, as an Arrow string array; numeric outputs are
    encoded in one call and split (numbers hold no ``,`` and rows no ``],[``)."""
    import pyarrow as pa

    kind = out.dtype.kind
    if out.ndim == 1 and kind in "iub":
        return pa.array(out.astype(np.int64) if kind == "b" else out).cast(pa.string())
    if out.ndim == 1 and kind == "f" and len(out):
        return pa.array(orjson.dumps(out, option=_NUMPY)[1:-1].decode().split(","), pa.string())
    if out.ndim == 2 and kind in "iuf" and out.shape[1] and len(out):
        inner = orjson.dumps(out, option=_NUMPY)[2:-2].decode().split("],[")
        return pa.array([f"[{row}]" for row in inner], pa.string())
    return pa.array(_json_texts(out.tolist()), pa.string())


_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _as_num(values: np.ndarray) -> Any:
    if values.ndim == 1 and values.dtype.kind in "biuf":
        return values.astype(np.float64)
    return None


def _by_date(cols: list[tuple[Any, ...]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """A stream's transposed request columns, split by the UTC date of each request."""
    ts = cols[1]
    first, last = min(ts) // 86_400_000, max(ts) // 86_400_000
    if first == last:
        return [(_date(ts[0]), cols)]
    days: dict[str, list[int]] = {}
    for i, t in enumerate(ts):
        days.setdefault(_date(t), []).append(i)
    return [(d, [tuple(c[i] for i in idx) for c in cols]) for d, idx in days.items()]


def _nones(values: tuple[Any, ...]) -> int:
    """How many of ``values`` are None (``tuple.count`` would compare arrays with ==)."""
    return sum(map(operator.is_, values, itertools.repeat(None)))


def _stream_rows(cols: list[tuple[Any, ...]]) -> int:
    return int(sum(cols[2]))


def _rowwise(
    values: tuple[Any, ...], counts: tuple[int, ...], convert: Callable[[Any], Any]
) -> list[Any]:
    """One entry per row from per-request values that may be None (then None per row)."""
    out: list[Any] = []
    for v, n in zip(values, counts, strict=True):
        out.extend([None] * n if v is None else (convert(x) for x in v))
    return out


def _proba_column(probas: tuple[Any, ...], counts: tuple[int, ...], total: int) -> Any:
    """``list<double>`` of class probabilities, null for rows served without them."""
    import pyarrow as pa

    typ = pa.list_(pa.float64())
    missing = _nones(probas)
    if missing == len(probas):
        return pa.nulls(total, typ)
    if not missing:
        try:
            flat = np.concatenate(probas).astype(np.float64, copy=False)
        except ValueError:  # class counts differ between model versions
            flat = None
        if flat is not None and flat.ndim == 2:
            values = pa.array(np.ascontiguousarray(flat).reshape(-1))
            return pa.FixedSizeListArray.from_arrays(values, flat.shape[1]).cast(typ)
    return pa.array(_rowwise(probas, counts, lambda row: np.asarray(row).tolist()), typ)


def _predictions(key: tuple[Any, ...], cols: list[tuple[Any, ...]]) -> Any:
    """One stream's requests (transposed: ids, ts, rows, latency, matrix, outputs, proba,
    shadow_of, agree) as an Arrow table of the documented columns."""
    import pyarrow as pa

    endpoint, version, route, sig = key
    ids, ts, counts_t, latency, matrices, outputs, probas, shadow_of, agree = cols
    counts = np.asarray(counts_t, dtype=np.int64)
    total = int(counts.sum())
    table: dict[str, Any] = {
        "prediction_id": pa.array(list(itertools.chain.from_iterable(ids)), pa.string()),
        "ts": pa.array(
            np.repeat(np.asarray(ts, dtype=np.int64), counts), pa.timestamp("ms", "UTC")
        ),
        "endpoint": pa.repeat(pa.scalar(endpoint, pa.string()), total),
        "model_version": pa.repeat(pa.scalar(version, pa.string()), total),
        "route": pa.repeat(pa.scalar(route, pa.string()), total),
        "latency_ms": pa.array(np.repeat(np.asarray(latency, dtype=np.float64), counts)),
    }
    matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
    for j, (name, kind) in enumerate(zip(sig.names, sig.kinds, strict=True)):
        col = matrix[:, j]
        typ = getattr(pa, _ARROW_KIND[kind])()
        if matrix.dtype == object:
            table[f"input_{name}"] = pa.array(col.tolist(), typ)
        else:
            table[f"input_{name}"] = pa.array(np.ascontiguousarray(col)).cast(typ)
    try:
        out = outputs[0] if len(outputs) == 1 else np.concatenate(outputs)
    except ValueError:  # shapes differ between requests
        out = np.array([v for o in outputs for v in o.tolist()], dtype=object)
    num = _as_num(out)
    table["output"] = _output_texts(out)
    table["output_num"] = (
        pa.array(num, pa.float64()) if num is not None else pa.nulls(total, pa.float64())
    )
    table["proba"] = _proba_column(probas, counts_t, total)
    if _nones(shadow_of) == len(shadow_of):
        table["shadow_of"] = pa.nulls(total, pa.string())
        table["agree"] = pa.nulls(total, pa.bool_())
    else:
        table["shadow_of"] = pa.array(_rowwise(shadow_of, counts_t, str), pa.string())
        table["agree"] = pa.array(_rowwise(agree, counts_t, bool), pa.bool_())
    return pa.table(table)


def _item_rows(bkey: tuple[Any, ...], items: list[Any]) -> int:
    if bkey[0] == "predictions":
        return sum(_stream_rows(cols) for _, cols in items)
    return sum(len(i[1]) for i in items)


class PredictionLog:
    """Per-stream buffers + writer thread; ``log()`` never blocks."""

    def __init__(
        self,
        log_uri: str | os.PathLike[str] | None = None,
        *,
        sink: Callable[[str, bytes], None] | None = None,
        max_queue_rows: int = 200_000,
        flush_rows: int = 50_000,
        flush_interval_s: float = 10.0,
        poll_s: float = 0.25,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        if log_uri is None and sink is None:
            raise ValueError("PredictionLog needs a log_uri or a sink")
        self.log_uri = str(log_uri) if log_uri is not None else None
        self.sink = sink
        self.max_queue_rows = max_queue_rows
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.poll_s = poll_s
        self.storage_options = storage_options or {}
        # (endpoint, version, route, signature) -> one tuple per request; the writer takes
        # the whole dict at once, so it sees each stream as a list it can transpose in C
        self._open: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        self._feedback_queue: deque[tuple[str, list[tuple[str, Any]], int]] = deque()
        self._lock = threading.Lock()
        self._in_rows = 0  # written by the request thread only
        self._out_rows = 0  # written by the writer thread only
        self.dropped = 0  # rows refused by the full queue (request thread)
        self.write_failed = 0  # rows lost by failed writes (writer thread)
        self.written = 0
        self.files: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fs: Any = None
        self._buffered = 0  # writer thread only

    # -- request side ----------------------------------------------------------------------
    @property
    def depth(self) -> int:
        return self._in_rows - self._out_rows

    @property
    def dropped_total(self) -> int:
        return self.dropped + self.write_failed

    def log(
        self,
        endpoint: str,
        version: str,
        route: str,
        ids: Sequence[str],
        ts_ms: int,
        signature: Signature,
        matrix: np.ndarray,
        outputs: np.ndarray,
        latency_ms: float,
        proba: np.ndarray | None = None,
        shadow_of: Sequence[str] | None = None,
        agree: np.ndarray | None = None,
    ) -> bool:
        """Queue one request's rows; False (and counted) when the queue is full.

        ``proba`` holds the rows' class probabilities (one column per class), if any.
        """
        n = len(ids)
        if self._in_rows - self._out_rows + n > self.max_queue_rows:
            self.dropped += n
            return False
        key = (endpoint, version, route, signature)
        entry = (ids, ts_ms, n, latency_ms, matrix, outputs, proba, shadow_of, agree)
        with self._lock:
            stream = self._open.get(key)
            if stream is None:
                self._open[key] = [entry]
            else:
                stream.append(entry)
        self._in_rows += n
        return True

    def log_feedback(self, endpoint: str, items: Sequence[tuple[str, Any]], ts_ms: int) -> bool:
        n = len(items)
        if self._in_rows - self._out_rows + n > self.max_queue_rows:
            self.dropped += n
            return False
        self._feedback_queue.append((endpoint, list(items), ts_ms))
        self._in_rows += n
        return True

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="conveyor-prediction-log", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Drain the queue, write everything buffered, stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        else:
            self._drain_and_write(force=True, buffers={})

    # -- writer side -----------------------------------------------------------------------
    def _run(self) -> None:
        buffers: dict[tuple[Any, ...], list[Any]] = {}
        last = time.monotonic()
        while not self._stop.wait(self.poll_s):
            now = time.monotonic()
            due = now - last >= self.flush_interval_s
            if self._drain_and_write(force=due, buffers=buffers) or due:
                last = now
        self._drain_and_write(force=True, buffers=buffers)

    def _take(self) -> list[tuple[tuple[Any, ...], Any]]:
        """Everything queued, as ``(buffer key, item)``: a prediction stream's transposed
        columns for one date, or one feedback call."""
        with self._lock:
            streams, self._open = self._open, {}
        taken: list[tuple[tuple[Any, ...], Any]] = []
        for key, entries in streams.items():
            cols = list(zip(*entries, strict=True))
            self._out_rows += _stream_rows(cols)
            sig: Signature = key[3]
            for date, part in _by_date(cols):
                taken.append((("predictions", key[0], date, sig.names, sig.kinds), (key, part)))
        q = self._feedback_queue
        while q:
            endpoint, items, ts_ms = q.popleft()
            self._out_rows += len(items)
            taken.append((("feedback", endpoint, _date(ts_ms)), (endpoint, items, ts_ms)))
        return taken

    def _drain_and_write(self, force: bool, buffers: dict[tuple[Any, ...], list[Any]]) -> bool:
        """Turn queued requests into Arrow tables at once (few Python objects stay alive for
        the garbage collector to scan), and write the buffered tables when due."""
        fresh: dict[tuple[Any, ...], list[Any]] = {}
        for bkey, item in self._take():
            fresh.setdefault(bkey, []).append(item)
        for bkey, items in fresh.items():
            try:
                if bkey[0] == "predictions":
                    tables = [_predictions(key, cols) for key, cols in items]
                else:
                    tables = [self._feedback(items)]
            except Exception:
                n = _item_rows(bkey, items)
                self.write_failed += n
                log.exception("prediction log: converting %d rows of %s failed", n, bkey[1])
                continue
            buffers.setdefault(bkey, []).extend(tables)
            self._buffered += sum(t.num_rows for t in tables)
        if not buffers or (not force and self._buffered < self.flush_rows):
            return False
        self._buffered = 0
        import pyarrow as pa

        for bkey, tables in list(buffers.items()):
            del buffers[bkey]
            n = sum(t.num_rows for t in tables)
            try:
                table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
                self._write(f"{bkey[0]}/endpoint={bkey[1]}/date={bkey[2]}", table)
                self.written += n
            except Exception:
                self.write_failed += n
                log.exception("prediction log: writing %d rows of %s failed", n, bkey[1])
        return True

    def _feedback(self, entries: list[tuple[Any, ...]]) -> Any:
        import pyarrow as pa

        ids, ts, eps, labels, nums = [], [], [], [], []
        for endpoint, items, ts_ms in entries:
            for pid, label in items:
                ids.append(pid)
                ts.append(ts_ms)
                eps.append(endpoint)
                labels.append(orjson.dumps(label).decode())
                ok = isinstance(label, int | float) and not isinstance(label, bool)
                nums.append(float(label) if ok else None)
        return pa.table(
            {
                "prediction_id": pa.array(ids, pa.string()),
                "ts": pa.array(ts, pa.timestamp("ms", "UTC")),
                "endpoint": pa.array(eps, pa.string()),
                "label": pa.array(labels, pa.string()),
                "label_num": pa.array(nums, pa.float64()),
            }
        )

    def _write(self, folder: str, table: Any) -> None:
        import pyarrow.parquet as pq

        name = f"part-{uuid.uuid4().hex}.parquet"
        rel = f"{folder}/{name}"
        if self.sink is not None:
            import pyarrow as pa

            buf = pa.BufferOutputStream()
            pq.write_table(table, buf)
            self.sink(rel, buf.getvalue().to_pybytes())
            self.files.append(rel)
            return
        assert self.log_uri is not None
        if "://" not in self.log_uri or self.log_uri.startswith("file://"):
            root = Path(self.log_uri.removeprefix("file://"))
            target = root / folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".parquet.tmp")
            pq.write_table(table, tmp)
            os.replace(tmp, target)
            self.files.append(str(target))
            return
        if self._fs is None:
            import fsspec

            self._fs, _ = fsspec.core.url_to_fs(self.log_uri, **self.storage_options)
        path = f"{self.log_uri.rstrip('/')}/{rel}"
        with self._fs.open(path, "wb") as fh:
            pq.write_table(table, fh)
        self.files.append(path)
