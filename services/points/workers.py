"""`points serve --processes N`: one port served by N worker processes, on PostgreSQL.

A Python server process is capped near one core (the GIL), so the way to use more cores is
more processes. The parent never runs a gRPC server of the API: it checks the settings,
migrates the store once, and starts N workers as fresh interpreters (`python -m points.cli
serve ... --worker I:FD`, never a fork of a process that has initialised grpcio). Each worker
binds the same host:port with SO_REUSEPORT, so the kernel spreads connections over them, and
runs its own application, group committer and projector election (one of them projects: the
advisory lock decides, points/projections/leader.py).

- Start: worker 0 first (on an empty store it publishes the initial policy), then the others;
  the parent prints "points: serving gRPC on ..." once every worker has said it is ready
  (each writes to a pipe the parent gave it). A worker that exits before it is ready fails
  the start: the others are stopped and the parent exits 1.
- Running: a worker that dies is logged and replaced in the same slot after a backoff
  (0.5 s, doubling to 30 s for a slot that keeps dying; back to 0.5 s once one ran 60 s).
- Stop: SIGTERM or SIGINT to the parent is forwarded to every worker (each finishes its calls
  in flight and hands the projection over); workers still running after STOP_WITHIN are killed.
  A worker whose parent disappears (kill -9) stops by itself within a second.
- Ports: worker I serves its Prometheus metrics on --metrics-port + I (counters are per
  process: scrape every one). The plaintext --health-port is the parent's: NOT_SERVING until
  every worker is ready, then SERVING while at least one worker serves, NOT_SERVING once
  shutting down.
"""

from __future__ import annotations

import errno
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from points.api.security import check_ops_host
from points.application.policy_file import parse_policy, read_policy_file
from points.server import Settings, serve
from points.storage.migrate import is_migrated, migrate
from points.storage.settings import SettingsError, parse_database_url

log = logging.getLogger(__name__)

READY = b"ready\n"
START_WITHIN = 60.0  # seconds for a worker to become ready before it is killed and counted as failed
STOP_WITHIN = 20.0  # seconds from the forwarded SIGTERM until stragglers are killed (a worker drains for up to 10 s)
FIRST_BACKOFF = 0.5  # seconds before a dead worker is replaced
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # a worker that ran this long resets its slot's backoff
POLL = 0.2


# -- the worker side ---------------------------------------------------------------------------


def run_worker(settings: Settings, index: int, ready_fd: int) -> None:
    """One worker: `serve` as usual, telling the parent through `ready_fd` once it answers."""
    threading.Thread(target=_stop_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()

    def on_serving(description: str) -> None:
        print(f"points: worker {index} (pid {os.getpid()}) ready on {description}", flush=True)
        try:
            os.write(ready_fd, READY)
        except OSError as e:  # the parent is gone: _stop_with_parent ends this worker
            log.warning("worker %d: could not tell the parent it is ready (%s)", index, e)
        finally:
            os.close(ready_fd)

    serve(settings, on_serving=on_serving)


def _stop_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    log.warning("worker %d: parent %d is gone; shutting down", os.getpid(), parent)
    os.kill(os.getpid(), signal.SIGTERM)  # the graceful path of serve()


def parse_worker(value: str) -> tuple[int, int]:
    """The internal --worker INDEX:FD."""
    index, _, fd = value.partition(":")
    return int(index), int(fd)


# -- the parent side ---------------------------------------------------------------------------


def serve_processes(settings: Settings, processes: int, argv: Sequence[str]) -> int:
    """`points serve --processes N` with N > 1: checks, migrates once, then supervises N workers until SIGTERM."""
    store = parse_database_url(settings.database_url)
    if store.backend != "postgresql":
        raise SettingsError(
            f"--processes {processes} needs PostgreSQL: one process owns an embedded {store.backend} store "
            "(run one process, the default, or use a postgresql:// database)"
        )
    settings.security.check(settings.host)  # refuse here, before any worker starts (each worker prints the warnings)
    if settings.metrics_port or settings.health_port:
        check_ops_host(settings.ops_host, public=settings.ops_public)  # the same rule for the ops ports
    initial_policy, policy_source = read_policy_file(settings.policy_path)
    parse_policy(initial_policy, policy_source)
    port = _claim_port(settings.host, settings.port)
    metrics_ports = [settings.metrics_port + i for i in range(processes)] if settings.metrics_port else []
    clashing = {port, settings.health_port} & set(metrics_ports)
    if clashing:
        raise SettingsError(
            f"worker metrics ports {metrics_ports[0]}-{metrics_ports[-1]} (--metrics-port + worker index) include port {min(clashing)}, "
            "which is the gRPC or the health port: choose another --metrics-port"
        )
    if not is_migrated(store):
        if not settings.migrate:
            raise SettingsError(
                f"the store {store.redacted_url} has no tables: run `points migrate --database ...` once (or start without --no-migrate)"
            )
        migrate(store)  # once, here: the workers start with --no-migrate

    from points.observability import HealthPort  # the parent's only gRPC server; workers are exec'd, never forked from it

    health = HealthPort(settings.ops_host, settings.health_port) if settings.health_port else None
    if health is not None:
        health.start()
    supervisor = Supervisor(
        processes=processes,
        command=lambda index, ready_fd: worker_command(argv, index, ready_fd, port=port, metrics_port=metrics_ports[index] if metrics_ports else 0),
        description=f"{settings.host}:{port}",
        store=store.redacted_url,
        on_health=health.set_serving if health is not None else lambda serving: None,
    )
    try:
        return supervisor.run()
    finally:
        if health is not None:
            health.stop()


def worker_command(argv: Sequence[str], index: int, ready_fd: int, *, port: int, metrics_port: int) -> list[str]:
    """The parent's own `serve` arguments, then what differs for worker `index` (argparse: the last one wins)."""
    return [
        sys.executable, "-m", "points.cli", *argv,
        "--processes", "1", "--no-migrate", "--port", str(port), "--metrics-port", str(metrics_port), "--health-port", "0",
        "--worker", f"{index}:{ready_fd}",
    ]  # fmt: skip


def _claim_port(host: str, port: int) -> int:
    """The port every worker binds: refuses one in use (SO_REUSEPORT would join another server silently); 0 picks one."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        raise SettingsError(f"cannot resolve --host {host}: {e}") from e
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no obstacle; a listener is
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise SettingsError(f"cannot listen on {host}:{port}: it is in use (by a listener, or a connection still holding it)") from e
            raise SettingsError(f"cannot listen on {host}:{port}: {e}") from e
        return int(probe.getsockname()[1])


@dataclass
class Worker:
    index: int
    popen: subprocess.Popen[bytes]
    ready_fd: int  # the read end of its pipe; -1 once closed
    started: float
    ready: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Slot:
    index: int
    worker: Worker | None = None
    failures: int = 0  # deaths in a row, for the backoff
    restart_at: float = 0.0


@dataclass
class Supervisor:
    """Starts the workers, replaces those that die, forwards SIGTERM/SIGINT; run() returns the exit code."""

    processes: int
    command: Callable[[int, int], list[str]]  # (index, ready_fd) -> the worker's argv
    description: str
    store: str
    on_health: Callable[[bool], None]
    slots: list[Slot] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    _started: bool = False  # every worker was ready once
    _serving: bool | None = None

    def run(self) -> int:
        self.slots = [Slot(i) for i in range(self.processes)]
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            if not self._start_all():
                code = 0 if self._stopping.is_set() else 1
            else:
                self._started = True
                pids = ", ".join(str(s.worker.pid) for s in self.slots if s.worker is not None)
                log.info("points serving on %s with %d processes (pids %s), store %s", self.description, self.processes, pids, self.store)
                print(f"points: serving gRPC on {self.description} with {self.processes} processes (pids {pids}, store {self.store})", flush=True)
                self._set_health()
                while not self._stopping.is_set():
                    self._poll(POLL)
                    self._replace_dead()
        finally:
            if not self._stop_all():
                code = 1
            for s, handler in previous.items():
                signal.signal(s, handler)
            self._selector.close()
        return code

    def _on_signal(self, signum: int, frame: object) -> None:
        self._stopping.set()

    # -- starting ----------------------------------------------------------------------------

    def _start_all(self) -> bool:
        """Worker 0 alone (it may publish the initial policy of an empty store), then the rest; False if one failed."""
        spawned: list[Slot] = []
        for group in ([self.slots[0]], self.slots[1:]):
            for slot in group:
                self._spawn(slot)
                spawned.append(slot)
            while not all(s.worker is not None and s.worker.ready for s in spawned):
                if self._stopping.is_set():
                    return False
                self._poll(POLL)
                for slot in spawned:
                    if slot.worker is None:  # _poll saw it exit
                        print(f"points: worker {slot.index} exited while the workers were starting (see its output above); stopping", file=sys.stderr, flush=True)
                        return False
        return True

    def _spawn(self, slot: Slot) -> None:
        read_fd, write_fd = os.pipe()
        try:
            popen = subprocess.Popen(self.command(slot.index, write_fd), pass_fds=(write_fd,))
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        os.set_blocking(read_fd, False)
        worker = Worker(slot.index, popen, read_fd, time.monotonic())
        self._selector.register(read_fd, selectors.EVENT_READ, worker)
        slot.worker = worker
        log.info("worker %d started (pid %d)", slot.index, popen.pid)

    # -- watching ----------------------------------------------------------------------------

    def _poll(self, timeout: float) -> None:
        """Reads the workers' ready pipes for up to `timeout` seconds, then reaps those that exited."""
        for key, _ in self._selector.select(timeout):
            worker: Worker = key.data
            try:
                data = os.read(worker.ready_fd, 64)
            except BlockingIOError:
                continue
            if data.startswith(READY.strip()):
                worker.ready = True
                log.info("worker %d (pid %d) ready after %.1fs", worker.index, worker.pid, time.monotonic() - worker.started)
            self._close_pipe(worker)  # one message, then EOF
        now = time.monotonic()
        for slot in self.slots:
            worker = slot.worker
            if worker is None:
                continue
            if worker.popen.poll() is None and not worker.ready and now - worker.started > START_WITHIN:
                log.error("worker %d (pid %d) not ready within %.0fs; killing it", worker.index, worker.pid, START_WITHIN)
                worker.popen.kill()
                worker.popen.wait()
            code = worker.popen.poll()
            if code is None:
                continue
            self._close_pipe(worker)
            slot.worker = None
            ran = now - worker.started
            if self._stopping.is_set():
                continue
            if not self._started:
                log.error("worker %d (pid %d) exited (%s) after %.1fs, while the workers were starting", worker.index, worker.pid, _exit_status(code), ran)
                continue
            slot.failures = 1 if ran >= STABLE_AFTER else slot.failures + 1
            delay = min(FIRST_BACKOFF * 2 ** (slot.failures - 1), MAX_BACKOFF)
            slot.restart_at = now + delay
            log.warning(
                "worker %d (pid %d) exited unexpectedly (%s) after %.1fs; starting a replacement in %.1fs",
                worker.index, worker.pid, _exit_status(code), ran, delay,
            )  # fmt: skip
        self._set_health()

    def _replace_dead(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.worker is None and now >= slot.restart_at and not self._stopping.is_set():
                self._spawn(slot)

    def _close_pipe(self, worker: Worker) -> None:
        if worker.ready_fd >= 0:
            self._selector.unregister(worker.ready_fd)
            os.close(worker.ready_fd)
            worker.ready_fd = -1

    def _set_health(self) -> None:
        """SERVING while at least one worker answers, once all were ready; never while stopping."""
        if not self._started:
            return
        serving = not self._stopping.is_set() and any(s.worker is not None and s.worker.ready and s.worker.popen.poll() is None for s in self.slots)
        if self._serving is not None and serving != self._serving and not self._stopping.is_set():
            log.warning("%s", "a worker serves again" if serving else "no worker is serving: every one died")
        if serving != self._serving:
            self._serving = serving
            self.on_health(serving)

    # -- stopping ----------------------------------------------------------------------------

    def _stop_all(self) -> bool:
        """SIGTERM to every worker, then waits; True if each stopped by itself within STOP_WITHIN."""
        self._stopping.set()
        self.on_health(False)
        workers = [s.worker for s in self.slots if s.worker is not None]
        for worker in workers:
            if worker.popen.poll() is None:
                worker.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WITHIN
        clean = True
        for worker in workers:
            try:
                code = worker.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker %d (pid %d) still running %.0fs after SIGTERM; killing it", worker.index, worker.pid, STOP_WITHIN)
                worker.popen.kill()
                code = worker.popen.wait()
                clean = False
            if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                log.warning("worker %d (pid %d) stopped with %s", worker.index, worker.pid, _exit_status(code))
                clean = False
            self._close_pipe(worker)
        return clean


def _exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
