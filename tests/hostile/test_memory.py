"""Attack: memory that stays. A real `points serve` process is sent 200 oversized values (~1 MB each).

The date and quantity parse caches kept up to 1,024 strings each, of any length: every refused
1 MB quantity or `in_force_on` stayed in the server's memory. The server's resident set
(/proc/<pid>/status VmRSS) must now stay flat within a generous bound over the 200 requests,
whichever check refuses them (a field-length limit or the value's own rules).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from points.v1 import (
    directory_pb2_grpc,
    policies_pb2,
    policies_pb2_grpc,
    work_events_pb2_grpc,
)
from tests.api.calls import staff_outlet, work
from tests.api.test_process import (
    POINTS,
    STOP_WITHIN,
    free_port,
    points_env,
    wait_until_serving,
)

OVERSIZED = 1_000_000  # characters (bytes: ASCII) per value
WARM_UP = 100  # requests before the first measure: the allocator's arenas and gRPC's buffers settle
REQUESTS = 200
GROWTH_BOUND = 60 * 1024 * 1024  # bytes; measured: 14 MiB after the fix (the allocator's arenas), 203 MiB before


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@contextmanager
def server_process(database_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], grpc.Channel]]:
    """`points serve` on a free port, and a channel to it (one that may send 8 MiB)."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(POINTS), "serve", "--port", str(port), "--database", database_url], env=points_env(), stdout=out, stderr=subprocess.STDOUT
        )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 8 * 1024 * 1024)])
    try:
        wait_until_serving(process, channel, log)
        yield process, channel
    finally:
        channel.close()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STOP_WITHIN)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_oversized_values_leave_no_memory_behind(database_url: str, tmp_path: Path) -> None:
    with server_process(database_url, tmp_path) as (process, channel):
        staff_outlet(directory_pb2_grpc.DirectoryServiceStub(channel))
        recorder = work_events_pb2_grpc.WorkEventServiceStub(channel)
        policies = policies_pb2_grpc.PolicyServiceStub(channel)

        def oversized(n: int) -> None:
            value = f"{n:07d}" + "1" * (OVERSIZED - 7)  # a different string each time: a cache would keep every one
            with pytest.raises(grpc.RpcError) as caught:
                if n % 2:
                    recorder.RecordWorkEvent(work(f"big-{n}", "sm-1", "customer_served", value), timeout=30)
                else:
                    policies.GetPolicy(policies_pb2.GetPolicyRequest(in_force_on=value.replace("1", "2", 1)), timeout=30)
            assert caught.value.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), caught.value.details()

        for n in range(WARM_UP):
            oversized(n)
        before = resident_bytes(process.pid)
        for n in range(WARM_UP, WARM_UP + REQUESTS):
            oversized(n)
        grown = resident_bytes(process.pid) - before
        assert grown < GROWTH_BOUND, f"the server's RSS grew by {grown / 2**20:.0f} MiB over {REQUESTS} oversized requests"

