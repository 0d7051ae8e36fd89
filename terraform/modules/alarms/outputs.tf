output "topic_arn" {
  description = "The operations topic (subscribe a queue, a chat integration or an on-call tool to it)."
  value       = aws_sns_topic.operations.arn
}

output "alarm_names" {
  description = "Every alarm's name, by its short name."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}
