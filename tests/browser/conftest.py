"""Browser tests of the portal: Debian's Chromium driven by Playwright (never a downloaded browser) on the
small demo site, served by uvicorn in a background thread.

Every page of a test runs in a browser context that lets requests to the portal through and aborts (and
records) any other: the ``page`` fixture fails the test if a page tried to reach another host or raised a
JavaScript error. Screenshots go to ``test-artifacts/browser/`` (see portal_browser.py).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright

from .portal_site import demo_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    return demo_site(tmp_path_factory)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app, name: str):
    """Serve ``app`` with uvicorn in a daemon thread on a free port; yields its URL, then stops it."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the portal did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(site) -> str:
    """URL of the portal serving the demo site (uvicorn in a daemon thread, stopped after the session)."""
    from qtlatlas.web.app import create_app

    yield from serve(create_app(site), "portal-test-server")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium for the browser tests")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Guard:
    """Records the requests a browser context makes to other hosts (aborted) and the page errors."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.external: list[str] = []
        self.requests: list[str] = []
        self.errors: list[str] = []

    def local(self, url: str) -> bool:
        return url.startswith(self.base_url + "/") or url == self.base_url or url.startswith(("data:", "blob:"))

    def route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        if self.local(url):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()


def new_page(browser, base_url: str, viewport: dict) -> tuple[Page, Guard, object]:
    context = browser.new_context(viewport=viewport, accept_downloads=True, base_url=base_url)
    guard = Guard(base_url)
    context.route("**/*", guard.route)
    context.on("request", lambda request: guard.requests.append(request.url))
    page = context.new_page()
    page.on("pageerror", lambda error: guard.errors.append(str(error)))
    page.set_default_timeout(15_000)
    return page, guard, context


def checked_page(browser, base_url, viewport):
    """A page whose test fails if it requested another host or raised a JavaScript error (a generator)."""
    page, guard, context = new_page(browser, base_url, viewport)
    page.guard = guard
    yield page
    context.close()
    assert not guard.external, f"requests to other hosts: {guard.external}"
    assert all(guard.local(u) for u in guard.requests), [u for u in guard.requests if not guard.local(u)]
    assert not guard.errors, f"JavaScript errors: {guard.errors}"


@pytest.fixture
def page(browser, base_url):
    """A desktop-sized page; the test fails if it requested another host or raised a JavaScript error."""
    yield from checked_page(browser, base_url, DESKTOP)


@pytest.fixture
def phone(browser, base_url):
    """A phone-sized page (390 × 844), checked like ``page``."""
    yield from checked_page(browser, base_url, PHONE)
