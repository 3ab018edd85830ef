"""Synthetic windows shaped like the benchmark: 20 numeric + 5 categorical columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

CATS = np.array(["a", "b", "c", "d", "e"])
PROBS = np.array([0.4, 0.2, 0.2, 0.1, 0.1])


def make_table(
    n: int,
    rng: np.random.Generator,
    *,
    numeric: int = 20,
    categorical: int = 5,
    shift: dict[str, float] | None = None,
) -> pa.Table:
    """``numeric`` normal columns x0.. and ``categorical`` columns c0..; ``shift`` adds a
    mean shift (in std units) to the named numeric columns."""
    shift = shift or {}
    cols: dict[str, object] = {}
    for i in range(numeric):
        cols[f"x{i}"] = rng.normal(size=n) + shift.get(f"x{i}", 0.0)
    for j in range(categorical):
        cols[f"c{j}"] = CATS[rng.choice(5, size=n, p=PROBS)]
    return pa.table(cols)
