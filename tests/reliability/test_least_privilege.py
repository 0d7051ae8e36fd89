"""Security as deployed: each role, read from IAM on the stack, allows exactly what its function (or the workflow)
does, on exactly the resources it does it on; the API's CORS answers name the site's origin only. (Loopback-only
sockets: tests/stack/test_services.py; CVV refused and card numbers never stored: tests/integration and
tests/security.)"""

from __future__ import annotations

import json

import pytest
import requests


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def granted(aws, role_name: str) -> set[tuple]:
    """What a role allows, as (action, resource, condition) triples, read from IAM on the stack."""
    iam = aws.client("iam")
    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []  # no managed (broad) policies
    grants = set()
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        for statement in as_list(
            iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]["Statement"]
        ):
            assert statement["Effect"] == "Allow" and set(statement) <= {
                "Sid",
                "Effect",
                "Action",
                "Resource",
                "Condition",
            }
            condition = canonical(statement.get("Condition"))
            grants |= {
                (action, resource, condition)
                for action in as_list(statement["Action"])
                for resource in as_list(statement["Resource"])
            }
    return grants


def canonical(condition: dict | None) -> str | None:
    """A condition as comparable text: {"StringEquals": {"key": "v"}} and {... ["v"]} are the same condition."""
    if not condition:
        return None
    return json.dumps(
        {test: {key: sorted(as_list(values)) for key, values in pairs.items()} for test, pairs in condition.items()},
        sort_keys=True,
    )


def grants(actions: str, *resources: str, condition: dict | None = None) -> set[tuple]:
    """("s3:GetObject s3:PutObject", arn, ...) -> every (action, resource, condition) triple."""
    return {(action, resource, canonical(condition)) for action in actions.split() for resource in resources}


def expected_function_grants(aws, deployment: dict) -> dict[str, set[tuple]]:
    """docs/architecture.md's table of functions, resource by resource: what each function's code calls, on exactly
    the resources it calls it on, and nothing else."""
    region, account = deployment["state_machine_arn"].split(":")[3:5]
    names = deployment["function_names"]
    table = {
        alias: f"arn:aws:dynamodb:{region}:{account}:table/{deployment[alias + '_table']}"
        for alias in ("balance", "payments", "salary", "limits")
    }
    bills, salaries = (f"arn:aws:s3:::{deployment[bucket]}" for bucket in ("bills_bucket", "salary_bucket"))
    failures = f"arn:aws:sqs:{region}:{account}:{deployment['ingest_failures_queue_url'].rsplit('/', 1)[-1]}"
    environment = {
        function: aws.client("lambda").get_function_configuration(FunctionName=names[function])["Environment"][
            "Variables"
        ]
        for function in ("start_payment", "send_email")
    }
    fingerprint_key = environment["start_payment"]["CARD_FINGERPRINT_KEY_PARAMETER"]
    sender = environment["send_email"]["SENDER_EMAIL"]
    uploads, reports, part_reports = "*.csv", "*.csv.rejected.jsonl", "*.csv.rejected.jsonl.part-???????????????"
    own = {
        "ingest_bills": (
            grants("s3:GetObject", f"{bills}/{uploads}", f"{bills}/{part_reports}")
            | grants("s3:PutObject", f"{bills}/{reports}", f"{bills}/{part_reports}")
            | grants("s3:DeleteObject", f"{bills}/{part_reports}")
            | grants(
                "dynamodb:BatchGetItem dynamodb:BatchWriteItem dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem",
                table["balance"],
            )
            | grants("lambda:InvokeFunction", f"arn:aws:lambda:{region}:{account}:function:{names['ingest_bills']}")
            | grants("sqs:SendMessage", failures)
        ),
        "get_balance": grants("dynamodb:GetItem", table["balance"]) | grants("dynamodb:UpdateItem", table["limits"]),
        "start_payment": (
            grants("dynamodb:GetItem", table["balance"])
            | grants("dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem", table["payments"])
            | grants("dynamodb:BatchGetItem", table["limits"])
            | grants("states:StartExecution", deployment["state_machine_arn"])
            | grants("ssm:GetParameter", f"arn:aws:ssm:{region}:{account}:parameter{fingerprint_key}")
        ),
        "payment_status": grants("dynamodb:GetItem", table["payments"]),
        "process_payment": grants("dynamodb:GetItem dynamodb:UpdateItem", table["balance"], table["payments"]),
        "send_email": (
            grants("ses:SendEmail", "*", condition={"StringEquals": {"ses:FromAddress": sender}})
            | grants("dynamodb:GetItem dynamodb:UpdateItem", table["payments"])
        ),
        # SMS to a phone number has no resource ARN: sns:Publish on "*" is the documented exception.
        "send_text": grants("sns:Publish", "*") | grants("dynamodb:GetItem dynamodb:UpdateItem", table["payments"]),
        "record_failure": grants("dynamodb:UpdateItem", table["payments"], table["limits"]),
        "salary_files": (
            grants("s3:GetObject", f"{salaries}/{uploads}")
            | grants("s3:PutObject", f"{salaries}/processed/*.psv", f"{salaries}/{reports}")
            | grants("dynamodb:DeleteItem dynamodb:PutItem dynamodb:Query dynamodb:UpdateItem", table["salary"])
            | grants("sqs:SendMessage", failures)
        ),
    }
    assert set(own) == set(names), "a function was added or removed: give it its row here and in the docs"
    # Every function writes its own log group, and with tracing on sends its traces (X-Ray has no resource ARN).
    return {
        function: grants_of_function
        | grants(
            "logs:CreateLogStream logs:PutLogEvents",
            f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{names[function]}:*",
        )
        for function, grants_of_function in own.items()
    }


@pytest.mark.parametrize(
    "function",
    [
        "get_balance",
        "ingest_bills",
        "payment_status",
        "process_payment",
        "record_failure",
        "salary_files",
        "send_email",
        "send_text",
        "start_payment",
    ],
)
def test_each_function_role_allows_exactly_what_its_code_does(aws, deployment, figures, function):
    expected = expected_function_grants(aws, deployment)[function]
    configuration = aws.client("lambda").get_function_configuration(FunctionName=deployment["function_names"][function])
    if configuration.get("TracingConfig", {}).get("Mode") == "Active":
        expected |= grants("xray:PutTraceSegments xray:PutTelemetryRecords", "*")
    role = configuration["Role"].split("/")[-1]
    assert aws.client("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Sid": "", "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    actual = granted(aws, role)
    figures.add("iam_grants_checked", len(actual))
    assert actual - expected == set(), "granted beyond what the function does"
    assert expected - actual == set(), "missing a grant the function needs"


def test_the_workflow_role_invokes_only_its_task_functions(aws, deployment):
    region, account = deployment["state_machine_arn"].split(":")[3:5]
    role = (
        aws.client("stepfunctions")
        .describe_state_machine(stateMachineArn=deployment["state_machine_arn"])["roleArn"]
        .split("/")[-1]
    )
    tasks = [
        f"arn:aws:lambda:{region}:{account}:function:{deployment['function_names'][task]}"
        for task in ("process_payment", "send_email", "send_text", "record_failure")
    ]
    # Step Functions sets up log delivery with CloudWatch Logs actions that AWS grants only on "*".
    expected = grants("lambda:InvokeFunction", *tasks, *(f"{arn}:*" for arn in tasks)) | grants(
        "logs:CreateLogDelivery logs:GetLogDelivery logs:UpdateLogDelivery logs:DeleteLogDelivery "
        "logs:ListLogDeliveries logs:PutResourcePolicy logs:DescribeResourcePolicies logs:DescribeLogGroups",
        "*",
    )
    if (
        aws.client("stepfunctions")
        .describe_state_machine(stateMachineArn=deployment["state_machine_arn"])
        .get("tracingConfiguration", {})
        .get("enabled")
    ):
        expected |= grants(
            "xray:PutTraceSegments xray:PutTelemetryRecords xray:GetSamplingRules xray:GetSamplingTargets", "*"
        )
    assert granted(aws, role) == expected


ROUTES = [
    ("GET", "/paymentbalance/1"),
    ("GET", "/paymentbalance/id?InvoiceID=1"),
    ("POST", "/paymentbalance"),
    ("GET", "/payments/" + "0" * 32),
]


@pytest.mark.parametrize("method, path", ROUTES)
def test_cors_names_the_site_origin_never_star_nor_another_origin(deployment, figures, method, path):
    site, url = deployment["allowed_origin"], deployment["api_url"] + path
    assert site.startswith("http") and site != "*"
    for origin in (site, "http://evil.example", "null"):
        preflight = requests.options(
            url.split("?")[0],
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "content-type,idempotency-key",
            },
            timeout=30,
        )
        answer = requests.request(
            method,
            url,
            headers={"Origin": origin, "Idempotency-Key": "cors-check"},
            json={} if method == "POST" else None,
            timeout=30,
        )
        figures.add("requests", 2)
        for response in (preflight, answer):
            assert response.status_code < 500, response.text
            assert response.headers.get("Access-Control-Allow-Origin") == site, (origin, dict(response.headers))
            assert response.headers.get("Access-Control-Allow-Credentials") is None
        assert method in preflight.headers["Access-Control-Allow-Methods"]
