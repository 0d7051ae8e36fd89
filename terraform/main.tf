# The payment processor, read top to bottom as the architecture diagram (docs/architecture.md):
#
#   bills bucket ----------*.csv----> ingest_bills ---------> PaymentBalance table
#   salary bucket ---------*.csv----> salary_files ---------> EmployeeSalary table
#   site bucket (page + config.js) --> API Gateway --> get_balance | start_payment | payment_status
#   start_payment --> payment state machine --> process_payment -> send_email (SES) | send_text (SNS) | record_failure
#                                                                       all of them --> Payments table
#   an upload that fails every attempt --> ingest failures queue (make failures / make redrive)
#   metrics of all of the above --> alarms --> operations topic (e-mail subscribers)

data "aws_caller_identity" "current" {
  lifecycle {
    # Hot reload names LocalStack's magic bucket `hot-reload`; on AWS that is an ordinary bucket name anyone may own.
    precondition {
      condition     = var.hot_reload_dir == "" || var.local_endpoint != ""
      error_message = "hot_reload_dir is for the local stack (make dev sets it with local_endpoint); on AWS the functions are deployed from their zips."
    }
  }
}
data "aws_partition" "current" {}

locals {
  repo       = "${path.module}/.." # relative, so the paths kept in the state do not depend on the clone's location
  build_dir  = coalesce(var.build_dir, "${local.repo}/build")
  account_id = data.aws_caller_identity.current.account_id
  arn_prefix = "arn:${data.aws_partition.current.partition}"

  names = {
    bills_bucket     = "${var.name_prefix}-bills-due"
    salary_bucket    = "${var.name_prefix}-salary-files"
    site_bucket      = "${var.name_prefix}-site"
    artifacts_bucket = "${var.name_prefix}-artifacts"
    balance_table    = "${var.name_prefix}-PaymentBalance"
    salary_table     = "${var.name_prefix}-EmployeeSalary"
    payments_table   = "${var.name_prefix}-Payments"
    limits_table     = "${var.name_prefix}-ClientLimits"
    state_machine    = "${var.name_prefix}-payment"
    failure_queue    = "${var.name_prefix}-ingest-failures"
    operations_topic = "${var.name_prefix}-operations"
  }
  # Known before creation, so a function's policy can name its own ARN or the state machine's without a cycle.
  function_arn_prefix = "${local.arn_prefix}:lambda:${var.region}:${local.account_id}:function:${var.name_prefix}-"
  state_machine_arn   = "${local.arn_prefix}:states:${var.region}:${local.account_id}:stateMachine:${local.names.state_machine}"

  # Integration URIs from names, not from the function resources: the API deployment is create_before_destroy, which
  # Terraform extends to everything it depends on; depending on the functions would make a re-created function
  # (e.g. after a failed apply) conflict with its own name.
  invoke_arn = { for name in ["get_balance", "start_payment", "payment_status"] :
  name => "${local.arn_prefix}:apigateway:${var.region}:lambda:path/2015-03-31/functions/${local.function_arn_prefix}${replace(name, "_", "-")}/invocations" }

  # URLs a user opens: AWS's own, or the local stack's (LocalStack serves websites by Host name and APIs by path).
  # The website host is computed for the same reason as above (AWS's table: older regions use "s3-website-REGION").
  local_endpoint = trimsuffix(var.local_endpoint, "/")
  local_port     = try(regex(":([0-9]+)$", local.local_endpoint)[0], "4566")
  website_dash_regions = ["us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
  "eu-west-1", "sa-east-1", "us-gov-west-1"]
  website_host = (contains(local.website_dash_regions, var.region)
    ? "${local.names.site_bucket}.s3-website-${var.region}.amazonaws.com"
  : "${local.names.site_bucket}.s3-website.${var.region}.amazonaws.com")
  site_url = (local.local_endpoint == ""
    ? "http://${local.website_host}/"
  : "http://${local.names.site_bucket}.s3-website.localhost.localstack.cloud:${local.local_port}/")
  allowed_origin = var.allowed_origin != "" ? var.allowed_origin : trimsuffix(local.site_url, "/")
  api_url = (local.local_endpoint == ""
    ? module.api.invoke_url
  : "${local.local_endpoint}/_aws/execute-api/${module.api.id}/${module.api.stage_name}")
}

# --- data ----------------------------------------------------------------------------------------------------------

module "bills_bucket" {
  source        = "./modules/bucket"
  name          = local.names.bills_bucket
  force_destroy = var.force_destroy_buckets
}

module "salary_bucket" {
  source        = "./modules/bucket"
  name          = local.names.salary_bucket
  force_destroy = var.force_destroy_buckets
}

module "table" {
  source = "./modules/table"
  for_each = {
    balance  = { name = local.names.balance_table, hash_key = { name = "InvoiceID", type = "N" }, range_key = null, ttl = null }
    salary   = { name = local.names.salary_table, hash_key = { name = "EmpID", type = "N" }, range_key = { name = "EmpName", type = "S" }, ttl = null }
    payments = { name = local.names.payments_table, hash_key = { name = "PaymentId", type = "S" }, range_key = null, ttl = null }
    # The per-client limits' counters (payproc.limits): one item per subject and window, deleted after it.
    limits = { name = local.names.limits_table, hash_key = { name = "Counter", type = "S" }, range_key = null, ttl = "ExpiresAt" }
  }

  name                   = each.value.name
  hash_key               = each.value.hash_key
  range_key              = each.value.range_key
  ttl_attribute          = each.value.ttl
  point_in_time_recovery = var.point_in_time_recovery
}

# --- functions -----------------------------------------------------------------------------------------------------

# Deployment packages (function zips); rebuilt from the repo at any time, so destroy may empty it.
module "artifacts_bucket" {
  source        = "./modules/bucket"
  name          = local.names.artifacts_bucket
  force_destroy = true
}

resource "aws_lambda_layer_version" "payproc" {
  layer_name          = "${var.name_prefix}-payproc"
  description         = "lib/payproc (money, cards, validation, CSV streaming, HTTP, config, telemetry) and lib/requirements.txt"
  filename            = "${local.build_dir}/layers/payproc.zip"
  source_code_hash    = filebase64sha256("${local.build_dir}/layers/payproc.zip")
  compatible_runtimes = [var.lambda_runtime]
}

# The secret under which start_payment fingerprints the card when it derives the idempotency key of a request sent
# without one (the original tutorial's page sends none): without it the stored PaymentId could be matched against
# guessed card numbers. uuid() gives 122 random bits once; the value is then kept (a new one would only make a form
# resubmitted across the change a second payment attempt, which the invoice's conditional commit still refuses).
resource "aws_ssm_parameter" "card_fingerprint_key" {
  name        = "/${var.name_prefix}/card-fingerprint-key"
  description = "start_payment's secret for the card fingerprint in idempotency keys it derives (docs/payments.md)"
  type        = "SecureString"
  value       = uuid()

  lifecycle {
    ignore_changes = [value]
  }
}

# Uploads are delivered to the ingesting functions asynchronously: an event that fails every attempt lands here.
module "failure_queue" {
  source = "./modules/queue"
  name   = local.names.failure_queue
}

locals {
  # The retry budget of an upload event (also terraform/README.md, "Operating it"). Two retries are Lambda's own
  # default: enough for a crash or a timeout, while clients already retry throttling and transient errors inside an
  # attempt. An event still waiting after an hour (e.g. throttled) goes to the queue, so someone is told that day.
  async_failure = {
    queue_arn                 = module.failure_queue.arn
    maximum_retry_attempts    = 2
    maximum_event_age_seconds = 3600
  }
  # What start_payment checks and record_failure counts: the limits of failed payment attempts (payproc.limits).
  failed_payment_limits = {
    LIMITS_TABLE                  = local.names.limits_table
    FAILED_PAYMENTS_PER_CLIENT    = tostring(var.failed_payment_limits.per_client)
    FAILED_PAYMENTS_PER_INVOICE   = tostring(var.failed_payment_limits.per_invoice)
    FAILED_PAYMENTS_PER_CARD      = tostring(var.failed_payment_limits.per_card)
    FAILED_PAYMENT_WINDOW_SECONDS = tostring(var.failed_payment_limits.window_seconds)
  }
  # What every function reads: aws-lambda-powertools' logger, metrics and tracer settings.
  common_environment = {
    POWERTOOLS_SERVICE_NAME      = var.name_prefix
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_TRACE_DISABLED    = tostring(!var.tracing_enabled)
  }

  balance  = module.table["balance"].arn
  payments = module.table["payments"].arn
  salary   = module.table["salary"].arn
  limits   = module.table["limits"].arn

  # Uploads are *.csv anywhere in a data bucket; what the ingesting functions write never ends in .csv, so it never
  # triggers them: the report next to an upload, and the bills' part report of a chunk (payproc.bill_ingest: a 15-digit
  # offset, hence the 15 single-character wildcards).
  uploads      = "*.csv"
  reports      = "*.csv.rejected.jsonl"
  part_reports = "*.csv.rejected.jsonl.part-???????????????"

  # One row per function, as the table in docs/architecture.md: environment and exactly what it may do.
  # DynamoDB authorises TransactWriteItems per item action (PutItem/UpdateItem/DeleteItem, and ConditionCheckItem for
  # a ConditionCheck, which no function uses), so a function that writes transactions gets the item actions it writes.
  # tests/reliability/test_least_privilege.py holds each row to exactly this.
  functions = {
    ingest_bills = {
      timeout     = 300, memory_size = 512, async_failure = local.async_failure
      environment = { BALANCE_TABLE = local.names.balance_table, INGEST_CHUNK_BYTES = tostring(var.ingest_chunk_bytes) }
      statements = [
        { sid = "ReadBillsAndPartReports", actions = ["s3:GetObject"], resources = ["${module.bills_bucket.arn}/${local.uploads}", "${module.bills_bucket.arn}/${local.part_reports}"] },
        { sid = "WriteReports", actions = ["s3:PutObject"], resources = ["${module.bills_bucket.arn}/${local.reports}", "${module.bills_bucket.arn}/${local.part_reports}"] },
        { sid = "RemovePartReports", actions = ["s3:DeleteObject"], resources = ["${module.bills_bucket.arn}/${local.part_reports}"] },
        { sid = "Balances", actions = ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:BatchGetItem"], resources = [local.balance] },
        { sid = "ContinueChunk", actions = ["lambda:InvokeFunction"], resources = ["${local.function_arn_prefix}ingest-bills"] },
      ]
    }
    get_balance = {
      timeout = 30, memory_size = 256
      environment = {
        BALANCE_TABLE         = local.names.balance_table
        ALLOWED_ORIGIN        = local.allowed_origin
        LIMITS_TABLE          = local.names.limits_table
        LOOKUPS_PER_WINDOW    = tostring(var.lookup_limit.lookups)
        LOOKUP_WINDOW_SECONDS = tostring(var.lookup_limit.window_seconds)
      }
      statements = [
        { sid = "ReadBalance", actions = ["dynamodb:GetItem"], resources = [local.balance] },
        { sid = "CountLookups", actions = ["dynamodb:UpdateItem"], resources = [local.limits] },
      ]
    }
    start_payment = {
      timeout = 30, memory_size = 256
      environment = merge(local.failed_payment_limits, {
        BALANCE_TABLE            = local.names.balance_table
        PAYMENTS_TABLE           = local.names.payments_table
        PAYMENT_PROCESSOR        = var.card_processor
        STATE_MACHINE_ARN        = local.state_machine_arn
        PAYMENT_WAIT_SECONDS     = tostring(var.payment_wait_seconds)
        PAYMENT_MAX_WAIT_SECONDS = tostring(var.payment_max_wait_seconds)
        ALLOWED_ORIGIN           = local.allowed_origin
        # The parameter's name, never its value: the function reads the secret when it first needs it.
        CARD_FINGERPRINT_KEY_PARAMETER = aws_ssm_parameter.card_fingerprint_key.name
      })
      statements = [
        { sid = "ReadBalance", actions = ["dynamodb:GetItem"], resources = [local.balance] },
        { sid = "RecordPayment", actions = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.payments] },
        { sid = "CheckFailedPaymentLimits", actions = ["dynamodb:BatchGetItem"], resources = [local.limits] },
        { sid = "StartWorkflow", actions = ["states:StartExecution"], resources = [local.state_machine_arn] },
        # SecureString under the AWS managed key aws/ssm, whose key policy lets GetParameter decrypt: no kms grant.
        { sid = "ReadCardFingerprintKey", actions = ["ssm:GetParameter"], resources = [aws_ssm_parameter.card_fingerprint_key.arn] },
      ]
    }
    payment_status = {
      timeout     = 30, memory_size = 256
      environment = { PAYMENTS_TABLE = local.names.payments_table, ALLOWED_ORIGIN = local.allowed_origin }
      statements = [
        { sid = "ReadPayment", actions = ["dynamodb:GetItem"], resources = [local.payments] },
      ]
    }
    process_payment = {
      timeout     = 30, memory_size = 256
      environment = { BALANCE_TABLE = local.names.balance_table, PAYMENTS_TABLE = local.names.payments_table, PAYMENT_PROCESSOR = var.card_processor }
      statements = [
        { sid = "SettlePayment", actions = ["dynamodb:UpdateItem", "dynamodb:GetItem"], resources = [local.balance, local.payments] },
      ]
    }
    send_email = {
      timeout     = 30, memory_size = 256
      environment = { PAYMENTS_TABLE = local.names.payments_table, SENDER_EMAIL = var.sender_email }
      statements = [
        { sid = "SendReceipt", actions = ["ses:SendEmail"], resources = ["*"], condition = { test = "StringEquals", variable = "ses:FromAddress", values = [var.sender_email] } },
        { sid = "MarkNotified", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.payments] },
      ]
    }
    send_text = {
      timeout     = 30, memory_size = 256
      environment = { PAYMENTS_TABLE = local.names.payments_table }
      statements = [
        # SMS to a phone number has no resource ARN: Publish must name "*" (it cannot reach a topic it does not know).
        { sid = "SendTextReceipt", actions = ["sns:Publish"], resources = ["*"] },
        { sid = "MarkNotified", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.payments] },
      ]
    }
    record_failure = {
      timeout     = 30, memory_size = 256
      environment = merge(local.failed_payment_limits, { PAYMENTS_TABLE = local.names.payments_table })
      statements = [
        { sid = "MarkFailed", actions = ["dynamodb:UpdateItem"], resources = [local.payments] },
        { sid = "CountFailedPayments", actions = ["dynamodb:UpdateItem"], resources = [local.limits] },
      ]
    }
    salary_files = {
      timeout     = 300, memory_size = 512, async_failure = local.async_failure
      environment = { SALARY_TABLE = local.names.salary_table }
      statements = [
        { sid = "ReadSalaries", actions = ["s3:GetObject"], resources = ["${module.salary_bucket.arn}/${local.uploads}"] },
        { sid = "WriteProcessedAndReports", actions = ["s3:PutObject"], resources = ["${module.salary_bucket.arn}/processed/*.psv", "${module.salary_bucket.arn}/${local.reports}"] },
        { sid = "Salaries", actions = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"], resources = [local.salary] },
      ]
    }
  }
}

module "function" {
  source   = "./modules/lambda"
  for_each = local.functions

  name               = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  zip_path           = "${local.build_dir}/functions/${each.key}.zip"
  artifacts_bucket   = module.artifacts_bucket.id
  hot_reload_path    = var.hot_reload_dir == "" ? null : "${var.hot_reload_dir}/${each.key}"
  runtime            = var.lambda_runtime
  layers             = [aws_lambda_layer_version.payproc.arn]
  timeout            = each.value.timeout
  memory_size        = each.value.memory_size
  environment        = merge(local.common_environment, each.value.environment)
  statements         = each.value.statements
  log_retention_days = var.log_retention_days
  tracing_enabled    = var.tracing_enabled
  async_failure      = lookup(each.value, "async_failure", null)
}

# --- triggers: uploads start the ingest functions --------------------------------------------------------------------

module "bills_upload" {
  source        = "./modules/s3_trigger"
  bucket_id     = module.bills_bucket.id
  bucket_arn    = module.bills_bucket.arn
  account_id    = local.account_id
  function_name = module.function["ingest_bills"].function_name
  function_arn  = module.function["ingest_bills"].arn
  suffix        = ".csv"
}

module "salary_upload" {
  source        = "./modules/s3_trigger"
  bucket_id     = module.salary_bucket.id
  bucket_arn    = module.salary_bucket.arn
  account_id    = local.account_id
  function_name = module.function["salary_files"].function_name
  function_arn  = module.function["salary_files"].arn
  suffix        = ".csv"
}

# --- the payment workflow ----------------------------------------------------------------------------------------------

module "workflow" {
  source          = "./modules/workflow"
  name            = local.names.state_machine
  definition_file = coalesce(var.workflow_file, "${local.repo}/workflow/payment.asl.json")
  template_vars = {
    process_payment_arn = module.function["process_payment"].arn
    record_failure_arn  = module.function["record_failure"].arn
    # SendAlerts invokes <prefix>-send-<channel> for each chosen channel (email, text).
    send_alert_function_arn_prefix = "${local.function_arn_prefix}send-"
  }
  # What a commit or a failure record retries: Lambda's own transient errors, our TransientError, a crashed or
  # timed-out runtime (a retry finds a committed payment committed: process_payment is safe to repeat).
  task_retry = {
    errors = [
      "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
      "Lambda.TooManyRequestsException", "Lambda.Unknown", "TransientError", "States.Timeout", "Runtime.ExitError",
      "Sandbox.Timedout",
    ]
    max_attempts = 5
  }
  # What a charge retries before it is recorded as declined (processor_error): the processor's outage, briefly, as
  # the customer is waiting on the page.
  charge_retry       = { errors = ["ProcessorUnavailable"], interval_seconds = 1, max_attempts = 2, backoff_rate = 2 }
  function_arns      = [for name in ["process_payment", "send_email", "send_text", "record_failure"] : module.function[name].arn]
  log_retention_days = var.log_retention_days
  log_execution_data = var.workflow_log_execution_data
  tracing_enabled    = var.tracing_enabled
}

module "messaging" {
  source                 = "./modules/messaging"
  sender_email           = var.sender_email
  manage_sms_preferences = var.manage_sms_preferences
}

# --- the public API and the page ----------------------------------------------------------------------------------------

module "api" {
  source       = "./modules/api"
  name         = "${var.name_prefix}-api"
  openapi_file = coalesce(var.openapi_file, "${local.repo}/api/openapi.yaml")
  stage_name   = var.api_stage
  template_vars = {
    get_balance_invoke_arn    = local.invoke_arn["get_balance"]
    start_payment_invoke_arn  = local.invoke_arn["start_payment"]
    payment_status_invoke_arn = local.invoke_arn["payment_status"]
    allowed_origin            = local.allowed_origin
  }
  function_names = { for name in ["get_balance", "start_payment", "payment_status"] : name => module.function[name].function_name }

  throttling_rate_limit       = var.api_throttling_rate_limit
  throttling_burst_limit      = var.api_throttling_burst_limit
  log_retention_days          = var.log_retention_days
  tracing_enabled             = var.tracing_enabled
  manage_account_logging_role = var.manage_api_gateway_account
  partition                   = data.aws_partition.current.partition
}

module "site" {
  source      = "./modules/site"
  bucket_name = local.names.site_bucket
  site_dir    = coalesce(var.site_dir, "${local.repo}/site")
  # The contract of site/config.example.js: window.PAYPROC_CONFIG.apiUrl, the stage URL without a trailing slash.
  config_js = "window.PAYPROC_CONFIG = ${jsonencode({ apiUrl = local.api_url })};\n"
}

# --- operations: alarms to the operations topic -----------------------------------------------------------------------------

locals {
  alarms = merge(
    { for name, function in module.function : "${replace(name, "_", "-")}-errors" => {
      description = "${function.function_name} raised an error (a failed invocation). Read its log group for the error; for an ingesting function, the event is retried and then kept in the failure queue."
      namespace   = "AWS/Lambda", metric_name = "Errors", dimensions = { FunctionName = function.function_name }
    } },
    { for name, function in module.function : "${replace(name, "_", "-")}-throttles" => {
      description = "${function.function_name} was throttled: the account or the function ran out of concurrency."
      namespace   = "AWS/Lambda", metric_name = "Throttles", dimensions = { FunctionName = function.function_name }
    } },
    {
      "ingest-failures-waiting" = {
        description = "An upload failed every attempt and waits in ${module.failure_queue.name}: `make failures` shows why; fix the cause, then `make redrive`."
        namespace   = "AWS/SQS", metric_name = "ApproximateNumberOfMessagesVisible", statistic = "Maximum"
        dimensions  = { QueueName = module.failure_queue.name }
      }
      # A declined payment ends in the workflow's PaymentFailed state too, so this counts them: same threshold.
      "payment-executions-failed" = {
        description = "More than ${var.payments_failed_threshold} payment workflow executions failed in one period. Declined payments end in PaymentFailed; any other error is a fault. Read the execution log group."
        namespace   = "AWS/States", metric_name = "ExecutionsFailed", dimensions = { StateMachineArn = module.workflow.arn }
        threshold   = var.payments_failed_threshold
      }
      "payment-executions-timed-out" = {
        description = "A payment workflow execution timed out. Read the execution log group."
        namespace   = "AWS/States", metric_name = "ExecutionsTimedOut", dimensions = { StateMachineArn = module.workflow.arn }
      }
      "api-5xx" = {
        description = "The public API answered 5XX: a function failed or timed out behind it. Read the access log, then the function's log."
        namespace   = "AWS/ApiGateway", metric_name = "5XXError", dimensions = { ApiName = "${var.name_prefix}-api", Stage = module.api.stage_name }
      }
      "api-latency-p99" = {
        description = "The API's p99 latency stayed above ${var.api_latency_p99_threshold_ms} ms for 5 periods."
        namespace   = "AWS/ApiGateway", metric_name = "Latency", extended_statistic = "p99", evaluation_periods = 5
        dimensions  = { ApiName = "${var.name_prefix}-api", Stage = module.api.stage_name }
        threshold   = var.api_latency_p99_threshold_ms
      }
      "payments-failed" = {
        description = "More than ${var.payments_failed_threshold} payments failed in one period (reasons in the Payments table and record_failure's log)."
        namespace   = var.metrics_namespace, metric_name = "PaymentsFailed", dimensions = { service = var.name_prefix }
        threshold   = var.payments_failed_threshold
      }
      "rows-rejected" = {
        description = "An uploaded file had rows that were not ingested: read <key>.rejected.jsonl next to it, correct the rows and upload them again."
        namespace   = var.metrics_namespace, metric_name = "RowsRejected", dimensions = { service = var.name_prefix }
      }
    },
  )
}

module "alarms" {
  source            = "./modules/alarms"
  name_prefix       = var.name_prefix
  topic_name        = local.names.operations_topic
  email_subscribers = var.alarm_email_subscribers
  period_seconds    = var.alarm_period_seconds
  alarms            = local.alarms
}
