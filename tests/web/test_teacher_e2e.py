"""A teacher signs in on a phone with a code from the developer WhatsApp inbox and
marks today's register for 6-A: everyone present, one tap marks a child absent,
one save. The register read back through the API has exactly that. Then the main
screens of the staff console and the parent portal are captured at desktop and
phone widths in artifacts/screenshots/."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.test_login_e2e import DESKTOP, PHONE, inbox_codes, wait_for_new_code

pytestmark = pytest.mark.e2e

ADMIN_DIGITS = "919800000001"
TEACHER_PHONE_TYPED = "98000 00004"
TEACHER_DIGITS = "919800000004"
PARENT_DIGITS = "919800000005"
INBOX_WAIT_SECONDS = 30


def api_tokens(base: str, digits: str) -> dict[str, str]:
    """Sign in over HTTP, reading the code from the developer inbox (the API's own
    sign-in, as a script would do it)."""
    inbox = f"{base}/notify/dev/inbox"
    known = len(
        [r for r in re.findall(r"<tr>.*?</tr>", httpx.get(inbox).text, re.S) if digits in r]
    )
    started = httpx.post(f"{base}/api/auth/otp/start", json={"phone": f"+{digits}"})
    assert started.status_code == 200, started.text
    deadline = time.monotonic() + INBOX_WAIT_SECONDS
    while True:
        rows = [r for r in re.findall(r"<tr>.*?</tr>", httpx.get(inbox).text, re.S) if digits in r]
        if len(rows) > known:
            code = re.search(r"<li>(\d{6})</li>", rows[0])
            assert code, rows[0]
            break
        assert time.monotonic() < deadline, f"no code for +{digits} in the inbox"
        time.sleep(0.3)
    verified = httpx.post(
        f"{base}/api/auth/otp/verify", json={"phone": f"+{digits}", "code": code.group(1)}
    )
    assert verified.status_code == 200, verified.text
    return verified.json()


@pytest.fixture(scope="module")
def admin(erplake_server) -> dict[str, str]:
    """The demo admin, signed in once for the module (codes are rate limited)."""
    return api_tokens(erplake_server.base_url, ADMIN_DIGITS)


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def school_today(base: str, tokens: dict[str, str]) -> str:
    school = httpx.get(f"{base}/api/school", headers=bearer(tokens)).json()
    return datetime.now(ZoneInfo(school["timezone"])).date().isoformat()


def open_the_school_today(base: str, admin: dict[str, str], today: str) -> None:
    """The test marks today's register: on a Sunday or a holiday the school would be
    closed (and the app says so), so the admin opens the school for today first."""
    day = httpx.get(f"{base}/api/calendar/days/{today}", headers=bearer(admin)).json()
    if day["is_school_day"]:
        return
    httpx.put(
        f"{base}/api/calendar", json={"weekly_offs": []}, headers=bearer(admin)
    ).raise_for_status()
    calendar = httpx.get(
        f"{base}/api/calendar", params={"from": today, "to": today}, headers=bearer(admin)
    ).json()
    for holiday in calendar["holidays"]:
        httpx.delete(
            f"{base}/api/holidays/{holiday['id']}", headers=bearer(admin)
        ).raise_for_status()


def signed_in_context(browser: Browser, base: str, tokens: dict[str, str]) -> BrowserContext:
    """A browser whose app finds a refresh token, as after an earlier sign-in."""
    context = browser.new_context(viewport=DESKTOP, locale="en-IN")
    context.add_init_script(
        "if (!localStorage.getItem('erplake.refresh_token'))"
        f" localStorage.setItem('erplake.refresh_token', {tokens['refresh_token']!r});"
    )
    return context


def shoot(page: Page, folder: Path, name: str) -> None:
    """The page at desktop and at phone width."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=folder / f"{name}-1280.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=folder / f"{name}-360.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def test_teacher_marks_a_section_on_a_phone(
    erplake_server, admin: dict[str, str], browser: Browser, screenshots: Path
) -> None:
    base = erplake_server.base_url
    today = school_today(base, admin)
    open_the_school_today(base, admin, today)
    sections = httpx.get(f"{base}/api/sections", headers=bearer(admin)).json()
    section = next(s for s in sections if s["label"] == "6-A")

    context = browser.new_context(viewport=PHONE, locale="en-IN", has_touch=True)
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        page.goto(f"{base}/attendance")
        known = len(inbox_codes(context, base, TEACHER_DIGITS))
        page.get_by_label("Mobile number").fill(TEACHER_PHONE_TYPED)
        page.get_by_role("button", name="Send code on WhatsApp").click()
        page.get_by_label("6-digit code").fill(
            wait_for_new_code(context, base, TEACHER_DIGITS, known)
        )
        page.get_by_role("button", name="Sign in").click()

        # Back where she was going: her sections, then 6-A's register for today.
        expect(page.get_by_role("heading", level=1, name="Attendance")).to_be_visible()
        page.get_by_role("link", name="Class 6 – A").click()
        expect(page.get_by_role("heading", level=1, name="Attendance 6-A")).to_be_visible()
        toggles = page.locator("button.mark-toggle")
        expect(toggles).to_have_count(section["students"])
        expect(
            page.get_by_text(re.compile(rf"^{section['students']} present, 0 not present"))
        ).to_be_visible()

        # One tap marks the second child absent.
        absent = toggles.nth(1)
        absent_name = absent.locator(".mark-name").inner_text()
        absent.tap()
        expect(absent).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_text(re.compile(r"1 not present · not saved yet"))).to_be_visible()
        page.screenshot(path=screenshots / "attendance-mark-360.png", full_page=False)

        save = page.get_by_role("button", name=re.compile(r"^Save attendance"))
        save.click()
        expect(page.get_by_text(re.compile(r"saved at"))).to_be_visible()

        # Through the API: the register has exactly one absence, the child tapped.
        register = httpx.get(
            f"{base}/api/attendance/register",
            params={"section_id": section["id"], "date": today},
            headers=bearer(admin),
        ).json()
        codes = {row["name"]: row["code"] for row in register["rows"]}
        assert codes[absent_name] == "A"
        assert [name for name, code in codes.items() if code != "P"] == [absent_name]
        assert register["not_marked"] == 0

        # A reload shows the saved register, not a fresh all-present one.
        page.reload()
        expect(
            page.get_by_role("button", name=re.compile(re.escape(absent_name)))
        ).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_text(re.compile(r"· saved$"))).to_be_visible()
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=screenshots / "attendance-mark-1280.png", full_page=True)

        # Chat: write to a parent of the section, and find the message again.
        page.goto(f"{base}/chat")
        page.get_by_role("button", name="New conversation").click()
        page.locator(".contact-list button").first.click()
        page.get_by_label("Write a message").fill("Please send the <b>permission slip</b> tomorrow")
        page.get_by_role("button", name="Send").click()
        expect(page.locator(".message.mine")).to_contain_text(
            "Please send the <b>permission slip</b>"
        )
        expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
        shoot(page, screenshots, "chat")
        page.set_viewport_size(DESKTOP)
        page.get_by_label("Search messages").fill("permission")
        hit = page.locator(".snippet").first
        expect(hit.locator("mark")).to_have_text("permission")
        assert hit.locator("b").count() == 0  # the message's markup stays text
        shoot(page, screenshots, "chat-search")

        page.goto(f"{base}/")
        expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
        shoot(page, screenshots, "dashboard-teacher")
        assert page_errors == [], page_errors
    except Exception:
        page.screenshot(path=screenshots / "failure-teacher-e2e.png", full_page=True)
        print(f"--- erplake run log (tail) ---\n{erplake_server.log_tail()}")
        raise
    finally:
        context.close()


def test_main_screens_at_desktop_and_phone_widths(
    erplake_server, admin: dict[str, str], browser: Browser, screenshots: Path
) -> None:
    base = erplake_server.base_url
    context = signed_in_context(browser, base, admin)
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        page.goto(f"{base}/students")
        expect(page.get_by_test_id("student-row")).to_have_count(50)
        shoot(page, screenshots, "students")

        page.get_by_test_id("student-row").first.get_by_role("link").click()
        expect(page.get_by_role("heading", name="Parents and guardians")).to_be_visible()
        shoot(page, screenshots, "student-profile")

        page.goto(f"{base}/settings/attendance")
        expect(page.get_by_role("rowheader", name="LV")).to_be_visible()
        shoot(page, screenshots, "settings-attendance-codes")
        page.goto(f"{base}/settings/users")
        expect(page.get_by_role("button", name="Change roles of Sunita Rao")).to_be_visible()
        shoot(page, screenshots, "settings-users")

        page.goto(f"{base}/")
        expect(page.get_by_role("heading", name="Today's attendance")).to_be_visible()
        shoot(page, screenshots, "dashboard-admin")
        assert page_errors == [], page_errors
    finally:
        context.close()

    parent = api_tokens(base, PARENT_DIGITS)
    context = signed_in_context(browser, base, parent)
    page = context.new_page()
    try:
        page.goto(f"{base}/")
        expect(page.get_by_role("navigation", name="Choose a child")).to_be_visible()
        expect(page.get_by_role("heading", name="Leave")).to_be_visible()
        expect(page.locator("table.month-grid")).to_be_visible()
        shoot(page, screenshots, "parent-child")
        assert page_errors == [], page_errors
    finally:
        context.close()
