# Notifications: the SES identity that sends receipts, and the account's SMS settings for receipts by text.

resource "aws_ses_email_identity" "sender" {
  email = var.sender_email
}

# SMS preferences are account-wide (one set per account and region): with two deployments in one account, let one
# of them manage it (manage_sms_preferences = false on the other).
resource "aws_sns_sms_preferences" "this" {
  count = var.manage_sms_preferences ? 1 : 0

  default_sms_type  = "Transactional"
  default_sender_id = var.sms_sender_id
  # monthly_spend_limit is left to the account (AWS's default for new accounts is USD 1): LocalStack rejects the
  # attribute ("MonthlySpendLimit is not a valid attribute"). Raise it in the console or here on a real account.
}
