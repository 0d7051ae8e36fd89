variable "bucket_id" {
  description = "The bucket whose uploads invoke the function."
  type        = string
}

variable "bucket_arn" {
  description = "That bucket's ARN (the permission's source)."
  type        = string
}

variable "account_id" {
  description = "Owner of the bucket (confused-deputy guard on the permission)."
  type        = string
}

variable "function_name" {
  description = "The function S3 invokes (for its permission)."
  type        = string
}

variable "function_arn" {
  description = "The function S3 invokes."
  type        = string
}

variable "suffix" {
  description = "Only keys ending in this invoke the function (anywhere in the bucket)."
  type        = string
  default     = ".csv"
}
