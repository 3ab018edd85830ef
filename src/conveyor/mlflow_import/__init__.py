"""``conveyor import mlflow``: copy an MLflow store (SQL database, tracking server, or
``mlruns`` folder) into Conveyor, idempotently. See docs/mlflow.md, "Importing an MLflow
store".

- ``records.py``: what a source yields (experiments, runs, models, versions);
- ``sql_source.py``, ``rest_source.py``, ``files_source.py``: the three readers;
- ``artifacts.py``: reading MLflow artifact URIs (local paths, the artifact proxy);
- ``models.py``: an MLflow model folder → a Conveyor model package;
- ``importer.py``: the copy, through the operation table (``conveyor.connect()``).
"""

from conveyor.mlflow_import.importer import ImportSummary, import_mlflow
from conveyor.mlflow_import.sources import open_source

__all__ = ["ImportSummary", "import_mlflow", "open_source"]
