"""payment_status: GET /payments/{PaymentId} says where a payment is (accepted, paid, notified, failed) and why."""

from __future__ import annotations

from typing import Any

from payproc import payment_store
from payproc.config import get_settings
from payproc.http import ApiError, api_handler, json_response, path_parameter
from payproc.payments import status_view
from payproc.telemetry import logger
from payproc.validation import parse_payment_id


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer 200 with the payment's status, 400 for a malformed id, 404 for an unknown one."""
    try:
        payment_id = parse_payment_id(path_parameter(event, "PaymentId"))
    except ValueError as error:
        raise ApiError(400, "invalid payment id", {"PaymentId": str(error)}) from None
    logger.append_keys(PaymentId=payment_id)
    item = payment_store.read_payment(get_settings().require("payments_table"), payment_id)
    if item is None:
        raise ApiError(404, f"payment {payment_id} not found")
    return json_response(200, status_view(item))
