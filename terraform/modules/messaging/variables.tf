variable "sender_email" {
  description = "From address of the receipts (SES verifies it)."
  type        = string
}

variable "manage_sms_preferences" {
  type    = bool
  default = true
}

variable "sms_sender_id" {
  description = "Alphanumeric sender ID where countries allow it."
  type        = string
  default     = "PAYPROC"
}
