"""The inference ASGI app: one tight hot path, no framework on it.

::

    app = InferenceApp(Router([RouteTable("churn", predictor)]),
                       prediction_log=PredictionLog("/var/conveyor/logs"))
    # uvicorn.run(app) — or conveyor.serving.run_server("module:factory", workers=2)

Routes::

    GET  /v2                         server metadata          GET /metrics   Prometheus
    GET  /v2/health/live|ready       liveness / readiness     POST /feedback ground truth
    GET  /v2/models/{name}[/versions/{v}][/ready]   model metadata / ready
    POST /v2/models/{name}[/versions/{v}]/infer     Open Inference Protocol v2 (JSON or binary)
    POST /invocations                MLflow protocol (JSON or text/csv), default endpoint
    POST /endpoints/{name}/invocations   same, named endpoint
    GET  /ping, /health, /version    as ``mlflow models serve`` answers them

Bad input never yields a 500: 400 malformed JSON, 404 unknown model, version or path
(named), 405 wrong method, 413 body over ``max_body_bytes``, 415 a body type other than
JSON (the v2 binary extension on ``/v2``, ``text/csv`` on ``/invocations``), 422 every
field error. Errors on ``/v2`` routes have the protocol's shape ``{"error": "<message>",
"code": ..., "details": ...}``; Conveyor's own routes answer ``{"error": {"code",
"message", "details"}}``. A model that raises (or misses the table's deadline) is answered
by the table's fallback, else 503 with an ``error_id`` that is also in the JSON log line
holding the traceback.

With a prediction log, an inference request that fails after its endpoint is known is
logged as one row with its ``status`` and message (``PredictionLog.log_failure``); 401/403
refusals are not (docs/serving.md, "What is logged for failures").
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import orjson

from conveyor import __version__
from conveyor.errors import (
    ConveyorError,
    ModelError,
    NotFound,
    PayloadTooLarge,
    StoreUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from conveyor.serving.batching import MicroBatcher
from conveyor.serving.binary import split_body
from conveyor.serving.feedback import count_matched, parse_feedback
from conveyor.serving.metrics import ServingMetrics
from conveyor.serving.prediction_log import PredictionLog
from conveyor.serving.protocols import (
    loads,
    parse_csv,
    parse_invocations,
    render_invocations,
    wants_probabilities,
)
from conveyor.serving.routing import Route, Router, RouteTable
from conveyor.serving.v2 import (
    OUTPUTS,
    model_metadata,
    parse_v2,
    render_v2,
    requested_outputs,
    v2_datatype,
)

__all__ = ["BatchingConfig", "InferenceApp", "MethodNotAllowed", "UnsupportedMediaType"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

log = logging.getLogger("conveyor.serving.app")

_JSON = (b"content-type", b"application/json")
_ALLOW_GET = [(b"allow", b"GET")]
_ALLOW_POST = [(b"allow", b"POST")]
_GET_PATHS = frozenset(
    ("/metrics", "/v2", "/v2/health/live", "/v2/health/ready", "/ping", "/health", "/version")
)


class MethodNotAllowed(ConveyorError):
    """The path exists but not for this HTTP method."""

    status = 405
    code = "method_not_allowed"
    headline = "Method not allowed"


class UnsupportedMediaType(ConveyorError):
    """A request body of a type the route does not take (a form post from another site)."""

    status = 415
    code = "unsupported_media_type"
    headline = "Unsupported media type"


class _Disconnected(Exception):
    pass


_JSON_TYPE = b"application/json"
_CSV_TYPE = b"text/csv"
_BINARY_TYPE = b"application/octet-stream"


def _media(ctype: bytes | None) -> bytes | None:
    """``application/json`` of ``Application/JSON; charset=utf-8``."""
    if ctype is None:
        return None
    return ctype.split(b";", 1)[0].strip().lower()


def _refuse(path: str, ctype: bytes | None, takes: str) -> UnsupportedMediaType:
    given = ctype.decode("latin-1")[:100] if ctype is not None else "none"
    return UnsupportedMediaType(
        f"{path} takes {takes}, not Content-Type {given!r}; send the body with "
        "Content-Type: application/json",
        details={"content_type": given},
    )


def _model_path(rest: str) -> tuple[str, str | None]:
    """``name`` or ``name/versions/v`` -> (name, version or None)."""
    name, sep, version = rest.partition("/versions/")
    if sep and (not version or "/" in version):
        raise NotFound(f"no route for version {version!r} of {name!r}", details={"path": rest})
    return name, (version if sep else None)


_Scored = tuple[np.ndarray, np.ndarray | None]  # outputs, class probabilities


@dataclass(frozen=True)
class BatchingConfig:
    """Micro-batching: ``max_batch`` rows per call; ``max_wait_us`` extra wait under load."""

    max_batch: int = 64
    max_wait_us: int = 0


# Prediction and request ids come from the random module (re-seeded from os.urandom in
# every process, forked workers included): unique, not secret — they grant nothing — and
# far cheaper than a getrandom system call per request.
_bits = random.getrandbits


#: What the body parsers raise on rows they cannot read (answered as a 422).
_UNREADABLE = (TypeError, ValueError, KeyError, AttributeError, OverflowError)


def _unreadable(exc: Exception) -> ValidationFailed:
    return ValidationFailed(
        f"cannot read the input rows: {exc}",
        details={"errors": [{"field": "*", "error": str(exc)[:200]}]},
    )


#: Answers never written to the prediction log as failed requests: refused credentials
#: are not the model's traffic (docs/serving.md, "What is logged for failures").
_NOT_LOGGED = frozenset((401, 403))


def _internal(exc: Exception, method: str, path: str, rid: str) -> ConveyorError:
    """A bug of ours as a 500 answer with an error id (the traceback goes to the log)."""
    error_id = os.urandom(8).hex()
    log.exception("internal error on %s %s", method, path,
                  extra={"request_id": rid, "error_id": error_id})  # fmt: skip
    return ConveyorError(
        f"internal error {error_id}: {type(exc).__name__}", details={"error_id": error_id}
    )


def _ids(n: int) -> list[str]:
    if n == 1:
        return [f"{_bits(128):032x}"]
    raw = f"{_bits(128 * n):0{32 * n}x}"
    return [raw[i : i + 32] for i in range(0, 32 * n, 32)]


async def run_lifespan(
    receive: Receive,
    send: Send,
    startup: Callable[[], Awaitable[None]],
    shutdown: Callable[[], Awaitable[None]],
) -> None:
    """Answer an ASGI lifespan conversation with ``startup`` and ``shutdown``."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await startup()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


class InferenceApp:
    """Raw ASGI inference server over a ``Router``."""

    server_name: ClassVar[str] = "conveyor"

    def __init__(
        self,
        router: Router,
        *,
        prediction_log: PredictionLog | None = None,
        max_body_bytes: int = 4 << 20,
        batching: BatchingConfig | None = None,
        metrics: ServingMetrics | None = None,
        threads: int = 4,
        access_log: bool = False,
        freeze_gc: bool = False,
        feedback_match_days: int = 30,
        inference_keys: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.router = router
        #: endpoint -> sha256 digests of its keys (conveyor.governance.inference_keys);
        #: a listed endpoint answers only ``Authorization: Bearer <key>``.
        self.inference_keys = dict(inference_keys or {})
        self.feedback_match_days = feedback_match_days
        self.freeze_gc = freeze_gc
        self.prediction_log = prediction_log
        self.max_body_bytes = max_body_bytes
        self.batching = batching
        self.metrics = metrics or ServingMetrics()
        self.access_log = access_log
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="conveyor-predict")
        self._snapshot_task: asyncio.Task[None] | None = None
        self.started = False
        if prediction_log is not None:
            self.metrics.gauges["log_dropped"] = lambda: prediction_log.dropped_total
            self.metrics.gauges["log_depth"] = lambda: prediction_log.depth
        for table in router.tables.values():
            self._prepare(table)
        router.on_swap.append(self._prepare)

    # -- setup -------------------------------------------------------------------------------
    def _prepare(self, table: RouteTable) -> None:
        """Before a table goes live: ask its models for class probabilities when predictions
        are logged (monitoring needs them), attach batchers when micro-batching is on."""
        for route in table.all_routes():
            if self.prediction_log is not None:
                route.run = route.scorer
            if self.batching is not None and route.batcher is None:
                route.batcher = MicroBatcher(
                    route.run,
                    max_batch=self.batching.max_batch,
                    max_wait_us=self.batching.max_wait_us,
                    threaded=table.deadline_s is not None,
                    executor=self.executor,
                    on_batch=self._batch_hook(table.endpoint, route.version),
                )

    def _batch_hook(self, endpoint: str, version: str) -> Callable[[int], None]:
        metrics = self.metrics

        def hook(rows: int) -> None:
            metrics.batch_size(endpoint, version, rows)

        return hook

    async def startup(self) -> None:
        if self.started:
            return
        self.started = True
        if self.prediction_log is not None:
            self.prediction_log.start()
        if self.metrics.snapshot_dir is not None:
            self._snapshot_task = asyncio.create_task(self._snapshots())
        if self.freeze_gc:
            # models, sessions and modules are long-lived: keep them out of every GC scan
            gc.collect()
            gc.freeze()

    async def shutdown(self) -> None:
        if not self.started:
            return
        self.started = False
        if self._snapshot_task is not None:
            self._snapshot_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._snapshot_task
            self._snapshot_task = None
        if self.prediction_log is not None:
            await asyncio.to_thread(self.prediction_log.close)
        for table in self.router.tables.values():
            if table.features is not None:  # its online store's connection of this loop
                table.features.close_loop()
        self.metrics.write_snapshot()
        # the thread pool stays: its threads are idle, and a restarted app reuses them

    @asynccontextmanager
    async def running(self) -> AsyncIterator[InferenceApp]:
        """Startup/shutdown around a block, for in-process use (ASGITransport, tests)."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    async def _snapshots(self) -> None:
        while True:
            self.metrics.write_snapshot()
            await asyncio.sleep(1.0)

    # -- ASGI --------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await run_lifespan(receive, send, self.startup, self.shutdown)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        rid: str | None = None
        length: bytes | None = None
        ctype: bytes | None = None
        header_length: bytes | None = None
        bearer: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                rid = value.decode("latin-1")[:200]
            elif key == b"content-length":
                length = value
            elif key == b"content-type":
                ctype = value
            elif key == b"inference-header-content-length":
                header_length = value
            elif key == b"authorization":
                bearer = value
        if rid is None:
            rid = f"{_bits(64):016x}"
        path: str = scope["path"]
        method: str = scope["method"]
        labels = ("", "", "")
        try:
            if path == "/invocations" or (
                path.startswith("/endpoints/") and path.endswith("/invocations")
            ):
                if method != "POST":
                    raise MethodNotAllowed(f"{path} takes POST, not {method}")
                csv = False
                if ctype != _JSON_TYPE:  # the exact common spelling costs one comparison
                    media = _media(ctype)
                    csv = media == _CSV_TYPE
                    if media != _JSON_TYPE and not csv:
                        raise _refuse(path, ctype, "application/json or text/csv")
                name = path[11:-12] if path != "/invocations" else None
                if self.inference_keys:
                    self._check_key(name, bearer)
                await self._infer(
                    scope, receive, send, name, None, rid, length, t0, None, csv, False
                )
                return
            if path.startswith("/v2/models/") and path.endswith("/infer"):
                if method != "POST":
                    raise MethodNotAllowed(f"{path} takes POST, not {method}")
                # no Content-Type: what tritonclient sends; forms and text/plain: refused
                if ctype is not None and ctype != _JSON_TYPE:
                    media = _media(ctype)
                    if media != _JSON_TYPE and (header_length is None or media != _BINARY_TYPE):
                        raise _refuse(path, ctype, "application/json (or the binary extension)")
                name, version = _model_path(path[11:-6])
                if self.inference_keys:
                    self._check_key(name, bearer)
                await self._infer(
                    scope, receive, send, name, version, rid, length, t0, header_length, False, True
                )
                return
            if path.endswith("/explain") and (
                path == "/explain" or path.startswith(("/endpoints/", "/v2/models/"))
            ):
                if method != "POST":
                    raise MethodNotAllowed(f"{path} takes POST, not {method}")
                if ctype is not None and _media(ctype) != _JSON_TYPE:
                    raise _refuse(path, ctype, "application/json")
                await self._explain(send, receive, path, rid, length, t0, bearer)
                return
            if path == "/feedback":
                if method != "POST":
                    raise MethodNotAllowed(f"{path} takes POST, not {method}")
                if _media(ctype) != _JSON_TYPE:
                    raise _refuse(path, ctype, "application/json")
                await self._feedback(receive, send, rid, length, bearer)
                return
            status, body = self._get(path, method)
            await self._send(send, status, body, rid)
            if path != "/metrics":
                self.metrics.observe(labels, status, time.perf_counter() - t0)
        except ConveyorError as exc:
            await self._error(send, exc, rid, labels, t0, path.startswith("/v2"))
        except _Disconnected:
            return
        except Exception as exc:  # a bug of ours: answer 500 with an id, keep serving
            failure = _internal(exc, method, path, rid)
            await self._error(send, failure, rid, labels, t0, path.startswith("/v2"))

    def _check_key(self, name: str | None, bearer: bytes | None) -> None:
        """Unauthenticated unless the endpoint needs no key or ``bearer`` carries one of its
        keys (sha256 compared in constant time)."""
        endpoint = self.router.get(name).endpoint
        digests = self.inference_keys.get(endpoint)
        if digests is None:  # an endpoint whose keys are all revoked has an empty set: closed
            return
        scheme, _, key = (bearer or b"").decode("latin-1").partition(" ")
        digest = hashlib.sha256(key.strip().encode()).hexdigest()
        ok = False
        for known in digests:  # every digest compared: the time says nothing about which
            ok |= hmac.compare_digest(digest, known)
        if scheme.lower() != "bearer" or not ok:
            raise Unauthenticated(
                f"endpoint {endpoint!r} needs an inference key: send `Authorization: Bearer "
                "<key>` (its owner creates keys with `conveyor inference-keys create`)"
            )

    # -- inference ---------------------------------------------------------------------------
    async def _infer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        endpoint: str | None,
        version: str | None,
        rid: str,
        length: bytes | None,
        t0: float,
        header_length: bytes | None,
        csv: bool,
        v2: bool,
    ) -> None:
        """One inference request: ``version`` set for the v2 ``/versions/{v}`` routes (and
        None on ``/invocations``, where ``csv`` says the body is text/csv); ``header_length``
        is the v2 binary extension's ``Inference-Header-Content-Length``."""
        ts_ms = time.time_ns() // 1_000_000
        table = self.router.get(endpoint)
        labels = (table.endpoint, table.version, "")
        binary_at: int | None = None
        try:
            body = await self._body(receive, length)
            tail = None
            if v2:
                if header_length is not None:  # binary extension: JSON, then bytes
                    head, tail = split_body(body, header_length)
                    payload = loads(head)
                else:
                    payload = loads(body)
                asked = requested_outputs(payload)
                want_proba = "probabilities" in asked[0]
                if table.features is not None:  # entity keys as named inputs
                    payload = await table.features.enrich_v2_async(
                        payload, table.signature, self.executor
                    )
            elif csv:
                payload, want_proba = None, False
            else:
                payload = loads(body)
                want_proba = wants_probabilities(payload)
                if table.features is not None:  # entity keys in, the full vector out
                    payload = await table.features.enrich_async(
                        payload, table.signature, self.executor
                    )
            if version is not None:
                route = table.for_version(version)
            elif table.single:
                route = table.primary
            else:
                route = table.pick(payload, scope["headers"])
            labels = (table.endpoint, route.version, route.name)
            req_id = None
            if want_proba and not route.scores:
                raise ValidationFailed(
                    f"model {table.endpoint!r} version {route.version} gives no class "
                    "probabilities (not a classifier, or its runtime has no probabilities "
                    "output); ask for predictions only",
                    details={"errors": [{"field": "probabilities", "error": "unavailable"}]},
                )
            try:
                if v2:
                    matrix, req_id = parse_v2(payload, route.signature, tail)
                elif payload is None:
                    matrix = parse_csv(body, route.signature)
                else:
                    matrix = parse_invocations(payload, route.signature)
            except _UNREADABLE as exc:
                raise _unreadable(exc) from None
            try:
                outputs, proba = await self._predict(table, route, matrix, want_proba)
            except Exception as exc:
                route, matrix, (outputs, proba) = await self._recover(
                    table, route, matrix, want_proba, exc, rid
                )
                labels = (table.endpoint, route.version, route.name)
            ids = _ids(len(matrix))
            shown = proba if want_proba else None  # None too when a fallback has none
            if v2:
                out, binary_at = render_v2(
                    table.endpoint, route.version, req_id, outputs, ids, shown, route.classes,
                    asked,
                )  # fmt: skip
            else:
                out = render_invocations(outputs, ids, route.version, shown, route.classes)
        except _Disconnected:
            return
        except Exception as exc:
            failure = (
                exc
                if isinstance(exc, ConveyorError)
                else _internal(exc, "POST", scope["path"], rid)
            )
            await self._error(send, failure, rid, labels, t0, v2)
            if self.prediction_log is not None and failure.status not in _NOT_LOGGED:
                self._log_failure(table, labels[2], ts_ms, t0, failure)
            return
        headers = [
            _JSON if binary_at is None else (b"content-type", _BINARY_TYPE),
            (b"content-length", b"%d" % len(out)),
            (b"x-request-id", rid.encode()),
            *route.headers,
        ]
        if binary_at is not None:
            headers.append((b"inference-header-content-length", b"%d" % binary_at))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})
        latency = time.perf_counter() - t0
        self.metrics.observe(labels, 200, latency, None if route.batcher else len(matrix))
        if self.prediction_log is not None:
            self.prediction_log.log(
                table.endpoint, route.version, route.name, ids, ts_ms, route.signature,
                matrix, outputs, latency * 1000.0, proba,
            )  # fmt: skip
        if self.access_log:
            log.info(
                "predict",
                extra={"request_id": rid, "endpoint": table.endpoint, "route": route.name,
                       "model_version": route.version, "rows": len(matrix),
                       "latency_ms": round(latency * 1000, 3)},
            )  # fmt: skip
        if table.shadows:
            await self._shadow(table, matrix, outputs, ids, ts_ms, rid)

    def _log_failure(
        self, table: RouteTable, route: str, ts_ms: int, t0: float, exc: ConveyorError
    ) -> None:
        """One prediction-log row for a request answered ``exc.status`` (``route`` "" when
        it failed before a route was chosen): its status and message, no inputs."""
        assert self.prediction_log is not None
        chosen = next((r for r in table.all_routes() if r.name == route), None) if route else None
        served = chosen or table.primary
        self.prediction_log.log_failure(
            table.endpoint, served.version, route or None, served.signature, ts_ms,
            (time.perf_counter() - t0) * 1000.0, exc.status, exc.message,
        )  # fmt: skip

    async def _recover(
        self,
        table: RouteTable,
        route: Route,
        matrix: np.ndarray,
        want_proba: bool,
        exc: Exception,
        rid: str,
    ) -> tuple[Route, np.ndarray, _Scored]:
        """After ``route`` failed on ``matrix``: the table's fallback answer, else ModelError."""
        fallback = table.fallback_for(route)
        labels = (table.endpoint, route.version, route.name)
        error_id = os.urandom(8).hex()
        self.metrics.error(labels, "model_error")
        log.error(
            "model %s version %s on route %s failed: %s",
            table.endpoint, route.version, route.name, exc,
            exc_info=not isinstance(exc, TimeoutError),
            extra={"request_id": rid, "error_id": error_id, "endpoint": table.endpoint,
                   "route": route.name, "fallback": fallback is not None},
        )  # fmt: skip
        if fallback is None:
            what = (
                f"missed its deadline of {table.deadline_ms:g} ms"
                if isinstance(exc, TimeoutError)
                else "failed to predict"
            )
            raise ModelError(
                f"model {table.endpoint!r} version {route.version} {what}; error id {error_id}",
                details={"error_id": error_id},
            ) from None
        matrix = fallback.refit(matrix)
        try:
            scored = await self._call(fallback, matrix, None, want_proba)
            self._check(scored[0], matrix)
        except Exception as exc2:
            self.metrics.error((table.endpoint, fallback.version, fallback.name), "model_error")
            log.error("fallback of %s failed: %s", table.endpoint, exc2, exc_info=True,
                      extra={"request_id": rid, "error_id": error_id})  # fmt: skip
            raise ModelError(
                f"model {table.endpoint!r} and its fallback failed; error id {error_id}",
                details={"error_id": error_id},
            ) from None
        return fallback, matrix, scored

    async def _predict(
        self, table: RouteTable, route: Route, matrix: np.ndarray, want_proba: bool = False
    ) -> _Scored:
        result = await self._call(route, matrix, table.deadline_s, want_proba)
        self._check(result[0], matrix)
        return result

    async def _call(
        self, route: Route, matrix: np.ndarray, deadline: float | None, want_proba: bool = False
    ) -> _Scored:
        """Outputs and class probabilities (or None) of ``route`` for ``matrix``."""
        # a request asking for probabilities skips a batcher that does not compute them
        batcher = route.batcher if not want_proba or route.run is route.scorer else None
        run = route.scorer if want_proba else route.run
        if deadline is None:
            if batcher is not None:
                return await batcher.submit(matrix)
            return run(matrix)
        if batcher is not None:
            job: Awaitable[_Scored] = batcher.submit(matrix)
        else:
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(self.executor, run, matrix)
        try:
            return await asyncio.wait_for(job, deadline)
        except TimeoutError:
            raise TimeoutError(f"deadline of {deadline * 1000:g} ms missed") from None

    @staticmethod
    def _check(outputs: Any, matrix: np.ndarray) -> None:
        if not isinstance(outputs, np.ndarray) or len(outputs) != len(matrix):
            raise RuntimeError(
                f"model returned {type(outputs).__name__} of length "
                f"{len(outputs) if hasattr(outputs, '__len__') else '?'} for {len(matrix)} rows"
            )

    async def _shadow(
        self,
        table: RouteTable,
        matrix: np.ndarray,
        served: np.ndarray,
        ids: list[str],
        ts_ms: int,
        rid: str,
    ) -> None:
        for shadow in table.shadows:
            labels = (table.endpoint, shadow.version, shadow.name)
            t0 = time.perf_counter()
            try:
                rows = shadow.refit(matrix)
                # in the thread pool: a slow shadow must not stall this worker's event loop
                outputs, proba = await asyncio.get_running_loop().run_in_executor(
                    self.executor, shadow.run, rows
                )
                self._check(outputs, rows)
            except Exception as exc:
                self.metrics.error(labels, "shadow_error")
                log.warning("shadow %s of %s failed: %s", shadow.name, table.endpoint, exc,
                            extra={"request_id": rid})  # fmt: skip
                continue
            latency = (time.perf_counter() - t0) * 1000.0
            if outputs.shape == served.shape:
                agree = outputs == served
                if agree.ndim > 1:
                    agree = agree.reshape(len(agree), -1).all(axis=1)
            else:
                agree = np.zeros(len(rows), dtype=bool)
            self.metrics.shadow_compared(labels, int(agree.sum()), len(agree))
            if self.prediction_log is not None:
                self.prediction_log.log(
                    table.endpoint, shadow.version, shadow.name, _ids(len(rows)), ts_ms,
                    shadow.signature, rows, outputs, latency, proba, shadow_of=ids, agree=agree,
                )  # fmt: skip

    # -- other routes ------------------------------------------------------------------------
    def _get(self, path: str, method: str) -> tuple[int, bytes]:
        if method not in ("GET", "HEAD"):
            if path in _GET_PATHS or path.startswith("/v2/models/"):
                raise MethodNotAllowed(f"{path} takes GET, not {method}")
            raise NotFound(f"no route {method} {path}", details={"path": path})
        if path == "/v2/health/live":
            return 200, b'{"live":true}'
        if path == "/v2/health/ready":
            ready = bool(self.router.tables)
            return (200 if ready else 503), orjson.dumps({"ready": ready})
        if path == "/metrics":
            return 200, self.metrics.render()
        if path in ("/ping", "/health"):  # MLflow's scoring server: 200 and a newline
            if not self.router.tables:
                raise StoreUnavailable("no endpoint is loaded yet")
            return 200, b"\n"
        if path == "/version":
            return 200, __version__.encode()
        if path == "/v2":
            return 200, orjson.dumps(
                {"name": self.server_name, "version": __version__,
                 "extensions": ["binary_tensor_data", "conveyor-feedback"]}
            )  # fmt: skip
        if path.startswith("/v2/models/"):
            rest = path[11:]
            ready = rest.endswith("/ready")
            name, version = _model_path(rest[:-6] if ready else rest)
            table = self.router.get(name)
            versions = table.versions
            if version is not None:
                versions = [table.for_version(version).version]
            if ready:
                return 200, orjson.dumps({"name": table.endpoint, "ready": True})
            return 200, self._model_metadata(table, versions)
        raise NotFound(f"no route GET {path}", details={"path": path})

    @staticmethod
    def _model_metadata(table: RouteTable, versions: list[str]) -> bytes:
        """The v2 metadata of ``table``; its output datatypes are read once from the primary
        model's answer to a row of zeros (FP64 when that row cannot be scored)."""
        outputs = table.cache.get("outputs")
        if outputs is None:
            route = table.primary
            sig = route.signature
            datatypes = {"predict": "FP64", "probabilities": "FP64"}
            with suppress(Exception):
                got, _ = route.scorer(np.zeros((1, len(sig)), dtype=sig.dtype))
                datatypes["predict"] = v2_datatype(np.asarray(got))
            names = OUTPUTS if route.scores else OUTPUTS[:1]
            outputs = [{"name": n, "datatype": datatypes[n], "shape": [-1]} for n in names]
            if route.scores:
                outputs[1]["shape"] = [-1, -1]
            table.cache["outputs"] = outputs
        meta = model_metadata(
            table.endpoint, versions, table.signature, outputs, {"traffic": table.describe()}
        )
        return orjson.dumps(meta)

    async def _explain(
        self,
        send: Send,
        receive: Receive,
        path: str,
        rid: str,
        length: bytes | None,
        t0: float,
        bearer: bytes | None = None,
    ) -> None:
        """``POST /explain``, ``/endpoints/{e}/explain``, ``/v2/models/{m}[/versions/{v}]/explain``:
        SHAP contributions per feature of the given rows (the primary route's model, or the
        version named), with base and output values (docs/governance.md#explanations)."""
        v2 = path.startswith("/v2/")
        name: str | None = None
        version: str | None = None
        if v2:
            name, version = _model_path(path[11:-8])
        elif path != "/explain":
            name = path[11:-8]
        if self.inference_keys:
            self._check_key(name, bearer)
        table = self.router.get(name)
        route = table.primary if version is None else table.for_version(version)
        labels = (table.endpoint, route.version, route.name)
        try:
            payload = loads(await self._body(receive, length))
            try:
                if v2:
                    matrix = parse_v2(payload, route.signature, None)[0]
                else:
                    matrix = parse_invocations(payload, route.signature)
            except _UNREADABLE as exc:
                raise _unreadable(exc) from None
            if route.explain is None:
                raise ValidationFailed(
                    f"model {table.endpoint!r} version {route.version} has no explainer on "
                    "this server (only deployed model versions are explained)"
                )
            explain = route.explain
            inline = getattr(explain, "inline", None)
            if inline is not None and inline(len(matrix)):  # a few ms, like a prediction
                result = explain(matrix)
            else:  # the first call builds the explainer; sampling methods take long
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(self.executor, explain, matrix)
            body = orjson.dumps(
                {"model_name": table.endpoint, "model_version": route.version, **result.to_dict()}
            )
        except _Disconnected:
            return
        except ConveyorError as exc:
            await self._error(send, exc, rid, labels, t0, v2)
            return
        await self._send(send, 200, body, rid, list(route.headers))

    async def _feedback(
        self, receive: Receive, send: Send, rid: str, length: bytes | None, bearer: bytes | None
    ) -> None:
        payload = loads(await self._body(receive, length))
        by_endpoint = parse_feedback(payload, self.router.default, self.router.tables)
        if self.inference_keys:  # labels for a keyed endpoint need one of its keys
            for endpoint in by_endpoint:
                self._check_key(endpoint, bearer)
        log_ = self.prediction_log
        if log_ is None:
            raise StoreUnavailable("feedback needs a prediction log; start the server with one")
        ts_ms = time.time_ns() // 1_000_000
        accepted = 0
        for endpoint, pairs in by_endpoint.items():
            if log_.log_feedback(endpoint, pairs, ts_ms):
                accepted += len(pairs)
        answer: dict[str, Any] = {"accepted": accepted, "matched": None}
        if log_.log_uri is not None:  # a custom sink: nothing to match against
            answer["matched"] = 0
            for endpoint, pairs in by_endpoint.items():
                answer["matched"] += await asyncio.to_thread(
                    count_matched, log_.log_uri, endpoint, [p for p, _ in pairs],
                    days=self.feedback_match_days, storage_options=log_.storage_options,
                )  # fmt: skip
        await self._send(send, 200, orjson.dumps(answer), rid)

    # -- plumbing ----------------------------------------------------------------------------
    async def _body(self, receive: Receive, length: bytes | None) -> bytes:
        limit = self.max_body_bytes
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise ValidationFailed("invalid Content-Length header") from None
            if declared > limit:
                raise PayloadTooLarge(
                    f"request body of {declared} bytes is over the limit of {limit} bytes",
                    details={"limit": limit, "size": declared},
                )
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        body: bytes = message.get("body", b"")
        if not message.get("more_body"):
            if len(body) > limit:
                raise PayloadTooLarge(
                    f"request body is over the limit of {limit} bytes", details={"limit": limit}
                )
            return body
        chunks, size = [body], len(body)
        while message.get("more_body"):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"request body is over the limit of {limit} bytes", details={"limit": limit}
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def _send(
        self,
        send: Send,
        status: int,
        body: bytes,
        rid: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [
            (b"content-type", b"application/json")
            if body[:1] in (b"{", b"[")
            else (b"content-type", b"text/plain; version=0.0.4; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        if extra:
            headers.extend(extra)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _error(
        self,
        send: Send,
        exc: ConveyorError,
        rid: str,
        labels: tuple[str, str, str],
        t0: float,
        v2: bool = False,
    ) -> None:
        """Answer ``exc``: on ``/v2`` routes in the protocol's ``{"error": "<message>"}``
        shape (code and details beside it), elsewhere as the REST API does."""
        exc.details.setdefault("request_id", rid)
        extra = None
        if isinstance(exc, MethodNotAllowed):
            extra = _ALLOW_GET if "takes GET" in exc.message else _ALLOW_POST
        if v2:
            body = {"error": exc.message, "code": exc.code, "details": exc.details}
        else:
            body = exc.to_payload()
        await self._send(send, exc.status, orjson.dumps(body), rid, extra)
        self.metrics.observe(labels, exc.status, time.perf_counter() - t0)
        self.metrics.error(labels, exc.code)
