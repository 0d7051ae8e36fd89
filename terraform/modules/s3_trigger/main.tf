# S3 -> Lambda: objects created anywhere in the bucket whose key ends with the suffix invoke the function.
# A bucket has exactly one notification configuration, so each data bucket has one trigger.

resource "aws_lambda_permission" "this" {
  statement_id   = "AllowS3-${var.bucket_id}"
  action         = "lambda:InvokeFunction"
  function_name  = var.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = var.bucket_arn
  source_account = var.account_id
}

resource "aws_s3_bucket_notification" "this" {
  bucket = var.bucket_id

  lambda_function {
    lambda_function_arn = var.function_arn
    events              = ["s3:ObjectCreated:*"]
    filter_suffix       = var.suffix
  }

  depends_on = [aws_lambda_permission.this]
}
