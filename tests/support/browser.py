"""A real browser for report tests: Debian's headless Chromium, bounded by a timeout, with a throwaway profile.

`.ci/run` installs the `chromium` package when it is missing; elsewhere a test without it is
skipped, except under CI=true, where it fails (nothing is skipped in CI).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT = 60.0


def chromium() -> str:
    """The browser's path; skips the test (fails it under CI=true) when there is none."""
    found = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    if found is None:
        message = "headless Chromium is needed (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def rendered_dom(page: Path) -> str:
    """The DOM of a local HTML file after its scripts ran, as headless Chromium serialises it."""
    with tempfile.TemporaryDirectory(prefix="points-chromium-") as profile:
        command = [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-extensions", "--window-size=1000,1400", f"--user-data-dir={profile}",
            "--dump-dom", page.resolve().as_uri(),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the browser's own children too
            process.communicate()
            raise AssertionError(f"chromium did not render {page} within {TIMEOUT:.0f} s") from None
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


class Elements(HTMLParser):
    """Every start tag as (tag, attributes), in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def elements(dom: str) -> list[tuple[str, dict[str, str]]]:
    parser = Elements()
    parser.feed(dom)
    return parser.found
