# The operations topic and the CloudWatch metric alarms that publish to it: an alarm tells the topic when it goes
# to ALARM and when it is OK again. terraform/README.md ("Operating it") says what each alarm means and what to do.

# Alarm messages hold alarm names, metric names and states, never customer data. CloudWatch cannot publish to a topic
# under the AWS-managed SNS key, so encryption would need a customer-managed key with a policy for CloudWatch.
resource "aws_sns_topic" "operations" {
  #checkov:skip=CKV_AWS_26:alarm notifications carry no customer data; CloudWatch cannot use the AWS-managed SNS key
  name = var.topic_name
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.email_subscribers)

  topic_arn = aws_sns_topic.operations.arn
  protocol  = "email" # each address confirms its subscription from the mail AWS sends it
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.extended_statistic == null ? each.value.statistic : null
  extended_statistic  = each.value.extended_statistic
  comparison_operator = each.value.comparison_operator
  threshold           = each.value.threshold
  period              = var.period_seconds
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.evaluation_periods
  # No data means nothing happened (no invocation, no failure): that is OK, not a reason to page anyone.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_sns_topic.operations.arn]
  ok_actions         = [aws_sns_topic.operations.arn]
}
