"""CloudWatch Logs' DescribeLogGroups without a deep copy of every log event of the region.

LocalStack 4.14's provider answers DescribeLogGroups from `copy.deepcopy(dict(backend.groups))`: every group with
every stream and every event in it, copied to describe a few names. Its cost grows with all the logs the stack has
ever kept and holds LocalStack's one interpreter meanwhile: 2.6 s a call on a stack after a few `make test` runs
(5 MB of logs; py-spy: half of LocalStack's busy CPU during a run). Terraform reads each log group it manages with
it at every plan and apply, so every deploy stalled the whole stack for a minute.

The describe dict reads only a group's name, ARN, creation time, retention, KMS key and its streams' stored bytes,
and changes nothing, so this answers from the live groups. The copy also kept a list being written by another
request from changing under the read; a snapshot of each dict (`list(...)`) does that here. Offered upstream as a
patch to `localstack/services/logs/provider.py` (docs/stack.md, "LocalStack fixes").
"""

from __future__ import annotations

from localstack.aws.api.logs import DescribeLogGroupsRequest, DescribeLogGroupsResponse, LogGroupClass
from localstack.runtime import hooks
from localstack.services.logs.provider import LogsProvider, get_moto_logs_backend
from localstack.utils.patch import patch


def described(group) -> dict:
    """moto's LogGroup.to_describe_dict, from a snapshot of its streams."""
    answer = {
        "logGroupClass": LogGroupClass.STANDARD,
        "arn": f"{group.arn}:*",
        "logGroupArn": group.arn,
        "creationTime": group.creation_time,
        "logGroupName": group.name,
        "metricFilterCount": 0,
        "storedBytes": sum(stream.stored_bytes for stream in list(group.streams.values())),
    }
    if group.retention_in_days:  # as AWS: only when set (not "never expire")
        answer["retentionInDays"] = group.retention_in_days
    if group.kms_key_id:
        answer["kmsKeyId"] = group.kms_key_id
    return answer


def describe_log_groups(original, self: LogsProvider, context, request: DescribeLogGroupsRequest):
    prefix = request.get("logGroupNamePrefix") or ""
    pattern = request.get("logGroupNamePattern") or ""
    if prefix and pattern:
        return original(self, context, request)  # LocalStack's own error for the two together
    groups = list(get_moto_logs_backend(context.account_id, context.region).groups.values())
    return DescribeLogGroupsResponse(
        logGroups=[
            described(group)
            for group in sorted(groups, key=lambda group: group.name)
            if not (prefix or pattern)
            or (prefix and group.name.startswith(prefix))
            or (pattern and pattern in group.name)
        ]
    )


@hooks.on_infra_start()
def describe_log_groups_without_events() -> None:
    patch(LogsProvider.describe_log_groups)(describe_log_groups)
