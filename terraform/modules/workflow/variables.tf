variable "name" {
  description = "State machine name (also names its role)."
  type        = string
}

variable "definition_file" {
  description = "Amazon States Language JSON with $${...} placeholders."
  type        = string
}

variable "template_vars" {
  description = "Values for the placeholders of the definition."
  type        = map(string)
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
