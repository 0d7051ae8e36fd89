"""The payments page, deployed to the site bucket of the local stack, driven in headless Chromium like a customer would.

Each test seeds its own bill (a unique invoice id), uses its own email address and phone number, and saves a
screenshot of its end state into tests/artifacts/.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.helpers.stack import (
    GOOD_CARD,
    change_bill,
    declining_card,
    payment_body,
    sent_emails,
    sent_texts,
    unique_invoice_id,
    unique_phone,
    wait_for,
)

BAD_LUHN_CARD = "4111111111111112"  # in CARD_NUMBERS_USED: the card-data scan looks for it too
SETTLED = 90_000  # ms: the server-side wait before processing, the workflow and both alerts
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def look_up(page, invoice_id) -> None:
    page.get_by_label("Invoice ID").fill(str(invoice_id))
    page.get_by_role("button", name="Get Balance").click()


def fill_payment(page, *, card: str, email: str, phone: str, email_me: bool, text_me: bool, expiry: str = "12/39"):
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry date (MM/YY)").fill(expiry)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Mobile phone").fill(phone)
    page.get_by_label("Email me").set_checked(email_me)
    page.get_by_label("Text me").set_checked(text_me)


def payment_posts(page) -> list:
    """Collects every POST the page makes to /paymentbalance (not the CORS preflight)."""
    posts: list = []
    page.on(
        "request",
        lambda request: posts.append(request)
        if request.method == "POST" and request.url.rstrip("/").endswith("/paymentbalance")
        else None,
    )
    return posts


def new_email() -> str:
    return f"page-{uuid.uuid4().hex[:12]}@example.com"


# --- looking up a bill -------------------------------------------------------------------------------------------


def test_look_up_a_bill_shows_the_customer_and_the_amount_due(page, bill, shot):
    created = bill(balance="42.10", name="Grace, Hopper")
    look_up(page, created["InvoiceID"])

    expect(page.locator("#bill-name")).to_have_text("H. Grace")  # masked: docs/payments.md
    expect(page.locator("#bill-amount")).to_contain_text("42.10")
    expect(page.locator("#bill-invoice")).to_have_text(str(created["InvoiceID"]))
    expect(page.get_by_role("button", name="Post Payment")).to_be_enabled()
    expect(page.get_by_label("Card number")).to_be_editable()
    shot(page)


def test_an_unknown_invoice_says_so_and_the_form_stays_disabled(page, shot):
    look_up(page, unique_invoice_id())
    expect(page.locator("#lookup-message")).to_contain_text("No bill found")
    expect(page.locator("#bill")).to_be_hidden()
    expect(page.get_by_role("button", name="Post Payment")).to_be_disabled()
    shot(page)


@pytest.mark.parametrize("invoice_id", ["abc", "0", "12.5"])
def test_an_invalid_invoice_id_says_so(page, invoice_id, shot):
    look_up(page, invoice_id)
    expect(page.locator("#lookup-message")).to_contain_text("not an invoice id")
    expect(page.get_by_label("Invoice ID")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Post Payment")).to_be_disabled()
    shot(page)


def test_a_paid_bill_cannot_be_paid_again(page, bill, shot):
    created = bill(balance="0.00", processed=1, name="Alan Turing")
    look_up(page, created["InvoiceID"])

    expect(page.locator("#lookup-message")).to_contain_text("Nothing due")
    expect(page.locator("#bill-amount")).to_contain_text("0.00")
    expect(page.get_by_role("button", name="Post Payment")).to_be_disabled()
    for label in ("Card number", "Expiry date (MM/YY)", "Mobile phone", "Email me", "Text me"):
        expect(page.get_by_label(label)).to_be_disabled()
    expect(page.get_by_label("Email", exact=True)).to_be_disabled()
    shot(page)


def test_an_unpaid_bill_with_a_zero_balance_has_nothing_due_and_is_not_called_paid(page, bill, api, shot):
    created = bill(balance="0.00", processed=0, name="Ada Zero")
    look_up(page, created["InvoiceID"])

    message = f"Nothing due: invoice {created['InvoiceID']} has a balance of $0.00."
    expect(page.locator("#lookup-message")).to_have_text(message)
    expect(page.get_by_role("button", name="Post Payment")).to_be_disabled()
    # The API agrees: a payment of nothing is refused by name, and the bill stays as issued.
    refused = api.pay({**payment_body(created), "BillingAmount": "0.00"})
    assert refused.status_code == 400 and "BillingAmount" in refused.json()["errors"]
    shot(page)


# --- paying --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", ["email", "text", "both"])
def test_pay_and_get_exactly_the_chosen_alerts(page, bill, balance_of, shot, choice):
    created = bill(balance="125.50", name="Ada Lovelace")
    invoice = str(created["InvoiceID"])
    email, phone = new_email(), unique_phone()
    posts = payment_posts(page)

    look_up(page, invoice)
    expect(page.locator("#bill-amount")).to_contain_text("125.50")
    fill_payment(
        page,
        card=GOOD_CARD,
        email=email,
        phone=phone,
        email_me=choice in ("email", "both"),
        text_me=choice in ("text", "both"),
    )
    # A double click sends once: the button is disabled as soon as the first click is handled.
    page.get_by_role("button", name="Post Payment").dblclick()

    status = page.locator("#pay-status")
    expect(status).to_have_attribute("data-state", "done", timeout=SETTLED)
    expect(status).to_contain_text(f"Paid $125.50 for invoice {invoice}")
    expect(status).to_contain_text("ending 1111")
    if choice in ("email", "both"):
        expect(status).to_contain_text(f"Email sent to {email}")
    else:
        expect(status).not_to_contain_text("Email sent")
    if choice in ("text", "both"):
        expect(status).to_contain_text(f"Text message sent to {phone}")
    else:
        expect(status).not_to_contain_text("Text message")

    # Exactly one request, with an idempotency key, the looked-up bill and exactly the ticked choice.
    assert len(posts) == 1, [p.url for p in posts]
    sent = json.loads(posts[0].post_data)
    assert UUID.match(posts[0].headers["idempotency-key"]), posts[0].headers
    assert sent["Choices"] == choice
    assert (sent["InvoiceID"], sent["BillersName"], sent["BillingAmount"]) == (
        created["InvoiceID"],
        "A. Lovelace",  # the name the lookup showed: the full one never reaches the page
        "125.50",
    )

    # The alerts really went out, only on the chosen channels.
    if choice in ("email", "both"):
        mails = wait_for(lambda: sent_emails(email))
        assert len(mails) == 1 and invoice in str(mails[0]) and "125.50" in str(mails[0])
    else:
        assert sent_emails(email) == []
    if choice in ("text", "both"):
        texts = wait_for(lambda: sent_texts(phone))
        assert len(texts) == 1 and invoice in texts[0] and "125.50" in texts[0]
    else:
        assert sent_texts(phone) == []

    # The bill is paid, the page says so and will not pay it again; the card number is gone from the page.
    assert balance_of(created["InvoiceID"])["IsProcessed"] == 1
    expect(page.locator("#lookup-message")).to_contain_text("Nothing due")
    expect(page.get_by_role("button", name="Post Payment")).to_be_disabled()
    expect(page.get_by_label("Card number")).to_have_value("")
    assert GOOD_CARD not in page.content()
    shot(page)


def test_a_declined_card_shows_why_and_the_customer_pays_with_another_card(
    page, bill, balance_of, aws, deployment, shot
):
    # Chromium connects from 127.0.0.1 in every run (tests cannot give it an address of its own): start this client's
    # count of failed attempts afresh, so that runs within the hour do not add up to its limit.
    limits = aws.resource("dynamodb").Table(deployment["limits_table"])
    for item in limits.scan(ConsistentRead=True)["Items"]:
        if item["Counter"].startswith("failed-payments-client#127.0.0.1#"):
            limits.delete_item(Key={"Counter": item["Counter"]})
    created = bill(balance="42.00")
    email, declined = new_email(), declining_card("9995")
    look_up(page, created["InvoiceID"])
    fill_payment(page, card=declined, email=email, phone=unique_phone(), email_me=True, text_me=False)
    page.get_by_role("button", name="Post Payment").click()

    status = page.locator("#pay-status")
    expect(status).to_have_attribute("data-state", "failed", timeout=SETTLED)
    expect(status).to_contain_text(f"Declined with Visa ending {declined[-4:]}")
    expect(status).to_contain_text("Your card was declined for insufficient funds. Use another card.")
    expect(status).to_contain_text("Nothing was charged and the bill is still due")
    assert balance_of(created["InvoiceID"])["IsProcessed"] == 0

    # The bill is payable again, with another card.
    fill_payment(page, card=GOOD_CARD, email=email, phone=unique_phone(), email_me=True, text_me=False)
    page.get_by_role("button", name="Post Payment").click()
    expect(status).to_have_attribute("data-state", "done", timeout=SETTLED)
    expect(status).to_contain_text(f"Paid $42.00 for invoice {created['InvoiceID']}")
    assert balance_of(created["InvoiceID"])["IsProcessed"] == 1
    assert len(wait_for(lambda: sent_emails(email))) == 1  # one receipt: the payment that went through
    assert declined not in page.content()
    shot(page)


def test_a_locked_invoice_says_so_and_nothing_is_charged(page, bill, balance_of, aws, deployment, shot):
    created = bill(balance="42.00")
    # The invoice's count of declines this hour at its limit (5 by default), as five declined cards would leave it.
    window = 3600
    window_end = (int(time.time()) // window + 1) * window
    aws.resource("dynamodb").Table(deployment["limits_table"]).put_item(
        Item={"Counter": f"failed-payments-invoice#{created['InvoiceID']}#{window_end}", "Hits": 5}
    )
    look_up(page, created["InvoiceID"])
    fill_payment(page, card=GOOD_CARD, email=new_email(), phone=unique_phone(), email_me=True, text_me=False)
    with page.expect_response(lambda r: r.request.method == "POST" and "/paymentbalance" in r.url) as answer:
        page.get_by_role("button", name="Post Payment").click()
    assert answer.value.status == 429
    status = page.locator("#pay-status")
    expect(status).to_contain_text(f"Invoice {created['InvoiceID']} is locked after too many failed payment attempts")
    expect(status).to_contain_text("Nothing was charged.")
    assert balance_of(created["InvoiceID"])["IsProcessed"] == 0
    shot(page)


def test_a_retry_after_a_lost_answer_reuses_the_key_and_pays_once(page, bill, balance_of, shot):
    """The first POST reaches the API but its answer is lost on the way back: the page retries with the same
    Idempotency-Key, the API replays its first answer, and the customer is charged and alerted once."""
    created = bill(balance="19.99")
    email = new_email()
    keys: list[str] = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            return route.continue_()
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the API gets the payment...
            return route.abort("connectionreset")  # ...and the page never hears back
        return route.continue_()

    page.route(re.compile(r"/paymentbalance/?$"), lose_first_answer)
    look_up(page, created["InvoiceID"])
    fill_payment(page, card=GOOD_CARD, email=email, phone=unique_phone(), email_me=True, text_me=False)
    page.get_by_role("button", name="Post Payment").click()

    expect(page.locator("#pay-status")).to_have_attribute("data-state", "done", timeout=SETTLED)
    assert len(keys) == 2 and keys[0] == keys[1] and UUID.match(keys[0]), keys
    assert len(wait_for(lambda: sent_emails(email))) == 1
    assert balance_of(created["InvoiceID"])["IsProcessed"] == 1
    shot(page)


def test_a_bill_paid_meanwhile_is_409_and_the_page_says_nothing_more_was_charged(page, bill, aws, deployment, shot):
    created = bill(balance="20.00")
    look_up(page, created["InvoiceID"])
    fill_payment(page, card=GOOD_CARD, email=new_email(), phone=unique_phone(), email_me=True, text_me=False)
    change_bill(aws, deployment, created["InvoiceID"], Balance=Decimal("0"), IsProcessed=1)  # paid elsewhere

    with page.expect_response(lambda r: r.request.method == "POST" and "/paymentbalance" in r.url) as answer:
        page.get_by_role("button", name="Post Payment").click()
    assert answer.value.status == 409
    expect(page.locator("#pay-status")).to_contain_text("is already paid")
    expect(page.locator("#pay-status")).to_contain_text("Nothing more was charged")
    expect(page.locator("#lookup-message")).to_have_text(f"Nothing due: invoice {created['InvoiceID']} has been paid.")
    expect(page.get_by_role("button", name="Post Payment")).to_be_disabled()
    shot(page)


def test_an_amount_changed_meanwhile_is_400_and_the_page_asks_to_look_the_bill_up_again(
    page, bill, aws, deployment, balance_of, shot
):
    created = bill(balance="20.00")
    look_up(page, created["InvoiceID"])
    fill_payment(page, card=GOOD_CARD, email=new_email(), phone=unique_phone(), email_me=True, text_me=False)
    change_bill(aws, deployment, created["InvoiceID"], Balance=Decimal("25.00"))  # the next day's file

    with page.expect_response(lambda r: r.request.method == "POST" and "/paymentbalance" in r.url) as answer:
        page.get_by_role("button", name="Post Payment").click()
    assert answer.value.status == 400
    expect(page.locator("#pay-error")).to_contain_text("must equal the balance due, 25.00")
    expect(page.locator("#pay-error")).to_contain_text("Look the bill up again")
    assert balance_of(created["InvoiceID"])["IsProcessed"] == 0
    page.get_by_label("Card number").fill("")  # the screenshot never shows a card number
    shot(page)


def test_an_invalid_card_shows_its_error_next_to_the_field_and_sends_nothing(page, bill, balance_of, shot):
    created = bill(balance="64.00")
    email, phone = new_email(), unique_phone()
    look_up(page, created["InvoiceID"])
    fill_payment(page, card=BAD_LUHN_CARD, email=email, phone=phone, email_me=True, text_me=True)

    with page.expect_response(lambda r: r.request.method == "POST" and "/paymentbalance" in r.url) as answer:
        page.get_by_role("button", name="Post Payment").click()
    assert answer.value.status == 400

    card = page.get_by_label("Card number")
    error = page.locator("#card-number-error")
    expect(error).not_to_be_empty()
    expect(card).to_have_attribute("aria-invalid", "true")
    expect(card).to_have_attribute("aria-describedby", re.compile(r"\bcard-number-error\b"))
    expect(card).to_have_value("")  # the number is not kept, even to retry
    expect(card).to_have_attribute("placeholder", re.compile("1112"))
    for other in ("#expiry-error", "#email-error", "#phone-error", "#choices-error"):
        expect(page.locator(other)).to_be_empty()
    expect(page.locator("#pay-status")).not_to_contain_text("Paid")
    expect(page.get_by_role("button", name="Post Payment")).to_be_enabled()  # fix the card and try again

    assert balance_of(created["InvoiceID"])["IsProcessed"] == 0
    assert sent_emails(email) == [] and sent_texts(phone) == []
    assert BAD_LUHN_CARD not in page.content()
    shot(page)


def test_at_least_one_alert_must_be_ticked(page, bill, shot):
    created = bill(balance="10.00")
    posts = payment_posts(page)
    look_up(page, created["InvoiceID"])
    fill_payment(page, card=GOOD_CARD, email=new_email(), phone=unique_phone(), email_me=False, text_me=False)
    page.get_by_role("button", name="Post Payment").click()

    expect(page.locator("#choices-error")).to_contain_text("at least one")
    expect(page.get_by_label("Email me")).to_have_attribute("aria-invalid", "true")
    page.wait_for_load_state("networkidle")  # a POST sent anyway would have been seen by now
    assert posts == []
    page.get_by_label("Card number").fill("")  # the screenshot never shows a card number
    shot(page)


def test_the_page_fits_a_phone_screen(phone_page, bill, shot):
    created = bill(balance="88.00", name="Katherine Johnson")
    look_up(phone_page, created["InvoiceID"])
    expect(phone_page.locator("#bill-name")).to_have_text("K. Johnson")
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390px wide"
    box = phone_page.get_by_role("button", name="Post Payment").bounding_box()
    assert box["width"] >= 300 and box["height"] >= 44  # a full-width, finger-sized button
    shot(phone_page)
