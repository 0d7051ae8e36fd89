"""Follow the deployment's logs: every function's log group and the payment workflow's, one line per log event,
prefixed with its time and its function, coloured on a terminal.

    python -m ops.logs [--function NAME] [--since 10m] [--once] [--outputs FILE]

Powertools' JSON lines are shown as `LEVEL message key=value ...` without the keys every line carries (function
name, ARN, memory, request ids, ...); metric (EMF) lines as `metrics Name=value`; the workflow's execution events as
`Type execution error: cause`; anything else as it is. Lines come in CloudWatch's order, each with its own time
where it says one, else CloudWatch's, in UTC (LocalStack stamps every event of an invocation with the time the
invocation ended, so its START line can show a later time than the lines after it).

The log groups come from the deployment's outputs (ops/outputs.py): `function_names` and `workflow_log_group`.
Credentials and the endpoint are boto3's usual ones (the Makefile points AWS_ENDPOINT_URL at the local stack).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, TextIO

import boto3

from ops.outputs import read_outputs

WORKFLOW = "workflow"  # the name the payment workflow's log lines are prefixed with
POLL_S = 1.0
# Each poll asks again for this much before the newest line seen: CloudWatch may take seconds to make an event
# readable, so one stamped earlier than the newest can still arrive (the event ids keep each shown once).
LATE_MS = 30_000
# Keys powertools puts on every line (the level and message lead the line, the exception follows it); the request
# ids are left out too: long, and the same on every line of an invocation.
BOILERPLATE = {
    "timestamp",
    "level",
    "message",
    "service",
    "location",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "correlation_id",
    "xray_trace_id",
    "sampling_rate",
    "exception",
    "exception_name",
    "stack_trace",
}
CAUSE_CHARS = 300  # of an error's cause; the rest is in the execution's history
SINCE = re.compile(r"^(\d+)\s*([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Plain ANSI escapes: a few colours and a reset do not need a dependency.
COLOURS = [
    "\033[36m",
    "\033[32m",
    "\033[35m",
    "\033[34m",
    "\033[33m",
    "\033[96m",
    "\033[92m",
    "\033[95m",
    "\033[94m",
    "\033[93m",
]
LEVEL_COLOURS = {"ERROR": "\033[1;31m", "CRITICAL": "\033[1;31m", "WARNING": "\033[33m"}
RESET = "\033[0m"


@dataclass(frozen=True)
class Line:
    """One log event as shown: when, which function (or the workflow), and its readable text (maybe several lines)."""

    time: dt.datetime
    source: str
    text: str


def log_groups(outputs: dict[str, Any]) -> dict[str, str]:
    """Each function's log group by its short name (start_payment...), and the workflow's."""
    groups = {short: f"/aws/lambda/{name}" for short, name in sorted(outputs["function_names"].items())}
    groups[WORKFLOW] = outputs["workflow_log_group"]
    return groups


def parse_since(text: str, now: dt.datetime) -> dt.datetime:
    """`30s`, `10m`, `2h`, `1d` before now, or an ISO 8601 time (UTC unless it says otherwise)."""
    match = SINCE.match(text.strip())
    if match:
        return now - dt.timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a duration (30s, 10m, 2h, 1d) nor an ISO 8601 time")


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time (2026-11-30T01:02:03Z), UTC unless it says otherwise."""
    when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def from_ms(ms: int | float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)


def to_ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def stamp(when: dt.datetime) -> str:
    """The time a line is shown with: ISO 8601 UTC to the millisecond."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def as_json(message: str) -> dict[str, Any] | None:
    """The message as a JSON object, or None when it is not one."""
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def record_time(record: dict[str, Any] | None) -> dt.datetime | None:
    """The time a JSON line says it was written: powertools' `timestamp`, EMF's `_aws.Timestamp`, or Step
    Functions' `event_timestamp`; None if it says none."""
    if not record:
        return None
    try:
        if isinstance(record.get("timestamp"), str):  # powertools: "2026-11-30 01:02:03,456+0000"
            return dt.datetime.strptime(record["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z")
        if isinstance(record.get("_aws"), dict):
            return from_ms(int(record["_aws"]["Timestamp"]))
        if "event_timestamp" in record:
            return from_ms(int(record["event_timestamp"]))
    except (KeyError, TypeError, ValueError):  # another format than these: the event's own time is used
        return None
    return None


def value_text(value: Any) -> str:
    """A value as key=value shows it: bare when it is one word, else as JSON."""
    if isinstance(value, str) and value and not any(c.isspace() or c in '"=' for c in value):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def metric_text(value: Any) -> str:
    """An EMF value as written: powertools writes a list of floats ([3.0]) where one number (3) says it."""
    values = value if isinstance(value, list) else [value]
    numbers = [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]
    return value_text(numbers[0] if len(numbers) == 1 else numbers)


def pairs(record: dict[str, Any], skip: Iterable[str] = ()) -> str:
    skipped = set(skip)
    return " ".join(f"{key}={value_text(value)}" for key, value in record.items() if key not in skipped)


def readable(message: str) -> str:
    """The text a log event is shown as (see the module's docstring); several lines when it holds a traceback."""
    record = as_json(message)
    if record is None:
        # AWS's runtime joins a traceback's lines with "\r" so that it stays one event.
        return message.strip().replace("\r", "\n")
    if isinstance(record.get("_aws"), dict):
        names = [
            metric["Name"]
            for directive in record["_aws"].get("CloudWatchMetrics", [])
            for metric in directive.get("Metrics", [])
        ]
        return "metrics " + " ".join(f"{name}={metric_text(record.get(name))}" for name in names)
    if "level" in record and "message" in record:
        message = record["message"] if isinstance(record["message"], str) else value_text(record["message"])
        text = " ".join(part for part in (str(record["level"]), message, pairs(record, BOILERPLATE)) if part)
        if record.get("exception"):
            text += "\n" + str(record["exception"]).rstrip()
        return text
    if "execution_arn" in record and "type" in record:
        execution = record["execution_arn"].split(":")[-1]
        return f"{record['type']} {execution} {error_text(record.get('details') or {})}".rstrip()
    return pairs(record)


def error_text(details: dict[str, Any]) -> str:
    """A workflow event's `error: cause`, the cause shortened to its errorMessage when it is a Lambda error's JSON
    (which also holds the stack trace); empty when it has neither."""
    error, cause = details.get("error"), details.get("cause") or ""
    try:
        cause = json.loads(cause).get("errorMessage", cause)
    except (ValueError, AttributeError):  # a plain sentence (a Fail state's Cause), not JSON
        pass
    return ": ".join(str(part) for part in (error, cause) if part)[:CAUSE_CHARS]


def line_of(source: str, event: dict[str, Any]) -> Line:
    """One event of filter_log_events as a Line."""
    when = record_time(as_json(event["message"])) or from_ms(event["timestamp"])
    return Line(when, source, readable(event["message"]))


def events(logs: Any, group: str, start: dt.datetime, phrase: str | None = None) -> Iterator[dict[str, Any]]:
    """The group's events from start, every page; with phrase only the events that hold it (CloudWatch's
    quoted-phrase filter, LocalStack's too), or all of them when the phrase cannot be one. A group not created yet
    has none."""
    arguments: dict[str, Any] = {"logGroupName": group, "startTime": to_ms(start)}
    if phrase and not any(c in phrase for c in '"\\'):  # JSON escapes these: the phrase would not match
        arguments["filterPattern"] = f'"{phrase}"'
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**arguments):
            yield from page["events"]
    except logs.exceptions.ResourceNotFoundException:
        return


class Follower:
    """Reads every group again from a little before the newest event it has seen, and hands out each event once."""

    def __init__(self, logs: Any, groups: dict[str, str], start: dt.datetime):
        self.logs, self.groups = logs, groups
        self.since = {group: to_ms(start) for group in groups.values()}
        self.seen: dict[str, dict[str, int]] = {group: {} for group in groups.values()}  # event id -> its time

    def poll(self) -> list[Line]:
        """The events that arrived since the last poll in CloudWatch's order: by the time CloudWatch has for each,
        an invocation's lines in the order written."""
        fresh = []
        for source, group in self.groups.items():
            seen = self.seen[group]
            for event in events(self.logs, group, from_ms(self.since[group])):
                if event["eventId"] not in seen:
                    seen[event["eventId"]] = event["timestamp"]
                    fresh.append((event["timestamp"], line_of(source, event)))
            if seen:
                self.since[group] = max(self.since[group], max(seen.values()) - LATE_MS)
                self.seen[group] = {id_: ms for id_, ms in seen.items() if ms >= self.since[group]}
        return [line for _, line in sorted(fresh, key=lambda pair: pair[0])]


def use_colour(stream: TextIO, environ: dict[str, str]) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and not environ.get("NO_COLOR")


def render(line: Line, width: int, colours: dict[str, str] | None = None) -> str:
    """`time  source  text`, the text's further lines indented under its first; coloured when colours are given."""
    source = line.source.ljust(width)
    text = line.text
    if colours:
        source = f"{colours[line.source]}{source}{RESET}"
        level = text.split(" ", 1)[0]
        if level in LEVEL_COLOURS:
            text = f"{LEVEL_COLOURS[level]}{level}{RESET}{text[len(level) :]}"
    indent = " " * (len(stamp(line.time)) + 2 + width + 2)
    return f"{stamp(line.time)}  {source}  " + text.replace("\n", "\n" + indent)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.logs", description=__doc__.strip().splitlines()[0])
    parser.add_argument("--function", metavar="NAME", help=f"one function (start_payment...) or {WORKFLOW}")
    parser.add_argument(
        "--since", default="5m", help="how far back to start: 30s, 10m, 2h, 1d or an ISO 8601 time (default 5m)"
    )
    parser.add_argument("--once", action="store_true", help="print what is there and exit instead of following")
    parser.add_argument(
        "--outputs",
        help="the deployment's Terraform outputs (default build/outputs.json; - reads "
        "`terraform output -json` from standard input)",
    )
    args = parser.parse_args(argv)
    start = parse_since(args.since, dt.datetime.now(dt.timezone.utc))
    groups = log_groups(read_outputs(args.outputs))
    if args.function:
        if args.function not in groups:
            parser.error(f"--function {args.function}: not one of {', '.join(groups)}")
        groups = {args.function: groups[args.function]}
    width = max(len(source) for source in groups)
    colours = (
        {source: COLOURS[n % len(COLOURS)] for n, source in enumerate(groups)}
        if use_colour(sys.stdout, dict(os.environ))
        else None
    )
    follower = Follower(boto3.client("logs"), groups, start)
    try:
        while True:
            for line in follower.poll():
                print(render(line, width, colours), flush=True)
            if args.once:
                return 0
            time.sleep(POLL_S)
    except KeyboardInterrupt:  # Ctrl-C is how following ends
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
