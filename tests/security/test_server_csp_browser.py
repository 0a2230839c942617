"""The Content-Security-Policy without 'unsafe-inline' scripts, in a real
browser (Debian's chromium, headless, driven by Playwright) against a real
server: no page reports a policy violation, and the scripts that used to be
inline still run (Datasette's column menus, the SQL editor, the charts)."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


@pytest.fixture(scope="module")
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page = browser.new_page()
        page.violations = []
        page.errors = []
        page.on(
            "console",
            lambda m: (
                page.violations.append(m.text)
                if "Content Security Policy" in m.text
                else None
            ),
        )
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        yield page
        browser.close()


def test_pages_run_their_scripts_without_violations(public_server, browser_page):
    page = browser_page
    base = public_server.base
    # Table page: table.js (reads DATASETTE_ALLOW_FACET) adds column menus.
    page.goto(base + "/registry/homes")
    page.wait_for_selector("th .dropdown-menu-icon", state="attached")
    # Closing menus on an outside click (close-menus.js, once inline).
    page.evaluate("document.querySelector('details.nav-menu').open = true")
    page.click("h1")
    assert page.evaluate("document.querySelector('details.nav-menu').open") is False
    # SQL editor: CodeMirror started by codemirror-foot.js (once inline).
    page.goto(base + "/registry?sql=select+1")
    page.wait_for_selector(".CodeMirror", state="attached")
    # Charts.
    page.goto(base + "/home/SC100001")
    page.wait_for_selector("#rating-timeline[data-drawn=true]")
    assert page.violations == []
    assert page.errors == []
    # Control: an injected inline script is blocked and reported.
    page.goto(base + "/registry/homes")
    page.evaluate(
        """() => { const s = document.createElement('script');
        s.textContent = 'window.injected = 1'; document.body.appendChild(s); }"""
    )
    assert page.evaluate("window.injected") is None
    assert any("inline script" in v for v in page.violations)
    assert public_server.unchanged()
