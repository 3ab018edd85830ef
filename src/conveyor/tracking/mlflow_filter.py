"""MLflow's run-search grammar, parsed into Conveyor's search clauses.

MLflow's filter language is Conveyor's (``metrics.auc > 0.8 and params.model = 'rf'``,
backticks or double quotes around odd keys, ``IN (...)``, ``LIKE``/``ILIKE``, AND only);
the dialect differs in attribute names: ``attributes.run_name``, ``attributes.user_id``,
``attributes.created``, and ``tags.mlflow.runName`` meaning the run's name. Anything
MLflow accepts that Conveyor cannot answer (``datasets.*``, ``attributes.artifact_uri``)
is refused naming what to use instead. Both the MLflow REST adapter
(:mod:`conveyor.mlflow_api`) and the SDK's MLflow spellings parse with these functions.
"""

from __future__ import annotations

from conveyor.errors import ValidationFailed
from conveyor.tracking.search import (
    ATTRIBUTES,
    Clause,
    OrderKey,
    _Parser,
    parse_filter,
    parse_order_by,
)

__all__ = ["MLFLOW_ATTRIBUTES", "parse_mlflow_filter", "parse_mlflow_order_by"]

#: MLflow's run attribute names → the runs table's columns.
MLFLOW_ATTRIBUTES = {
    **ATTRIBUTES,
    "user_id": "user",
    "created": "start_time",
    "run_uuid": "id",
}
_UNSUPPORTED = {
    "artifact_uri": "artifact locations are derived from the run id: filter on run_id",
    "lifecycle_stage": "pass run_view_type (ACTIVE_ONLY, DELETED_ONLY, ALL) instead",
}
#: tags whose value is a run attribute in Conveyor
_TAG_ATTRIBUTES = {"mlflow.runName": "name", "mlflow.user": "user"}


class _MlflowParser(_Parser):
    def _attribute(self, name: str) -> str:
        low = name.lower()
        if low in _UNSUPPORTED:
            raise ValidationFailed(f"attribute {name!r} is not searchable: {_UNSUPPORTED[low]}")
        attr = MLFLOW_ATTRIBUTES.get(low)
        if attr is None:
            raise ValidationFailed(
                f"unknown run attribute {name!r}; use one of "
                f"{', '.join(sorted(MLFLOW_ATTRIBUTES))}, or metrics.<key>, params.<key>, "
                "tags.<key>"
            )
        return attr

    def entity(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is not None and tok[0] == "word" and tok[1].lower() in ("dataset", "datasets"):
            raise ValidationFailed(
                "datasets.* filters are not supported; filter runs on tags or params, or "
                "find a dataset's runs with `conveyor datasets` lineage"
            )
        kind, key = super().entity()
        if kind == "tag" and key in _TAG_ATTRIBUTES:
            return "attribute", _TAG_ATTRIBUTES[key]
        return kind, key


def parse_mlflow_filter(text: str | None) -> list[Clause]:
    """Parse an MLflow ``search_runs`` filter string into Conveyor clauses."""
    return parse_filter(text, dialect=_MlflowParser)


def parse_mlflow_order_by(items: list[str] | str | None) -> list[OrderKey]:
    """Parse MLflow ``order_by`` terms (``["metrics.rmse ASC", "attributes.start_time"]``)."""
    return parse_order_by(items, dialect=_MlflowParser)
