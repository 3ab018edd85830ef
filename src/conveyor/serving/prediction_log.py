"""Prediction and feedback capture into partitioned Parquet, off the request path.

The request path appends one tuple per request (references to its numpy arrays, no
copies) to the list of its stream (endpoint, model version, route, signature) and returns;
a background thread takes every stream every ``poll_s``, transposes each into columns
with C loops and vectorised calls (``conveyor.serving.log_rows``), buffers, and writes
one Parquet file per (endpoint, UTC date, input schema) when
``flush_rows`` rows are buffered or ``flush_interval_s`` has passed, and on ``close()``::

    <log_uri>/predictions/endpoint=<name>/date=YYYY-MM-DD/part-<uuid hex>.parquet
    <log_uri>/feedback/endpoint=<name>/date=YYYY-MM-DD/part-<uuid hex>.parquet

Files appear atomically (written as ``.tmp`` then renamed on local disks), so readers that
glob ``*.parquet`` never see a partial file.

Prediction columns: ``prediction_id`` (uuid hex), ``ts`` (timestamp[ms, UTC]), ``endpoint``,
``model_version``, ``route``, ``latency_ms`` (double, the request's), one typed column
``input_<name>`` per signature column (a float column is ``float`` — float32 — when the
model takes float32 inputs: the values it received; else ``double``), ``output`` (JSON
text of the row's output),
``output_num`` (double, null when the output is not a scalar number), ``proba``
(list<double>: the class probabilities in the model's class order, null when the model
gives none), ``shadow_of`` (the
served prediction id for shadow rows, else null) and ``agree`` (shadow output equal to
the served one, else null), ``status`` (int32, the HTTP status answered: 200 on every
answered row, fallback answers included) and ``error`` (null on answered rows).

Failed requests (:meth:`PredictionLog.log_failure`: the server answered 4xx/5xx after the
endpoint was known) are one row each in the same files: ``prediction_id`` (an id of the
failed request), ``ts``, ``endpoint``, ``model_version`` (the route's, else the primary's),
``route`` (null when the request failed before a route was chosen), ``latency_ms``, the
answered ``status`` and ``error`` (the answer's message, at most ``MAX_ERROR_CHARS``
characters); no inputs and no output. Files written before these two columns existed
have neither; readers treat their rows as answered (``monitoring.windows``).

Feedback columns: ``prediction_id``, ``ts``, ``endpoint``,
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
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from conveyor._util import hide_credentials, utc_date
from conveyor.serving.log_rows import Entry, Failure, entries_to_rows, failures_table, rows_table
from conveyor.serving.predictor import Signature

__all__ = ["MAX_ERROR_CHARS", "PredictionLog"]

log = logging.getLogger("conveyor.serving.prediction_log")

StreamKey = tuple[str, str, str, Signature]

#: The longest ``error`` message logged for a failed request (longer ones are cut).
MAX_ERROR_CHARS = 200

# Dictionary-encode only the columns with few distinct values: trying it on float inputs
# and ids (then falling back) made Parquet writing ~3.5x slower and files larger.
_DICTIONARY = ("endpoint", "model_version", "route", "output", "label", "error")


def _parquet_options(table: Any) -> dict[str, Any]:
    return {"use_dictionary": [c for c in _DICTIONARY if c in table.column_names]}


def _tables(key: StreamKey, entries: list[Entry]) -> list[tuple[tuple[Any, ...], Any]]:
    sig = key[3]
    return [
        (("predictions", key[0], date, sig.names, sig.kinds), rows_table(*key, part))
        for date, part in entries_to_rows(entries).by_date()
    ]


class PredictionLog:
    """Per-stream request lists + writer thread; ``log()`` never blocks."""

    def __init__(
        self,
        log_uri: str | os.PathLike[str] | None = None,
        *,
        sink: Callable[[str, bytes], None] | None = None,
        max_queue_rows: int = 200_000,
        flush_rows: int = 50_000,
        flush_interval_s: float = 10.0,
        poll_s: float = 0.1,
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
        # one tuple per request, per stream (endpoint, version, route, signature); the
        # writer takes the whole dict at once and transposes each stream in C
        self._entries: dict[StreamKey, list[Entry]] = {}
        self._feedback_queue: deque[tuple[str, list[tuple[str, Any]], int]] = deque()
        self._failures: deque[tuple[str, str, Signature, Failure]] = deque()
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
        if self._refused(n):
            return False
        if proba is not None and len(proba) != n:
            proba = None  # a model's malformed probabilities never fail the request
        key = (endpoint, version, route, signature)
        entry = (ids, ts_ms, n, latency_ms, matrix, outputs, proba, shadow_of, agree)
        with self._lock:
            stream = self._entries.get(key)
            if stream is None:
                self._entries[key] = [entry]
            else:
                stream.append(entry)
        self._in_rows += n
        return True

    def _refused(self, n: int) -> bool:
        """Whether ``n`` more rows would overflow the queue (``max_queue_rows``); refused
        rows are counted in ``dropped``."""
        if self._in_rows - self._out_rows + n > self.max_queue_rows:
            self.dropped += n
            return True
        return False

    def log_failure(
        self,
        endpoint: str,
        version: str,
        route: str | None,
        signature: Signature,
        ts_ms: int,
        latency_ms: float,
        status: int,
        error: str,
    ) -> bool:
        """Queue one failed request (one row); False (and counted) when the queue is full.

        ``route`` is None when the request failed before a route was chosen; ``error`` is
        cut to ``MAX_ERROR_CHARS`` characters, credentials in URLs hidden."""
        if self._refused(1):
            return False
        pid = uuid.uuid4().hex
        failure = (pid, route, ts_ms, latency_ms, status, hide_credentials(error)[:MAX_ERROR_CHARS])
        self._failures.append((endpoint, version, signature, failure))
        self._in_rows += 1
        return True

    def log_feedback(self, endpoint: str, items: Sequence[tuple[str, Any]], ts_ms: int) -> bool:
        n = len(items)
        if self._refused(n):
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
        """Everything queued, as ``(buffer key, Arrow table)``, one per stream and date."""
        with self._lock:
            entries, self._entries = self._entries, {}
        taken: list[tuple[tuple[Any, ...], Any]] = []
        for key, items in entries.items():
            self._out_rows += sum(e[2] for e in items)
            taken += self._stream_tables(key, items)
        taken += self._failure_tables()
        q = self._feedback_queue
        feedback: dict[tuple[Any, ...], list[Any]] = {}
        while q:
            endpoint, labels, ts_ms = q.popleft()
            self._out_rows += len(labels)
            feedback.setdefault(("feedback", endpoint, utc_date(ts_ms)), []).append(
                (endpoint, labels, ts_ms)
            )
        for bkey, items in feedback.items():
            try:
                taken.append((bkey, self._feedback(items)))
            except Exception:
                n = sum(len(i[1]) for i in items)
                self.write_failed += n
                log.exception("prediction log: converting %d labels of %s failed", n, bkey[1])
        return taken

    def _failure_tables(self) -> list[tuple[tuple[Any, ...], Any]]:
        """Queued failed requests as tables, keyed like the predictions of their route's
        signature, so they land in the same files."""
        q = self._failures
        groups: dict[tuple[str, str, Signature, str], list[Failure]] = {}
        while q:
            endpoint, version, sig, failure = q.popleft()
            self._out_rows += 1
            groups.setdefault((endpoint, version, sig, utc_date(failure[2])), []).append(failure)
        taken: list[tuple[tuple[Any, ...], Any]] = []
        for (endpoint, version, sig, date), failures in groups.items():
            try:
                table = failures_table(endpoint, version, failures)
            except Exception:
                self.write_failed += len(failures)
                log.exception("prediction log: converting %d failed request(s) of %s failed",
                              len(failures), endpoint)  # fmt: skip
                continue
            taken.append((("predictions", endpoint, date, sig.names, sig.kinds), table))
        return taken

    def _stream_tables(
        self, key: StreamKey, entries: list[Entry]
    ) -> list[tuple[tuple[Any, ...], Any]]:
        """A stream's requests as tables; when they cannot be converted together, each
        request alone, so only the requests that cannot be converted are lost."""
        try:
            return _tables(key, entries)
        except Exception:
            if len(entries) > 1:
                salvaged: list[tuple[tuple[Any, ...], Any]] = []
                for entry in entries:
                    salvaged += self._stream_tables(key, [entry])
                return salvaged
            self.write_failed += entries[0][2]
            log.exception("prediction log: converting %d row(s) of %s failed; they are "
                          "dropped", entries[0][2], key[0])  # fmt: skip
            return []

    def _drain_and_write(self, force: bool, buffers: dict[tuple[Any, ...], list[Any]]) -> bool:
        """Turn queued requests into Arrow tables at once (few Python objects stay alive for
        the garbage collector to scan), and write the buffered tables when due."""
        for bkey, table in self._take():
            buffers.setdefault(bkey, []).append(table)
            self._buffered += table.num_rows
        if not buffers or (not force and self._buffered < self.flush_rows):
            return False
        self._buffered = 0
        import pyarrow as pa

        for bkey, tables in list(buffers.items()):
            del buffers[bkey]
            n = sum(t.num_rows for t in tables)
            try:
                # streams of one key may differ in column types (a float32 ONNX route and a
                # float64 native one) or in the proba column: promote, never drop the rows
                table = (
                    tables[0]
                    if len(tables) == 1
                    else pa.concat_tables(tables, promote_options="permissive")
                )
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
            pq.write_table(table, buf, **_parquet_options(table))
            self.sink(rel, buf.getvalue().to_pybytes())
            self.files.append(rel)
            return
        assert self.log_uri is not None
        if "://" not in self.log_uri or self.log_uri.startswith("file://"):
            root = Path(self.log_uri.removeprefix("file://"))
            target = root / folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".parquet.tmp")
            pq.write_table(table, tmp, **_parquet_options(table))
            os.replace(tmp, target)
            self.files.append(str(target))
            return
        if self._fs is None:
            import fsspec

            self._fs, _ = fsspec.core.url_to_fs(self.log_uri, **self.storage_options)
        path = f"{self.log_uri.rstrip('/')}/{rel}"
        with self._fs.open(path, "wb") as fh:
            pq.write_table(table, fh, **_parquet_options(table))
        self.files.append(path)
