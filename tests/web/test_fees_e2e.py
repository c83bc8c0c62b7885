"""Fees end to end, in headless Chromium against a real `erplake run`:

1. the accountant signs in, generates a class's invoices for an instalment (preview,
   then the job's progress to done) and records a counter payment for one student,
   then downloads the receipt;
2. the demo parent (two children) switches child, pays that child's invoice through
   the fake Razorpay checkout that `erplake run` serves in development (its "Pay"
   posts a signed webhook to the billing role), comes back to the app, sees the
   payment confirmed and downloads the receipt.

The demo school's fees (erplake/demo/fees.py) are the starting point: the quarters
already due are invoiced, the next one is not. Screenshots of the fee screens at
1280 and 360 px go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.conftest import RunningServer
from tests.web.test_login_e2e import DESKTOP, PHONE, inbox_codes, wait_for_new_code

pytestmark = pytest.mark.e2e

ADMIN_DIGITS = "919800000001"
ACCOUNTANT_TYPED, ACCOUNTANT_DIGITS = "98000 00003", "919800000003"
PARENT_TYPED, PARENT_DIGITS = "98000 00005", "919800000005"
PARENT_CLASSES = ("3", "7")  # erplake/demo/seed.py DEMO_PARENT_CLASSES
WAIT_MS = 30_000


# ---- the server -------------------------------------------------------------------


# ---- API set-up -------------------------------------------------------------------


def api_sign_in(base: str, digits: str) -> dict[str, str]:
    """Sign in over HTTP with the code from the developer inbox."""
    inbox = f"{base}/notify/dev/inbox"

    def rows() -> list[str]:
        page = httpx.get(inbox, timeout=10).text
        return [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if digits in r]

    known = len(rows())
    started = httpx.post(f"{base}/api/auth/otp/start", json={"phone": f"+{digits}"}, timeout=10)
    assert started.status_code == 200, started.text
    deadline = time.monotonic() + 30
    while True:
        found = rows()
        if len(found) > known:
            code = re.search(r"<li>(\d{6})</li>", found[0])
            assert code, found[0]
            break
        assert time.monotonic() < deadline, f"no code for +{digits} in the inbox"
        time.sleep(0.3)
    verified = httpx.post(
        f"{base}/api/auth/otp/verify",
        json={"phone": f"+{digits}", "code": code.group(1)},
        timeout=10,
    )
    assert verified.status_code == 200, verified.text
    return verified.json()


class Api:
    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.client = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=20,
        )

    def get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(path, params=params)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def post(self, path: str, body: Any, status: int = 201, **headers: str) -> Any:
        answer = self.client.post(path, json=body, headers=headers)
        assert answer.status_code == status, f"POST {path}: {answer.status_code} {answer.text}"
        return answer.json()


@pytest.fixture(scope="module")
def demo(erplake_server: RunningServer) -> dict[str, Any]:
    """What the tests need to know about the demo school's fees (erplake/demo/fees.py:
    quarterly instalments, invoices for the quarters already due, the demo family's
    latest quarter unpaid): the next quarter (not invoiced yet), the classes, and the
    demo parent's two children."""
    api = Api(erplake_server.base_url, api_sign_in(erplake_server.base_url, ADMIN_DIGITS))
    school = api.get("/api/school")
    today = datetime.now(ZoneInfo(school["timezone"])).date().isoformat()
    instalments = api.get("/api/fees/instalments", limit=50)["items"]
    upcoming = sorted((i for i in instalments if i["due_on"] > today), key=lambda i: i["due_on"])
    assert upcoming, f"every instalment of the year is already due on {today}: {instalments}"
    classes = {c["name"]: c["id"] for c in api.get("/api/classes")}
    children = api.get("/api/students", q=PARENT_DIGITS[2:], limit=10)["items"]
    assert {c["class_name"] for c in children} == set(PARENT_CLASSES), children
    return {
        "next_instalment": upcoming[0],
        "classes": classes,
        "children": {c["class_name"]: c for c in children},
    }


# ---- browser helpers ----------------------------------------------------------------


def sign_in(context: BrowserContext, page: Page, base: str, typed: str, digits: str) -> None:
    page.goto(f"{base}/login")
    known = len(inbox_codes(context, base, digits))
    page.get_by_label("Mobile number").fill(typed)
    page.get_by_role("button", name="Send code on WhatsApp").click()
    code = wait_for_new_code(context, base, digits, known)
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"), timeout=WAIT_MS)


def shoot(page: Page, folder: Path, name: str) -> None:
    """The page at desktop and at phone width, then back to where it was."""
    before = page.viewport_size
    page.evaluate("window.scrollTo(0, 0)")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=folder / f"{name}-1280.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=folder / f"{name}-360.png", full_page=True)
    if before:
        page.set_viewport_size(before)


def download_pdf(page: Page, button: Any) -> bytes:
    with page.expect_download(timeout=WAIT_MS) as info:
        button.click()
    path = info.value.path()
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF"), data[:40]
    return data


def new_context(browser: Browser, viewport: Any) -> BrowserContext:
    return browser.new_context(viewport=viewport, locale="en-IN", accept_downloads=True)


# ---- the tests ----------------------------------------------------------------------


def test_accountant_generates_a_class_and_takes_a_counter_payment(
    erplake_server: RunningServer, demo: dict[str, Any], browser: Browser, screenshots: Path
) -> None:
    base = erplake_server.base_url
    context = new_context(browser, DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    parent_children = {c["name"] for c in demo["children"].values()}
    try:
        sign_in(context, page, base, ACCOUNTANT_TYPED, ACCOUNTANT_DIGITS)
        nav = page.get_by_role("navigation", name="Main")

        # Fee set-up as the admin left it: class fees by instalment.
        nav.get_by_role("link", name="Fees").click()
        expect(page.get_by_role("heading", level=1, name="Fees")).to_be_visible()
        expect(page.get_by_role("heading", name=re.compile(r"^Class 3 · "))).to_be_visible(
            timeout=WAIT_MS
        )
        shoot(page, screenshots, "fees-setup")

        # Generate: preview first, then a job with progress to done.
        nav.get_by_role("link", name="Invoices").click()
        expect(page.get_by_role("heading", level=1, name="Invoices")).to_be_visible()
        page.get_by_role("navigation", name="Invoices and payments").get_by_role(
            "link", name="Generate invoices"
        ).click()
        # (the invoices list has filters with the same labels: wait for the new page)
        expect(page.get_by_role("heading", level=1, name="Generate invoices")).to_be_visible()
        page.get_by_label("Instalment", exact=True).select_option(demo["next_instalment"]["id"])
        page.get_by_label("Class", exact=True).select_option(demo["classes"]["3"])
        page.get_by_role("button", name="Preview").click()
        count = page.get_by_test_id("preview-count")
        expect(count).to_have_text(re.compile(r"^[1-9]\d*$"), timeout=WAIT_MS)
        students = int(count.inner_text().replace(",", ""))
        expect(page.get_by_test_id("preview-total")).to_contain_text("₹")
        shoot(page, screenshots, "invoices-generate-preview")
        page.get_by_role("button", name=f"Generate {students} invoices").click()
        expect(page.get_by_role("progressbar")).to_be_visible()
        expect(page.get_by_text(f"{students} invoices generated.")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
        shoot(page, screenshots, "invoices-generate-done")

        # The class's invoices; open one of a student outside the demo family.
        page.get_by_role("link", name="See the invoices").click()
        rows = page.get_by_test_id("invoice-row")
        expect(rows).to_have_count(min(students, 50), timeout=WAIT_MS)
        shoot(page, screenshots, "invoices-list")
        row = next(
            r
            for r in rows.all()
            if r.get_by_role("link").inner_text().strip() not in parent_children
        )
        student = row.get_by_role("link").inner_text().strip()
        row.get_by_role("link").click()
        balance = page.get_by_test_id("invoice-balance")
        expect(balance).to_have_text(re.compile(r"^₹[1-9]"), timeout=WAIT_MS)
        due = balance.inner_text()
        shoot(page, screenshots, "invoice-detail")

        # Counter payment: the student and the invoice come ticked from the invoice.
        page.get_by_role("link", name="Record payment for this invoice").click()
        expect(page.get_by_text(student, exact=True)).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_label("Amount", exact=True)).to_have_value(
            due.replace("₹", "").replace(",", ""), timeout=WAIT_MS
        )
        page.get_by_role("radio", name="UPI").click()
        page.get_by_label("UPI reference number").fill("UTR9988776655")
        shoot(page, screenshots, "counter-payment")
        page.get_by_role("button", name=f"Record {due}").click()
        receipt = page.get_by_role("region", name=re.compile(r"^Receipt "))
        expect(receipt).to_be_visible(timeout=WAIT_MS)
        expect(receipt).to_contain_text(due)
        shoot(page, screenshots, "counter-receipt")
        download_pdf(page, receipt.get_by_role("button", name="Download receipt (PDF)"))

        # The invoice now reads paid; the payment is on the payments list and the dashboard.
        page.get_by_role("link", name="This student's invoices").click()
        expect(page.get_by_test_id("invoice-row").first).to_contain_text("Paid", timeout=WAIT_MS)
        page.get_by_role("navigation", name="Invoices and payments").get_by_role(
            "link", name="Payments", exact=True
        ).click()
        expect(page.get_by_test_id("payment-row").first).to_contain_text(student)
        shoot(page, screenshots, "payments-list")
        nav.get_by_role("link", name="Dashboard").click()
        expect(page.get_by_test_id("collection-summary")).to_contain_text(
            re.compile(r"^₹[1-9][\d,]* collected of ₹"), timeout=WAIT_MS
        )
        expect(page.get_by_test_id("defaulters")).to_contain_text(
            re.compile(r"students with overdue fees|No overdue fees"), timeout=WAIT_MS
        )
        shoot(page, screenshots, "dashboard-fees")
        assert errors == [], errors
    except Exception:
        page.screenshot(path=screenshots / "failure-fees-accountant.png", full_page=True)
        print(f"--- erplake run log (tail) ---\n{erplake_server.log_tail()}")
        raise
    finally:
        context.close()


def test_parent_switches_child_and_pays_online(
    erplake_server: RunningServer, demo: dict[str, Any], browser: Browser, screenshots: Path
) -> None:
    base = erplake_server.base_url
    context = new_context(browser, PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    payer = demo["children"]["7"]
    try:
        sign_in(context, page, base, PARENT_TYPED, PARENT_DIGITS)
        switcher = page.get_by_role("navigation", name="Choose a child")
        expect(switcher.get_by_role("link")).to_have_count(2, timeout=WAIT_MS)

        # Switch to the class-7 child: their quarter is due, with a Pay button.
        switcher.get_by_role("link", name=re.compile(re.escape(payer["name"]))).click()
        expect(page.get_by_role("heading", level=1, name=payer["name"])).to_be_visible()
        fees = page.get_by_role("region", name="Fees")
        expect(fees.get_by_test_id("family-due-total")).to_have_text(
            re.compile(r"^Due now: ₹[1-9]"), timeout=WAIT_MS
        )
        expect(fees.get_by_test_id("due-invoice")).to_have_count(1)
        shoot(page, screenshots, "parent-fees")

        # Pay: the fake Razorpay checkout opens in the same tab.
        pay = fees.get_by_test_id("due-invoice").get_by_role("button", name=re.compile(r"^Pay ₹"))
        amount = pay.inner_text().removeprefix("Pay ").strip()
        pay.click()
        expect(page).to_have_url(re.compile(r"/_dev/razorpay/checkout/"), timeout=WAIT_MS)
        page.screenshot(path=screenshots / "parent-fake-checkout-360.png", full_page=True)
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()

        # Back in the app, on the same child: confirmed, nothing due, a receipt.
        expect(page).to_have_url(re.compile(rf"/children/{payer['id']}$"), timeout=WAIT_MS)
        status = page.get_by_test_id("pay-status")
        expect(status).to_have_text(
            f"Payment of {amount} received. Thank you! Your receipt is below.", timeout=WAIT_MS
        )
        expect(fees).to_contain_text(f"Nothing is due for {payer['name']}.")
        receipt = fees.get_by_test_id("receipt-row").first
        expect(receipt).to_contain_text(amount, timeout=WAIT_MS)
        shoot(page, screenshots, "parent-paid")
        download_pdf(page, receipt.get_by_role("button", name="Receipt"))

        # The other child still owes their quarter.
        other = demo["children"]["3"]
        switcher.get_by_role("link", name=re.compile(re.escape(other["name"]))).click()
        expect(
            page.get_by_role("region", name="Fees").get_by_test_id("family-due-total")
        ).to_have_text(re.compile(r"^Due now: ₹[1-9]"), timeout=WAIT_MS)
        assert errors == [], errors
    except Exception:
        page.screenshot(path=screenshots / "failure-fees-parent.png", full_page=True)
        print(f"--- erplake run log (tail) ---\n{erplake_server.log_tail()}")
        raise
    finally:
        context.close()
