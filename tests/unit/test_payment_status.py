"""payment_status against moto: a malformed or unknown PaymentId."""

import pytest

from tests.helpers.handlers import (
    answer,
    FakeContext,
    api_event,
    load_handler,
)


@pytest.mark.parametrize("payment_id, status", [("0" * 32, 404), ("nothex", 400), ("", 400)])
def test_payment_status_errors(payments_aws, payment_id, status):
    event = api_event("GET", "/payments/x", path_parameters={"PaymentId": payment_id})
    assert answer(load_handler("payment_status").handler(event, FakeContext()))[0] == status
