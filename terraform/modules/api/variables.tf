variable "name" {
  description = "The API's name (also names its access log group and logging role)."
  type        = string
}

variable "openapi_file" {
  description = "OpenAPI document with $${...} placeholders."
  type        = string
}

variable "template_vars" {
  description = "Values for the placeholders of the document (integration URIs, allowed origin)."
  type        = map(string)
}

variable "stage_name" {
  description = "The one stage's name (part of the URL)."
  type        = string
  default     = "v1"
}

variable "function_names" {
  description = "Functions behind the API (key: a stable label, value: function name)."
  type        = map(string)
}

variable "throttling_rate_limit" {
  description = "Steady requests per second the stage accepts (all clients together); above it, clients get 429."
  type        = number
  default     = 50
}

variable "throttling_burst_limit" {
  description = "Requests the stage accepts at once above the steady rate."
  type        = number
  default     = 100
}

variable "log_retention_days" {
  description = "Days the access log group keeps its events."
  type        = number
  default     = 365
}

variable "tracing_enabled" {
  description = "X-Ray tracing of the stage."
  type        = bool
  default     = false
}

variable "manage_account_logging_role" {
  description = "Create the role API Gateway logs through and set it for the account and region (account-wide: one deployment per account)."
  type        = bool
  default     = true
}

variable "partition" {
  description = "The AWS partition (aws, aws-cn, aws-us-gov) of the managed policy ARN."
  type        = string
  default     = "aws"
}
