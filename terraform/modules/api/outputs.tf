output "id" {
  description = "The REST API's id."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "The stage's name."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "https://{id}.execute-api.{region}.amazonaws.com/{stage} on AWS."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "execution_arn" {
  description = "The API's execution ARN (what Lambda permissions name)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "access_log_group_name" {
  description = "The stage's access log group."
  value       = aws_cloudwatch_log_group.access.name
}
