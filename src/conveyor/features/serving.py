"""Features looked up at serving time: requests carry entity keys, the server adds the rest.

An endpoint bound to a feature service (``set_endpoint_features``) gets a
``FeatureEnricher`` on its route table: before the model runs, the request's rows (MLflow
``dataframe_records`` / ``dataframe_split`` / ``records`` / ``inputs`` as objects) are read
for their join keys, every view of the service is read in one online-store round trip,
and the values join each row — a value the request already carries (a request-time
feature) wins. The model, and so the prediction log, see the full feature vector. On the
v2 inference protocol (``/v2/models/{m}/infer``) the request's named inputs carry the join
keys (one value per row, JSON data); the rest of the vector is added as named inputs.

``on_missing``: ``"fail"`` answers 422 naming the entity and feature (503 when the online
store is unreachable); ``"defaults"`` fills the Fields' declared defaults instead (and
fails only for a feature that declares none). The store's timeouts bound the wait.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import EndpointName, Rule
from conveyor._util import new_id, now_ms
from conveyor.errors import NotFound, StoreUnavailable, ValidationFailed
from conveyor.features.lookup import FeatureLookup, shared_store
from conveyor.features.registry import resolve_features
from conveyor.features.tables import endpoint_features
from conveyor.store.projects import in_current_project
from conveyor.store.tables import DEFAULT_PROJECT_ID
from conveyor.store.uow import UnitOfWork

__all__ = [
    "ON_MISSING",
    "EndpointFeatures",
    "FeatureEnricher",
    "binding_stamps",
    "delete_endpoint_features",
    "get_endpoint_features",
    "serving_enricher",
    "set_endpoint_features",
]

ON_MISSING = ("fail", "defaults")


class FeatureEnricher:
    """Adds a feature service's online values to each row of an inference request."""

    def __init__(self, lookup: FeatureLookup, service: str, on_missing: str = "fail") -> None:
        if on_missing not in ON_MISSING:
            raise ValidationFailed(f"on_missing {on_missing!r}: use one of {', '.join(ON_MISSING)}")
        self.lookup, self.service, self.on_missing = lookup, service, on_missing
        self.defaults = {f["name"]: f.get("default") for v in lookup.views for f in v.features}

    def _rows(self, payload: Any) -> list[dict[str, Any]]:
        if isinstance(payload, dict):
            for key in ("dataframe_records", "records", "inputs", "instances"):
                value = payload.get(key)
                if isinstance(value, dict):
                    value = [value]
                if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
                    return [dict(r) for r in value]
            split = payload.get("dataframe_split")
            if isinstance(split, dict) and isinstance(split.get("columns"), list):
                cols = split["columns"]
                return [dict(zip(cols, row, strict=False)) for row in split.get("data") or []]
        raise ValidationFailed(
            f"this endpoint looks features up (service {self.service!r}): send rows as objects "
            f"with the join keys {', '.join(self.lookup.join_keys)} (dataframe_records, "
            "dataframe_split or records)"
        )

    def enrich(self, payload: Any, signature: Any = None) -> dict[str, Any]:
        """The payload as ``dataframe_records`` with every feature filled in; join keys the
        model's ``signature`` does not take as inputs are dropped."""
        rows = self._rows(payload)
        try:
            found = self.lookup.get(rows, use_defaults=self.on_missing == "defaults")
        except StoreUnavailable as exc:
            found = self._unreachable(exc, len(rows))
        return {"dataframe_records": self._join(rows, found, signature)}

    async def enrich_async(
        self, payload: Any, signature: Any = None, executor: Executor | None = None
    ) -> dict[str, Any]:
        """``enrich`` from the inference server's event loop: the store read without a
        thread hop where the store allows (Redis on TCP), else in ``executor``."""
        rows = self._rows(payload)
        try:
            found = await self.lookup.get_async(
                rows, use_defaults=self.on_missing == "defaults", executor=executor
            )
        except StoreUnavailable as exc:
            found = self._unreachable(exc, len(rows))
        return {"dataframe_records": self._join(rows, found, signature)}

    def close_loop(self) -> None:
        """Release the online store's connection of the running event loop (server
        shutdown)."""
        self.lookup.store.close_loop()

    def _unreachable(self, exc: StoreUnavailable, n: int) -> Any:
        """The store is down: 503 (``fail``), or every feature's default (``defaults``)."""
        if self.on_missing != "defaults":
            raise StoreUnavailable(
                f"feature lookup for service {self.service!r} failed: {exc.message}"
            ) from None
        return self._all_defaults(n)

    def _join(self, rows: list[dict[str, Any]], found: Any, signature: Any) -> list[dict[str, Any]]:
        """``rows`` with the looked-up values joined (a request-time value wins)."""
        defaults = self.on_missing == "defaults"
        for name, column in found.values.items():
            for i, value in enumerate(column):
                row = rows[i]
                if row.get(name) is not None:
                    continue  # a request-time value wins
                if value is None and name in found.statuses:
                    status = found.statuses[name][i]
                    raise ValidationFailed(
                        f"row {i}: no online value for feature {name!r} of service "
                        f"{self.service!r} ({status}); materialize the view"
                        + ("" if defaults else " or bind the endpoint with on_missing=defaults"),
                        details={"row": i, "feature": name, "status": status},
                    )
                row[name] = value
        inputs = set(getattr(signature, "names", None) or ())
        drop = [k for k in self.lookup.join_keys if inputs and k not in inputs]
        for row in rows:
            for key in drop:
                row.pop(key, None)
        return rows

    def enrich_v2(self, payload: Any, signature: Any = None) -> dict[str, Any]:
        """A v2 inference request whose named inputs carry the join keys (and any
        request-time features), one value per row -> the same request with one input per
        column of the full feature vector (``id``, ``outputs``, ``parameters`` kept)."""
        rows = self._v2_rows(payload)
        return self._v2_request(payload, self.enrich({"dataframe_records": rows}, signature))

    async def enrich_v2_async(
        self, payload: Any, signature: Any = None, executor: Executor | None = None
    ) -> dict[str, Any]:
        """``enrich_v2`` from the event loop, as ``enrich_async``."""
        rows = self._v2_rows(payload)
        records = await self.enrich_async({"dataframe_records": rows}, signature, executor)
        return self._v2_request(payload, records)

    def _v2_rows(self, payload: Any) -> list[dict[str, Any]]:
        """The rows of a v2 request's named inputs (one value per row)."""
        inputs = payload.get("inputs") if isinstance(payload, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise self._v2_refusal("the body has no list 'inputs'")
        columns: dict[str, list[Any]] = {}
        for i, entry in enumerate(inputs):
            name = entry.get("name") if isinstance(entry, dict) else None
            data = entry.get("data") if isinstance(entry, dict) else None
            params = entry.get("parameters") if isinstance(entry, dict) else None
            if isinstance(params, dict) and "binary_data_size" in params:
                raise self._v2_refusal(f"input {name!r} is binary; send these inputs as JSON")
            if not isinstance(name, str) or not isinstance(data, list):
                raise self._v2_refusal(f"inputs[{i}] needs a 'name' and a 'data' list")
            columns[name] = [v for x in data for v in (x if isinstance(x, list) else [x])]
        missing = [k for k in self.lookup.join_keys if k not in columns]
        if missing:
            raise self._v2_refusal(f"no input named {', '.join(map(repr, missing))}")
        n = len(columns[self.lookup.join_keys[0]])
        uneven = [name for name, values in columns.items() if len(values) != n]
        if uneven:
            raise self._v2_refusal(
                f"input(s) {', '.join(map(repr, uneven))} do not have {n} values (one per row)"
            )
        return [{name: values[i] for name, values in columns.items()} for i in range(n)]

    @staticmethod
    def _v2_request(payload: dict[str, Any], enriched: dict[str, Any]) -> dict[str, Any]:
        """The v2 request with one named input per column of the enriched rows."""
        records = enriched["dataframe_records"]
        n = len(records)
        names = list(records[0]) if records else []
        full = [{"name": c, "shape": [n], "data": [r.get(c) for r in records]} for c in names]
        return {**payload, "inputs": full}

    def _v2_refusal(self, what: str) -> ValidationFailed:
        example = {"name": self.lookup.join_keys[0], "shape": [1], "data": [42]}
        return ValidationFailed(
            f"this endpoint looks features up (service {self.service!r}): {what}; send the "
            f"join key(s) {', '.join(self.lookup.join_keys)} as named inputs, one value per "
            f"row, e.g. {{'inputs': [{example}]}}",
            details={"errors": [{"field": "inputs", "error": what}]},
        )

    def _all_defaults(self, n: int) -> Any:
        from conveyor.features.online.response import OnlineResponse

        values = {name: [default] * n for name, default in self.defaults.items()}
        return OnlineResponse(values, {name: ["UNAVAILABLE"] * n for name in values})


@dataclass(slots=True)
class EndpointFeatures:
    """The feature service an endpoint looks up, and its policy for missing values."""

    id: str
    endpoint: str
    service: str
    on_missing: str
    created_by: str
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _where(endpoint: str, project_id: str) -> Any:
    t = endpoint_features
    return (t.c.project_id == project_id) & (t.c.endpoint == endpoint)


@in_current_project
def set_endpoint_features(
    uow: UnitOfWork,
    endpoint: EndpointName,
    service: str,
    *,
    on_missing: Annotated[str, Rule({"enum": list(ON_MISSING)})] = "fail",
    project_id: str = DEFAULT_PROJECT_ID,
) -> EndpointFeatures:
    """Bind ``endpoint`` to a feature service; servers already serving it pick the binding
    up on their next poll of the store (``CONVEYOR_SERVE_POLL_S``), no redeploy needed."""
    from conveyor.deployments.service import check_endpoint  # a deployment's name rules

    check_endpoint(endpoint)
    if on_missing not in ON_MISSING:
        raise ValidationFailed(f"on_missing {on_missing!r}: use one of {', '.join(ON_MISSING)}")
    resolve_features(uow.conn, service=service, project_id=project_id)  # NotFound names it
    values = {
        "service": service,
        "on_missing": on_missing,
        "created_by": str(uow.actor),
        "updated_at": now_ms(),
    }
    t = endpoint_features
    current = uow.conn.execute(sa.select(t.c.id).where(_where(endpoint, project_id))).scalar()
    if current is None:
        current = new_id()
        uow.conn.execute(
            t.insert().values(id=current, project_id=project_id, endpoint=endpoint, **values)
        )
    else:
        uow.conn.execute(t.update().where(_where(endpoint, project_id)).values(**values))
    uow.audit("endpoint.features.set", "deployment", endpoint, {"endpoint": endpoint, **values})
    return get_endpoint_features(uow.conn, endpoint, project_id=project_id)


@in_current_project
def get_endpoint_features(
    conn: sa.Connection, endpoint: str, *, project_id: str = DEFAULT_PROJECT_ID
) -> EndpointFeatures:
    """The binding of ``endpoint``; NotFound when it looks no features up."""
    row = conn.execute(sa.select(endpoint_features).where(_where(endpoint, project_id))).first()
    if row is None:
        raise NotFound(f"endpoint {endpoint!r} is bound to no feature service")
    return EndpointFeatures(**{f: getattr(row, f) for f in EndpointFeatures.__dataclass_fields__})


@in_current_project
def delete_endpoint_features(
    uow: UnitOfWork, endpoint: str, *, project_id: str = DEFAULT_PROJECT_ID
) -> None:
    """Stop looking features up for ``endpoint``."""
    get_endpoint_features(uow.conn, endpoint, project_id=project_id)
    uow.conn.execute(endpoint_features.delete().where(_where(endpoint, project_id)))
    uow.audit("endpoint.features.delete", "deployment", endpoint, {"endpoint": endpoint})


@in_current_project
def binding_stamps(conn: sa.Connection, *, project_id: str = DEFAULT_PROJECT_ID) -> dict[str, int]:
    """``{endpoint: time its binding last changed}`` — polled with the revisions by the
    deployment runtime, which rebuilds an endpoint's table when its stamp changes (a new
    binding, a new service or policy, an unbinding) without a new revision."""
    t = endpoint_features
    rows = conn.execute(sa.select(t.c.endpoint, t.c.updated_at).where(t.c.project_id == project_id))
    return {endpoint: int(at) for endpoint, at in rows}


@in_current_project
def serving_enricher(
    conn: sa.Connection, endpoint: str, *, project_id: str = DEFAULT_PROJECT_ID
) -> FeatureEnricher | None:
    """The enricher for a route table of ``endpoint`` (None when it is bound to none)."""
    row = conn.execute(sa.select(endpoint_features).where(_where(endpoint, project_id))).first()
    if row is None:
        return None
    views = resolve_features(conn, service=row.service, project_id=project_id)
    return FeatureEnricher(FeatureLookup(views, shared_store()), row.service, row.on_missing)
