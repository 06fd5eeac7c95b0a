"""Find or start a PostgreSQL server for the test suite.

The tests need a real PostgreSQL. A developer machine or CI runner usually has one
listening already, but a fresh machine may have the PostgreSQL binaries installed
and no server running. The README's test command must still work there: it starts
a throwaway cluster from the installed binaries, or fails with a message that says
what was tried and how to fix it.

Usage::

    server = ensure_postgres()   # reuse a running server, or start one
    ...                          # connect to server.url
    server.stop()                # stops the cluster only if it was started here

initdb and postgres refuse to run as root (CI and dev containers often are root),
so as root the binaries run as the ``postgres`` system user via runuser/su.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ENV_VAR = "POINTS_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
RUN_AS_WHEN_ROOT = "postgres"

HOW_TO_FIX = (
    "How to fix:\n"
    "  - install the PostgreSQL server binaries (Debian/Ubuntu: apt-get install postgresql), or\n"
    f"  - set {ENV_VAR} to a reachable server with an existing database, "
    "e.g. postgresql://postgres@127.0.0.1:5432/test"
)


@dataclass
class PostgresServer:
    url: str
    started_here: bool
    _tmp_dir: Path | None = field(default=None, repr=False, compare=False)
    _pg_ctl: str | None = field(default=None, repr=False, compare=False)
    _prefix: list[str] = field(default_factory=list, repr=False, compare=False)

    def stop(self) -> None:
        """Stop a cluster started here and delete its files; no-op otherwise. Idempotent."""
        if not self.started_here or self._tmp_dir is None:
            return
        tmp_dir, self._tmp_dir = self._tmp_dir, None
        if self._pg_ctl is not None and (tmp_dir / "data" / "postmaster.pid").exists():
            try:
                _run(self._prefix + [self._pg_ctl, "stop", "-m", "fast", "-w", "-D", str(tmp_dir / "data")], cwd=tmp_dir)
            except _StartError:
                pass  # best effort; the files are removed below either way
        shutil.rmtree(tmp_dir, ignore_errors=True)


def ensure_postgres(url: str | None = None, *, force_new: bool = False) -> PostgresServer:
    """Return a reachable server: the candidate URL if it answers, else a throwaway cluster.

    The candidate is ``url``, else $POINTS_TEST_POSTGRES_URL, else DEFAULT_URL.
    With ``force_new`` the candidate is not tried. Raises RuntimeError if no server
    can be reached or started.
    """
    candidate = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    tried: list[str] = []
    if not force_new:
        error = _connect_error(candidate)
        if error is None:
            return PostgresServer(candidate, started_here=False)
        tried.append(f"connecting to {_redact(candidate)} failed: {error}")

    bindir, searched = _find_bindir()
    if bindir is None:
        tried.append("no initdb + pg_ctl found; searched: " + ", ".join(searched))
        raise RuntimeError(_failure_message(tried))
    try:
        return _start_cluster(bindir)
    except _StartError as exc:
        tried.append(f"starting a throwaway cluster with {bindir} failed: {exc}")
        raise RuntimeError(_failure_message(tried)) from None


class _StartError(Exception):
    pass


def _connect_error(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


def _find_bindir() -> tuple[Path | None, list[str]]:
    """Find a directory holding initdb and pg_ctl; also return what was searched."""
    candidates: list[tuple[str, Path | None]] = []
    pg_config = shutil.which("pg_config")
    bindir = None
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None
    candidates.append(("pg_config --bindir", bindir))
    versioned = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += [("/usr/lib/postgresql/*/bin", Path(p)) for p in versioned] or [("/usr/lib/postgresql/*/bin", None)]
    initdb = shutil.which("initdb")
    candidates.append(("PATH", Path(initdb).parent if initdb else None))

    for _, path in candidates:
        if path is not None and all(os.access(path / exe, os.X_OK) for exe in ("initdb", "pg_ctl")):
            return path, []
    return None, [f"{label} ({path or 'nothing found'})" for label, path in candidates]


def _version_key(bindir: str) -> tuple[int, ...]:
    """'/usr/lib/postgresql/9.6/bin' -> (9, 6), so that 15 sorts after 9.6."""
    return tuple(int(part) for part in re.findall(r"\d+", Path(bindir).parent.name)) or (-1,)


def _start_cluster(bindir: Path) -> PostgresServer:
    prefix, owner = _run_as_prefix()
    tmp_dir = Path(tempfile.mkdtemp(prefix="points-pg-", dir="/tmp" if owner else None))
    server = PostgresServer("", started_here=True, _tmp_dir=tmp_dir, _pg_ctl=str(bindir / "pg_ctl"), _prefix=prefix)
    try:
        data, sock, log = tmp_dir / "data", tmp_dir / "sock", tmp_dir / "postgres.log"
        sock.mkdir()
        if owner:  # mkdtemp made tmp_dir 0o700 under /tmp (1777), so only ownership is needed
            for path in (tmp_dir, sock):
                os.chown(path, owner.pw_uid, owner.pw_gid)

        initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]
        result = _run(prefix + initdb, cwd=tmp_dir)
        if result.returncode != 0:
            raise _StartError(f"initdb exited with {result.returncode}:\n{_tail(result.stdout)}")

        for attempt in range(3):  # retry only if another process took the free port first
            port = _free_port()
            options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
            start = [str(bindir / "pg_ctl"), "-w", "-t", "30", "-D", str(data), "-l", str(log), "-o", options, "start"]
            log.unlink(missing_ok=True)
            result = _run(prefix + start, cwd=tmp_dir)
            if result.returncode == 0:
                break
            log_text = log.read_text(errors="replace") if log.exists() else "(no log file)"
            if "Address already in use" in log_text and attempt < 2:
                continue
            raise _StartError(
                f"pg_ctl start exited with {result.returncode}:\n{_tail(result.stdout)}\n"
                f"  server log, last lines:\n{_tail(log_text)}"
            )

        base = f"postgresql://postgres@127.0.0.1:{port}"
        try:
            with psycopg.connect(f"{base}/postgres", connect_timeout=10, autocommit=True) as conn:
                conn.execute("create database test")
        except psycopg.Error as exc:
            raise _StartError(f"server started but creating database 'test' failed: {exc}") from None
    except BaseException:
        server.stop()
        raise
    server.url = f"{base}/test"
    atexit.register(server.stop)  # safety net; an explicit stop() makes this a no-op
    return server


def _run_as_prefix() -> tuple[list[str], pwd.struct_passwd | None]:
    """Command prefix running as an unprivileged user when we are root, and that user."""
    if os.geteuid() != 0:
        return [], None
    try:
        owner = pwd.getpwnam(RUN_AS_WHEN_ROOT)
    except KeyError:
        raise _StartError(
            f"running as root (initdb/postgres refuse to run as root) and there is no "
            f"'{RUN_AS_WHEN_ROOT}' system user to run them as; installing the postgresql "
            f"package creates it, or run the tests as a non-root user"
        ) from None
    if shutil.which("runuser"):
        return ["runuser", "-u", owner.pw_name, "--"], owner
    if shutil.which("su"):
        # su takes a single shell command string; _run() joins the rest onto it.
        return ["su", owner.pw_name, "-s", "/bin/sh", "-c"], owner
    raise _StartError("running as root, but neither runuser nor su is available to drop privileges")


def _run(cmd: list[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run cmd with stderr folded into stdout; raise _StartError if it cannot run or times out."""
    if cmd[0] == "su":  # ["su", user, "-s", sh, "-c", *argv] -> one quoted command string
        cmd = cmd[:5] + [shlex.join(cmd[5:])]
    try:
        return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise _StartError(f"could not run {shlex.join(cmd)}: {exc}") from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def _failure_message(tried: list[str]) -> str:
    return (
        "No PostgreSQL server available for the tests.\n"
        + "".join(f"  - {item}\n" for item in tried)
        + HOW_TO_FIX
    )
