"""Batch scoring: stream Parquet/CSV in chunks, bounded memory, clear schema errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conveyor.deployments import predict_file
from conveyor.deployments.cli import app
from conveyor.errors import NotFound, ValidationFailed

from .helpers import log_and_register


@pytest.fixture
def scored(home_backend: Any, forests: list[Any], clf_data: Any, tmp_path: Path) -> Path:
    """A registered forest (alias champion) and a 1,000-row input Parquet file."""
    X = clf_data[0]
    log_and_register(forests[0], "churn", X.head(10))
    home_backend.set_model_alias("churn", "champion", 1)
    big = pd.concat([X] * 4, ignore_index=True).head(1000)
    path = tmp_path / "in.parquet"
    big.to_parquet(path, row_group_size=128)
    return path


def test_parquet_streams_in_chunks(
    home_backend: Any, scored: Path, forests: list[Any], tmp_path: Path
) -> None:
    calls: list[tuple[int, int | None]] = []
    out = tmp_path / "out" / "scores.parquet"
    stats = predict_file(home_backend, "models:/churn@champion", scored, out, chunk_rows=300,
                         progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert (stats.rows, stats.chunks, stats.model_version) == (1000, 4, 1)
    assert calls == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
    result = pq.ParquetFile(out)
    assert result.metadata.num_rows == 1000
    frame = result.read().to_pandas()
    source = pd.read_parquet(scored)
    assert list(frame.columns) == [*source.columns, "prediction"]
    assert (frame["prediction"].to_numpy() == forests[0].predict(source)).all()


def test_csv_input_and_schema_errors(home_backend: Any, scored: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(scored)
    csv = tmp_path / "in.csv"
    frame = frame.assign(customer_id=[f"c{i}" for i in range(len(frame))])  # passed through
    frame.to_csv(csv, index=False)
    out = tmp_path / "csv-out.parquet"
    stats = predict_file(home_backend, "models:/churn/1", csv, out, chunk_rows=256)
    assert stats.rows == len(frame) == pq.ParquetFile(out).metadata.num_rows
    scores = pd.read_parquet(out)
    assert scores["customer_id"].tolist() == frame["customer_id"].tolist()
    assert scores["f0"].dtype == np.float64

    bad = tmp_path / "bad.parquet"
    frame.drop(columns=["f2"]).assign(f1=lambda d: d["f1"].astype(str)).to_parquet(bad)
    with pytest.raises(ValidationFailed, match=r"f2 \(missing\)") as info:
        predict_file(home_backend, "models:/churn/1", bad, tmp_path / "x.parquet")
    assert "f1" in info.value.message
    assert not (tmp_path / "x.parquet").exists()
    with pytest.raises(NotFound, match="no input file"):
        predict_file(home_backend, "models:/churn/1", tmp_path / "nope.parquet", out)
    with pytest.raises(ValidationFailed, match="chunk_rows"):
        predict_file(home_backend, "models:/churn/1", csv, out, chunk_rows=0)
    before = bad.read_bytes()
    with pytest.raises(ValidationFailed, match="is the input file"):
        predict_file(home_backend, "models:/churn/1", bad, tmp_path / "." / "bad.parquet")
    assert bad.read_bytes() == before


def test_cli_predict_and_deploy_commands(scored: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli.parquet"
    result = runner.invoke(app, ["predict", "--model", "churn@champion", "--input", str(scored),
                                 "--output", str(out), "--chunk-rows", "400"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 1000 predictions in 3 chunk(s)" in result.output
    assert pq.ParquetFile(out).metadata.num_rows == 1000

    result = runner.invoke(
        app, ["deploy", "churn-api", "--model", "churn@champion", "--validation-data", str(scored)]
    )
    assert result.exit_code == 0, result.output
    assert "churn/1: ONNX" in result.output
    result = runner.invoke(app, ["deploy", "churn-api", "--model", "churn/1",
                                 "--shadow", "churn/1", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for args in (["deployments", "list"], ["deployments", "show", "churn-api"],
                 ["deployments", "revisions", "churn-api"],
                 ["rollback", "churn-api", "--reason", "r"]):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "churn" in result.output
    result = runner.invoke(app, ["deployments", "revisions", "churn-api", "--json"])
    revisions = json.loads(result.output)
    assert [r["revision"] for r in revisions] == [3, 2, 1]
    assert revisions[0]["reason"] == "rollback" and revisions[0]["restored_from"] == 1
    parity = revisions[2]["compiled"]["churn/1"]["parity"]
    assert np.isclose(parity["agreement"], 1.0) and parity["rows"] == 1000


def test_a_bad_csv_value_names_column_row_and_value(
    home_backend: Any, scored: Path, tmp_path: Path
) -> None:
    frame = pd.read_parquet(scored)
    near = tmp_path / "near.csv"
    frame.astype(object).assign(f1=lambda d: d["f1"].where(d.index != 2, "1.2.3")).to_csv(
        near, index=False
    )
    from conveyor.cli.main import app as conveyor_cli  # the root group formats errors

    result = CliRunner().invoke(conveyor_cli, ["predict", "--model", "churn/1", "--input",
                                str(near), "--output", str(tmp_path / "o.parquet")])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Unexpected error" not in result.output and "ArrowInvalid" not in result.output
    assert "column 'f1', row 3 (line 4): '1.2.3' is not a valid double" in result.output

    far = tmp_path / "far.csv"  # past Arrow's first 1 MiB block: raised while iterating
    big = pd.concat([frame] * 40, ignore_index=True).astype(object)
    big.loc[35_000, "f0"] = "12,5"
    big.to_csv(far, index=False)
    assert far.stat().st_size > 2 << 20
    with pytest.raises(ValidationFailed, match=r"column 'f0', row 35001 \(line 35002\)") as info:
        predict_file(home_backend, "models:/churn/1", far, tmp_path / "o.parquet")
    assert info.value.details == {"column": "f0", "row": 35001, "value": "12,5", "type": "double"}
