"""CloudWatch alarms evaluated with one GetMetricData call, not one per period.

LocalStack 4.14 evaluates each metric alarm every EvaluationPeriods x Period seconds on a scheduler thread: a
DescribeAlarms, then `collect_metric_data` asks GetMetricData for each of the periods it looks back over
(EvaluationPeriods + at least 2), one call a period, each through LocalStack's own HTTP gateway. A deployment has 25
alarms and the local one evaluates them every 10 s, so an idle stack with the two deployments of `make test` answered
20 internal requests a second and spent a tenth of a core on it (py-spy: the alarm scheduler and the requests it
sends were nearly all of an idle LocalStack's CPU).

GetMetricData with the whole window and the same period returns the same per-period aggregates in one call: the
provider splits [StartTime, EndTime) into the same Period-long windows and gives each window that has data its value
and start time. This asks once and puts each value back in its period, oldest first, None where a period had none,
as the loop did. Offered upstream as a patch to `localstack/services/cloudwatch/alarm_scheduler.py`
(docs/stack.md, "LocalStack fixes"); `.stack/venv/bin/python bench/alarm_evaluation.py` compares both.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from localstack.runtime import hooks
from localstack.services.cloudwatch import alarm_scheduler
from localstack.utils.patch import patch


def collect_metric_data(alarm_details, client) -> list[float | None]:
    """The alarm's datapoints of its evaluation window, oldest first (alarm_scheduler.collect_metric_data's answer)."""
    period = alarm_details["Period"]
    evaluation_periods = alarm_details["EvaluationPeriods"]
    collected_periods = evaluation_periods + max(math.floor(evaluation_periods / 3), 2)  # LocalStack's look-back
    end = datetime.now(UTC).replace(microsecond=0)  # the provider cuts times to whole seconds, so the windows match
    start = end - timedelta(seconds=period * collected_periods)
    result = client.get_metric_data(
        MetricDataQueries=[alarm_scheduler.generate_metric_query(alarm_details)],
        StartTime=start,
        EndTime=end,
        ScanBy="TimestampAscending",
    )["MetricDataResults"][0]
    by_period = {
        int((timestamp - start).total_seconds()) // period: value
        for timestamp, value in zip(result["Timestamps"], result["Values"], strict=True)
    }
    return [by_period.get(index) for index in range(collected_periods)]


@hooks.on_infra_start()
def alarms_with_one_metric_query() -> None:
    patch(alarm_scheduler.collect_metric_data, pass_target=False)(collect_metric_data)
