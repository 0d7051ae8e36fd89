"""payment_status: GET /payments/{PaymentId} says where a payment is (accepted, paid, notified, failed) and why."""

from __future__ import annotations

import re
from typing import Any

from payproc import aws
from payproc.config import get_settings
from payproc.http import api_handler, error_response, json_response, path_parameter
from payproc.payments import status_view
from payproc.telemetry import logger

PAYMENT_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer 200 with the payment's status, 400 for a malformed id, 404 for an unknown one."""
    payment_id = path_parameter(event, "PaymentId") or ""
    if not PAYMENT_ID_PATTERN.match(payment_id):
        return error_response(400, "invalid payment id", {"PaymentId": "must be 32 lowercase hex characters"})
    logger.append_keys(PaymentId=payment_id)
    table = aws.table(get_settings().require("payments_table"))
    item = table.get_item(Key={"PaymentId": payment_id}, ConsistentRead=True).get("Item")
    if item is None:
        return error_response(404, f"payment {payment_id} not found")
    return json_response(200, status_view(item))
