"""Prediction and feedback capture into partitioned Parquet, off the request path.

The request path appends one tuple per request (numpy arrays, no copies) to a bounded
in-memory queue and returns; a background thread drains the queue every ``poll_s``,
buffers, and writes one Parquet file per (endpoint, UTC date, input schema) when
``flush_rows`` rows are buffered or ``flush_interval_s`` has passed, and on ``close()``::

    <log_uri>/predictions/endpoint=<name>/date=YYYY-MM-DD/part-<uuid hex>.parquet
    <log_uri>/feedback/endpoint=<name>/date=YYYY-MM-DD/part-<uuid hex>.parquet

Files appear atomically (written as ``.tmp`` then renamed on local disks), so readers that
glob ``*.parquet`` never see a partial file.

Prediction columns: ``prediction_id`` (uuid hex), ``ts`` (timestamp[ms, UTC]), ``endpoint``,
``model_version``, ``route``, ``latency_ms`` (double, the request's), one typed column
``input_<name>`` per signature column, ``output`` (JSON text of the row's output),
``output_num`` (double, null when the output is not a scalar number), ``shadow_of`` (the
served prediction id for shadow rows, else null) and ``agree`` (shadow output equal to
the served one, else null). Feedback columns: ``prediction_id``, ``ts``, ``endpoint``,
``label`` (JSON text), ``label_num`` (double or null).

Back-pressure: when the queue holds ``max_queue_rows`` rows, new rows are dropped and
counted (``dropped``, exported as ``conveyor_prediction_log_dropped_total``); the request
never blocks and never fails because of logging. A failed write is logged and its rows
are counted as dropped too.
"""

from __future__ import annotations

import logging
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


def _repeat_strings(values: list[str], counts: np.ndarray) -> Any:
    """``values[i]`` repeated ``counts[i]`` times, as an Arrow string array (vectorised)."""
    import pyarrow as pa

    codes: dict[str, int] = {}
    idx = np.fromiter((codes.setdefault(v, len(codes)) for v in values), np.int32, len(values))
    dictionary = pa.array(list(codes), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(np.repeat(idx, counts)), dictionary).cast(
        pa.string()
    )


def _as_num(values: np.ndarray) -> Any:
    if values.ndim == 1 and values.dtype.kind in "biuf":
        return values.astype(np.float64)
    return None


class PredictionLog:
    """Bounded queue + writer thread; ``log()`` never blocks."""

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
        self._queue: deque[tuple[Any, ...]] = deque()
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
        shadow_of: Sequence[str] | None = None,
        agree: np.ndarray | None = None,
    ) -> bool:
        """Queue one request's rows; False (and counted) when the queue is full."""
        n = len(ids)
        if self._in_rows - self._out_rows + n > self.max_queue_rows:
            self.dropped += n
            return False
        self._queue.append(
            (
                "p",
                endpoint,
                version,
                route,
                ids,
                ts_ms,
                signature,
                matrix,
                outputs,
                latency_ms,
                shadow_of,
                agree,
            )
        )
        self._in_rows += n
        return True

    def log_feedback(self, endpoint: str, items: Sequence[tuple[str, Any]], ts_ms: int) -> bool:
        n = len(items)
        if self._in_rows - self._out_rows + n > self.max_queue_rows:
            self.dropped += n
            return False
        self._queue.append(("f", endpoint, list(items), ts_ms))
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

    def _drain_and_write(self, force: bool, buffers: dict[tuple[Any, ...], list[Any]]) -> bool:
        """Move queued entries into Arrow tables at once (few Python objects stay alive for
        the garbage collector to scan), and write the buffered tables when due."""
        q = self._queue
        fresh: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        while q:
            entry = q.popleft()
            key: tuple[Any, ...]
            if entry[0] == "p":
                key = ("predictions", entry[1], _date(entry[5]), entry[6].names, entry[6].kinds)
            else:
                key = ("feedback", entry[1], _date(entry[3]))
            self._out_rows += self._rows(entry)
            fresh.setdefault(key, []).append(entry)
        for key, entries in fresh.items():
            n = sum(self._rows(e) for e in entries)
            try:
                table = (
                    self._predictions(entries)
                    if key[0] == "predictions"
                    else self._feedback(entries)
                )
            except Exception:
                self.write_failed += n
                log.exception("prediction log: converting %d rows of %s failed", n, key[1])
                continue
            buffers.setdefault(key, []).append(table)
            self._buffered += n
        if not buffers or (not force and self._buffered < self.flush_rows):
            return False
        self._buffered = 0
        import pyarrow as pa

        for key, tables in list(buffers.items()):
            del buffers[key]
            n = sum(t.num_rows for t in tables)
            try:
                table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
                self._write(f"{key[0]}/endpoint={key[1]}/date={key[2]}", table)
                self.written += n
            except Exception:
                self.write_failed += n
                log.exception("prediction log: writing %d rows of %s failed", n, key[1])
        return True

    @staticmethod
    def _rows(entry: tuple[Any, ...]) -> int:
        return len(entry[4]) if entry[0] == "p" else len(entry[2])

    def _predictions(self, entries: list[tuple[Any, ...]]) -> Any:
        import pyarrow as pa

        counts = np.array([len(e[4]) for e in entries])
        total = int(counts.sum())
        sig: Signature = entries[0][6]
        cols: dict[str, Any] = {
            "prediction_id": pa.array([i for e in entries for i in e[4]], pa.string()),
            "ts": pa.array(np.repeat([e[5] for e in entries], counts), pa.timestamp("ms", "UTC")),
            "endpoint": _repeat_strings([e[1] for e in entries], counts),
            "model_version": _repeat_strings([e[2] for e in entries], counts),
            "route": _repeat_strings([e[3] for e in entries], counts),
            "latency_ms": pa.array(np.repeat([e[9] for e in entries], counts), pa.float64()),
        }
        matrix = entries[0][7] if len(entries) == 1 else np.concatenate([e[7] for e in entries])
        for j, (name, kind) in enumerate(zip(sig.names, sig.kinds, strict=True)):
            col = matrix[:, j]
            typ = getattr(pa, _ARROW_KIND[kind])()
            if matrix.dtype == object:
                cols[f"input_{name}"] = pa.array(col.tolist(), typ)
            else:
                cols[f"input_{name}"] = pa.array(np.ascontiguousarray(col)).cast(typ)
        outputs = [e[8] for e in entries]
        try:
            out = outputs[0] if len(outputs) == 1 else np.concatenate(outputs)
        except ValueError:  # shapes differ between model versions
            out = np.array([v for o in outputs for v in o.tolist()], dtype=object)
        num = _as_num(out)
        if num is not None and out.dtype.kind in "iub":
            texts = pa.array(out.astype(np.int64) if out.dtype.kind == "b" else out).cast(
                pa.string()
            )  # vectorised; integers print the same as JSON
        else:
            texts = pa.array(_json_texts(out.tolist()), pa.string())
        cols["output"] = texts
        cols["output_num"] = (
            pa.array(num, pa.float64()) if num is not None else pa.nulls(total, pa.float64())
        )
        if all(e[10] is None for e in entries):
            cols["shadow_of"] = pa.nulls(total, pa.string())
            cols["agree"] = pa.nulls(total, pa.bool_())
        else:
            shadow = [
                (e[10][i] if e[10] is not None else None) for e in entries for i in range(len(e[4]))
            ]
            agree = [
                (bool(e[11][i]) if e[11] is not None else None)
                for e in entries
                for i in range(len(e[4]))
            ]
            cols["shadow_of"] = pa.array(shadow, pa.string())
            cols["agree"] = pa.array(agree, pa.bool_())
        return pa.table(cols)

    def _feedback(self, entries: list[tuple[Any, ...]]) -> Any:
        import pyarrow as pa

        ids, ts, eps, labels, nums = [], [], [], [], []
        for _, endpoint, items, ts_ms in entries:
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
