"""README.md's examples, run verbatim against a real `points serve`, so the README cannot drift (issue 18).

The server is a real `points serve` process on a free loopback port in development mode (no
TLS, no tokens: what `make run` starts) with a fresh SQLite store in a temporary directory.
tests/docs/examples.py checks every code block of README.md, then runs the unmarked ones in
order from the repository root (shell with bash, Python with the venv's Python). The one
substitution: the README's address 127.0.0.1:50051 becomes the test server's
127.0.0.1:<port>, in commands and `# ->` lines alike. A `# -> ...` line must match what the
commands above it printed (JSON compared as JSON; `"..."` and `[...]` match any value).
Blocks marked `<!-- not run: REASON -->` (make run, make test, the PostgreSQL setting) are
not run; their make targets must pass `make -n` and their `points serve` options must exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.examples import REPO, Block, ExampleError, blocks, check, matches, run_block, run_markdown, served

README = REPO / "README.md"
SEQUENCE = ["DirectoryService/RegisterOutlet", "DirectoryService/RegisterEmployee",
            "WorkEventService/RecordWorkEvent", "BalanceService/GetBalance"]


def test_every_readme_example_runs_against_a_real_server(tmp_path: Path) -> None:
    with served(tmp_path) as address:
        ran = run_markdown(README, address)

    code = "\n".join(b.text for b in ran.blocks)
    assert [code.find(call) > -1 for call in SEQUENCE] == [True] * 4, "the README's calls: outlet, employee, event, balance"
    assert sorted(code.find(call) for call in SEQUENCE) == [code.find(call) for call in SEQUENCE]
    assert ran.checked >= 2  # the work event's and the balance's answers


def test_the_api_guide_runs_after_the_readme_on_the_same_server(tmp_path: Path) -> None:
    """docs/api.md's Python example uses the README's employee, as a reader who followed both would."""
    with served(tmp_path) as address:
        run_markdown(README, address)
        ran = run_markdown(REPO / "docs" / "api.md", address)

    assert any(b.language == "python" for b in ran.blocks) and ran.checked >= 1


def test_a_readme_whose_position_is_wrong_fails(tmp_path: Path) -> None:
    wrong = tmp_path / "README.md"
    text = README.read_text()
    assert text.count('"position": "5", "period"') == 1
    wrong.write_text(text.replace('"position": "5", "period"', '"position": "7", "period"'))

    with served(tmp_path) as address, pytest.raises(ExampleError, match="not what `# ->` says") as failed:
        run_markdown(wrong, address)

    assert '"position": "5"' in str(failed.value)  # what the server printed, shown


def test_a_guide_run_after_the_readme_that_reuses_its_request_id_fails(tmp_path: Path) -> None:
    """The drift of issue 18: docs/api.md's Python block reused the README's request_id with
    other fields. run_markdown runs guides one after another against one server, so a guide
    whose examples clash with the README's fails (docs/api.md itself is not run here yet)."""
    guide = tmp_path / "guide.md"
    guide.write_text(
        "```python\nimport grpc\nfrom points.v1 import work_events_pb2 as w, work_events_pb2_grpc as wg\n\n"
        'channel = grpc.insecure_channel("127.0.0.1:50051")\n'
        "recorded = wg.WorkEventServiceStub(channel).RecordWorkEvent(w.RecordWorkEventRequest(\n"
        '    request_id="feed-42/1", employee_id="E1001", kind="counter_transaction", quantity="12", occurred_on="2026-11-02"))\n'
        "print(recorded.position)\n# -> 6\n```\n"
    )

    with served(tmp_path) as address:
        run_markdown(README, address)
        with pytest.raises(ExampleError, match="(?s)exited 1.*ALREADY_EXISTS.*already used for a different work event"):
            run_markdown(guide, address)


@pytest.mark.parametrize(("expected", "printed", "met"), [
    ('{"eventId": "...", "position": "5"}', '{\n  "eventId": "e89",\n  "position": "5"\n}\n', True),
    ('{"eventId": "...", "position": "5"}', '{"eventId": "e89", "position": "3"}', False),
    ('{"event_id": "...", "position": "5"}', '{"eventId": "e89", "position": "5"}', False),  # field spelling
    ('{"position": "5"}', '{"position": 5}', False),  # int64 prints as a string
    ('{"position": "5"}', '{"eventId": "e89", "position": "5"}', False),  # every field shown
    ('{"lines": [...], "b": {...}}', '{"lines": [{"x": 1}, {"y": 2}], "b": {"c": []}}', True),
    ('{"lines": [...]}', '{"lines": "x"}', True),  # a wildcard is any value
    ('{"lines": [{"x": 1}]}', '{"lines": [{"x": 1}, {"y": 2}]}', False),
    ('{"a": 1}', "not json", False),
    ("4.8000 [('workload', '...')]", "4.8000 [('workload', '12.0000')]\n", True),
    ("4.8000 [('workload', '...')]", "4.9000 [('workload', '12.0000')]\n", False),
])
def test_an_expectation_meets_only_matching_output(expected: str, printed: str, met: bool) -> None:
    assert matches(expected, printed) is met


def write(tmp_path: Path, markdown: str) -> list[Block]:
    doc = tmp_path / "doc.md"
    doc.write_text(markdown)
    return blocks(doc)


@pytest.mark.parametrize(("markdown", "refusal"), [
    ("```\nsomething\n```\n", "not a language run here"),
    ("```json\n{}\n```\n", "not a language run here"),
    ("```console\n$ ls\n```\n", "not a language run here"),
    ("```sh\ncurl localhost:50051\n```\n", "other than as 127.0.0.1:50051"),
    ("```python\nfor i in [1]:\n# -> 1\n    print(i)\n```\n", "must follow a whole top-level statement"),
    ("```sh\nmake run\n```\n", "runs `make` or `points serve`"),
    ("```sh\nPOINTS_DATABASE_URL=x .venv/bin/points serve --port 1\n```\n", "runs `make` or `points serve`"),
    ("<!-- not run: shows it -->\n```sh\nmake no-such-target\n```\n", "`make no-such-target` is not a target"),
    ("<!-- not run: shows it -->\n```sh\n.venv/bin/points serve --no-such-option 1\n```\n", "--no-such-option"),
])
def test_a_block_neither_runnable_nor_marked_is_refused(tmp_path: Path, markdown: str, refusal: str) -> None:
    [block] = write(tmp_path, markdown)

    with pytest.raises(ExampleError, match=refusal):
        check(block)


def test_a_marker_without_a_reason_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExampleError, match="needs a reason"):
        write(tmp_path, "<!-- not run: -->\n```sh\nmake run\n```\n")


def test_a_marked_block_naming_real_commands_passes(tmp_path: Path) -> None:
    [block] = write(tmp_path, "<!-- not run: shows it -->\n```sh\nX=1 make run   # serve\n.venv/bin/points serve --database 'x'\n```\n")

    check(block)
    assert block.not_run == "shows it"


def test_the_docs_port_is_replaced_and_no_other_50051_remains(tmp_path: Path) -> None:
    [python, shell, stray] = write(tmp_path, (
        "```python\nprint('127.0.0.1:50051')\n# -> 127.0.0.1:4321\n```\n"
        "```sh\necho one; echo http://127.0.0.1:50051/x\n# -> one\n# -> http://127.0.0.1:4321/x\necho two\n```\n"
        "```sh\necho localhost:50051\n```\n"
    ))

    assert run_block(python, "127.0.0.1:4321") == 1
    assert run_block(shell, "127.0.0.1:4321") == 1
    with pytest.raises(ExampleError, match="other than as 127.0.0.1:50051"):
        run_block(stray, "127.0.0.1:4321")


def test_a_failing_command_or_a_wrong_python_output_fails(tmp_path: Path) -> None:
    [shell, python] = write(tmp_path, "```sh\necho fine\n# -> fine\nfalse\necho never\n```\n```py\nx = 2\nprint(x)\n# -> 3\n```\n")

    with pytest.raises(ExampleError, match=r"exited 1 in the code from line 4:\nfalse"):
        run_block(shell, "127.0.0.1:4321")
    with pytest.raises(ExampleError, match=r"doc.md:10: the output is not"):
        run_block(python, "127.0.0.1:4321")
