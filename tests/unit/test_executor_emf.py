"""The executor's EMF reader (stack/lambda_executor/.../emf.py): the metrics CloudWatch Logs would make of a function's
output. Standard library only, so it is loaded from its file without LocalStack."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timezone

from tests.helpers.stack import REPO

SOURCE = REPO / "stack" / "lambda_executor" / "src" / "localstack_process_executor" / "emf.py"
spec = importlib.util.spec_from_file_location("executor_emf", SOURCE)
emf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(emf)

# As aws-lambda-powertools' Metrics prints it.
POWERTOOLS_LINE = json.dumps(
    {
        "_aws": {
            "Timestamp": 1795991212412,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Payproc",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "RowsRejected", "Unit": "Count"}],
                }
            ],
        },
        "service": "payproc",
        "RowsRejected": [2.0],
    }
)


def test_a_powertools_line_among_other_output_becomes_one_datum():
    output = (
        "START RequestId: r1\n"
        + '{"level":"INFO","message":"ingest_chunk"}\n'
        + POWERTOOLS_LINE
        + "\nEND RequestId: r1\n"
    )
    assert emf.metric_data(output) == {
        "Payproc": [
            {
                "MetricName": "RowsRejected",
                "Dimensions": [{"Name": "service", "Value": "payproc"}],
                "Timestamp": datetime(2026, 11, 29, 22, 26, 52, 412000, tzinfo=timezone.utc),
                "Values": [2.0],
                "Unit": "Count",
            }
        ]
    }


def test_every_dimension_set_and_metric_counts_and_plain_values_too():
    document = {
        "_aws": {
            "Timestamp": 0,
            "CloudWatchMetrics": [
                {
                    "Namespace": "N",
                    "Dimensions": [["service"], ["service", "stage"], ["missing"]],
                    "Metrics": [{"Name": "A", "Unit": "Count"}, {"Name": "B"}],
                }
            ],
        },
        "service": "s",
        "stage": 3,
        "A": 1,
        "B": [1, 2],
    }
    data = emf.metric_data(json.dumps(document))["N"]
    assert [(d["MetricName"], len(d["Dimensions"]), d["Values"], d["Unit"]) for d in data] == [
        ("A", 1, [1.0], "Count"),
        ("B", 1, [1.0, 2.0], "None"),
        ("A", 2, [1.0], "Count"),
        ("B", 2, [1.0, 2.0], "None"),
    ]
    assert data[2]["Dimensions"][1] == {"Name": "stage", "Value": "3"}


def test_lines_that_are_not_emf_make_no_metric():
    output = '{"_aws": "not a directive"}\n{"_aws": {broken json\nplain text with "_aws" in it\n{"level": "INFO"}\n'
    assert emf.metric_data(output) == {}


def test_publish_sends_each_namespace_in_calls_of_at_most_a_thousand():
    calls = []

    class CloudWatch:
        def put_metric_data(self, Namespace, MetricData):
            calls.append((Namespace, len(MetricData)))

    output = "\n".join([POWERTOOLS_LINE] * 1500)
    assert emf.publish(CloudWatch(), output) == 1500
    assert calls == [("Payproc", 1000), ("Payproc", 500)]
