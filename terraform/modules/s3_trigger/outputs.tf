output "notification_id" {
  description = "The bucket notification (one per bucket: S3 keeps one configuration)."
  value       = aws_s3_bucket_notification.this.id
}
