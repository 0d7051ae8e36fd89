"""get_balance against moto: both routes of the original tutorial and the page, and every refusal."""

import pytest

from tests.helpers.handlers import (
    recorded_event,
    answer,
    put_bill,
    ORIGIN,
    FakeContext,
    api_event,
    load_handler,
)


def test_get_balance_both_routes(payments_aws):
    put_bill(balance="42.1", name="Grace, Hopper")
    get_balance = load_handler("get_balance").handler
    by_path = get_balance(api_event("GET", "/paymentbalance/17", path_parameters={"InvoiceID": "17"}), FakeContext())
    by_query = get_balance(api_event("GET", "/paymentbalance/id", query={"InvoiceID": "17"}), FakeContext())
    assert (
        answer(by_path)
        == answer(by_query)
        == (200, {"InvoiceID": 17, "CustomerName": "H. Grace", "Balance": "42.10", "IsProcessed": 0})
    )
    assert by_path["headers"]["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(
    "raw, status", [("abc", 400), ("0", 400), ("-1", 400), ("1.5", 400), ("1e9", 400), (None, 400), ("99", 404)]
)
def test_get_balance_errors(payments_aws, raw, status):
    event = api_event("GET", "/paymentbalance/id", query={"InvoiceID": raw} if raw else None)
    code, body = answer(load_handler("get_balance").handler(event, FakeContext()))
    assert code == status and ("InvoiceID" in body.get("errors", {}) if status == 400 else True)


def test_the_request_the_local_stack_delivers_is_answered_as_recorded(payments_aws):
    put_bill()  # invoice 17, which the recorded request asks for
    response = load_handler("get_balance").handler(recorded_event("api_gateway_get_balance.json"), FakeContext())
    assert answer(response) == (
        200,
        {"InvoiceID": 17, "CustomerName": "A. Lovelace", "Balance": "125.50", "IsProcessed": 0},
    )
    assert response["headers"]["Access-Control-Allow-Origin"] == ORIGIN


def test_lookups_past_the_clients_limit_are_429_and_other_clients_are_served(payments_aws, monkeypatch):
    from payproc.config import reload_settings

    monkeypatch.setenv("LOOKUPS_PER_WINDOW", "2")
    reload_settings()
    put_bill()
    get_balance = load_handler("get_balance").handler

    def lookup(source_ip: str) -> dict:
        event = api_event("GET", "/paymentbalance/17", path_parameters={"InvoiceID": "17"})
        event["requestContext"]["identity"]["sourceIp"] = source_ip
        return get_balance(event, FakeContext())

    assert [lookup("198.51.100.1")["statusCode"] for _ in range(3)] == [200, 200, 429]
    refused = lookup("198.51.100.1")
    assert 1 <= int(refused["headers"]["Retry-After"]) <= 60
    assert refused["headers"]["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why
    assert "too many invoice lookups" in answer(refused)[1]["message"]
    assert lookup("198.51.100.2")["statusCode"] == 200
