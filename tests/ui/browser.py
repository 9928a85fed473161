"""Headless Chromium from Debian's `chromium` package driven by Playwright, for looking at the
Dagster UI as a user does. Playwright never downloads a browser here: it starts /usr/bin/chromium."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LOADING = ("Loading…", "Loading...", "fetching statuses")
"""What the UI shows while it is still asking for a node's status."""


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium package is not installed (`apt-get install chromium`; .ci/run does)")
    return path


class UiPage:
    """One browser tab on the UI at `base_url`; each visited page is saved as `<name>.png` in `shots`."""

    def __init__(self, page, base_url: str, shots: Path) -> None:
        self.page, self.base_url, self.shots = page, base_url, shots

    def open(self, name: str, path: str, *expected: str, timeout: float = 120) -> str:
        """Go to `path`, wait until the page shows every `expected` text and stops loading, save a
        screenshot and return the page's text."""
        self.page.goto(self.base_url + path, timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            self._skip_welcome_dialog()
            text = self.page.inner_text("body")
            if all(e in text for e in expected):
                break
            self.page.wait_for_timeout(500)
        else:
            self.page.screenshot(path=self.shots / f"{name}.timeout.png")
            missing = [e for e in expected if e not in text]
            pytest.fail(f"{path}: after {timeout:.0f}s the page does not show {missing}\n{text[:3000]}")
        settled = time.monotonic() + 30
        while any(busy in text for busy in LOADING) and time.monotonic() < settled:
            self.page.wait_for_timeout(500)
            text = self.page.inner_text("body")
        with contextlib.suppress(PlaywrightTimeout):  # the UI polls every 2 s; idle between polls
            self.page.wait_for_load_state("networkidle", timeout=15_000)
        self.page.wait_for_timeout(1500)  # the graph's statuses and layout animation
        self._skip_welcome_dialog()
        self.page.screenshot(path=self.shots / f"{name}.png")
        return text

    def _skip_welcome_dialog(self) -> None:
        """Dagster's community dialog covers a new profile's first page."""
        skip = self.page.get_by_role("button", name="Skip")
        if skip.count():
            skip.first.click()
            skip.first.wait_for(state="detached", timeout=10_000)


@contextmanager
def ui_browser(base_url: str, shots: Path, profile: Path) -> Iterator[UiPage]:
    """A tab of a fresh headless Chromium (empty user-data-dir `profile`)."""
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1600, "height": 1400},
        )
        try:
            yield UiPage(context.new_page(), base_url, shots)
        finally:
            context.close()
