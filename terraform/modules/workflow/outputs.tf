output "arn" {
  description = "The state machine's ARN."
  value       = aws_sfn_state_machine.this.id
}

output "name" {
  description = "The state machine's name."
  value       = aws_sfn_state_machine.this.name
}

output "log_group_name" {
  description = "The execution log group."
  value       = aws_cloudwatch_log_group.executions.name
}
