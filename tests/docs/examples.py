"""Run a markdown file's code blocks, verbatim, against a real server; reusable for any guide.

`run_markdown(path, address)` reads the fenced code blocks of `path` (``` or ~~~), checks
them all first, then runs them in order from the repository root:

- `sh`, `shell`, `bash` blocks with `bash -euo pipefail`, one process a block;
- `python`, `py` blocks with the venv's Python, one process a block.

**Address.** The docs' address `127.0.0.1:50051` (where `make run` serves) is replaced in
the block, expectations included, by the address given, the test server's. A block that
still names port 50051 after that is refused, so no example can reach another server.

**Expected output.** A line `# -> EXPECTED` checks what the command right above it printed
on stdout: in a shell block the last line with the lines it continues (`\\`), in a Python
block the last top-level statement. Consecutive `# ->` lines are one expectation of
several lines; commands without one may print anything (shown when a block fails). When
EXPECTED is JSON, the output must be JSON equal to it: the same keys, the same types ("5"
is not 5), except that `"..."`, `[...]` or `{...}` as a value matches any value (write it
for what varies, like an event id, or what the docs leave out). Otherwise the output,
stripped, must equal EXPECTED, where `...` matches any text. Shell state carries across
expectations (the block is one process), and so do Python's names.

**Blocks that are not run** are marked by the line right before their fence:
`<!-- not run: REASON -->` (the reason is required). Such a block may not run, but what it
names must exist: each `make TARGET` must pass `make -n TARGET`, and each
`.venv/bin/points SUBCOMMAND --option` must be an option `points SUBCOMMAND --help` lists.
An unmarked block in another language, or one that runs `make` or `points serve` (it
would start a server of its own, or the test suite), fails the check instead of being
skipped.

The server is the caller's: see `served` for a real `points serve` in development mode.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from tests.api.test_process import POINTS, STOP_WITHIN, free_port, points_env, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
DOCS_ADDRESS = "127.0.0.1:50051"
SHELLS = {"sh", "shell", "bash"}
PYTHONS = {"python", "py"}
NOT_RUN = re.compile(r"^<!--\s*not run:(?P<reason>.*?)-->\s*$")
EXPECT = re.compile(r"^\s*# ->(?: (?P<text>.*))?$")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+|~~~+)(?P<info>.*)$")
STARTS_A_SERVER = re.compile(r"(^|[\s;&|(])(make\b|(\S*/)?points\s+serve\b)")
WILDCARD = "..."
RUN_WITHIN = 60.0  # seconds for one block


class ExampleError(AssertionError):
    """A block is not runnable, failed, or printed something other than its expectation."""


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, from 1
    language: str
    text: str
    not_run: str | None  # the marker's reason

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line} (```{self.language})"


@dataclass(frozen=True)
class Step:
    code: str
    first_line: int  # in the markdown file, of the code's first line
    expected: str | None
    expected_line: int | None


@dataclass
class Ran:
    """What run_markdown did: the blocks run, the expectations met, the blocks not run."""

    blocks: list[Block]
    checked: int
    not_run: list[Block]


def blocks(path: Path) -> list[Block]:
    """Every fenced code block of a markdown file, with the not-run marker right before it."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening["fence"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]):
            body.append(lines[j])
            j += 1
        if j == len(lines):
            raise ExampleError(f"{path.name}:{i + 1}: code block never closed")
        marker = NOT_RUN.match(lines[i - 1].strip()) if i > 0 else None
        reason = marker["reason"].strip() if marker else None
        if marker and not reason:
            raise ExampleError(f"{path.name}:{i}: `<!-- not run: -->` needs a reason")
        words = opening["info"].split()
        found.append(Block(Path(path), i + 1, words[0] if words else "", "\n".join(body), reason))
        i = j + 1
    return found


def steps(block: Block, address: str = DOCS_ADDRESS) -> list[Step]:
    """The block's code cut at its `# ->` expectations, with the docs' address replaced."""
    text = block.text.replace(DOCS_ADDRESS, address)
    if "50051" in block.text.replace(DOCS_ADDRESS, ""):
        raise ExampleError(f"{block.where}: names port 50051 other than as {DOCS_ADDRESS}; it would reach another server")
    cut: list[Step] = []
    code: list[str] = []
    expected: list[str] = []
    start = block.line + 1
    expected_line: int | None = None
    for n, line in enumerate([*text.splitlines(), ""], start=block.line + 1):
        hit = EXPECT.match(line)
        if hit:
            expected_line = expected_line or n
            expected.append(hit["text"] or "")
            continue
        if expected:
            last = _last_command(block, code, start)
            if last:
                cut.append(Step("\n".join(code[:last]), start, None, None))
            cut.append(Step("\n".join(code[last:]), start + last, "\n".join(expected), expected_line))
            code, expected, start, expected_line = [], [], n, None
        code.append(line)
    if "\n".join(code).strip():
        cut.append(Step("\n".join(code), start, None, None))
    return cut


def _last_command(block: Block, code: list[str], start: int) -> int:
    """Where the command right above an expectation starts, as an index into `code`: in a
    shell block the last non-blank line with the lines it continues (`\\`), in Python the
    last top-level statement."""
    if block.language in PYTHONS:
        try:
            statements = ast.parse("\n".join(code)).body
        except SyntaxError as e:
            raise ExampleError(f"{block.path.name}:{start + (e.lineno or 1) - 1}: a `# ->` must follow a whole top-level statement") from e
        if not statements:
            raise ExampleError(f"{block.path.name}:{start}: a `# ->` with no statement above it")
        last = statements[-1]
        return min([last.lineno, *(d.lineno for d in getattr(last, "decorator_list", []))]) - 1
    last = max((i for i, line in enumerate(code) if line.strip()), default=-1)
    if last < 0:
        raise ExampleError(f"{block.path.name}:{start}: a `# ->` with no command above it")
    while last > 0 and code[last - 1].rstrip().endswith("\\"):
        last -= 1
    return last


def check(block: Block, cwd: Path = REPO) -> None:
    """Refuse an unmarked block that cannot run here; for a marked one, check what it names exists."""
    if block.not_run is None:
        if block.language not in SHELLS | PYTHONS:
            raise ExampleError(
                f"{block.where}: not a language run here ({sorted(SHELLS | PYTHONS)}); "
                "mark it `<!-- not run: REASON -->` on the line before its fence"
            )
        if block.language in SHELLS and STARTS_A_SERVER.search(block.text):
            raise ExampleError(
                f"{block.where}: runs `make` or `points serve`, which would start a server or the suite of its own; "
                "mark it `<!-- not run: REASON -->` on the line before its fence"
            )
        steps(block)  # the address and the expectations' places, before anything runs
        return
    if block.language not in SHELLS:
        return
    for command in commands(block.text):
        if "make" in command:
            for target in command[command.index("make") + 1:]:
                if target.startswith("-") or "=" in target:
                    continue
                dry = subprocess.run(["make", "-n", target], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
                if dry.returncode != 0:
                    raise ExampleError(f"{block.where}: `make {target}` is not a target here:\n{dry.stderr}")
        for k, word in enumerate(command[:-1]):
            if word.endswith(".venv/bin/points"):
                sub = command[k + 1]
                helped = subprocess.run(
                    [str(POINTS), sub, "--help"], env=points_env(), capture_output=True, text=True, timeout=60, check=False,
                )
                options = {o.split("=")[0] for o in command[k + 2:] if o.startswith("--")}
                missing = sorted(o for o in options if not re.search(rf"(^|[\s\[,]){re.escape(o)}\b", helped.stdout))
                if helped.returncode != 0 or missing:
                    raise ExampleError(f"{block.where}: `points {sub}` does not take {missing or 'that'}:\n{helped.stdout}{helped.stderr}")


def commands(text: str) -> Iterator[list[str]]:
    """The shell commands of a block as words (continuations joined, comments dropped)."""
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            yield words


def matches(expected: str, actual: str) -> bool:
    """Does the printed `actual` meet the `# ->` expectation (see the module's docstring)?"""
    try:
        want = json.loads(re.sub(r"\[\.\.\.\]|\{\.\.\.\}", json.dumps(WILDCARD), expected))
    except ValueError:
        pattern = ".*?".join(re.escape(piece) for piece in expected.strip().split(WILDCARD))
        return re.fullmatch(pattern, actual.strip(), re.DOTALL) is not None
    try:
        got = json.loads(actual)
    except ValueError:
        return False
    return _same(want, got)


def _same(want: object, got: object) -> bool:
    if want == WILDCARD:
        return True
    if isinstance(want, dict):
        return isinstance(got, dict) and want.keys() == got.keys() and all(_same(want[k], got[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(map(_same, want, got))
    return type(want) is type(got) and want == got


def _shell_script(cut: list[Step], outputs: Path) -> str:
    parts = ["set -euo pipefail"]
    for i, step in enumerate(cut):
        parts.append(f'exec >"{outputs}/{i}.out"')
        parts.append(step.code)
    return "\n".join(parts) + "\n"


PYTHON_RUNNER = """
import contextlib, json, sys
outputs, path = sys.argv[1], sys.argv[2]
namespace = {"__name__": "__main__"}
for i, step in enumerate(json.load(sys.stdin)):
    with open(f"{outputs}/{i}.out", "w") as out, contextlib.redirect_stdout(out):
        exec(compile("\\n" * (step["first_line"] - 1) + step["code"], path, "exec"), namespace)
"""


def run_block(block: Block, address: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> int:
    """Run one block against `address`; the number of expectations it met, or ExampleError."""
    cut = steps(block, address)
    with tempfile.TemporaryDirectory(prefix="points-example-") as scratch:
        outputs = Path(scratch)
        if block.language in SHELLS:
            argv, stdin = ["bash", "-c", _shell_script(cut, outputs)], ""
        else:
            argv = [sys.executable, "-c", PYTHON_RUNNER, str(outputs), str(block.path)]
            stdin = json.dumps([{"code": s.code, "first_line": s.first_line} for s in cut])
        if env is None:
            env = points_env()
            # As after `pip install ./clients/python`, which the guides' Python examples say to run.
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "clients" / "python" / "src"), env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, text=True, start_new_session=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            _, stderr = process.communicate(stdin, timeout=RUN_WITHIN)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
            raise ExampleError(f"{block.where}: still running after {RUN_WITHIN}s:\n{stderr}") from None
        printed = [(outputs / f"{i}.out").read_text() if (outputs / f"{i}.out").exists() else None for i in range(len(cut))]
    if process.returncode != 0:
        failed = max((i for i, p in enumerate(printed) if p is not None), default=0)
        raise ExampleError(
            f"{block.where}: exited {process.returncode} in the code from line {cut[failed].first_line}:\n"
            f"{cut[failed].code}\n--- stdout ---\n{printed[failed] or ''}--- stderr ---\n{stderr}"
        )
    met = 0
    for step, out in zip(cut, printed):
        if step.expected is None:
            continue
        if out is None or not matches(step.expected, out):
            raise ExampleError(
                f"{block.path.name}:{step.expected_line}: the output is not what `# ->` says\n"
                f"--- expected ---\n{step.expected}\n--- printed ---\n{out}"
            )
        met += 1
    return met


def run_markdown(path: Path, address: str, cwd: Path = REPO) -> Ran:
    """Check every block of `path`, then run the runnable ones in order against `address`."""
    found = blocks(path)
    for block in found:
        check(block, cwd)
    runnable = [b for b in found if b.not_run is None]
    checked = sum(run_block(b, address, cwd) for b in runnable)
    return Ran(runnable, checked, [b for b in found if b.not_run is not None])


@contextmanager
def served(tmp_path: Path, *options: str) -> Iterator[str]:
    """A real `points serve` on a free loopback port, development mode (no TLS, no tokens,
    as `make run`), a fresh SQLite store in tmp_path; yields its address, kills it after."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(POINTS), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--database", f"sqlite:///{tmp_path}/points.db", *options],
            env=points_env(), stdout=out, stderr=subprocess.STDOUT,
        )
    address = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(address)
    try:
        wait_until_serving(process, channel, log)
        yield address
    finally:
        channel.close()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STOP_WITHIN)
