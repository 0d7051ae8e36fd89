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
        == (200, {"InvoiceID": 17, "CustomerName": "Grace, Hopper", "Balance": "42.10", "IsProcessed": 0})
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
        {"InvoiceID": 17, "CustomerName": "Ada Lovelace", "Balance": "125.50", "IsProcessed": 0},
    )
    assert response["headers"]["Access-Control-Allow-Origin"] == ORIGIN
