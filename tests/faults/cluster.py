"""A throwaway PostgreSQL cluster the fault tests may crash: immediate stop, then start again on the same port.

tests/support/pgserver.py starts the cluster (initdb in a temporary directory, a free port,
run as the `postgres` user when we are root); this adds what a crash test needs: stopping it
the way a crash does (`pg_ctl stop -m immediate`: no checkpoint, crash recovery on start) and
starting the same data directory again on the same port, so clients reconnect to one address.
Nothing here touches the shared server the rest of the suite uses.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from tests.support.pgserver import PostgresServer, ensure_postgres

START_WITHIN = 60  # seconds pg_ctl may take to start (crash recovery included)


class ClusterError(RuntimeError):
    pass


@dataclass
class CrashableCluster:
    """A cluster started by this test run; `url` names its `test` database."""

    server: PostgresServer
    up: bool = True
    crashes: int = 0

    @classmethod
    def start_new(cls) -> CrashableCluster:
        return cls(ensure_postgres(force_new=True))

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return int(urlsplit(self.server.url).port or 5432)

    @property
    def _dir(self) -> Path:
        # pgserver keeps these private: the cluster's directory, pg_ctl and the run-as prefix.
        if self.server._tmp_dir is None or self.server._pg_ctl is None:
            raise ClusterError("the cluster has been removed")
        return self.server._tmp_dir

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*self.server._prefix, str(self.server._pg_ctl), *args]
        if command[0] == "su":  # su takes one command string (see pgserver._run)
            import shlex

            command = command[:5] + [shlex.join(command[5:])]
        return subprocess.run(
            command, cwd=self._dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, timeout=START_WITHIN + 30, check=False,
        )  # fmt: skip

    def crash(self) -> None:
        """Stops the server the way a crash does: every backend killed, no shutdown checkpoint."""
        result = self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30", "-D", str(self._dir / "data"))
        if result.returncode != 0:
            raise ClusterError(f"pg_ctl stop -m immediate exited {result.returncode}: {result.stdout}")
        self.up = False
        self.crashes += 1

    def start(self) -> None:
        """Starts the same data directory on the same port (crash recovery runs first)."""
        options = f"-p {self.port} -k {self._dir / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self._dir / "postgres.log"
        result = self._pg_ctl("start", "-w", "-t", str(START_WITHIN), "-D", str(self._dir / "data"), "-l", str(log), "-o", options)
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ClusterError(f"pg_ctl start exited {result.returncode}: {result.stdout}\n{tail}")
        self.up = True
        self.wait_until_accepting()

    def wait_until_accepting(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        """Stops the cluster (if up) and removes its files; idempotent."""
        self.server.stop()
        self.up = False
