# An encrypted SQS queue that keeps what lands in it for as long as SQS allows: where failed asynchronous events wait
# for an operator (`make failures`, `make redrive`).
resource "aws_sqs_queue" "this" {
  name                      = var.name
  message_retention_seconds = var.message_retention_seconds
  # The AWS-managed key: every principal of the account that may use SQS may use it, so senders (the functions'
  # roles) need no key policy of their own. (sqs_managed_sse_enabled would do as well, but provider 3.39 lacks it.)
  kms_master_key_id                 = "alias/aws/sqs"
  kms_data_key_reuse_period_seconds = 300
}
