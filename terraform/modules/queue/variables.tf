variable "name" {
  description = "Queue name."
  type        = string
}

variable "message_retention_seconds" {
  description = "How long a message is kept (SQS's maximum, 14 days, by default)."
  type        = number
  default     = 1209600
}
