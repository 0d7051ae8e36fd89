# The payment state machine: the ASL from workflow/ with the function ARNs filled in, and a role that may invoke
# exactly those functions.

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

data "aws_iam_policy_document" "invoke" {
  statement {
    sid       = "InvokeTaskFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = concat(var.function_arns, [for arn in var.function_arns : "${arn}:*"])
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-invoke"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.invoke.json
}

resource "aws_sfn_state_machine" "this" {
  name       = var.name
  role_arn   = aws_iam_role.this.arn
  definition = templatefile(var.definition_file, var.template_vars)

  depends_on = [aws_iam_role_policy.this]
}
