"""A teacher signs in on the real app in headless Chromium, with the one-time code
read from the developer WhatsApp inbox, and lands on a dashboard that shows only
what a teacher may open. Screenshots of both screens at desktop and phone widths
go to artifacts/screenshots/."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

TEACHER_PHONE_TYPED = "98000 00004"
TEACHER_PHONE_DIGITS = "919800000004"  # how Gupshup addresses +91 98000 00004
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}
INBOX_WAIT_SECONDS = 30

pytestmark = pytest.mark.e2e


def inbox_codes(context: BrowserContext, base_url: str, digits: str) -> list[str]:
    """Sign-in codes sent to `digits`, newest first, read from /notify/dev/inbox in
    another tab. The inbox lists messages newest first; an OTP message's first
    template parameter is the code."""
    inbox = context.new_page()
    try:
        inbox.goto(f"{base_url}/notify/dev/inbox")
        codes = []
        for row in inbox.locator("tr").filter(has_text=digits).all():
            params = row.locator("li")
            text = params.first.inner_text() if params.count() > 0 else row.inner_text()
            found = re.search(r"\b(\d{6})\b", text)
            if found:
                codes.append(found.group(1))
        return codes
    finally:
        inbox.close()


def wait_for_new_code(context: BrowserContext, base_url: str, digits: str, known: int) -> str:
    """The code of the message that arrives after the `known` ones (the worker sends
    it just after the request, so poll until it shows up)."""
    deadline = time.monotonic() + INBOX_WAIT_SECONDS
    while True:
        codes = inbox_codes(context, base_url, digits)
        if len(codes) > known:
            return codes[0]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no new code for +{digits} in the developer inbox after {INBOX_WAIT_SECONDS}s"
            )
        time.sleep(0.5)


def nav_labels(page: Page) -> list[str]:
    nav = page.get_by_role("navigation", name="Main")
    return [label.strip() for label in nav.get_by_role("link").all_inner_texts()]


def test_teacher_signs_in_with_a_code_from_the_developer_inbox(
    erplake_server, browser: Browser, screenshots: Path
) -> None:
    base = erplake_server.base_url
    context = browser.new_context(viewport=DESKTOP, locale="en-IN")
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        # Not signed in: the app sends us to the sign-in page.
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/login")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.screenshot(path=screenshots / "login-1280.png", full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=screenshots / "login-360.png", full_page=True)

        # On a phone, as a teacher would: number, then the code from WhatsApp.
        known_codes = len(inbox_codes(context, base, TEACHER_PHONE_DIGITS))
        page.get_by_label("Mobile number").fill(TEACHER_PHONE_TYPED)
        page.get_by_role("button", name="Send code on WhatsApp").click()
        expect(page.get_by_role("status")).to_contain_text("+91 98000 00004")
        resend = page.get_by_role("button", name=re.compile(r"^New code in \d+ sec$"))
        expect(resend).to_be_disabled()
        page.screenshot(path=screenshots / "login-code-360.png", full_page=True)

        code = wait_for_new_code(context, base, TEACHER_PHONE_DIGITS, known_codes)
        page.get_by_label("6-digit code").fill(code)
        page.get_by_role("button", name="Sign in").click()

        expect(page).to_have_url(f"{base}/")
        expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
        expect(page.get_by_text("Hello, Sunita Rao")).to_be_visible()

        # 360 px: the navigation is folded behind the menu button.
        main_nav = page.get_by_role("navigation", name="Main")
        expect(main_nav).to_be_hidden()
        page.screenshot(path=screenshots / "dashboard-360.png", full_page=True)
        page.get_by_role("button", name="Menu").click()
        expect(main_nav.get_by_role("link", name="Attendance")).to_be_visible()
        expect(main_nav.get_by_role("link", name="Fees")).to_have_count(0)
        page.screenshot(path=screenshots / "dashboard-menu-360.png", full_page=True)
        page.keyboard.press("Escape")
        expect(main_nav).to_be_hidden()

        # 1280 px: a sidebar with exactly a teacher's areas.
        page.set_viewport_size(DESKTOP)
        expect(main_nav).to_be_visible()
        assert nav_labels(page) == ["Dashboard", "Students", "Attendance", "Chat"]
        expect(page.get_by_role("banner")).to_contain_text("Green Valley Public School")
        expect(page.get_by_role("banner")).to_contain_text("Sunita Rao")
        page.screenshot(path=screenshots / "dashboard-1280.png", full_page=True)

        # The session survives a reload (refresh token), and the teacher's screen opens.
        page.reload()
        main_nav.get_by_role("link", name="Attendance").click()
        expect(page.get_by_role("heading", level=1, name="Attendance")).to_be_visible()

        assert page_errors == [], page_errors
    except Exception:
        page.screenshot(path=screenshots / "failure-login-e2e.png", full_page=True)
        print(f"--- erplake run log (tail) ---\n{erplake_server.log_tail()}")
        raise
    finally:
        context.close()
