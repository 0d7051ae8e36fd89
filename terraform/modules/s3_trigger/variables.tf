variable "bucket_id" {
  type = string
}

variable "bucket_arn" {
  type = string
}

variable "account_id" {
  description = "Owner of the bucket (confused-deputy guard on the permission)."
  type        = string
}

variable "function_name" {
  type = string
}

variable "function_arn" {
  type = string
}

variable "suffix" {
  type    = string
  default = ".csv"
}
