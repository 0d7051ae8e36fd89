# One Lambda function from a prebuilt zip (uploaded to the artifacts bucket), with its own role (only what the function does), its log group
# (retention set; created before the function so Lambda never makes one without retention) and the shared layers.
# Optional: X-Ray tracing, and for functions invoked asynchronously an on-failure destination with a chosen retry budget.
# On the local stack only, the code may instead be a folder that LocalStack reads as it is (hot reload, `make dev`).

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "permissions" {
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.condition == null ? [] : [statement.value.condition]
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }

  # PutTraceSegments/PutTelemetryRecords have no resource ARN: AWS documents "*".
  dynamic "statement" {
    for_each = var.tracing_enabled ? ["WriteTraces"] : []
    content {
      sid       = statement.value
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }

  # Lambda sends an event that failed every attempt to the destination with the function's own role.
  dynamic "statement" {
    for_each = var.async_failure == null ? [] : [var.async_failure.queue_arn]
    content {
      sid       = "ReportAsyncFailures"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-permissions"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.permissions.json
}

# The code goes through the artifacts bucket rather than `filename`: provider 3.x creates functions given by
# `filename` one at a time (a provider-wide lock held until each is active, ~5 s each), from S3 in parallel.
resource "aws_s3_bucket_object" "code" {
  count = var.hot_reload_path == null ? 1 : 0

  bucket = var.artifacts_bucket
  key    = "functions/${var.name}.zip"
  source = var.zip_path
  etag   = filemd5(var.zip_path)
}

# Hot reload: LocalStack's magic bucket `hot-reload`, whose key is a folder on the machine that runs the function's
# code; no hash then (LocalStack reports a placeholder), and a later zip deploy updates the code again.
resource "aws_lambda_function" "this" {
  function_name    = var.name
  description      = var.description
  role             = aws_iam_role.this.arn
  handler          = var.handler
  runtime          = var.runtime
  s3_bucket        = var.hot_reload_path == null ? aws_s3_bucket_object.code[0].bucket : "hot-reload"
  s3_key           = var.hot_reload_path == null ? aws_s3_bucket_object.code[0].key : var.hot_reload_path
  source_code_hash = var.hot_reload_path == null ? filebase64sha256(var.zip_path) : null
  layers           = var.layers
  timeout          = var.timeout
  memory_size      = var.memory_size

  dynamic "tracing_config" {
    for_each = var.tracing_enabled ? ["Active"] : []
    content {
      mode = tracing_config.value
    }
  }

  dynamic "environment" {
    for_each = length(var.environment) == 0 ? [] : [var.environment]
    content {
      variables = environment.value
    }
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# Asynchronous invocations (S3 events, the function's own continuations): how often a failed event is retried, how
# old it may get, and where it goes when it has failed for good (docs in variables.tf and terraform/README.md).
resource "aws_lambda_function_event_invoke_config" "this" {
  count = var.async_failure == null ? 0 : 1

  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_failure.maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_failure.maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = var.async_failure.queue_arn
    }
  }
}
