output "api_url" {
  description = "Base URL of the API (with the stage, no trailing slash)."
  value       = local.api_url
}

output "site_url" {
  description = "The payments page."
  value       = local.site_url
}

output "allowed_origin" {
  description = "The one origin CORS allows."
  value       = local.allowed_origin
}

output "bills_bucket" {
  description = "Upload bills (*.csv, anywhere in the bucket, the root included) here."
  value       = module.bills_bucket.id
}

output "salary_bucket" {
  description = "Upload salary files (*.csv, anywhere in the bucket, the root included) here; processed/ holds the copies."
  value       = module.salary_bucket.id
}

output "site_bucket" {
  description = "The website bucket of the page."
  value       = module.site.bucket
}

output "balance_table" {
  description = "PaymentBalance: one item per invoice."
  value       = module.table["balance"].name
}

output "payments_table" {
  description = "Payments: ledger, status and idempotency record of each payment."
  value       = module.table["payments"].name
}

output "limits_table" {
  description = "ClientLimits: the counters of the per-client limits (lookups, failed payments), each gone after its window."
  value       = module.table["limits"].name
}

output "salary_table" {
  description = "EmployeeSalary: each employee's salary total."
  value       = module.table["salary"].name
}

output "state_machine_arn" {
  description = "The payment workflow."
  value       = module.workflow.arn
}

output "api_id" {
  description = "The REST API's id."
  value       = module.api.id
}

output "api_stage" {
  description = "The API's stage."
  value       = module.api.stage_name
}

output "function_names" {
  description = "Lambda function name of each function folder."
  value       = { for key, function in module.function : key => function.function_name }
}

output "ingest_failures_queue_url" {
  description = "Uploads that failed every attempt wait here (make failures / make redrive)."
  value       = module.failure_queue.url
}

output "operations_topic_arn" {
  description = "Every alarm publishes here; subscribe an on-call tool, a chat or (alarm_email_subscribers) e-mail."
  value       = module.alarms.topic_arn
}

output "alarm_names" {
  description = "Every alarm's name, by its short name."
  value       = module.alarms.alarm_names
}

output "workflow_log_group" {
  description = "The payment workflow's execution log group."
  value       = module.workflow.log_group_name
}

output "api_access_log_group" {
  description = "The API stage's access log group (one JSON line a request)."
  value       = module.api.access_log_group_name
}

output "business_metrics" {
  description = "Where the business metrics (PaymentsFailed, PaymentsSucceeded, RowsRejected, RowsIngested) are: the CloudWatch namespace and the one dimension."
  value       = { namespace = var.metrics_namespace, dimensions = { service = var.name_prefix } }
}

output "name_prefix" {
  description = "The deployment's name prefix (var.name_prefix): every resource's name starts with it."
  value       = var.name_prefix
}
