# The public REST API, built from the OpenAPI document (integrations and CORS are in the document), deployed to
# one stage with throttling, metrics, JSON access logs and optional X-Ray; each backing function allows API Gateway
# to invoke it.

locals {
  body = templatefile(var.openapi_file, var.template_vars)
}

resource "aws_api_gateway_rest_api" "this" {
  name = var.name
  body = local.body

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true # a replacement API exists before the old one goes (names need not be unique)
  }
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  # A new deployment whenever the API changes (the stage then points at it).
  triggers = {
    body = sha1(local.body)
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name}/${var.stage_name}/access"
  retention_in_days = var.log_retention_days
}

resource "aws_api_gateway_stage" "this" {
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  xray_tracing_enabled = var.tracing_enabled

  # One JSON line a request; no bodies, headers or query strings (they can hold card data or personal data).
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTimeEpoch"
      clientIp           = "$context.identity.sourceIp"
      httpMethod         = "$context.httpMethod"
      route              = "$context.resourcePath"
      status             = "$context.status"
      latencyMs          = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      responseLength     = "$context.responseLength"
      errorMessage       = "$context.error.message"
    })
  }

  # Access and execution logs need the account's CloudWatch role (below, or set by whoever manages the account).
  depends_on = [aws_api_gateway_account.this]
}

# Every method of the stage: the throttle (requests per second and the burst above it, beyond which clients get
# 429), CloudWatch metrics per method, and execution logs of errors only (never request or response data).
resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false
    caching_enabled        = false # balances and payment states must never be served stale
  }
}

# API Gateway writes logs through one role per account and region; owning it here suits an account with one
# deployment (manage_account_logging_role = false on the others, as with the SMS preferences).
data "aws_iam_policy_document" "api_gateway_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  count = var.manage_account_logging_role ? 1 : 0

  name               = "${var.name}-cloudwatch-logs"
  assume_role_policy = data.aws_iam_policy_document.api_gateway_assume.json
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  count = var.manage_account_logging_role ? 1 : 0

  role       = aws_iam_role.cloudwatch[0].name
  policy_arn = "arn:${var.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_account_logging_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn
  depends_on          = [aws_iam_role_policy_attachment.cloudwatch]
}

resource "aws_lambda_permission" "invoke" {
  for_each = var.function_names

  statement_id  = "AllowApiGateway-${var.name}"
  action        = "lambda:InvokeFunction"
  function_name = each.value
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"
}
