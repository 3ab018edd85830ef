"""Data for the UI tests, created through the SDK's client over HTTP (like a user would)."""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.tracking.metric_rows import MetricRows

RUNS = 24


def tiny_png() -> bytes:
    """A valid 8x8 PNG (an artifact image preview)."""
    raw = b"".join(b"\x00" + bytes([40, 90, 200]) * 8 for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) + shift
    y = (x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(np.int64)
    out = pd.DataFrame(x, columns=["f0", "f1", "f2"])
    out["plan"] = rng.choice(["basic", "pro"], size=n)
    out["label"] = y
    return out


def seed(client: Any, workdir: Path) -> dict[str, Any]:
    """Experiments, runs (metrics by step, params, tags, artifacts), datasets, a model."""
    from sklearn.linear_model import LogisticRegression

    from conveyor.data.checks import in_range, not_null
    from conveyor.models import save_model

    exp = client.create_experiment("churn-ui")
    client.create_experiment("empty-experiment")
    train = frame(400, 1)
    dv1 = client.log_dataset(
        "churn-train", train, expectations=[not_null("f0"), in_range("f1", -10, 10)]
    )
    client.log_dataset("churn-train", frame(400, 2, shift=0.8))
    runs = []
    for i in range(RUNS):
        lr = round(0.01 * (i + 1), 3)
        run = client.create_run(
            exp.id,
            name=f"run-{i:02d}",
            params={
                "lr": str(lr),
                "model": "logistic" if i % 2 else "forest",
                "depth": str(2 + i % 4),
            },
            tags={"team": "growth"},
        )
        steps = list(range(20))
        values = [1 - math.exp(-(s + 1) * lr * 4) * 0.5 for s in steps]
        losses = [math.exp(-(s + 1) * lr * 3) for s in steps]
        ts = [run.start_time + 1000 * s for s in steps]
        metrics = MetricRows(
            keys=["auc"] * 20 + ["loss"] * 20 + ["accuracy"],
            values=[*values, *losses, 0.5 + i / 100],
            steps=[*steps, *steps, 0],
            timestamps=[*ts, *ts, ts[-1]],
        )
        client.log_batch(run.id, metrics=metrics)
        if i:  # the first run stays open for its artifacts and inputs (below)
            client.end_run(run.id, "FINISHED" if i != 3 else "FAILED")
        runs.append(run)
    first = runs[0]
    client.link_input(first.id, dv1.id, context="training")
    for path, data in {
        "notes.txt": b"trained on churn-train v1\n",
        "report/metrics.csv": b"step,auc\n0,0.5\n1,0.7\n",
        "report/summary.html": b"<html><body><h1>Summary</h1><p>AUC 0.9</p></body></html>",
        "plots/roc.png": tiny_png(),
    }.items():
        client.upload_artifact(first.id, path, io.BytesIO(data))
    model = LogisticRegression().fit(train[["f0", "f1", "f2"]], train["label"])
    folder = workdir / "model"
    save_model(model, folder, input_example=train[["f0", "f1", "f2"]].head(5))
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(file, "rb") as fh:
            client.upload_artifact(first.id, f"model/{file.relative_to(folder).as_posix()}", fh)
    client.end_run(first.id, "FINISHED")
    version = client.register_model(model_uri=f"runs:/{first.id}/model", name="churn")
    client.set_model_alias("churn", "champion", version.version)
    client.deploy("churn", model="churn@champion", compile=False)
    client.create_monitor(
        {
            "name": "churn-drift",
            "endpoint": "churn",
            "metric": "drift.share",
            "comparison": ">",
            "threshold": 0.25,
        }
    )
    return {"experiment": exp, "runs": runs, "model": version, "dataset": dv1}
