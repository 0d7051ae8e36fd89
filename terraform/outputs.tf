output "api_url" {
  description = "Base URL of the API (with the stage, no trailing slash)."
  value       = local.api_url
}

output "site_url" {
  description = "The payments page."
  value       = local.site_url
}

output "allowed_origin" {
  value = local.allowed_origin
}

output "bills_bucket" {
  value = module.bills_bucket.id
}

output "salary_bucket" {
  value = module.salary_bucket.id
}

output "site_bucket" {
  value = module.site.bucket
}

output "balance_table" {
  value = module.table["balance"].name
}

output "payments_table" {
  value = module.table["payments"].name
}

output "salary_table" {
  value = module.table["salary"].name
}

output "state_machine_arn" {
  value = module.workflow.arn
}

output "api_id" {
  value = module.api.id
}

output "api_stage" {
  value = module.api.stage_name
}

output "function_names" {
  description = "Lambda function name of each function folder."
  value       = { for key, function in module.function : key => function.function_name }
}
