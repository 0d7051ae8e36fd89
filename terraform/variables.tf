variable "name_prefix" {
  description = "Prefix of every name (buckets, tables, functions, roles), so two deployments can share an account."
  type        = string
  default     = "payproc"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "Use 3-32 lowercase letters, digits and hyphens (it becomes part of bucket names)."
  }
}

variable "region" {
  description = "The AWS region everything is created in."
  type        = string
  default     = "us-east-1"
}

variable "lambda_runtime" {
  description = "Runtime of every function. The offline toolchain's provider 3.39 only knows up to python3.8 and sets that (the local stack then runs python3.13)."
  type        = string
  default     = "python3.13"
}

variable "sender_email" {
  description = "From address of the payment receipts (an SES identity is created for it)."
  type        = string
}

variable "allowed_origin" {
  description = "The one origin allowed by CORS (scheme://host[:port]). Empty: the site's own website origin."
  type        = string
  default     = ""
}

variable "payment_wait_seconds" {
  description = "How long a payment waits in the workflow before it is processed, unless the request sends WaitSeconds."
  type        = number
  default     = 5
}

variable "payment_max_wait_seconds" {
  description = "The most WaitSeconds a payment request may ask for (the original tutorial's page sends 10); more is a 400 naming this limit."
  type        = number
  default     = 60

  validation {
    condition     = var.payment_max_wait_seconds >= 0 && floor(var.payment_max_wait_seconds) == var.payment_max_wait_seconds
    error_message = "Use a whole number of seconds, 0 or more."
  }
}

variable "lookup_limit" {
  description = "Invoice lookups (GET /paymentbalance) one client address may make per window; past it, 429 with Retry-After. Every lookup counts, found or not: it is what stops walking the invoice ids."
  type        = object({ lookups = number, window_seconds = number })
  default     = { lookups = 60, window_seconds = 60 }

  validation {
    condition     = var.lookup_limit.lookups >= 1 && var.lookup_limit.window_seconds >= 1
    error_message = "Use at least 1 lookup per window of at least 1 second."
  }
}

variable "failed_payment_limits" {
  description = "Failed payment attempts (the processor declined the card) allowed per window: per client address, per invoice (past it the invoice is locked until the window ends) and per card (a keyed fingerprint of its number). Past any of them, POST /paymentbalance answers 429 with Retry-After."
  type        = object({ per_client = number, per_invoice = number, per_card = number, window_seconds = number })
  default     = { per_client = 10, per_invoice = 5, per_card = 3, window_seconds = 3600 }

  validation {
    condition = alltrue([for count in [var.failed_payment_limits.per_client, var.failed_payment_limits.per_invoice,
    var.failed_payment_limits.per_card, var.failed_payment_limits.window_seconds] : count >= 1])
    error_message = "Use limits and a window of at least 1."
  }
}

variable "card_processor" {
  description = "The card processor's adapter that start_payment tokenizes cards with and process_payment charges through (payproc.processor). Only \"test\" ships: it approves every card but its documented test cards (docs/payments.md); a real processor's adapter implements the same interface."
  type        = string
  default     = "test"

  validation {
    condition     = contains(["test"], var.card_processor)
    error_message = "The only processor adapter in lib/payproc/processor.py is \"test\"."
  }
}

variable "ingest_chunk_bytes" {
  description = "Bytes of a bills file one ingest invocation reads before it hands the rest to a new invocation."
  type        = number
  default     = 268435456
}

variable "log_retention_days" {
  description = "Days the functions' logs are kept (PCI DSS 10.5.1: at least a year of audit history)."
  type        = number
  default     = 365
}

variable "tracing_enabled" {
  description = "X-Ray tracing of the functions, the workflow and the API stage (off locally: LocalStack's community edition has no X-Ray)."
  type        = bool
  default     = true
}

variable "workflow_log_execution_data" {
  description = "Also log each workflow event's input and output (names, e-mail addresses, phone numbers): off unless debugging."
  type        = bool
  default     = false
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the business metrics (PaymentsFailed, PaymentsSucceeded, RowsRejected, RowsIngested)."
  type        = string
  default     = "Payproc"
}

variable "alarm_email_subscribers" {
  description = "E-mail addresses told of every alarm (each confirms the subscription by mail). Empty: nobody, until you subscribe something to the operations topic."
  type        = list(string)
  default     = []
}

variable "alarm_period_seconds" {
  description = "Evaluation period of the alarms: 60 on AWS (Lambda, API Gateway and Step Functions publish per minute); the local deploy uses 10."
  type        = number
  default     = 60
}

variable "api_latency_p99_threshold_ms" {
  description = "The API's p99 latency (ms) above which, for 5 periods in a row, the latency alarm fires."
  type        = number
  default     = 2000
}

variable "payments_failed_threshold" {
  description = "Failed payments in one alarm period above which the payments-failed alarm fires (a few are customers' mistakes)."
  type        = number
  default     = 5
}

variable "api_throttling_rate_limit" {
  description = "Requests per second the public API accepts from all clients together; above it they get 429."
  type        = number
  default     = 50
}

variable "api_throttling_burst_limit" {
  description = "Requests the public API accepts at once above the steady rate."
  type        = number
  default     = 100
}

variable "manage_api_gateway_account" {
  description = "Set the account's API Gateway CloudWatch role, which access and error logs need (account-wide: only one deployment per account should)."
  type        = bool
  default     = true
}

variable "api_stage" {
  description = "API Gateway stage name."
  type        = string
  default     = "prod"
}

variable "force_destroy_buckets" {
  description = "Let destroy delete the data buckets with their objects (the local stack: yes; a real account: no)."
  type        = bool
  default     = false
}

variable "point_in_time_recovery" {
  description = "Continuous backups of the tables."
  type        = bool
  default     = true
}

variable "manage_sms_preferences" {
  description = "Set the account's SNS SMS preferences (account-wide: only one deployment per account should)."
  type        = bool
  default     = true
}

variable "local_endpoint" {
  description = "The local stack's endpoint, e.g. http://127.0.0.1:4566; empty on AWS. Only changes the URLs in the outputs."
  type        = string
  default     = ""
}

variable "hot_reload_dir" {
  description = "The local stack only (`make dev`): an absolute folder holding a folder per function, its code with lib/'s packages beside it, kept in step with the working tree by stack/hot_reload.py. Each function then runs that folder's code through LocalStack's hot-reload bucket, so a saved change runs at its next invocation. Empty: the zips (`make deploy`, AWS)."
  type        = string
  default     = ""
}

variable "build_dir" {
  description = "Where stack/build_lambdas.py put the zips."
  type        = string
  default     = null
}

variable "site_dir" {
  description = "The page's files."
  type        = string
  default     = null
}

variable "openapi_file" {
  description = "The API's OpenAPI document (templated)."
  type        = string
  default     = null
}

variable "workflow_file" {
  description = "The payment state machine's ASL (templated)."
  type        = string
  default     = null
}
