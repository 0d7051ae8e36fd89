"""boto3 clients and resources, created once per Lambda container and reused across invocations."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

# Standard retry mode backs off on throttling; a few attempts keep a request well inside API Gateway's 29 s.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=20)
SERIALIZER = TypeSerializer()
DESERIALIZER = TypeDeserializer()  # numbers come back as Decimal, never float


@functools.lru_cache(maxsize=None)
def client(service: str) -> Any:
    """A shared boto3 client for the service (endpoint and region from the environment)."""
    return boto3.client(service, config=CLIENT_CONFIG)


@functools.lru_cache(maxsize=None)
def table(name: str) -> Any:
    """A shared DynamoDB Table resource."""
    return boto3.resource("dynamodb", config=CLIENT_CONFIG).Table(name)


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
    table.cache_clear()
    dynamodb.cache_clear()
    bulk_dynamodb.cache_clear()


def to_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """A plain item (Decimal numbers) as DynamoDB's typed attribute values, for the low-level client."""
    return {key: SERIALIZER.serialize(value) for key, value in item.items()}


def from_attribute_values(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed attribute values as a plain item with Decimal numbers."""
    return {key: DESERIALIZER.deserialize(value) for key, value in item.items()}
