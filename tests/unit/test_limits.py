"""payproc.limits against moto's DynamoDB: fixed windows, Retry-After, and a check that counts nothing."""

from __future__ import annotations

import pytest

from payproc import limits
from payproc.limits import Counted, Limit, LimitExceeded

THREE_A_MINUTE = Limit("test", 3, 60, "slow down, {subject}: retry in {retry_in}")
START = 1_800_000_000  # a window's start: a multiple of 60


def test_past_the_limit_is_429_until_the_window_ends_then_the_count_starts_again(payments_aws):
    client = Counted(THREE_A_MINUTE, "127.0.0.2")
    for second in range(3):
        limits.hit(client, now=START + second)
    with pytest.raises(LimitExceeded) as refused:
        limits.hit(client, now=START + 50.5)
    assert (refused.value.status, refused.value.headers) == (429, {"Retry-After": "10"})
    assert refused.value.message == "slow down, 127.0.0.2: retry in 10 seconds"
    limits.hit(client, now=START + 60)  # the next window
    limits.hit(Counted(THREE_A_MINUTE, "127.0.0.3"), now=START + 51)  # another subject, its own count


def test_check_counts_nothing_and_refuses_once_the_failures_reach_the_limit(payments_aws):
    card = Counted(THREE_A_MINUTE, "fingerprint")
    for _ in range(5):
        limits.check([card], now=START)  # checking is free
    limits.add([card, card], now=START)
    limits.check([card], now=START + 1)
    limits.add([card], now=START + 2)
    with pytest.raises(LimitExceeded):
        limits.check([Counted(THREE_A_MINUTE, "other"), card], now=START + 3)
    limits.check([card], now=START + 60)


def test_a_counter_expires_after_its_window(payments_aws):
    import boto3

    from tests.helpers.handlers import LIMITS_TABLE, REGION

    limits.hit(Counted(THREE_A_MINUTE, "127.0.0.2"), now=START + 5)
    (item,) = boto3.client("dynamodb", region_name=REGION).scan(TableName=LIMITS_TABLE)["Items"]
    assert item["Counter"]["S"] == f"test#127.0.0.2#{START + 60}"
    assert int(item["ExpiresAt"]["N"]) == START + 60 + limits.EXPIRY_GRACE_SECONDS


def test_a_wait_is_told_in_seconds_then_in_minutes():
    assert [limits.in_words(s) for s in (1, 45, 119, 120, 3400)] == [
        "1 second",
        "45 seconds",
        "119 seconds",
        "2 minutes",
        "57 minutes",
    ]
