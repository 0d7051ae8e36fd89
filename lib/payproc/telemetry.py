"""Logs, business metrics and traces of every function, through aws-lambda-powertools; one of each per container.

- `logger`: one JSON object a line on stdout (CloudWatch Logs, LocalStack's too). Every line of an invocation carries
  the Lambda context (function, request id, cold start) and the keys its handler appends: `PaymentId` for a payment,
  `bucket` and `key` for an ingested file. Library modules log through this same logger, so their lines carry them too.
- `metrics`: the business metrics below as CloudWatch embedded metric format (EMF) lines, flushed at the end of each
  invocation; namespace from POWERTOOLS_METRICS_NAMESPACE, one dimension `service` from POWERTOOLS_SERVICE_NAME.
- `tracer`: an X-Ray subsegment for the handler and each boto3 call; None when POWERTOOLS_TRACE_DISABLED=true.

Card numbers never reach these: events are not logged, and callers pass brand and last four at most.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# Business metrics, each a Count that alarms sum over a period (dimension `service` only).
PAYMENTS_SUCCEEDED = "PaymentsSucceeded"  # a payment's transaction committed
PAYMENTS_FAILED = "PaymentsFailed"  # a payment that never committed was marked failed
ROWS_INGESTED = "RowsIngested"  # valid rows of an uploaded file applied to its table
ROWS_REJECTED = "RowsRejected"  # lines of an uploaded file's rejected-rows report
DEFAULT_NAMESPACE = "Payproc"
EMPTY_FLUSH_WARNING = "No application metrics to publish"

Handler = Callable[[dict[str, Any], Any], Any]

logger = Logger()
# Flushing without a namespace raises; a deployment that misses the variable must still finish its payments.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)
# Tracer imports the X-Ray SDK as it is created (about 65 ms of a cold start), so only where tracing is on.
TRACING = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() != "true"
tracer = Tracer(patch_modules=["botocore"]) if TRACING else None  # boto3 is the functions' only I/O

# Most invocations count nothing (a balance lookup, an alert): an empty flush is normal, not a warning.
warnings.filterwarnings("ignore", message=EMPTY_FLUSH_WARNING, category=UserWarning)


def count(metric: str, value: int = 1) -> None:
    """Add to one of the business metrics above; sent when the invocation ends."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)


def instrumented(handler: Handler | None = None, *, correlation_id_path: str | None = None) -> Any:
    """Decorate a Lambda handler: Lambda context in every log line and appended keys cleared at each invocation's
    start, metrics flushed at its end, traced. `correlation_id_path` (a JMESPath into the event) adds correlation_id.
    """
    if handler is None:
        return lambda handle: instrumented(handle, correlation_id_path=correlation_id_path)
    # Responses hold customer names and balances: not for X-Ray metadata.
    traced = tracer.capture_lambda_handler(handler, capture_response=False) if tracer else handler
    measured = metrics.log_metrics(traced, raise_on_empty_metrics=False)
    # log_event=False, explicitly, so POWERTOOLS_LOGGER_LOG_EVENT cannot turn it on: start_payment's event holds a
    # card number.
    return logger.inject_lambda_context(
        measured, log_event=False, clear_state=True, correlation_id_path=correlation_id_path
    )
