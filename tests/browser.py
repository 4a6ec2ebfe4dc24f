"""Headless Chromium (Debian's, see `make chromium`) driven by Playwright, as a person uses a page."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():  # a failure, not a skip: make test installs it
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def new_page(browser: Browser, timeout_ms: int = 15_000) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(timeout_ms)
    try:
        yield context.new_page()
    finally:
        context.close()


def click(page: Page, button: str) -> None:
    """Click a button. Headless Chromium's PDF viewer keeps the focus once it has loaded and the next click
    into the page is lost; moving the focus to the button first (as Tab would) gets it delivered."""
    target = page.get_by_role("button", name=button, exact=True)
    target.focus()
    target.click()


def identify_and_sign(
    page: Page,
    name: str,
    number: str,
    labels: tuple[str, str] = ("Full name", "National identity number"),
    button: str = "Sign",
) -> None:
    """The signing page's identity step as a person does it: type a name and a number, click the button."""
    page.get_by_label(labels[0]).fill(name)
    page.get_by_label(labels[1]).fill(number)
    click(page, button)
