# A private data bucket: encrypted, no public access.
# Inline server_side_encryption_configuration: provider 3.39 has no aws_s3_bucket_server_side_encryption_configuration,
# and without it LocalStack's default AES256 shows as a diff on every plan (see terraform/README.md).
resource "aws_s3_bucket" "this" {
  bucket        = var.name
  force_destroy = var.force_destroy

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "AES256"
      }
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
