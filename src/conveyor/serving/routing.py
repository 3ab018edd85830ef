"""Traffic routing for endpoints: primary, canary, A/B, shadow, fallback, hot swap.

A ``RouteTable`` is an immutable description of one endpoint's traffic::

    RouteTable("churn", routes=[Route("primary", v3, weight=90), Route("canary", v4, weight=10)],
               shadows=[Route("shadow", v5)], fallback=Route("fallback", rules),
               deadline_ms=50)

Serving routes share the traffic by weight. When the request carries a key (header
``X-Conveyor-Key`` by default, or a field named by ``sticky_field``) the choice is a hash of
that key, so the same key always lands on the same route (sticky A/B); without a key it is
random. Shadows get a copy of each request after the response has been sent; their output
is compared with the served one and logged, never returned. The fallback answers when the
chosen route raises or misses ``deadline_ms``.

``Router`` holds the live table of each endpoint. ``swap(table)`` replaces it with one
reference assignment: a request reads its table once when it starts and finishes on it,
so a swap drops nothing.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from conveyor.errors import NotFound, ValidationFailed
from conveyor.serving.predictor import Predictor, Signature

__all__ = ["Route", "RouteTable", "Router", "scored", "unscored"]

_SCALE = 1 << 32


def unscored(predictor: Predictor) -> Callable[[np.ndarray], tuple[np.ndarray, None]]:
    """``predict_matrix`` as a runner that gives no probabilities."""
    predict = predictor.predict_matrix
    return lambda matrix: (predict(matrix), None)


def scored(predictor: Predictor) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]:
    """The predictor's ``predict_scored`` when it has one, else :func:`unscored`."""
    run = getattr(predictor, "predict_scored", None)
    return run if callable(run) else unscored(predictor)


def _sticky_field(payload: Any, field: str) -> str | None:
    """The value of ``field`` in the first row of a request body, if it has one."""
    if not isinstance(payload, Mapping):
        return None
    for key in ("records", "dataframe_records", "instances", "inputs"):
        value = payload.get(key)
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            value = value[0]
        if isinstance(value, Mapping) and field in value:
            return str(value[field])
    return None


class Route:
    """One predictor under a route name (``primary``, ``canary``, ``b`` ...) with a weight."""

    __slots__ = (
        "batcher", "classes", "explain", "headers", "name", "predictor", "run", "scorer",
        "scores", "signature", "version", "weight",
    )  # fmt: skip

    def __init__(self, name: str, predictor: Predictor, weight: float = 100.0) -> None:
        if weight < 0:
            raise ValidationFailed(f"route {name!r} has a negative weight {weight}")
        self.name = name
        self.predictor = predictor
        self.weight = float(weight)
        self.signature = Signature(predictor.input_columns, dtype=predictor.matrix_dtype)
        self.label(predictor.version)
        self.batcher: Any = None  # set by the app when micro-batching is on
        # matrix -> ExplainResult for POST /explain (set by the deployment runtime; None:
        # this route cannot explain, the request gets a 422 saying so)
        self.explain: Callable[[np.ndarray], Any] | None = None
        # matrix -> (outputs, class probabilities or None): ``run`` serves requests (the
        # app makes it ``scorer`` when it logs predictions), ``scorer`` answers requests
        # that ask for probabilities
        self.run: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]] = unscored(predictor)
        self.scorer = scored(predictor)
        self.scores = bool(getattr(predictor, "scores", False))
        self.classes = getattr(predictor, "classes", None)

    def refit(self, matrix: np.ndarray) -> np.ndarray:
        """The same rows in this route's dtype (the column order is the signature's)."""
        dtype = self.signature.dtype
        return matrix if matrix.dtype == dtype else matrix.astype(dtype)

    def label(self, version: str) -> None:
        """Set the version label of the answers (responses, headers, metrics, the log)."""
        self.version: str = version
        # response headers naming what answered, encoded once
        self.headers = (
            (b"x-conveyor-model-version", version.encode()),
            (b"x-conveyor-route", self.name.encode()),
        )

    def __repr__(self) -> str:
        return f"Route({self.name!r}, {self.predictor!r}, weight={self.weight})"


class RouteTable:
    """The traffic of one endpoint. Immutable once built."""

    def __init__(
        self,
        endpoint: str,
        routes: Sequence[Route] | Predictor,
        *,
        shadows: Iterable[Route] = (),
        fallback: Route | Predictor | None = None,
        deadline_ms: float | None = None,
        sticky_header: str = "x-conveyor-key",
        sticky_field: str | None = None,
        revision: str | None = None,
        features: Any = None,
    ) -> None:
        if not isinstance(routes, Sequence):
            routes = [Route("primary", routes)]
        if not routes:
            raise ValidationFailed(f"endpoint {endpoint!r} needs at least one route")
        names = [r.name for r in routes]
        if len(set(names)) != len(names):
            raise ValidationFailed(f"endpoint {endpoint!r} has duplicate route names {names}")
        total = sum(r.weight for r in routes)
        if total <= 0:
            raise ValidationFailed(f"endpoint {endpoint!r}: route weights sum to zero")
        self.endpoint = endpoint
        self.routes = tuple(routes)
        self.shadows = tuple(shadows)
        if fallback is not None and not isinstance(fallback, Route):
            fallback = Route("fallback", fallback)
        self.fallback: Route | None = fallback
        self.deadline_ms = deadline_ms
        self.deadline_s = deadline_ms / 1000.0 if deadline_ms else None
        self.sticky_header = sticky_header.lower().encode("latin-1")
        self.sticky_field = sticky_field
        self.revision = revision
        #: a ``conveyor.features.serving.FeatureEnricher`` when the endpoint looks features
        #: up before predicting (its ``enrich(payload)`` returns the completed payload)
        self.features = features
        self.primary = self.routes[0]
        self.signature = self.primary.signature
        # routes over different models (a canary of another model): "1" would be ambiguous,
        # so every answer names its model too, as "<model>/<version>"
        every = self.all_routes()
        if len({r.predictor.name for r in every}) > 1:
            for r in every:
                r.label(f"{r.predictor.name}/{r.predictor.version}")
        # cumulative thresholds on [0, 2**32) for the weighted choice
        acc, cuts = 0.0, []
        for r in self.routes[:-1]:
            acc += r.weight
            cuts.append(int(acc / total * _SCALE))
        self._cuts = cuts
        self.single = len(self.routes) == 1
        self.cache: dict[str, Any] = {}  # answers derived once from this table (metadata)

    @property
    def version(self) -> str:
        return self.primary.version

    def all_routes(self) -> list[Route]:
        extra = [self.fallback] if self.fallback is not None else []
        return [*self.routes, *self.shadows, *extra]

    def choose(self, key: str | bytes | None = None) -> Route:
        """The serving route for one request; deterministic when a key is given."""
        if self.single:
            return self.primary
        if key is None:
            point = random.getrandbits(32)
        else:
            raw = key.encode() if isinstance(key, str) else key
            digest = hashlib.blake2b(raw, digest_size=8, person=b"conveyor").digest()
            point = int.from_bytes(digest[:4], "big")
        return self.routes[bisect.bisect_right(self._cuts, point)]

    def pick(self, payload: Any, headers: Iterable[tuple[bytes, bytes]]) -> Route:
        """The serving route for a request: by its sticky key (the ``sticky_field`` in the
        body, else the sticky header) when it has one, else by weight at random."""
        if self.single:
            return self.primary
        key: Any = None
        if self.sticky_field is not None:
            key = _sticky_field(payload, self.sticky_field)
        if key is None:
            for hk, hv in headers:
                if hk == self.sticky_header:
                    key = hv
                    break
        return self.choose(key)

    @property
    def versions(self) -> list[str]:
        """The versions the serving routes answer with, in route order."""
        return list(dict.fromkeys(r.version for r in self.routes))

    def for_version(self, version: str) -> Route:
        """The serving route of ``version`` (its label, or its model's own version)."""
        for r in self.routes:
            if version in (r.version, r.predictor.version):
                return r
        raise NotFound(
            f"endpoint {self.endpoint!r} does not serve version {version!r}; it serves "
            f"{self.versions}",
            details={"version": version, "served": self.versions},
        )

    def fallback_for(self, failed: Route) -> Route | None:
        """The route that answers when ``failed`` raised or missed the deadline, if any."""
        fallback = self.fallback
        return None if fallback is None or fallback is failed else fallback

    def describe(self) -> dict[str, Any]:
        total = sum(r.weight for r in self.routes)
        return {
            "endpoint": self.endpoint,
            "revision": self.revision,
            "routes": [
                {"name": r.name, "version": r.version, "weight": r.weight / total * 100}
                for r in self.routes
            ],
            "shadows": [{"name": r.name, "version": r.version} for r in self.shadows],
            "fallback": (
                {"name": self.fallback.name, "version": self.fallback.version}
                if self.fallback
                else None
            ),
            "deadline_ms": self.deadline_ms,
        }


class Router:
    """The live route tables, by endpoint name; the first one added is the default."""

    def __init__(self, tables: Iterable[RouteTable] = (), default: str | None = None) -> None:
        self.tables: dict[str, RouteTable] = {}
        for t in tables:
            self.tables[t.endpoint] = t
        self.default = default or next(iter(self.tables), None)
        self.on_swap: list[Any] = []  # callbacks(table) run after each swap

    def get(self, endpoint: str | None) -> RouteTable:
        """The table of ``endpoint`` (None: the default one); NotFound naming those served."""
        name = self.default if endpoint is None else endpoint
        table = self.tables.get(name) if name is not None else None
        if table is None:
            raise NotFound(
                f"no model or endpoint named {name!r}; serving: {sorted(self.tables)}",
                details={"name": name, "known": sorted(self.tables)},
            )
        return table

    def swap(self, table: RouteTable) -> RouteTable | None:
        """Make ``table`` live for its endpoint, atomically; returns the table it replaced."""
        for hook in self.on_swap:
            hook(table)
        old = self.tables.get(table.endpoint)
        tables = dict(self.tables)
        tables[table.endpoint] = table
        self.tables = tables  # one reference assignment: readers see old or new, whole
        if self.default is None:
            self.default = table.endpoint
        return old

    def remove(self, endpoint: str) -> None:
        tables = dict(self.tables)
        tables.pop(endpoint, None)
        self.tables = tables
        if self.default == endpoint:
            self.default = next(iter(tables), None)
