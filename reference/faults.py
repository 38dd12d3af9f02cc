"""Backend outages on demand, for certifying ``MM-DUR-002`` (backend failures raise).

:class:`LoopbackProxy` is a TCP forwarder on a free loopback port. A manager built to connect
through it reaches its server as usual until :meth:`~LoopbackProxy.cut`, which closes every
open connection and refuses new ones (connection refused, at once), so the manager's next
operation meets a real network failure; :meth:`~LoopbackProxy.restore` accepts connections
again, on the same port, and the manager must recover by itself. The reference factories'
``memspec_outage`` hooks are built on it.

The proxy forwards bytes and nothing else (TLS passes through end to end, though a client that
checks the server's host name sees ``127.0.0.1``). Two threads per open connection copy the
bytes, one per direction, with blocking sockets, so a slow reader never stalls another
connection; it is made for tests and certification runs, not for production traffic.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

__all__ = ["LoopbackProxy", "proxy_outage"]

_CHUNK = 1 << 16


class LoopbackProxy:
    """Forward ``127.0.0.1:port`` to ``target_host:target_port`` until :meth:`cut`.

    ``port`` 0 (the default) picks a free port; it stays the same across cut and restore.
    Use it as a context manager, or call :meth:`close`, to stop it and its threads.
    """

    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        if not isinstance(target_host, str) or not target_host:
            raise ValueError(f"target_host must be a non-empty host name, not {target_host!r}")
        if isinstance(target_port, bool) or not isinstance(target_port, int):
            raise TypeError(f"target_port must be an int, not {target_port!r}")
        if not 0 < target_port < 65536:
            raise ValueError(f"target_port must be a TCP port (1-65535), not {target_port}")
        self.target = (target_host, target_port)
        # Resolved once, here: a lookup per connection would run in the accept thread, and
        # getaddrinfo imports a codec on first use, whose import lock a fork taken meanwhile
        # leaves held forever in the child (where a proxy of the child's own then hangs).
        family, _, _, _, address = socket.getaddrinfo(
            target_host, target_port, type=socket.SOCK_STREAM
        )[0]
        self._upstream: tuple[socket.AddressFamily, Any] = (family, address)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # both sockets of every connection
        self._finished: set[socket.socket] = set()  # sockets whose peer half-closed
        self._threads: set[threading.Thread] = set()
        self._closed = False
        self._listener: socket.socket | None = None
        #: The loopback port clients connect to.
        self.port = port
        self._listen()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "cut" if self.is_cut else "open"
        host, port = self.target
        return f"LoopbackProxy(127.0.0.1:{self.port} -> {host}:{port}, {state})"

    @property
    def address(self) -> tuple[str, int]:
        """``("127.0.0.1", port)``: where clients connect."""
        return "127.0.0.1", self.port

    @property
    def is_cut(self) -> bool:
        """Whether connections are refused now."""
        return self._listener is None

    @property
    def connections(self) -> int:
        """How many client connections are open through the proxy now."""
        with self._lock:
            return len(self._open) // 2

    # -- controlling it -------------------------------------------------------------------

    def cut(self) -> None:
        """Close every open connection and refuse new ones until :meth:`restore`."""
        with self._lock:
            listener, self._listener = self._listener, None
            doomed = list(self._open)
            self._open.clear()
            self._finished.clear()
        if listener is not None:
            _close(listener)
        for sock in doomed:
            _close(sock)
        self._join()

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        if self._closed:
            raise RuntimeError("the proxy is closed")
        with self._lock:
            if self._listener is not None:
                return
        self._listen()

    @contextmanager
    def outage(self) -> Iterator[None]:
        """``cut()`` on entry and ``restore()`` on exit."""
        self.cut()
        try:
            yield
        finally:
            self.restore()

    def close(self) -> None:
        """Cut every connection, stop listening and join the threads; the proxy is done."""
        self._closed = True
        self.cut()

    def __enter__(self) -> LoopbackProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the threads ----------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        self._spawn(self._accept, listener, name="accept")

    def _spawn(self, target: object, *args: object, name: str) -> None:
        thread = threading.Thread(
            target=target,  # type: ignore[arg-type]
            args=args,
            name=f"memspec-proxy-{self.port}-{name}",
            daemon=True,
        )
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was closed by cut()
                return
            family, address = self._upstream
            upstream = socket.socket(family, socket.SOCK_STREAM)
            try:
                upstream.settimeout(5)
                upstream.connect(address)
                upstream.settimeout(None)
            except OSError:
                _close(upstream)
                _close(client)
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _close(client)
                    _close(upstream)
                    return
                self._open.update((client, upstream))
            self._spawn(self._pump, client, upstream, name="up")
            self._spawn(self._pump, upstream, client, name="down")

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
            # The source half-closed: pass it on; the other direction may still be talking.
            sink.shutdown(socket.SHUT_WR)
            with self._lock:
                self._finished.add(source)
                if sink not in self._finished:  # the other direction closes both
                    return
        except OSError:  # reset, or closed by cut(): the connection is over both ways
            pass
        with self._lock:
            for sock in (source, sink):
                self._open.discard(sock)
                self._finished.discard(sock)
        _close(source)
        _close(sink)

    def _join(self) -> None:
        current = threading.current_thread()
        with self._lock:
            threads = [t for t in self._threads if t is not current]
        for thread in threads:
            thread.join(5)


def proxy_outage(manager: object) -> AbstractContextManager[None]:
    """A ``memspec_outage`` hook for managers built to connect through a proxy of their own,
    kept as their ``_memspec_proxy`` attribute (as the reference certification factories do):
    the proxy's :meth:`~LoopbackProxy.outage`."""
    proxy = getattr(manager, "_memspec_proxy", None)
    if not isinstance(proxy, LoopbackProxy):
        raise TypeError(
            f"{manager!r} has no LoopbackProxy of its own: it was not built by a factory "
            "that connects its managers through one"
        )
    return proxy.outage()


def _close(sock: socket.socket) -> None:
    """Shut down (which wakes a thread blocked on the socket) and close, ignoring errors."""
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
