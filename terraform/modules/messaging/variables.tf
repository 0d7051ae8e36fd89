variable "sender_email" {
  description = "From address of the receipts (SES verifies it)."
  type        = string
}

variable "manage_sms_preferences" {
  description = "Set the account's SNS SMS preferences (account-wide; false for the local stack, which rejects the spend limit the provider sends)."
  type        = bool
  default     = true
}

variable "sms_sender_id" {
  description = "Alphanumeric sender ID where countries allow it."
  type        = string
  default     = "PAYPROC"
}
