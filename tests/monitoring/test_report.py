"""The report: JSON shape, unseen categories, and the self-contained HTML page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from conveyor.monitoring import drift_report

from .conftest import make_table


def _shifted_report():
    rng = np.random.default_rng(21)
    ref = make_table(5000, rng, numeric=4, categorical=2)
    cur = make_table(5000, rng, numeric=4, categorical=2, shift={"x0": 1.0, "x1": 1.0, "x2": 1.0})
    return drift_report(ref, cur)


def test_unseen_categories_have_their_own_bucket_and_are_reported() -> None:
    ref = pa.table({"c": ["a"] * 600 + ["b"] * 400})
    cur = pa.table({"c": ["a"] * 500 + ["b"] * 300 + ["new"] * 150 + ["other"] * 50})
    for method in ("chisquare", "jensenshannon", "psi"):
        col = drift_report(ref, cur, methods={"c": method}).column("c")
        assert col.unseen_categories == [
            {"value": "new", "count": 150},
            {"value": "other", "count": 50},
        ]
        assert col.unseen_share == 0.2
        assert col.drifted, method
        assert "new (unseen)" in col.plot["categories"]


def test_to_dict_and_json_are_complete_and_finite() -> None:
    report = _shifted_report()
    data = json.loads(report.to_json())
    assert data["status"] == "drifted" and data["drifted"] is True
    assert data["drifted_columns"] == ["x0", "x1", "x2"]
    assert data["share_drifted"] == 0.5 and data["threshold"] == 0.5
    assert data["n_p_value_tests"] == 6 and data["alpha"] == 0.05
    x0 = next(c for c in data["columns"] if c["column"] == "x0")
    assert x0["threshold"] == 0.05 / 6
    assert x0["method"] == "ks" and x0["min_effect"] == 0.02
    assert len(x0["plot"]["reference"]) == len(x0["plot"]["edges"]) - 1 == 30
    assert abs(sum(x0["plot"]["reference"]) - 1) < 1e-4
    assert "NaN" not in report.to_json()


def test_html_is_self_contained_and_leads_with_the_verdict(tmp_path: Path) -> None:
    report = _shifted_report()
    path = report.save_html(tmp_path / "drift.html")
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html
    assert "DRIFT DETECTED: 3 of 6 columns drifted" in html
    assert html.index("DRIFT DETECTED") < html.index("<table")
    assert html.count("<svg") == 6
    # drifted columns come first in the table
    order = re.findall(r"<td><b>(\w+)</b>", html)
    assert order[:3] == ["x0", "x1", "x2"] or set(order[:3]) == {"x0", "x1", "x2"}


def test_html_for_insufficient_data_shows_reasons(tmp_path: Path) -> None:
    report = drift_report(pa.table({"x": [1.0]}), pa.table({"x": [2.0]}))
    html = report.to_html()
    assert "Not enough data" in html
    assert "at least 30 are needed" in html
