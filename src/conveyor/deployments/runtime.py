"""Runtime bridge: serve an endpoint's current revision and hot-swap new ones.

::

    server = DeploymentServer(LocalBackend.from_settings(), ["churn"])  # an ASGI app
    # uvicorn.run(server) — or serve(["churn"], port=8080, workers=2)

``build_route_table`` turns a stored :class:`Revision` into a serving ``RouteTable``: an
``OnnxPredictor`` from the compiled ONNX bytes (read from the content-addressed store and
verified against their sha256) or, for versions served natively, a ``FunctionPredictor``
over the verified ``LoadedModel``.

``RevisionWatcher`` polls one cheap query (each endpoint's current revision number) every
``interval`` seconds, and the change times of the endpoints' feature bindings (a binding
set, changed or removed rebuilds the table of the revision served: no redeploy). When it
changes, the new table is built off the event loop — models
loaded, ONNX sessions created — and only then made live with ``router.swap(table)``, a single
reference assignment: requests in flight finish on the table they started with, new ones
take the new table, none is dropped. A revision that fails to build (corrupted blob:
IntegrityError; missing model; bad signature) is reported in ``watcher.errors``, in the log
and at ``GET /deployments``, and the previous revision keeps serving. The failed revision
is tried again after ``retry_s`` seconds, then twice as long each time up to
``retry_max_s`` — a transient fault (store briefly unreachable, a blob restored from
backup) heals without a redeploy. The same poll reads which endpoints an operator stopped
(``conveyor.deployments.interventions``: their requests get a 503 naming who and why) and
the digests of their inference keys (``conveyor.governance.inference_keys``), so a stop, a
resume, a new or revoked key counts from the next poll too. Polling was chosen over
database notifications because it works the same on SQLite and PostgreSQL, survives
reconnects, and costs four small indexed queries per interval per process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import orjson

from conveyor.deployments import service
from conveyor.deployments.compile import load_version
from conveyor.deployments.entities import WEIGHTED_ROLES, CompileResult, Revision, RouteSpec
from conveyor.errors import ConveyorError
from conveyor.registry import service as registry
from conveyor.registry.entities import ModelVersion
from conveyor.serving import (
    FunctionPredictor,
    InferenceApp,
    OnnxPredictor,
    Predictor,
    Route,
    Router,
    RouteTable,
)

__all__ = [
    "ENDPOINTS_ENV",
    "LOG_ENV",
    "POLL_ENV",
    "DeploymentServer",
    "PredictorCache",
    "RevisionWatcher",
    "build_route_table",
    "create_app",
    "mount_endpoints",
    "serve",
]

log = logging.getLogger("conveyor.deployments.runtime")

ENDPOINTS_ENV = "CONVEYOR_SERVE_ENDPOINTS"
POLL_ENV = "CONVEYOR_SERVE_POLL_S"
LOG_ENV = "CONVEYOR_SERVE_LOG_URI"
_COLUMN_TYPES = {"double", "float", "long", "integer", "int", "boolean", "bool", "string", "str"}

Scope = MutableMapping[str, Any]


def _columns(mv: ModelVersion) -> list[tuple[str, str, bool]]:
    cols = []
    for i, col in enumerate(service.input_columns(mv)):
        kind = str(col.get("type", "double")).lower()
        name = str(col.get("name") or i)
        required = bool(col.get("required", True))
        cols.append((name, kind if kind in _COLUMN_TYPES else "string", required))
    return cols


class PredictorCache:
    """Predictors already built, by model version and artifact, shared by revisions."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, ...], Predictor] = {}
        self._explainers: dict[tuple[str, str], Any] = {}

    def explainer(self, backend: Any, mv: ModelVersion) -> Any:
        """The version's lazily built explainer (shared by every route serving it)."""
        from conveyor.explain.serving import LazyExplainer

        key = (mv.name, mv.manifest_sha256)
        found = self._explainers.get(key)
        if found is None:
            found = self._explainers[key] = LazyExplainer(backend, mv)
        return found

    def get(self, backend: Any, mv: ModelVersion, compiled: CompileResult | None) -> Predictor:
        if compiled is not None and compiled.status == "onnx" and compiled.onnx_sha256:
            key = ("onnx", mv.name, str(mv.version), compiled.onnx_sha256)
        else:
            key = ("native", mv.name, str(mv.version), mv.manifest_sha256)
        predictor = self._items.get(key)
        if predictor is None:
            predictor = _build_predictor(backend, mv, compiled)
            self._items[key] = predictor
        return predictor

    def retain(self, live: Iterable[Predictor]) -> None:
        """Forget predictors no live table uses any more."""
        keep = {id(p) for p in live}
        self._items = {k: p for k, p in self._items.items() if id(p) in keep}

    def __len__(self) -> int:
        return len(self._items)


def _build_predictor(backend: Any, mv: ModelVersion, compiled: CompileResult | None) -> Predictor:
    """ONNX in onnxruntime when the version compiled, else the native model; classifiers
    also give their class probabilities (logged for monitoring)."""
    columns = _columns(mv)
    version = str(mv.version)
    if compiled is not None and compiled.status == "onnx" and compiled.onnx_sha256:
        from conveyor.models import CompiledModel

        data = backend.artifacts.read_bytes(compiled.onnx_sha256)  # IntegrityError if altered
        model = CompiledModel.from_bytes(data)
        if model.per_column is None:
            return OnnxPredictor(
                model.session, name=mv.name, version=version, columns=columns,
                proba_output="auto" if model.is_classifier else None,
                classes=model.classes, labels_are_indices=model.labels_are_indices,
            )  # fmt: skip
        native: Any = model
    else:
        native = load_version(backend, mv)  # every file verified against the manifest
    classes = native.classes
    return FunctionPredictor(
        native.predict, name=mv.name, version=version, columns=columns,
        proba_fn=native.predict_proba if classes is not None else None, classes=classes,
    )  # fmt: skip


def build_route_table(
    backend: Any, revision: Revision, cache: PredictorCache | None = None
) -> RouteTable:
    """The serving table of a stored revision (loads and verifies every model it needs)."""
    from conveyor.features.serving import serving_enricher

    cache = cache if cache is not None else PredictorCache()
    with backend.read() as conn:
        versions = {
            r.key: registry.get_model_version(conn, r.model, r.version) for r in revision.routes
        }
        features = serving_enricher(conn, revision.endpoint)

    def route(spec: RouteSpec) -> Route:
        predictor = cache.get(backend, versions[spec.key], revision.compiled.get(spec.key))
        weighted = spec.role in WEIGHTED_ROLES
        out = Route(spec.name, predictor, spec.weight if weighted else 100.0)
        out.explain = cache.explainer(backend, versions[spec.key])
        return out

    weighted = [route(r) for r in revision.routes if r.role in WEIGHTED_ROLES]
    shadows = [route(r) for r in revision.routes_by_role("shadow")]
    fallbacks = [route(r) for r in revision.routes_by_role("fallback")]
    return RouteTable(
        revision.endpoint,
        weighted,
        shadows=shadows,
        fallback=fallbacks[0] if fallbacks else None,
        deadline_ms=revision.deadline_ms,
        sticky_header=str(revision.sticky.get("header") or service.DEFAULT_STICKY_HEADER),
        sticky_field=revision.sticky.get("field"),
        revision=str(revision.revision),
        features=features,
    )


@dataclass
class EndpointStatus:
    """What the watcher knows of one endpoint."""

    serving: int | None = None
    latest: int | None = None
    error: str | None = None
    error_code: str | None = None
    failed_revision: int | None = None
    failures: int = 0  # consecutive failed loads of failed_revision
    retry_at: float | None = None  # time.monotonic() of the next attempt
    swaps: int = 0
    features_stamp: int | None = None  # when the feature binding served last changed

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        retry_at = out.pop("retry_at")
        out["retry_in_s"] = (
            None if retry_at is None else round(max(0.0, retry_at - time.monotonic()), 3)
        )
        return out


@dataclass
class RevisionWatcher:
    """Keeps a ``Router`` on each endpoint's current revision (see the module docs).

    ``endpoints=None`` serves every deployed endpoint, including ones deployed later. A
    revision that fails to load is retried after ``retry_s``, doubling up to ``retry_max_s``.
    """

    backend: Any
    router: Router
    endpoints: Sequence[str] | None = None
    interval: float = 1.0
    retry_s: float = 5.0
    retry_max_s: float = 300.0
    cache: PredictorCache = field(default_factory=PredictorCache)
    status: dict[str, EndpointStatus] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.poll_error: str | None = None
        #: endpoint -> who stopped it, when, why (conveyor.deployments.interventions)
        self.stopped: dict[str, dict[str, Any]] = {}
        #: endpoint -> sha256 digests of its live inference keys (every endpoint that
        #: ever had a key is listed: revoking its last key closes it rather than opening it)
        self.keys: dict[str, frozenset[str]] = {}
        #: called after each successful poll of the store (the server applies the keys)
        self.on_poll: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    @property
    def errors(self) -> dict[str, str]:
        return {n: s.error for n, s in self.status.items() if s.error}

    def load_initial(self, *, strict: bool = True) -> None:
        """Build and install every endpoint's table: its current revision, or — when that
        fails to load — the newest earlier revision that loads (the broken one is reported
        in ``status`` and retried with backoff). An endpoint where no revision loads is
        served a 503 with the reason on its routes.

        ``strict``: raise when a named endpoint is not deployed (a server started for named
        endpoints should fail fast on a typo).
        """
        if strict and self.endpoints is not None:
            with self.backend.read() as conn:
                for name in self.endpoints:
                    service.get_deployment(conn, name)  # NotFound names the endpoint
        self.check()

    def _build(self, endpoint: str, number: int) -> RouteTable:
        with self.backend.read() as conn:
            revision = service.get_revision(conn, endpoint, number)
        return build_route_table(self.backend, revision, self.cache)

    def _install(self, table: RouteTable, number: int) -> None:
        self.router.swap(table)
        st = self.status.setdefault(table.endpoint, EndpointStatus())
        st.serving = number
        if st.failed_revision is None or number >= st.failed_revision:
            st.latest = number
            st.error = st.error_code = None
            st.failed_revision = st.retry_at = None
            st.failures = 0
        st.swaps += 1
        live = [r.predictor for t in self.router.tables.values() for r in t.all_routes()]
        self.cache.retain(live)
        log.info("endpoint %s now serves revision %s", table.endpoint, number)

    def _failed(self, name: str, number: int, exc: Exception) -> None:
        st = self.status.setdefault(name, EndpointStatus())
        st.failures = st.failures + 1 if number == st.failed_revision else 1
        backoff = min(self.retry_max_s, self.retry_s * 2 ** (st.failures - 1))
        st.retry_at = time.monotonic() + backoff
        st.failed_revision = number
        st.error = f"revision {number} failed to load: {exc}"
        st.error_code = exc.code if isinstance(exc, ConveyorError) else "internal"
        log.error(
            "endpoint %s: revision %s failed to load (attempt %d, next in %g s), "
            "still serving revision %s: %s",
            name, number, st.failures, backoff, st.serving, exc,
            exc_info=not isinstance(exc, ConveyorError),
        )  # fmt: skip

    def _last_loadable(self, name: str, below: int) -> tuple[RouteTable, int] | None:
        """The newest revision before ``below`` that loads (None: none does)."""
        for number in range(below - 1, 0, -1):
            try:
                return self._build(name, number), number
            except Exception as exc:
                log.warning("endpoint %s: revision %s does not load either: %s", name, number, exc)
        return None

    def poll(self) -> list[tuple[RouteTable, int]]:
        """One check of the store: the tables of endpoints whose revision changed, built.

        Does not swap; failures are recorded in ``status`` and the old table stays live (an
        endpoint serving nothing yet falls back to its newest earlier revision that loads).
        """
        from conveyor.deployments.interventions import stopped_endpoints
        from conveyor.features.serving import binding_stamps
        from conveyor.governance.inference_keys import endpoint_key_digests

        try:
            with self.backend.read() as conn:
                current = service.current_revisions(conn, self.endpoints)
                stopped = stopped_endpoints(conn, self.endpoints)
                keys = endpoint_key_digests(conn, self.endpoints)
                bound = binding_stamps(conn)  # a changed feature binding rebuilds too
            self.poll_error = None
        except Exception as exc:  # store unreachable: keep serving what we have
            self.poll_error = f"{type(exc).__name__}: {exc}"
            log.warning("cannot poll deployments: %s", exc)
            return []
        if stopped != self.stopped:
            for name in stopped.keys() - self.stopped.keys():
                log.warning("endpoint %s stopped by %s: %s", name,
                            stopped[name]["stopped_by"], stopped[name]["reason"])  # fmt: skip
            for name in self.stopped.keys() - stopped.keys():
                log.info("endpoint %s resumed", name)
            self.stopped = stopped
        self.keys = keys
        if self.on_poll is not None:
            self.on_poll()
        return self._changed(current, bound)

    def _changed(
        self, current: dict[str, int], bound: dict[str, int]
    ) -> list[tuple[RouteTable, int]]:
        """The tables of the endpoints whose current revision (or feature binding, by its
        change time in ``bound``) is not the one served."""
        ready = []
        for name, number in current.items():
            st = self.status.setdefault(name, EndpointStatus())
            st.latest = number
            stamp = bound.get(name)
            if (number == st.serving and stamp == st.features_stamp) or (
                number == st.failed_revision and time.monotonic() < (st.retry_at or 0.0)
            ):
                continue
            try:
                ready.append((self._build(name, number), number))
                st.features_stamp = stamp
            except Exception as exc:
                self._failed(name, number, exc)
                if st.serving is None and (older := self._last_loadable(name, number)):
                    ready.append(older)
        return ready

    def check(self) -> list[str]:
        """Poll and swap now (synchronously); returns the endpoints that changed."""
        changed = []
        for table, number in self.poll():
            self._install(table, number)
            changed.append(table.endpoint)
        return changed

    async def refresh(self) -> None:
        """Poll now: build off the event loop, swap on it."""
        for table, number in await asyncio.to_thread(self.poll):
            self._install(table, number)

    async def run(self) -> None:
        """Poll every ``interval`` seconds until :meth:`stop` (the caller has just loaded
        or refreshed, so the first poll waits one interval)."""
        stop = self._stop = self._stop or asyncio.Event()
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
            if not stop.is_set():
                await self.refresh()

    def start(self) -> None:
        if self._task is None:
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self.run(), name="conveyor-revision-watcher")

    async def stop(self) -> None:
        if self._task is None:
            return
        assert self._stop is not None
        self._stop.set()
        task, self._task = self._task, None
        with suppress(asyncio.CancelledError):
            await task

    def describe(self) -> dict[str, Any]:
        return {
            "endpoints": {
                n: {**s.to_dict(), "stopped": self.stopped.get(n)}
                for n, s in sorted(dict(self.status).items())
            },
            "poll_error": self.poll_error,
            "interval_s": self.interval,
        }


_NO_ENDPOINT: Any = object()


def _endpoint_in(path: str) -> Any:
    """The endpoint an inference path names (None: the default), else ``_NO_ENDPOINT``."""
    if path == "/invocations":
        return None
    if path == "/explain":
        return None
    if path.startswith("/endpoints/") and path.endswith(("/invocations", "/explain")):
        return path[11:].rsplit("/", 1)[0]
    if path.startswith("/v2/models/"):
        name = path[11:]
        for suffix in ("/infer", "/ready", "/explain"):
            name = name.removesuffix(suffix)
        return name.split("/versions/", 1)[0]
    return _NO_ENDPOINT


class DeploymentServer:
    """ASGI app: the inference app for deployed endpoints, kept current by a watcher.

    Adds ``GET /deployments`` (revision served per endpoint, load errors) to the inference
    routes. Mounted under another app (``mount_endpoints``) it starts on its first request
    unless the host app calls :meth:`startup` / :meth:`shutdown` in its lifespan.
    It serves the endpoints of its backend's project (``CONVEYOR_PROJECT`` for
    ``conveyor serve``; ``default`` for the ``/serving`` mount of ``conveyor server``).
    """

    def __init__(
        self,
        backend: Any,
        endpoints: Sequence[str] | None = None,
        *,
        poll_interval: float = 1.0,
        strict: bool = True,
        **app_options: Any,
    ) -> None:
        self.router = Router()
        self.watcher = RevisionWatcher(backend, self.router, endpoints, poll_interval)
        self.watcher.load_initial(strict=strict)
        #: keys from the keys file (setting inference_keys_file); the store's are added
        self.file_keys: dict[str, frozenset[str]] = dict(
            app_options.pop("inference_keys", None) or {}
        )
        self.app = InferenceApp(self.router, **app_options)
        self.watcher.on_poll = self._apply_keys
        self._apply_keys()
        self._started = False
        self._lock: asyncio.Lock | None = None
        self._refreshing: asyncio.Future[None] | None = None  # the on-demand poll in flight

    def _apply_keys(self) -> None:
        """The app checks the keys file's digests and the store's (polled by the watcher);
        the mapping is replaced whole, so a request sees one version of it."""
        merged = dict(self.file_keys)
        for name, digests in self.watcher.keys.items():
            merged[name] = merged.get(name, frozenset()) | digests
        if merged != self.app.inference_keys:
            self.app.inference_keys = merged

    def _named_endpoint(self, path: str) -> str | None:
        """The endpoint an inference ``path`` is for (the default one for ``/invocations``),
        None for other paths or when there is no default."""
        name = _endpoint_in(path)
        if name is _NO_ENDPOINT:
            return None
        if name is None:
            fixed = self.watcher.endpoints
            name = self.router.default or (fixed[0] if fixed else None)
        return name

    def _stopped_endpoint(self, path: str) -> tuple[str, dict[str, Any]] | None:
        """The endpoint ``path`` names and its stop, when an operator stopped it."""
        name = self._named_endpoint(path)
        stop = self.watcher.stopped.get(name) if name is not None else None
        return None if stop is None or name is None else (name, stop)

    async def startup(self) -> None:
        if self._started:
            return
        self._started = True
        await self.app.startup()
        await self.watcher.refresh()  # what was deployed since this object was built
        self.watcher.start()

    def _unknown_endpoint(self, path: str) -> bool:
        """True when ``path`` names an endpoint this server does not know (yet) and it
        serves every endpoint (a fixed list is loaded up front)."""
        if self.watcher.endpoints is not None:
            return False
        name = _endpoint_in(path)
        return name is not _NO_ENDPOINT and (name or self.router.default) not in self.router.tables

    def _broken_endpoint(self, path: str) -> tuple[str, EndpointStatus] | None:
        """The endpoint ``path`` names and its status, when it serves nothing because no
        revision loaded (requests then get a 503 with the reason, not a 404)."""
        name = self._named_endpoint(path)
        if name is None or name in self.router.tables:
            return None
        st = self.watcher.status.get(name)
        return (name, st) if st is not None and st.error else None

    async def _refresh_now(self) -> None:
        """Poll once before answering 404, so a request right after a deploy is served;
        concurrent requests share one poll, so a client hammering an unknown name costs
        one query at a time."""
        if self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self.watcher.refresh())
            self._refreshing.add_done_callback(self._refreshed)
        with suppress(Exception):  # logged by _refreshed; the request then gets its 404
            await asyncio.shield(self._refreshing)

    def _refreshed(self, done: asyncio.Future[None]) -> None:
        self._refreshing = None
        if not done.cancelled() and done.exception() is not None:
            log.warning("on-demand deployment poll failed: %s", done.exception())

    async def shutdown(self) -> None:
        if not self._started:
            return
        self._started = False
        await self.watcher.stop()
        await self.app.shutdown()

    async def _lazy_start(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await self.startup()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            if not self._started:
                await self._lazy_start()
            root = scope.get("root_path") or ""
            path: str = scope["path"]
            if root and path.startswith(root):
                path = path[len(root) :] or "/"
                scope = {**scope, "path": path}
            if path == "/deployments" and scope["method"] in ("GET", "HEAD"):
                body = orjson.dumps(self.watcher.describe())
                headers = [(b"content-type", b"application/json"),
                           (b"content-length", str(len(body)).encode())]  # fmt: skip
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            if self._unknown_endpoint(path):  # sync check: no coroutine on the hot path
                await self._refresh_now()
            if self.watcher.stopped and (stopped := self._stopped_endpoint(path)):
                await _send_stopped(send, path, *stopped)
                return
            broken = self._broken_endpoint(path)
            if broken is not None:
                await _send_unavailable(send, path, *broken)
                return
            await self.app(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        from conveyor.serving.app import run_lifespan

        await run_lifespan(receive, send, self.startup, self.shutdown)


async def _send_unavailable(send: Any, path: str, endpoint: str, st: EndpointStatus) -> None:
    """503 for an endpoint none of whose revisions loads: the reason, and when to retry."""
    message = (
        f"endpoint {endpoint!r} cannot serve: {st.error}. Fix the model and deploy again, "
        f"or roll back: `conveyor rollback {endpoint} --reason '...'`"
    )
    details = {"endpoint": endpoint, "revision": st.failed_revision, "cause": st.error_code}
    retry = st.to_dict()["retry_in_s"]
    await _send_503(send, path, message, details, max(1, round(retry or 1)))


async def _send_stopped(send: Any, path: str, endpoint: str, stop: dict[str, Any]) -> None:
    """503 for an endpoint an operator stopped: by whom, when and why."""
    from conveyor._util import to_iso

    message = (
        f"endpoint {endpoint!r} is stopped: {stop['stopped_by']} stopped it at "
        f"{to_iso(stop['stopped_at'])} because: {stop['reason']}. It serves again once "
        f"resumed: `conveyor deployments resume {endpoint} --reason '...'`"
    )
    details = {"endpoint": endpoint, "cause": "stopped", **stop}
    await _send_503(send, path, message, details, None)


async def _send_503(
    send: Any, path: str, message: str, details: dict[str, Any], retry_s: int | None
) -> None:
    payload: dict[str, Any] = (
        {"error": message, **details}  # the v2 protocol's error shape
        if path.startswith("/v2/")
        else {"error": {"code": "unavailable", "message": message, "details": details}}
    )
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    if retry_s is not None:
        headers.append((b"retry-after", str(retry_s).encode()))
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def mount_endpoints(
    app: Any,
    backend: Any = None,
    endpoints: Sequence[str] | None = None,
    *,
    path: str = "/serving",
    poll_interval: float = 1.0,
    **app_options: Any,
) -> DeploymentServer:
    """Mount the inference app for ``endpoints`` (default: all) under ``path`` of a
    Starlette/FastAPI ``app``; returns the server (call its ``startup``/``shutdown`` from
    the host lifespan, or let it start on its first request). An endpoint whose revision
    cannot load does not stop the host app: it is reported at ``{path}/deployments``."""
    if backend is None:
        from conveyor.backend.local import LocalBackend

        backend = LocalBackend.from_settings()
    server = DeploymentServer(
        backend, endpoints, poll_interval=poll_interval, strict=False, **app_options
    )
    app.mount(path, server)
    return server


def _configure_logging() -> None:
    """JSON log lines on stderr for the serving runtime and this bridge (idempotent)."""
    from conveyor.serving.logs import JsonFormatter, configure_logging

    configure_logging()
    logger = logging.getLogger("conveyor.deployments")
    logger.setLevel(logging.INFO)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False


def create_app() -> DeploymentServer:
    """uvicorn factory: endpoints from ``$CONVEYOR_SERVE_ENDPOINTS`` (comma-separated, empty:
    all), poll interval from ``$CONVEYOR_SERVE_POLL_S``, prediction log folder or URL from
    ``$CONVEYOR_SERVE_LOG_URI`` (unset: the ``prediction_log_uri`` setting; empty: no log)."""
    from conveyor.backend.local import LocalBackend
    from conveyor.config import get_settings
    from conveyor.serving import PredictionLog, ServingMetrics
    from conveyor.serving.server import METRICS_DIR_ENV

    _configure_logging()
    names = [n for n in os.environ.get(ENDPOINTS_ENV, "").split(",") if n]
    interval = float(os.environ.get(POLL_ENV, "1.0"))
    log_uri = os.environ.get(LOG_ENV, get_settings().resolved_prediction_log_uri)
    from conveyor.governance.inference_keys import load_inference_keys

    return DeploymentServer(
        LocalBackend.from_settings(),
        names or None,
        poll_interval=interval,
        prediction_log=PredictionLog(log_uri) if log_uri else None,
        metrics=ServingMetrics(os.environ.get(METRICS_DIR_ENV)),  # shared by workers
        freeze_gc=True,
        inference_keys=load_inference_keys(get_settings().inference_keys_file),
    )


def serve(
    endpoints: Sequence[str] | None,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    *,
    poll_interval: float = 1.0,
    log_uri: str | None = None,
) -> None:
    """Run the inference server for ``endpoints`` until SIGTERM/SIGINT (every worker
    process builds its own tables and runs its own watcher)."""
    from conveyor.backend.local import LocalBackend
    from conveyor.config import get_settings
    from conveyor.governance.inference_keys import load_inference_keys
    from conveyor.serving import run_server

    load_inference_keys(get_settings().inference_keys_file)  # fail fast on a bad file
    backend = LocalBackend.from_settings()
    with backend.read() as conn:  # fail fast, naming the endpoint
        for name in endpoints or []:
            service.get_revision(conn, name)
    backend.meta.dispose()
    os.environ[ENDPOINTS_ENV] = ",".join(endpoints or [])
    os.environ[POLL_ENV] = str(poll_interval)
    if log_uri is not None:  # "" turns the prediction log off
        os.environ[LOG_ENV] = log_uri
    run_server("conveyor.deployments.runtime:create_app", host, port, workers)
