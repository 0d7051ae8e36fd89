"""Runs last: after every other suite has paid with real-looking card numbers, none of them may be found anywhere
the system keeps data — tables, objects, logs (the workflow's and the API's included), workflow histories, queues
(the ingest failure queue included)."""

from __future__ import annotations

import json

from ops.failures import receive_all, show_again
from tests.support import CARD_NUMBERS_USED


def everything_stored(aws) -> list[tuple[str, str]]:
    """(where, text) for every table item, S3 object, log event, execution history event and queued message."""
    found: list[tuple[str, str]] = []
    dynamodb = aws.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            found += [(f"dynamodb:{table}", json.dumps(item)) for item in page["Items"]]
    s3 = aws.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for entry in page.get("Contents", []):
                if entry.get("StorageClass") in ("GLACIER", "DEEP_ARCHIVE"):  # the failure tests' archived files
                    s3.restore_object(Bucket=bucket["Name"], Key=entry["Key"], RestoreRequest={"Days": 1})
                body = s3.get_object(Bucket=bucket["Name"], Key=entry["Key"])["Body"].read()
                found.append((f"s3:{bucket['Name']}/{entry['Key']}", body.decode("utf-8", "replace")))
    logs = aws.client("logs")
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            for events in logs.get_paginator("filter_log_events").paginate(logGroupName=group["logGroupName"]):
                found += [(f"logs:{group['logGroupName']}", event["message"]) for event in events["events"]]
    sfn = aws.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"]):
            for execution in page["executions"]:
                history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
                found.append((f"sfn:{execution['name']}", json.dumps(history["events"], default=str)))
    sqs = aws.client("sqs")
    for page in sqs.get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            messages = list(receive_all(sqs, url, hide_seconds=30))
            show_again(sqs, url, messages)
            found += [(f"sqs:{url}", message["Body"]) for message in messages]
    return found


def test_no_full_card_number_is_kept_anywhere(aws, deployment):
    stored = everything_stored(aws)
    assert len(stored) > 0  # the other suites ran and left data to search
    leaks = [where for where, text in stored for card in CARD_NUMBERS_USED if card in text]
    assert leaks == []
