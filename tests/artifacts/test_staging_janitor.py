"""Upload debris is cleaned (issue 10 item 7): stale ``.staging/*.part`` files go at server
start-up and periodically, older than the ``staging_max_age_s`` setting, with a log line
saying how much was reclaimed."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.artifacts import ArtifactStore
from conveyor.artifacts.janitor import clean_staging, start_staging_janitor
from conveyor.backend import LocalBackend
from conveyor.config import reset_settings
from conveyor.store import MetadataStore


def _part(store: ArtifactStore, name: str, size: int, age_s: float) -> Path:
    path = store.backend.staging_dir() / f"{name}.part"
    path.write_bytes(b"x" * size)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_clean_removes_only_stale_part_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ArtifactStore.from_uri(str(tmp_path / "artifacts"))
    stale = [_part(store, "dead-1", 3000, 7200), _part(store, "dead-2", 500, 4000)]
    fresh = _part(store, "live", 100, 10)
    other = store.backend.staging_dir() / "notes.txt"
    other.write_text("not an upload")
    os.utime(other, (0, 0))
    with caplog.at_level(logging.WARNING, logger="conveyor.artifacts"):
        report = clean_staging(store, max_age_s=3600)
    assert (report.files, report.bytes) == (2, 3500)
    assert not any(p.exists() for p in stale) and fresh.exists() and other.exists()
    assert "reclaimed 2 stale upload staging file(s)" in caplog.text
    assert clean_staging(store, max_age_s=3600) == (0, 0)


def test_the_janitor_cleans_again_periodically(tmp_path: Path) -> None:
    store = ArtifactStore.from_uri(str(tmp_path / "artifacts"))
    first = _part(store, "old", 10, 60)
    janitor = start_staging_janitor(store, max_age_s=0.4)  # cleans now, then every 0.1 s
    try:
        assert not first.exists()
        later = _part(store, "later", 10, 60)
        job = janitor.jobs[0]
        assert job.wait_for_runs(job.runs + 2, timeout=10)
        assert not later.exists() and job.last_error is None
    finally:
        janitor.stop()


def test_server_start_up_reclaims_debris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CONVEYOR_STAGING_MAX_AGE_S", "3600")
    reset_settings()
    meta = MetadataStore(f"sqlite:///{tmp_path / 'api.db'}")
    store = ArtifactStore.from_uri(str(tmp_path / "artifacts"))
    debris = _part(store, "killed-upload", 4096, 2 * 86400)
    fresh = _part(store, "in-flight", 10, 5)
    app = create_app(LocalBackend(meta, store))
    with (
        caplog.at_level(logging.WARNING, logger="conveyor.artifacts"),
        ServerThread(app, lifespan="on"),
    ):
        assert not debris.exists() and fresh.exists()
    assert "reclaimed 1 stale upload staging file(s)" in caplog.text
    meta.dispose()
