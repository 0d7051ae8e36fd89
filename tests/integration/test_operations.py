"""What an operator reads and is told: the workflow's execution log, the API stage's logging and throttle, and an
alarm on every function, all deployed by terraform/ on the local stack."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.helpers.stack import change_bill, payment_body, reset_alarms, told_of_alarms, unique_invoice_id, wait_for


def test_a_failed_execution_is_logged_without_its_data(api, bill, aws, deployment):
    """Level ERROR: the failure events of an execution, never its input or output (names, e-mails, phone numbers)."""
    item = bill(balance="30.00")
    body = payment_body(item)
    since_ms = int(time.time() * 1000)  # read the log from here: the group holds every earlier run's events too
    payment_id = api.pay(body).json()["PaymentId"]
    # The balance changes while the payment waits: the workflow declines it and ends in its PaymentFailed state.
    change_bill(aws, deployment, item["InvoiceID"], Balance=Decimal("31.00"))
    assert api.wait_until_settled(payment_id)["Status"] == "failed"

    logs = aws.client("logs")

    def events_of_this_execution():
        found = []
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=deployment["workflow_log_group"], startTime=since_ms
        )
        for page in pages:
            found += [json.loads(e["message"]) for e in page["events"] if payment_id in e["message"]]
        return found if any(e["type"] == "ExecutionFailed" for e in found) else None

    events = wait_for(events_of_this_execution, timeout=30, interval=1)
    assert {"LambdaFunctionFailed", "ExecutionFailed"} <= {e["type"] for e in events}
    assert not {e["type"] for e in events} & {"TaskStateEntered", "ExecutionStarted", "LambdaFunctionSucceeded"}
    text = json.dumps(events)
    assert all("input" not in e["details"] and "output" not in e["details"] for e in events)
    assert body["EmailId"] not in text and body["PhnNumber"] not in text and body["CardNumber"] not in text


def test_the_api_stage_is_throttled_measured_and_logs_one_json_line_a_request(aws, deployment):
    stage = aws.client("apigateway").get_stage(restApiId=deployment["api_id"], stageName=deployment["api_stage"])
    settings = stage["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (50.0, 100)  # the variables' defaults
    assert settings["metricsEnabled"] is True and settings["dataTraceEnabled"] is False
    assert settings["loggingLevel"] == "ERROR" and settings["cachingEnabled"] is False
    access = stage["accessLogSettings"]
    assert access["destinationArn"].endswith(f":log-group:{deployment['api_access_log_group']}")
    fields = json.loads(access["format"])
    assert {"requestId", "route", "status", "latencyMs", "clientIp"} <= set(fields)
    assert not [value for value in fields.values() if "body" in value.lower() or "header" in value.lower()]


def test_every_function_the_workflow_and_the_api_have_alarms_to_the_operations_topic(aws, deployment):
    alarms = []
    for page in (
        aws.client("cloudwatch")
        .get_paginator("describe_alarms")
        .paginate(AlarmNames=list(deployment["alarm_names"].values()))
    ):
        alarms += page["MetricAlarms"]
    assert len(alarms) == len(deployment["alarm_names"])
    watched = {
        (a["Namespace"], a["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in a["Dimensions"])))
        for a in alarms
    }
    for function in deployment["function_names"].values():
        for metric in ("Errors", "Throttles"):
            assert ("AWS/Lambda", metric, (("FunctionName", function),)) in watched
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        assert ("AWS/States", metric, (("StateMachineArn", deployment["state_machine_arn"]),)) in watched
    assert {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    } <= {(namespace, metric) for namespace, metric, _ in watched}
    assert all(a["AlarmActions"] == [deployment["operations_topic_arn"]] for a in alarms)
    assert all(a["OKActions"] == [deployment["operations_topic_arn"]] for a in alarms)


def business_metric_sum(cloudwatch, deployment, name: str, since: datetime) -> float:
    """The sum of a business metric (EMF lines of the functions) since a moment."""
    where = deployment["business_metrics"]
    datapoints = cloudwatch.get_metric_statistics(
        Namespace=where["namespace"],
        MetricName=name,
        Dimensions=[{"Name": key, "Value": value} for key, value in where["dimensions"].items()],
        StartTime=since,
        EndTime=datetime.now(timezone.utc) + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(point["Sum"] for point in datapoints)


def test_rejected_rows_are_counted_and_alarm_the_operations_topic(aws, deployment, operations_inbox):
    """The functions write business metrics as EMF log lines; the metric and its alarm follow, as on AWS."""
    cloudwatch, (sqs, inbox) = aws.client("cloudwatch"), operations_inbox
    alarm = deployment["alarm_names"]["rows-rejected"]
    reset_alarms(cloudwatch, [alarm], sqs, inbox)
    since = datetime.now(timezone.utc) - timedelta(minutes=2)
    before = business_metric_sum(cloudwatch, deployment, "RowsRejected", since)
    good = unique_invoice_id()
    aws.client("s3").put_object(
        Bucket=deployment["bills_bucket"],
        Key=f"bills-due/two-bad-rows-{good}.csv",
        Body=f"InvoiceID,CustomerName,Balance,IsProcessed\n{good},Fine,1.00,0\n-1,Bad,1,0\n"
        f"{good + 1},Bad Amount,1.001,0\n".encode(),
    )
    wait_for(lambda: business_metric_sum(cloudwatch, deployment, "RowsRejected", since) == before + 2, timeout=30)
    told_of_alarms(sqs, inbox, [alarm], timeout=60)
    assert cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "ALARM"


def test_a_declined_payment_counts_one_failed_payment(api, bill, aws, deployment):
    cloudwatch = aws.client("cloudwatch")
    since = datetime.now(timezone.utc) - timedelta(minutes=2)
    before = business_metric_sum(cloudwatch, deployment, "PaymentsFailed", since)
    item = bill(balance="12.00")
    payment_id = api.pay(payment_body(item, BillingAmount="12.00")).json()["PaymentId"]
    change_bill(aws, deployment, item["InvoiceID"], Balance=Decimal("13.00"))
    assert api.wait_until_settled(payment_id)["Status"] == "failed"
    wait_for(lambda: business_metric_sum(cloudwatch, deployment, "PaymentsFailed", since) == before + 1, timeout=30)


def test_every_log_line_of_a_payment_carries_its_payment_id(api, bill, aws, deployment):
    """One filter on PaymentId finds a payment's whole story, in every function it went through."""
    body = payment_body(bill(balance="9.99"), Choices="both")
    since_ms = int(time.time() * 1000)  # read the logs from here: the groups hold every earlier run's lines too
    payment_id = api.pay(body).json()["PaymentId"]
    assert api.wait_until_settled(payment_id)["Status"] == "notified"
    logs = aws.client("logs")

    def json_lines(function: str) -> list[dict]:
        group = f"/aws/lambda/{deployment['function_names'][function]}"
        lines = []
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since_ms):
            lines += [json.loads(e["message"]) for e in page["events"] if e["message"].lstrip().startswith('{"level"')]
        return lines

    for function in ("start_payment", "process_payment", "send_email", "send_text"):

        def invocation_lines():
            lines = json_lines(function)
            ours = {line["function_request_id"] for line in lines if line.get("PaymentId") == payment_id}
            return [line for line in lines if line.get("function_request_id") in ours]

        lines = wait_for(invocation_lines, timeout=20, interval=1)
        assert all(line.get("PaymentId") == payment_id for line in lines), (function, lines)
        assert body["CardNumber"] not in json.dumps(lines)
