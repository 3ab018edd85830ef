"""`conveyor export-docs`: the compliance bundle, organised after Annex IV, with an index,
a manifest of sha256s, the audit extract with its chain proof; written atomically."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.lineage import bundle


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The bundle reads what the walks read (tested on both databases): SQLite only."""
    return f"sqlite:///{tmp_path / 'meta.db'}"


@pytest.fixture
def exported(looped: Any, tmp_path: Path) -> Path:
    out = tmp_path / "docs" / "bundle.zip"
    result = CliRunner().invoke(app, ["export-docs", "churn/1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_bundle_follows_annex_iv_with_an_index(exported: Path) -> None:
    with zipfile.ZipFile(exported) as zf:
        names = set(zf.namelist())
        index = zf.read("index.html").decode()
        manifest = json.loads(zf.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(zf.read(entry["path"])).hexdigest() == entry["sha256"]
        chain = json.loads(zf.read("6-lifecycle-changes/chain-proof.json"))
        events = [
            json.loads(line)
            for line in zf.read("6-lifecycle-changes/audit-extract.jsonl").decode().splitlines()
        ]
        svg = zf.read("2-development/lineage.svg").decode()
        retention = json.loads(zf.read("9-post-market-monitoring/retention.json"))
        monitoring = json.loads(zf.read("9-post-market-monitoring/monitoring-summary.json"))
    for folder, point, heading, _ in bundle.ANNEX_IV:
        assert any(n.startswith(folder + "/") for n in names), folder
        assert f"{point}. {heading}" in index
    assert {
        "1-general-description/model-card.html",
        "1-general-description/model-card.json",
        "2-development/lineage.json",
        "4-performance-metrics/metrics.json",
        "5-risk-management/gate-policy.json",
        "6-lifecycle-changes/deployment-history.json",
        "7-harmonised-standards/README.md",
        "8-declaration-of-conformity/README.md",
    } <= names
    assert any(n.startswith("2-development/gate-reports/") and n.endswith(".html") for n in names)
    assert {e["path"] for e in manifest["files"]} == names - {"manifest.json"}
    assert manifest["model"] == "churn" and manifest["version"] == 1
    assert chain["ok"] is True and len(chain["head_hash"]) == 64
    assert any(
        e["action"] == "model_version.set_tag" or "model" in e["object_type"] for e in events
    )
    assert svg.startswith("<svg")
    assert retention["prediction_log_days"] == 183 and retention["legal_holds"] == []
    assert "churn-drift" in json.dumps(monitoring["endpoints"]["churn-api"]["monitors"])
    assert "Audit chain verified" in index and "<script" not in index and "<svg" in index


def test_a_failed_export_leaves_the_previous_bundle(looped: Any, exported: Path) -> None:
    before = exported.read_bytes()
    result = CliRunner().invoke(app, ["export-docs", "churn/9", "--output", str(exported)])
    assert result.exit_code == 1 and "9" in result.output
    assert exported.read_bytes() == before

    documents = looped.get_compliance_documents("churn", "1")
    documents["bad"] = None  # type: ignore[assignment]  # fails mid-way through the zip
    with pytest.raises(AttributeError):
        bundle.write_bundle(documents, exported)
    assert exported.read_bytes() == before
    assert [p.name for p in exported.parent.iterdir()] == ["bundle.zip"]
