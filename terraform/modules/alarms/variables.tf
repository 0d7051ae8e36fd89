variable "name_prefix" {
  description = "Prefix of every alarm name (the deployment's name prefix)."
  type        = string
}

variable "topic_name" {
  description = "Name of the operations SNS topic the alarms publish to."
  type        = string
}

variable "email_subscribers" {
  description = "E-mail addresses subscribed to the operations topic (each confirms by mail). Empty: none."
  type        = list(string)
  default     = []
}

variable "period_seconds" {
  description = "Length of one evaluation period of every alarm: 60 on AWS; 10 locally, so a test sees an alarm within seconds."
  type        = number
  default     = 60
}

variable "alarms" {
  description = <<-EOT
    The alarms, by a short name (the alarm is named "<name_prefix>-<key>"): the metric (namespace, name, dimensions),
    its statistic (or extended_statistic such as "p99"), the comparison with the threshold, how many consecutive
    breaching periods raise it, and a description that says what to do.
  EOT
  type = map(object({
    description         = string
    namespace           = string
    metric_name         = string
    dimensions          = map(string)
    statistic           = optional(string, "Sum")
    extended_statistic  = optional(string)
    comparison_operator = optional(string, "GreaterThanThreshold")
    threshold           = optional(number, 0)
    evaluation_periods  = optional(number, 1)
  }))
}
