"""Security as deployed: each function's IAM role (read from IAM on the stack) reaches only its own resources, and the
API's CORS answers name the site's origin only. (Loopback-only sockets: tests/stack/test_services.py; CVV refused and
card numbers never stored: tests/integration and tests/security.)"""

from __future__ import annotations

import pytest
import requests

DATA_SERVICES = ("dynamodb", "s3", "states", "lambda")
# Documented exceptions (docs/architecture.md): SMS to a phone number has no resource ARN; SES is conditioned on the
# sender address.
STAR_RESOURCE_ALLOWED = {"sns:Publish": None, "ses:SendEmail": "ses:FromAddress"}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(aws, function_name: str) -> list[dict]:
    iam, lam = aws.client("iam"), aws.client("lambda")
    role = lam.get_function_configuration(FunctionName=function_name)["Role"].split("/")[-1]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []  # no managed (broad) policies
    statements = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        statements += as_list(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]["Statement"])
    return statements


def own_resources(deployment: dict, function: str) -> set[str]:
    """Name fragments a resource of this function's may hold: the deployment's tables, buckets, state machine,
    its own function and its own log group."""
    hyphenated = deployment["function_names"][function]
    return {deployment["balance_table"], deployment["payments_table"], deployment["salary_table"],
            deployment["bills_bucket"], deployment["salary_bucket"], deployment["state_machine_arn"],
            f"function:{hyphenated}", f"/aws/lambda/{hyphenated}:"}


def test_every_role_allows_only_its_own_actions_on_its_own_resources(aws, deployment, figures):
    checked = 0
    for function, function_name in deployment["function_names"].items():
        statements = role_statements(aws, function_name)
        assert statements, function
        for statement in statements:
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
            for action in actions:
                assert "*" not in action, (function, action)
                checked += 1
                if "*" in resources:
                    assert action in STAR_RESOURCE_ALLOWED, (function, action, "on *")
                    condition_key = STAR_RESOURCE_ALLOWED[action]
                    if condition_key:
                        assert condition_key in str(statement.get("Condition")), (function, statement)
                    continue
                service = action.split(":")[0]
                for resource in resources:
                    assert resource.count("*") <= 1 and not resource.endswith(":*:*"), (function, resource)
                    if service in DATA_SERVICES or service == "logs":
                        assert any(own in resource for own in own_resources(deployment, function)), \
                            (function, action, resource)
        # A function may only invoke itself (the ingest continuation), never another.
        invoked = [r for s in statements if "lambda:InvokeFunction" in as_list(s["Action"]) for r in as_list(s["Resource"])]
        assert all(r.endswith(f"function:{function_name}") for r in invoked), (function, invoked)
    figures.check("iam_actions_checked", checked)


def test_each_function_reaches_only_the_tables_it_uses(aws, deployment):
    """The table of docs/architecture.md, as IAM has it: e.g. the API's read functions cannot write."""
    tables = {"balance": deployment["balance_table"], "payments": deployment["payments_table"],
              "salary": deployment["salary_table"]}
    expected = {
        "get_balance": {"balance": {"dynamodb:GetItem"}},
        "payment_status": {"payments": {"dynamodb:GetItem"}},
        "record_failure": {"payments": {"dynamodb:UpdateItem"}},
        "send_text": {"payments": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
        "send_email": {"payments": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
    }
    for function, wanted in expected.items():
        granted: dict[str, set] = {}
        for statement in role_statements(aws, deployment["function_names"][function]):
            for resource in as_list(statement["Resource"]):
                for alias, table in tables.items():
                    if resource.endswith(f"table/{table}"):
                        granted.setdefault(alias, set()).update(
                            a for a in as_list(statement["Action"]) if a.startswith("dynamodb:"))
        assert granted == wanted, (function, granted)


ROUTES = [("GET", "/paymentbalance/1"), ("GET", "/paymentbalance/id?InvoiceID=1"), ("POST", "/paymentbalance"),
          ("GET", "/payments/" + "0" * 32)]


@pytest.mark.parametrize("method, path", ROUTES)
def test_cors_names_the_site_origin_never_star_nor_another_origin(deployment, figures, method, path):
    site, url = deployment["allowed_origin"], deployment["api_url"] + path
    assert site.startswith("http") and site != "*"
    for origin in (site, "http://evil.example", "null"):
        preflight = requests.options(url.split("?")[0], headers={
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,idempotency-key"}, timeout=30)
        answer = requests.request(method, url, headers={"Origin": origin, "Idempotency-Key": "cors-check"},
                                  json={} if method == "POST" else None, timeout=30)
        figures.add("requests", 2)
        for response in (preflight, answer):
            assert response.status_code < 500, response.text
            assert response.headers.get("Access-Control-Allow-Origin") == site, (origin, dict(response.headers))
            assert response.headers.get("Access-Control-Allow-Credentials") is None
        assert method in preflight.headers["Access-Control-Allow-Methods"]
