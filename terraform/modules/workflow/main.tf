# The payment state machine: the ASL from workflow/ with the function ARNs filled in, a role that may invoke exactly
# those functions, its execution log group (errors only; execution data only when asked for) and optional X-Ray.

# /aws/vendedlogs/: AWS's advice for services that deliver logs, so one resource policy covers them all.
resource "aws_cloudwatch_log_group" "executions" {
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "permissions" {
  statement {
    sid       = "InvokeTaskFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = concat(var.function_arns, [for arn in var.function_arns : "${arn}:*"])
  }

  # Step Functions sets up log delivery with these CloudWatch Logs actions, which AWS only grants on "*".
  statement {
    sid = "DeliverExecutionLogs"
    actions = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.tracing_enabled ? ["WriteTraces"] : []
    content {
      sid       = statement.value
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-permissions"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.permissions.json
}

locals {
  # Each retry policy as one Step Functions retrier.
  retrier = { for name, retry in { task = var.task_retry, charge = var.charge_retry } : name => {
    ErrorEquals     = retry.errors
    IntervalSeconds = retry.interval_seconds
    MaxAttempts     = retry.max_attempts
    BackoffRate     = retry.backoff_rate
  } }
}

resource "aws_sfn_state_machine" "this" {
  name     = var.name
  role_arn = aws_iam_role.this.arn
  definition = templatefile(var.definition_file, merge(var.template_vars, {
    task_retry   = jsonencode([local.retrier.task])
    charge_retry = jsonencode([local.retrier.charge, local.retrier.task])
  }))

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.executions.arn}:*"
    level                  = var.log_level
    include_execution_data = var.log_execution_data
  }

  # Only when on: absent means off, and LocalStack does not report an "off" block back (a diff on every plan).
  dynamic "tracing_configuration" {
    for_each = var.tracing_enabled ? [true] : []
    content {
      enabled = tracing_configuration.value
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
