import re

import yaml

from tests.helpers.handlers import REPO

SPEC = REPO / "api" / "openapi.yaml"


def spec():
    return yaml.safe_load(SPEC.read_text())


def test_it_parses_with_the_routes_and_only_the_terraform_placeholders():
    text = SPEC.read_text()
    assert set(re.findall(r"\$\{([^}]*)\}", text)) == {
        "get_balance_invoke_arn",
        "start_payment_invoke_arn",
        "payment_status_invoke_arn",
        "allowed_origin",
    }
    assert "%{" not in text
    document = spec()
    assert document["openapi"].startswith("3.0")
    assert set(document["paths"]) == {
        "/paymentbalance/{InvoiceID}",
        "/paymentbalance/id",
        "/paymentbalance",
        "/payments/{PaymentId}",
    }


def test_each_route_has_a_lambda_proxy_and_a_cors_preflight():
    for path, item in spec()["paths"].items():
        methods = {method for method in item if method != "parameters"}
        assert "options" in methods, path
        preflight = item["options"]["x-amazon-apigateway-integration"]
        assert preflight["type"] == "mock"
        origin = preflight["responses"]["default"]["responseParameters"][
            "method.response.header.Access-Control-Allow-Origin"
        ]
        assert origin == "'${allowed_origin}'"
        for method in methods - {"options"}:
            integration = item[method]["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy" and integration["httpMethod"] == "POST"
            assert integration["uri"].endswith("_invoke_arn}")


def test_status_codes_and_the_idempotency_header():
    paths = spec()["paths"]
    assert set(paths["/paymentbalance"]["post"]["responses"]) == {"202", "400", "404", "409", "422", "429", "500"}
    assert set(paths["/paymentbalance/{InvoiceID}"]["get"]["responses"]) == {"200", "400", "404", "429", "500"}
    assert set(paths["/paymentbalance/id"]["get"]["responses"]) == {"200", "400", "404", "429", "500"}
    assert set(paths["/payments/{PaymentId}"]["get"]["responses"]) == {"200", "400", "404", "500"}
    parameter = spec()["components"]["parameters"]["IdempotencyKey"]
    # Optional: without it the server derives the key (the original tutorial's page sends none).
    assert (parameter["in"], parameter["name"], parameter["required"]) == ("header", "Idempotency-Key", False)


def test_patterns_match_the_code():
    from payproc.cards import CARD_PATTERN, EXPIRY_PATTERN
    from payproc.money import MONEY_PATTERN
    from payproc.validation import E164_PATTERN, IDEMPOTENCY_KEY_PATTERN, INVOICE_ID_TEXT, PAYMENT_ID_PATTERN

    schemas, parameters = spec()["components"]["schemas"], spec()["components"]["parameters"]
    request = schemas["PaymentRequest"]["properties"]
    assert schemas["Money"]["pattern"] == MONEY_PATTERN.pattern
    assert request["CardNumber"]["pattern"] == CARD_PATTERN.pattern
    assert request["ExpiryDate"]["pattern"].replace("[0-9]{2}", "([0-9]{2})") == EXPIRY_PATTERN.pattern
    assert request["PhnNumber"]["pattern"] == E164_PATTERN.pattern
    assert parameters["IdempotencyKey"]["schema"]["pattern"] == IDEMPOTENCY_KEY_PATTERN.pattern
    assert parameters["InvoiceIDPath"]["schema"]["pattern"] == INVOICE_ID_TEXT.pattern
    assert parameters["PaymentIdPath"]["schema"]["pattern"] == PAYMENT_ID_PATTERN.pattern
    assert schemas["PaymentAccepted"]["properties"]["PaymentId"]["pattern"] == PAYMENT_ID_PATTERN.pattern
    assert schemas["PaymentStatus"]["properties"]["PaymentId"]["pattern"] == PAYMENT_ID_PATTERN.pattern
    assert "CVV" not in request and schemas["PaymentRequest"]["additionalProperties"] is False


def patterns_of(node, where=""):
    """Every (location, pattern) of the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern":
                yield where, value
            else:
                yield from patterns_of(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from patterns_of(value, f"{where}/{index}")


def test_every_pattern_of_the_document_is_the_codes_or_matches_what_the_code_writes():
    from decimal import Decimal

    from payproc.cards import CARD_PATTERN, EXPIRY_PATTERN, summarize_card
    from payproc.limits import Counted, Limit, LimitExceeded
    from payproc.money import MONEY_PATTERN, format_money
    from payproc.payments import accepted_response, payment_id_for
    from payproc.validation import E164_PATTERN, IDEMPOTENCY_KEY_PATTERN, INVOICE_ID_TEXT, PAYMENT_ID_PATTERN

    codes = (CARD_PATTERN, MONEY_PATTERN, E164_PATTERN, IDEMPOTENCY_KEY_PATTERN, INVOICE_ID_TEXT, PAYMENT_ID_PATTERN)
    of_the_code = {code.pattern for code in codes}
    written = {  # what the responses hold, as the code writes it
        "^[0-9]+\\.[0-9]{2}$": [format_money(Decimal(amount)) for amount in ("0", "7", "42.1", "125.50", "1e3")],
        "^/payments/[0-9a-f]{32}$": [accepted_response(payment_id_for("key-1"))["StatusUrl"]],
        "^[0-9]{4}$": [summarize_card("4111 1111 1111 1111").last4, summarize_card("378282246310005").last4],
        "^[1-9][0-9]*$": [
            LimitExceeded(Counted(Limit("l", 1, window, ""), "s"), now).headers["Retry-After"]
            for window, now in ((60, 59.999), (60, 0), (3600, 7200.5))
        ],
    }
    unexplained = []
    for where, pattern in patterns_of(spec()):
        if pattern in written:
            assert all(re.fullmatch(pattern, value) for value in written[pattern]), (where, written[pattern])
        # The expiry's code pattern captures the year; the document's does not.
        elif pattern not in of_the_code and pattern.replace("[0-9]{2}", "([0-9]{2})") != EXPIRY_PATTERN.pattern:
            unexplained.append((where, pattern))
    assert unexplained == []


def test_the_statuses_and_decline_codes_are_the_codes():
    from payproc.payments import State
    from payproc.processor import DECLINE_MESSAGES

    status = spec()["components"]["schemas"]["PaymentStatus"]["properties"]
    assert set(status["Status"]["enum"]) == {State.ACCEPTED, State.PAID, State.NOTIFIED, State.DECLINED, State.FAILED}
    assert set(status["DeclineCode"]["enum"]) == set(DECLINE_MESSAGES)
