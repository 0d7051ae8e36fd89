"""Playwright fixtures of the browser suite: Debian's Chromium, headless, on the page the deployment serves.

The browser is the system's /usr/bin/chromium-headless-shell (apt package `chromium-headless-shell`: Chromium's
headless build, the one Playwright itself runs headless), never one Playwright downloads. The full browser
(CHROMIUM_PATH=/usr/bin/chromium) passes the same tests at about three times the CPU (`python -m bench.browser_cpu`).
On the local stack the page's URL is http://<bucket>.s3-website.localhost.localstack.cloud:4566/; that name is only in
public DNS, so Chromium maps *.localstack.cloud to 127.0.0.1 itself and the suite works with no network at all.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers.stack import REPO

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium-headless-shell")
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_args(*urls: str) -> list[str]:
    """The launch flags; a host under localstack.cloud (public DNS only) is resolved to the local stack's address."""
    args = list(CHROMIUM_ARGS)
    if any((urlsplit(url).hostname or "").endswith(".localstack.cloud") for url in urls):
        args.append("--host-resolver-rules=MAP *.localstack.cloud 127.0.0.1")
    return args


@pytest.fixture(scope="session")
def site_url(deployment) -> str:
    return deployment["site_url"]


@pytest.fixture(scope="session")
def browser(deployment, site_url):
    """One headless Chromium for the whole suite."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # fail loudly: a green run must not hide a missing install step
        pytest.fail("the browser suite needs the `playwright` package from requirements-dev.txt")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser suite needs {CHROMIUM} (apt-get install chromium-headless-shell, or CHROMIUM_PATH)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=chromium_args(site_url, deployment["api_url"])
        )
        yield browser
        browser.close()


class PageErrors:
    """Uncaught script errors and requests to anything but the page's own origin and the API."""

    def __init__(self, allowed_hosts: set[str]):
        self.allowed_hosts = allowed_hosts
        self.script_errors: list[str] = []
        self.foreign_requests: list[str] = []

    def on_request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc not in self.allowed_hosts:
            self.foreign_requests.append(request.url)


def _open_page(browser, site_url: str, api_url: str, viewport: dict, request):
    context = browser.new_context(viewport=viewport, device_scale_factor=1, service_workers="block")
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = PageErrors({urlsplit(site_url).netloc, urlsplit(api_url).netloc})
    page.on("pageerror", lambda error: watch.script_errors.append(str(error)))
    page.on("request", watch.on_request)
    page.goto(site_url)
    page.watch = watch  # the test may look at what was requested
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()
    assert watch.script_errors == [], f"the page threw: {watch.script_errors}"
    assert watch.foreign_requests == [], f"the page reached outside its own site and API: {watch.foreign_requests}"


@pytest.fixture
def page(browser, site_url, deployment, request):
    """The deployed page at desktop size, freshly loaded in its own browser context."""
    yield from _open_page(browser, site_url, deployment["api_url"], DESKTOP, request)


@pytest.fixture
def phone_page(browser, site_url, deployment, request):
    """The deployed page on a phone-sized screen (390 x 844 CSS pixels)."""
    yield from _open_page(browser, site_url, deployment["api_url"], PHONE, request)


def screenshot(page, name: str) -> Path:
    """Saves the page's end state as tests/artifacts/browser-<name>.png (an ignored folder)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"browser-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shot(request):
    """shot(page, label): a screenshot named after the test (and the label)."""

    def take(page, label: str = "") -> Path:
        return screenshot(page, request.node.name + (f"-{label}" if label else ""))

    return take


@pytest.fixture
def balance_of(aws, deployment):
    """The bill as the balance table holds it now."""
    table = aws.resource("dynamodb").Table(deployment["balance_table"])
    return lambda invoice_id: table.get_item(Key={"InvoiceID": invoice_id}, ConsistentRead=True)["Item"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item, so the page fixture can screenshot a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
