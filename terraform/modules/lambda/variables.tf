variable "name" {
  description = "Function name (also names its role and log group)."
  type        = string
}

variable "description" {
  type    = string
  default = ""
}

variable "zip_path" {
  description = "Prebuilt deployment package (stack/build_lambdas.py)."
  type        = string
}

variable "artifacts_bucket" {
  description = "Bucket the zip is uploaded to (functions/<name>.zip)."
  type        = string
}

variable "handler" {
  type    = string
  default = "handler.handler"
}

variable "runtime" {
  description = "Lambda runtime identifier, e.g. python3.13."
  type        = string
}

variable "layers" {
  description = "Layer version ARNs."
  type        = list(string)
  default     = []
}

variable "timeout" {
  description = "Seconds."
  type        = number
  default     = 30
}

variable "memory_size" {
  description = "MB."
  type        = number
  default     = 256
}

variable "environment" {
  description = "Environment variables."
  type        = map(string)
  default     = {}
}

variable "statements" {
  description = "IAM statements for what the function does (its own log group is always allowed)."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    condition = optional(object({ test = string, variable = string, values = list(string) }))
  }))
  default = []
}

variable "log_retention_days" {
  type    = number
  default = 14
}
