"""A TCP proxy in front of a real server that breaks real connections at chosen moments.

The client under test talks HTTP/2 to the proxy, the proxy to the server, byte for byte. The
proxy reads the server's HTTP/2 frame headers (9 bytes: length, type, flags, stream id) so
that it can drop a connection at the one moment a retry matters: the server has finished a
call (committed the write) and starts answering it (a HEADERS frame on a call's stream), but
the client never gets the answer. The client sees what it sees when a network or a load
balancer drops a connection: UNAVAILABLE, without knowing whether its write happened.
"""

from __future__ import annotations

import socket
import threading

HEADERS = 0x1
FRAME_HEADER = 9


class CuttingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut_next_answer = 0
        self.cuts = 0  # answers dropped so far
        self.connections = 0  # client connections accepted so far
        self._closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut_next_answers(self, count: int = 1) -> None:
        """Drop the connection instead of forwarding each of the next `count` answers the server starts."""
        with self._lock:
            self._cut_next_answer = count

    def cut_all(self) -> None:
        """Drop every open connection now (streams in flight break)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close(*pair)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut_all()

    def _accept(self) -> None:
        while not self._closed:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:  # the server is down: the client sees a refused connection, as without the proxy
                downstream.close()
                continue
            for s in (downstream, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._pairs.append((downstream, upstream))
                self.connections += 1
            threading.Thread(target=self._forward, args=(downstream, upstream), daemon=True).start()
            threading.Thread(target=self._answer, args=(upstream, downstream), daemon=True).start()

    def _forward(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        _close(source, sink)

    def _answer(self, upstream: socket.socket, downstream: socket.socket) -> None:
        """Server to client, frame by frame (the server sends no preface: its first bytes are a frame)."""
        pending = b""
        try:
            while data := upstream.recv(65536):
                pending += data
                out = b""
                while len(pending) >= FRAME_HEADER:
                    length = int.from_bytes(pending[:3], "big")
                    if len(pending) < FRAME_HEADER + length:
                        break
                    frame_type, stream = pending[3], int.from_bytes(pending[5:9], "big") & 0x7FFFFFFF
                    if frame_type == HEADERS and stream != 0 and self._take_cut():
                        downstream.sendall(out)  # what came before the answer, never the answer
                        _close(upstream, downstream)
                        return
                    out += pending[: FRAME_HEADER + length]
                    pending = pending[FRAME_HEADER + length :]
                if out:
                    downstream.sendall(out)
        except OSError:
            pass
        _close(upstream, downstream)

    def _take_cut(self) -> bool:
        with self._lock:
            if self._cut_next_answer <= 0:
                return False
            self._cut_next_answer -= 1
            self.cuts += 1
            return True


def _close(*sockets: socket.socket) -> None:
    for s in sockets:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
