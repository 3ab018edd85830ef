"""connect(): the transport follows CONVEYOR_URI; backends are cached and reset."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import HttpBackend, LocalBackend, connect, reset_backends
from conveyor.config import reset_settings
from conveyor.errors import StoreUnavailable, ValidationFailed


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    reset_backends()
    yield
    reset_backends()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_embedded_by_default_and_cached(conveyor_home: Path) -> None:
    backend = connect()
    assert isinstance(backend, LocalBackend)
    assert str(conveyor_home) in backend.location
    assert connect() is backend
    reset_backends()
    assert connect() is not backend


def test_http_uri_gives_an_http_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("CONVEYOR_URI", url)
    reset_settings()
    backend = connect()
    assert isinstance(backend, HttpBackend) and backend.location == url
    assert connect(url + "/") is backend
    assert isinstance(connect(""), LocalBackend)  # an explicit empty uri means embedded


def test_unreachable_server_is_store_unavailable_naming_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    backend = connect(url)
    with pytest.raises(StoreUnavailable, match="conveyor server") as info:
        backend.list_experiments()
    assert url in info.value.message and "CONVEYOR_URI" in info.value.message
    with pytest.raises(StoreUnavailable, match=url):
        list(backend.iter_blob("0" * 64))
    with pytest.raises(StoreUnavailable, match=url):
        backend.upload_artifact("r", "a.txt", iter([b"x"]))


def test_connect_to_a_running_server(monkeypatch: pytest.MonkeyPatch) -> None:
    local = LocalBackend.from_settings()
    with ServerThread(create_app(local)) as server:
        monkeypatch.setenv("CONVEYOR_URI", server.url)
        reset_settings()
        remote = connect()
        exp = remote.create_experiment("over-http")
        assert local.get_experiment("over-http") == exp
        reset_backends()  # close the keep-alive connections before the server stops
    local.meta.dispose()


def test_bad_server_url() -> None:
    with pytest.raises(ValidationFailed, match="http"):
        HttpBackend("ftp://example.org")
