"""The lean JSON client reuses connections, and reconnects when the server closed an
idle one (as uvicorn does after its keep-alive timeout) without failing the call."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from conveyor.client._keepalive import KeepAliveJson, TransportFailure

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


@pytest.fixture
def closing_server() -> Iterator[tuple[int, list[int]]]:
    """Answers one request per connection, then closes it (keep-alive promised, broken)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    connections: list[int] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                connections.append(1)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], connections
    finally:
        done.set()
        listener.close()
        thread.join(5)


def test_reconnects_after_the_server_closed_an_idle_connection(
    closing_server: tuple[int, list[int]],
) -> None:
    port, connections = closing_server
    client = KeepAliveJson(f"http://127.0.0.1:{port}/api/v1", {}, timeout=5)
    for _ in range(3):
        assert client.request("GET", "/health") == (200, b"{}")
    assert len(connections) == 3  # each call noticed the closed socket and reconnected
    client.close()


def test_unreachable_server_is_a_transport_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = KeepAliveJson(f"http://127.0.0.1:{port}", {}, timeout=2)
    with pytest.raises(TransportFailure, match="Connection"):
        client.request("GET", "/health")
