output "sender_identity_arn" {
  description = "The SES identity of the sender address."
  value       = aws_ses_email_identity.sender.arn
}
