"""Runs last in the suite: no card number the suite paid with is in the main deployment's Payments table or its API
functions' logs (tests/security scans everything of both deployments after all suites), then the figures of every
reliability test, on either deployment, are written out by the `figures` fixture."""

from __future__ import annotations

import json

from tests.helpers.stack import CARD_NUMBERS_USED


def test_no_card_number_of_this_suite_is_kept_and_the_figures_are_complete(aws, deployment, figures):
    stored = []
    for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=deployment["payments_table"]):
        stored += [json.dumps(item) for item in page["Items"]]
    logs = aws.client("logs")
    for function in ("start_payment", "process_payment", "send_email", "send_text", "record_failure"):
        group = f"/aws/lambda/{deployment['function_names'][function]}"
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            stored += [event["message"] for event in page["events"]]
    leaks = [card for card in CARD_NUMBERS_USED for text in stored if card in text]
    figures.check("searched_for_card_numbers", {"items_and_log_lines": len(stored), "hits": len(leaks)})
    assert stored and leaks == []
