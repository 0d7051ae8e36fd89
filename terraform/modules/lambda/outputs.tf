output "function_name" {
  description = "The function's name."
  value       = aws_lambda_function.this.function_name
}

output "arn" {
  description = "The function's ARN (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "The ARN API Gateway integrations invoke."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  description = "The function's execution role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "The function's CloudWatch Logs group."
  value       = aws_cloudwatch_log_group.this.name
}
