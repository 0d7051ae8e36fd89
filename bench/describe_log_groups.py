"""DescribeLogGroups with and without stack/localstack_fixes' logs fix, on the same logs, in one process.

    .stack/venv/bin/python bench/describe_log_groups.py [--events 50000] [--groups 30] [--repeat 5]

Runs LocalStack's own provider method and the fix against one in-memory CloudWatch Logs backend (no stack needed:
the provider is called directly, so the figures are the method's CPU and nothing else) and prints each median and
their ratio. LocalStack's copies every event of the region at each call, so its time grows with the logs kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from localstack.aws.api import RequestContext
from localstack.services.logs.provider import LogsProvider, get_moto_logs_backend

from localstack_fixes.logs import describe_log_groups as fixed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import median_ms  # noqa: E402

ORIGINAL = LogsProvider.describe_log_groups  # read before anything could patch it: this process runs no hooks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000, help="log events in all (200 bytes each)")
    parser.add_argument("--groups", type=int, default=30, help="log groups, like two deployments' (default 30)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    context = RequestContext(None)
    context.account_id, context.region = "000000000000", "us-east-1"
    backend = get_moto_logs_backend(context.account_id, context.region)
    now = int(time.time() * 1000)
    for number in range(args.groups):
        name = f"/aws/lambda/bench-{number:02d}"
        backend.create_log_group(name, {})
        backend.create_log_stream(name, "stream")
        events = [{"timestamp": now, "message": "x" * 200} for _ in range(args.events // args.groups)]
        for start in range(0, len(events), 10_000):
            backend.put_log_events(name, "stream", events[start : start + 10_000])

    provider = LogsProvider()
    request = {"logGroupNamePrefix": "/aws/lambda/bench-07"}  # what Terraform sends for each group it manages
    assert ORIGINAL(provider, context, request) == fixed(ORIGINAL, provider, context, request)
    before = median_ms(lambda: ORIGINAL(provider, context, request), args.repeat)
    after = median_ms(lambda: fixed(ORIGINAL, provider, context, request), args.repeat)
    print(f"DescribeLogGroups, one group by prefix, {args.events:,} events in {args.groups} groups", end="")
    print(f" (median of {args.repeat}):")
    print(f"  LocalStack 4.14: {before:9.2f} ms")
    print(f"  with the fix:    {after:9.2f} ms   ({before / after:,.0f}x faster)")


if __name__ == "__main__":
    main()
