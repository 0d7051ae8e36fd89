variable "name" {
  description = "State machine name (also names its role)."
  type        = string
}

variable "definition_file" {
  description = "Amazon States Language JSON with $${...} placeholders: those of template_vars, and $${task_retry}."
  type        = string
}

variable "template_vars" {
  description = "Values for the placeholders of the definition."
  type        = map(string)
}

variable "task_retry" {
  description = "The definition's $${task_retry}: one Retry list (errors to retry, first interval, attempts, backoff) written once for every task that uses it."
  type = object({
    errors           = list(string)
    interval_seconds = optional(number, 1)
    max_attempts     = optional(number, 3)
    backoff_rate     = optional(number, 2)
  })
}

variable "charge_retry" {
  description = "The definition's $${charge_retry}: the charging task's Retry list, this retrier (the processor's errors) before task_retry's."
  type = object({
    errors           = list(string)
    interval_seconds = optional(number, 1)
    max_attempts     = optional(number, 2)
    backoff_rate     = optional(number, 2)
  })
}

variable "function_arns" {
  description = "Functions the state machine may invoke."
  type        = list(string)
}

variable "log_retention_days" {
  description = "Days the execution log group keeps its events."
  type        = number
  default     = 365
}

variable "log_level" {
  description = "Which execution events are logged: ERROR (failures only), FATAL, ALL or OFF."
  type        = string
  default     = "ERROR"
}

variable "log_execution_data" {
  description = "Log each event's input and output too. They hold names, e-mail addresses and phone numbers: off unless needed."
  type        = bool
  default     = false
}

variable "tracing_enabled" {
  description = "X-Ray tracing of executions (adds the xray statements to the role)."
  type        = bool
  default     = false
}
