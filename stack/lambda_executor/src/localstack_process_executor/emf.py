"""CloudWatch embedded metric format (EMF): the metrics AWS makes of JSON log lines that carry an `_aws` directive.

LocalStack stores a function's log lines but makes no metrics of them, so the business metrics our functions write
as EMF (aws-lambda-powertools' Metrics) would never reach an alarm. The executor reads each invoke's output the way
CloudWatch Logs does and publishes what it finds with PutMetricData. Standard library only, so it is tested alone.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

PUT_METRIC_DATA_LIMIT = 1000  # data per PutMetricData call


def documents(output: str) -> Iterator[dict[str, Any]]:
    """The EMF documents among the output's lines (one JSON object a line, holding an `_aws` directive)."""
    for line in output.splitlines():
        line = line.strip()
        if not (line.startswith("{") and '"_aws"' in line):
            continue
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and isinstance(document.get("_aws"), dict):
            yield document


def metric_data(output: str) -> dict[str, list[dict[str, Any]]]:
    """PutMetricData's MetricData per namespace, for every metric every EMF document of the output declares."""
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for document in documents(output):
        directive = document["_aws"]
        timestamp = datetime.fromtimestamp(directive.get("Timestamp", 0) / 1000, tz=timezone.utc)
        for declared in directive.get("CloudWatchMetrics", []):
            data = by_namespace.setdefault(declared["Namespace"], [])
            for dimension_names in declared.get("Dimensions") or [[]]:
                if any(name not in document for name in dimension_names):
                    continue  # CloudWatch skips a dimension set whose values are missing
                dimensions = [{"Name": name, "Value": str(document[name])} for name in dimension_names]
                for metric in declared.get("Metrics", []):
                    value = document.get(metric["Name"])
                    values = value if isinstance(value, list) else [value]
                    numbers = [float(v) for v in values if isinstance(v, (int, float))]
                    if numbers:
                        data.append(
                            {
                                "MetricName": metric["Name"],
                                "Dimensions": dimensions,
                                "Timestamp": timestamp,
                                "Values": numbers,
                                "Unit": metric.get("Unit", "None"),
                            }
                        )
    return {namespace: data for namespace, data in by_namespace.items() if data}


def publish(cloudwatch: Any, output: str) -> int:
    """Send the output's metrics with PutMetricData; returns how many data were sent."""
    sent = 0
    for namespace, data in metric_data(output).items():
        for start in range(0, len(data), PUT_METRIC_DATA_LIMIT):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + PUT_METRIC_DATA_LIMIT])
        sent += len(data)
    return sent
