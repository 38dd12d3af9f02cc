"""LoopbackProxy: forwards bytes both ways, cuts every connection at once, refuses new ones
while cut, and forwards again on the same port after restore."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from memspec.reference.faults import LoopbackProxy, proxy_outage


@pytest.fixture
def echo() -> Iterator[int]:
    """A loopback server that echoes every byte it reads, on a thread per connection."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def roundtrip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_forwards_large_payloads_both_ways(echo: int) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB
    with LoopbackProxy("127.0.0.1", echo) as proxy:
        assert roundtrip(proxy.port, payload) == payload
        assert proxy.address == ("127.0.0.1", proxy.port)


def test_cut_closes_open_connections_and_refuses_new_ones_until_restore(echo: int) -> None:
    with LoopbackProxy("127.0.0.1", echo) as proxy:
        held = socket.create_connection(proxy.address, timeout=5)
        held.sendall(b"ping")
        assert held.recv(4) == b"ping"
        assert proxy.connections == 1
        port = proxy.port
        with proxy.outage():
            assert proxy.is_cut and proxy.connections == 0
            assert held.recv(4) == b""  # the open connection was closed
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(proxy.address, timeout=5)
        assert not proxy.is_cut and proxy.port == port
        assert roundtrip(proxy.port, b"again") == b"again"
        held.close()
    assert "closed" in repr(proxy)
    with pytest.raises(RuntimeError, match="closed"):
        proxy.restore()


def proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("memspec-proxy-")]


def test_close_joins_every_thread(echo: int) -> None:
    proxy = LoopbackProxy("127.0.0.1", echo)
    held = [socket.create_connection(proxy.address, timeout=5) for _ in range(3)]
    for sock in held:
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"
    assert len(proxy_threads()) == 7  # accept + two pumps per connection
    proxy.close()
    assert proxy_threads() == []
    for sock in held:
        assert sock.recv(1) == b""
        sock.close()


def test_bad_arguments_and_a_manager_without_a_proxy_are_refused() -> None:
    with pytest.raises(ValueError, match="target_host"):
        LoopbackProxy("", 80)
    with pytest.raises(ValueError, match="target_port"):
        LoopbackProxy("127.0.0.1", 0)
    with pytest.raises(TypeError, match="target_port"):
        LoopbackProxy("127.0.0.1", True)
    with pytest.raises(TypeError, match="no LoopbackProxy of its own"):
        proxy_outage(object())
