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
    assert set(paths["/paymentbalance"]["post"]["responses"]) == {"202", "400", "404", "409", "422", "500"}
    assert set(paths["/paymentbalance/{InvoiceID}"]["get"]["responses"]) == {"200", "400", "404", "500"}
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
