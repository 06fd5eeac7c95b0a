"""Real servers for the client's tests: one that can be stopped and started again on its port, and a proxy that breaks connections."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from points.server import PointsService, create_server
from points_client import PointsClient, RetryPolicy, connect
from tests.clients.proxy import CuttingProxy

# Patient enough to ride over a server restart (up to ~0.05+0.1+...+1 s of backoff), quick in tests.
PATIENT = RetryPolicy(max_attempts=8, initial_backoff=0.05, max_backoff=1.0)


class RestartableServer:
    """The real gRPC server of a service on 127.0.0.1, which a test can stop and start again on the same port."""

    def __init__(self, service: PointsService) -> None:
        self.service = service
        self.port = 0
        self._server: grpc.Server | None = None
        self.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        server, self.port = create_server(self.service, "127.0.0.1", self.port)
        server.start()
        self._server = server

    def stop(self) -> None:
        """Stops at once: calls in flight, streams included, end as on a crash of the process's server."""
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def points_server(service: PointsService) -> Iterator[RestartableServer]:
    server = RestartableServer(service)
    yield server
    server.stop()


@pytest.fixture
def points_client(points_server: RestartableServer) -> Iterator[PointsClient]:
    channel = connect(points_server.address, plaintext=True)
    yield PointsClient(channel, retry=PATIENT)
    channel.close()


@pytest.fixture
def proxy(points_server: RestartableServer) -> Iterator[CuttingProxy]:
    cutting = CuttingProxy(points_server.port)
    yield cutting
    cutting.close()


@pytest.fixture
def proxied_client(proxy: CuttingProxy) -> Iterator[PointsClient]:
    """A client whose connections go through `proxy`."""
    channel = connect(proxy.address, plaintext=True)
    yield PointsClient(channel, retry=PATIENT)
    channel.close()
