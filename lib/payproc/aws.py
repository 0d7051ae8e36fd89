"""boto3 clients and resources, created once per Lambda container and reused across invocations; DynamoDB's
errors read one way everywhere (which mean "read again and retry", which "try later"), and the back-off between tries.
"""

from __future__ import annotations

import functools
import random
import time
from typing import Any, Callable

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

# Standard retry mode backs off on throttling; a few attempts keep a request well inside API Gateway's 29 s.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=20)
SERIALIZER = TypeSerializer()
DESERIALIZER = TypeDeserializer()  # numbers come back as Decimal, never float


@functools.lru_cache(maxsize=None)
def client(service: str) -> Any:
    """A shared boto3 client for the service (endpoint and region from the environment)."""
    return boto3.client(service, config=CLIENT_CONFIG)


@functools.lru_cache(maxsize=None)
def dynamodb() -> Any:
    """A shared, thread-safe DynamoDB client that takes and returns plain values (Decimal numbers).

    It is the resource's client: boto3 (de)serializes attribute values on it, so transactions and batch calls
    need no hand-written {"N": ...} forms.
    """
    return boto3.resource("dynamodb", config=CLIENT_CONFIG).meta.client


@functools.lru_cache(maxsize=None)
def bulk_dynamodb() -> Any:
    """A shared low-level DynamoDB client for bulk paths (ingestion): callers pass typed attribute values
    (to_attribute_values), and it skips client-side parameter validation, which DynamoDB repeats anyway.

    The resource client's request transform and validation walk every attribute of a 100-item batch against
    the service model: about a third of the ingesting function's CPU (py-spy, bench/README.md).
    """
    return boto3.client("dynamodb", config=CLIENT_CONFIG.merge(Config(parameter_validation=False)))


def reset() -> None:
    """Forget every cached client (tests start a fresh mock per case)."""
    client.cache_clear()
    dynamodb.cache_clear()
    bulk_dynamodb.cache_clear()


def to_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """A plain item (Decimal numbers) as DynamoDB's typed attribute values, for the low-level client."""
    return {key: SERIALIZER.serialize(value) for key, value in item.items()}


def from_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed attribute values as a plain item with Decimal numbers."""
    return {key: DESERIALIZER.deserialize(value) for key, value in item.items()}


CONDITION_FAILED = "ConditionalCheckFailedException"  # the write's condition is false now
# Errors that mean "the items changed since they were read, or are being changed": read again, decide again, write.
CONFLICT_CODES = frozenset({CONDITION_FAILED, "TransactionConflictException"})
# Errors that mean "try the same request later" (DynamoDB's error handling docs).
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
# A cancelled transaction names its reasons with codes of their own (DynamoDB's TransactionCanceledException docs).
CANCELLED = "TransactionCanceledException"
CONFLICT_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
TRANSIENT_REASONS = frozenset({"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError"})


def error_code(error: ClientError) -> str:
    """The AWS error code of a failed call, e.g. "ConditionalCheckFailedException"."""
    return str(error.response.get("Error", {}).get("Code", ""))


def cancellation_reasons(error: ClientError) -> frozenset[str]:
    """The reasons a cancelled transaction gives for its actions, without the "None" of the actions that were fine."""
    reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
    return frozenset(str(reason) for reason in reasons - {None, "None"})


def is_conflict(error: ClientError) -> bool:
    """Whether a write failed only because what it was conditioned on changed meanwhile (read again and retry)."""
    if error_code(error) == CANCELLED:
        reasons = cancellation_reasons(error)
        return bool(reasons) and reasons <= CONFLICT_REASONS
    return error_code(error) in CONFLICT_CODES


def is_transient(error: ClientError) -> bool:
    """Whether the same request may succeed later (throttling, a service error, a conflicting transaction)."""
    if error_code(error) == CANCELLED:
        return bool(cancellation_reasons(error) & TRANSIENT_REASONS)
    return error_code(error) in TRANSIENT_CODES


def back_off(attempt: int, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait before try `attempt + 1`: full jitter under an exponential cap, so writers that collided do not collide
    again in step."""
    sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
