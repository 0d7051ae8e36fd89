# The public REST API, built from the OpenAPI document (integrations and CORS are in the document), deployed to
# one stage; each backing function allows API Gateway to invoke it.

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

resource "aws_api_gateway_stage" "this" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
}

resource "aws_lambda_permission" "invoke" {
  for_each = var.function_names

  statement_id  = "AllowApiGateway-${var.name}"
  action        = "lambda:InvokeFunction"
  function_name = each.value
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"
}
