output "arn" {
  description = "The queue's ARN (what a Lambda destination or an IAM statement names)."
  value       = aws_sqs_queue.this.arn
}

output "url" {
  description = "The queue's URL (what SQS clients call)."
  value       = aws_sqs_queue.this.id
}

output "name" {
  description = "The queue's name (the dimension of its CloudWatch metrics)."
  value       = aws_sqs_queue.this.name
}
