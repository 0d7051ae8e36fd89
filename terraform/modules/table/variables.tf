variable "name" {
  description = "Table name."
  type        = string
}

variable "hash_key" {
  description = "Partition key: name and type (S, N or B)."
  type        = object({ name = string, type = string })
}

variable "range_key" {
  description = "Sort key, if any."
  type        = object({ name = string, type = string })
  default     = null
}

variable "ttl_attribute" {
  description = "A number attribute holding each item's expiry (epoch seconds), after which DynamoDB deletes it; null for none."
  type        = string
  default     = null
}

variable "point_in_time_recovery" {
  description = "Continuous backups (35 days of point-in-time restore)."
  type        = bool
  default     = true
}
