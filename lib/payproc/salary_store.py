"""The EmployeeSalary table: each employee's running total, and the contributions of each source that make it up.

Two kinds of items share the table (hash EmpID N, range EmpName S, as the contract defines it):

- total:        EmpID=<id>        EmpName=<name>        TotalSalary
- contribution: EmpID=<source>    EmpName="<id>#<name>"  MonthSalary, [Month,] ContributorID, ContributorName, SourceKey

A source (payproc.salaries.Source: a month, or the object key of a file without one) keeps its contributions under one
negative hash key (employee ids are positive), so one Query lists them all: that is what lets a corrected file take
back the contribution of an employee it no longer lists. Every change writes the contribution and the total in one
transaction, conditioned on the contribution still being what was read, so a total always equals the sum of its
employee's contributions. docs/salaries.md explains the choice.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Iterable

from botocore.exceptions import ClientError

from payproc import aws
from payproc.salaries import Change, Employee, Source, plan_changes
from payproc.telemetry import logger

# Two actions per employee: 25 employees make 50 actions, half of the 100 a DynamoDB transaction allows.
EMPLOYEES_PER_TRANSACTION = 25
MAX_ATTEMPTS = 6
# Months take -1 to -999912 (minus YYYYMM); the key of a file without a month takes a 96-bit hash beyond them (29
# digits at most, well inside DynamoDB's 38).
KEY_SOURCES_FROM = 10**7
KEY_HASH_BYTES = 12


class ConcurrentChangesError(RuntimeError):
    """The source's contributions kept changing under us; the invocation fails and S3's retry tries again later."""


def source_hash_key(source: Source) -> int:
    """The hash key of a source's contribution items: month "2026-01" -> -202601; a key without a month -> minus
    KEY_SOURCES_FROM plus a hash of the key."""
    if source.month:
        year, month_number = source.month.split("-")
        return -(int(year) * 100 + int(month_number))
    digest = hashlib.sha256(source.key.encode()).digest()[:KEY_HASH_BYTES]
    return -(KEY_SOURCES_FROM + int.from_bytes(digest, "big"))


def contribution_sort_key(employee: Employee) -> str:
    return f"{employee.emp_id}#{employee.emp_name}"


class SalaryStore:
    """Reads and replaces a source's contributions, keeping every employee's total equal to their sum."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def contributions(self, source: Source) -> dict[Employee, Decimal]:
        """Each employee's contribution of the source as stored now (strongly consistent)."""
        contributions: dict[Employee, Decimal] = {}
        pages = (
            aws.dynamodb()
            .get_paginator("query")
            .paginate(
                TableName=self._table,
                KeyConditionExpression="EmpID = :source",
                ExpressionAttributeValues={":source": source_hash_key(source)},
                ConsistentRead=True,
            )
        )
        for page in pages:
            for item in page["Items"]:
                employee = Employee(int(item["ContributorID"]), item["ContributorName"])
                contributions[employee] = item["MonthSalary"]
        return contributions

    def replace(self, source: Source, wanted: dict[Employee, Decimal]) -> int:
        """Make the source's contributions equal `wanted`, adjusting totals by the difference; return how many
        employees changed (0 when the source already matches: a re-delivered event or a re-uploaded file)."""
        changed = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            changes = plan_changes(self.contributions(source), wanted)
            if not changes:
                return changed
            try:
                for start in range(0, len(changes), EMPLOYEES_PER_TRANSACTION):
                    batch = changes[start : start + EMPLOYEES_PER_TRANSACTION]
                    self._write(source, batch)
                    changed += len(batch)
                return changed
            except ClientError as error:
                if not aws.is_conflict(error):
                    raise
                logger.warning(
                    "contributions_changed_while_written",
                    source=source.name,
                    attempt=attempt,
                    then="reading them again",
                )
                aws.back_off(attempt)
        raise ConcurrentChangesError(f"the contributions of {source.name} kept changing during {MAX_ATTEMPTS} attempts")

    def _write(self, source: Source, changes: Iterable[Change]) -> None:
        actions = []
        for change in changes:
            actions.append(self._contribution_action(source, change))
            actions.append(self._total_action(change))
        aws.dynamodb().transact_write_items(TransactItems=actions)

    def _contribution_action(self, source: Source, change: Change) -> dict[str, Any]:
        key = {"EmpID": source_hash_key(source), "EmpName": contribution_sort_key(change.employee)}
        if change.old is None:
            item = {
                **key,
                "ContributorID": change.employee.emp_id,
                "ContributorName": change.employee.emp_name,
                "MonthSalary": change.new,
                "SourceKey": source.key,
            }
            if source.month:
                item["Month"] = source.month
            return {
                "Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(EmpID)"}
            }
        # The condition is what makes a concurrent or repeated run safe: it only applies to the value it read.
        guard = {
            "ConditionExpression": "MonthSalary = :old",
            "ExpressionAttributeValues": {":old": change.old},
        }
        if change.new is None:
            return {"Delete": {"TableName": self._table, "Key": key, **guard}}
        guard["ExpressionAttributeValues"] |= {":new": change.new, ":source": source.key}
        return {
            "Update": {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": "SET MonthSalary = :new, SourceKey = :source",
                **guard,
            }
        }

    def _total_action(self, change: Change) -> dict[str, Any]:
        key = {"EmpID": change.employee.emp_id, "EmpName": change.employee.emp_name}
        # ADD creates the total at the delta for a new employee; DynamoDB numbers are exact decimals.
        return {
            "Update": {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": "ADD TotalSalary :delta",
                "ExpressionAttributeValues": {":delta": change.delta},
            }
        }
