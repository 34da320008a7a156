"""What the browser tests share (test_book.py: the built book; test_jupyterlab.py: the live notebook in JupyterLab):
Debian's chromium (`make setup` installs it; not `playwright install`, which downloads browsers from a CDN) driven
by Playwright, every request off 127.0.0.1 blocked, and one folder for the screenshots."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOST = "127.0.0.1"


def chromium_missing() -> str | None:
    """Why no browser test can run on this machine (no chromium, no Playwright), or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing: run `make setup` (as root) or `apt-get install chromium`"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"playwright is not installed ({e}): run `make setup`"
    return None


@contextlib.contextmanager
def launched_chromium() -> Iterator:
    """A headless chromium; closed, and Playwright stopped, on the way out."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


def _off_machine(url: str) -> bool:
    return urlsplit(url).hostname != LOCAL_HOST


def block_off_machine(context) -> list[str]:
    """Lets a browser context reach 127.0.0.1 only: every other request (and WebSocket) is aborted and its URL put
    in the list returned, so a test can say what a page tried to fetch from elsewhere."""
    blocked: list[str] = []

    def route(r):
        if _off_machine(r.request.url):
            blocked.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    def refuse(ws):  # a routed WebSocket that is never connected to its server: it goes nowhere
        blocked.append(ws.url)
        ws.close()

    context.route("**/*", route)
    context.route_web_socket(_off_machine, refuse)
    return blocked


def artifacts_dir() -> Path:
    """Where screenshots go: ``$SPARSELIB_ARTIFACTS``, else ``test-artifacts/screenshots/`` of this checkout."""
    env = os.environ.get("SPARSELIB_ARTIFACTS")
    folder = Path(env) if env else REPO / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
