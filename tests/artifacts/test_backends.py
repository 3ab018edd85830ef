"""The same content-addressed behaviour on every byte backend: a local folder and an
S3-compatible server (moto's S3 server on loopback, reached through fsspec/s3fs)."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.artifacts import ArtifactStore
from conveyor.errors import IntegrityError, NotFound


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a loopback port, for the whole module."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] not installed")
    pytest.importorskip("s3fs", reason="s3fs not installed")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ArtifactStore:
    if request.param == "local":
        return ArtifactStore.from_uri(str(tmp_path / "blobs"))
    endpoint = request.getfixturevalue("s3_endpoint")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import s3fs

    bucket = f"conveyor-{os.urandom(4).hex()}"
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True)
    fs.mkdir(bucket)
    return ArtifactStore.from_uri(
        f"s3://{bucket}/artifacts",
        client_kwargs={"endpoint_url": endpoint},
        skip_instance_cache=True,
    )


def test_round_trip_dedupe_and_verify(store: ArtifactStore, tmp_path: Path) -> None:
    payload = os.urandom(3 * (1 << 20) + 17)  # spans several chunks
    info = store.put_stream(iter([payload[:1000], payload[1000:]]))
    assert info.sha256 == hashlib.sha256(payload).hexdigest()
    assert info.size == len(payload)
    assert store.put_bytes(payload) == info
    assert store.exists(info.sha256)
    assert store.size(info.sha256) == len(payload)
    assert store.read_bytes(info.sha256) == payload
    out = store.download(info.sha256, tmp_path / "copy.bin")
    assert out.read_bytes() == payload
    assert store.verify(info.sha256)


def test_tampered_object_is_detected(store: ArtifactStore) -> None:
    info = store.put_bytes(b"weights v1")
    key = store.key(info.sha256)
    staged = store.backend.staging_dir() / "tamper.part"
    staged.write_bytes(b"weights v2")
    store.backend.commit(staged, key)  # overwrite the object behind the store's back
    with pytest.raises(IntegrityError):
        store.read_bytes(info.sha256)


def test_missing_object(store: ArtifactStore) -> None:
    with pytest.raises(NotFound):
        store.read_bytes("f" * 64)
    assert not store.exists("f" * 64)


@pytest.mark.s3
def test_sdk_logs_and_loads_a_model_on_s3(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import s3fs
    from sklearn.tree import DecisionTreeClassifier

    import conveyor
    from conveyor.backend import reset_backends
    from conveyor.config import reset_settings

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"conveyor-{os.urandom(4).hex()}"
    s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint}).mkdir(bucket)
    monkeypatch.setenv("CONVEYOR_ARTIFACT_URI", f"s3://{bucket}/store")
    monkeypatch.setenv("CONVEYOR_S3_ENDPOINT_URL", s3_endpoint)
    reset_settings()
    reset_backends()
    x = np.arange(20, dtype=float).reshape(10, 2)
    y = (x[:, 0] > 8).astype(int)
    with conveyor.start_run():
        info = conveyor.log_model(DecisionTreeClassifier().fit(x, y), "model", input_example=x[:2])
    loaded = conveyor.load_model(info.model_uri)
    assert list(loaded.predict(x)) == list(y)
    assert conveyor.connect().artifacts.uri.startswith(f"s3://{bucket}")
