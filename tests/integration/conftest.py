"""Fixtures of the suites that run against the deployed topology."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support import Api, unique_invoice_id


@pytest.fixture(scope="session")
def api(deployment) -> Api:
    return Api(deployment["api_url"])


@pytest.fixture
def bill(aws, deployment):
    """An unpaid bill written straight into the balance table; returns a factory (balance as a string)."""

    table = aws.resource("dynamodb").Table(deployment["balance_table"])

    def make(balance: str = "125.50", processed: int = 0, name: str = "Ada Lovelace") -> dict:
        item = {
            "InvoiceID": unique_invoice_id(),
            "CustomerName": name,
            "Balance": Decimal(balance),
            "IsProcessed": processed,
        }
        table.put_item(Item=item)
        return item

    return make
