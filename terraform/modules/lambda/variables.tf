variable "name" {
  description = "Function name (also names its role and log group)."
  type        = string
}

variable "description" {
  description = "What the function is for (shown in the console)."
  type        = string
  default     = ""
}

variable "zip_path" {
  description = "Prebuilt deployment package (stack/build_lambdas.py)."
  type        = string
}

variable "artifacts_bucket" {
  description = "Bucket the zip is uploaded to (functions/<name>.zip)."
  type        = string
}

variable "hot_reload_path" {
  description = "The local stack only: an absolute folder holding the function's code, which LocalStack runs as it is at each start of the function's runtime (its hot-reload bucket) instead of the zip. null: the zip."
  type        = string
  default     = null
}

variable "handler" {
  description = "module.function the runtime calls."
  type        = string
  default     = "handler.handler"
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
  description = "Days the function's log group keeps its events."
  type        = number
  default     = 14
}

variable "tracing_enabled" {
  description = "X-Ray active tracing of the function (adds the two xray statements it needs to its role)."
  type        = bool
  default     = false
}

variable "async_failure" {
  description = <<-EOT
    For a function invoked asynchronously: the SQS queue that receives an event once it has failed every attempt
    (its role may send to it), how many times Lambda retries a failed event (0-2) and how old an event may get
    (60-21600 s) before it goes there. null: AWS's defaults and no destination.
  EOT
  type = object({
    queue_arn                 = string
    maximum_retry_attempts    = number
    maximum_event_age_seconds = number
  })
  default = null
}
