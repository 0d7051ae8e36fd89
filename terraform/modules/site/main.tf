# The payments page: a static website bucket holding site/ (content types by extension) and a generated config.js.
# Inline website {} and server_side_encryption_configuration: provider 3.39 has neither
# aws_s3_bucket_website_configuration nor aws_s3_bucket_server_side_encryption_configuration.

locals {
  content_types = {
    html  = "text/html; charset=utf-8"
    css   = "text/css; charset=utf-8"
    js    = "text/javascript; charset=utf-8"
    mjs   = "text/javascript; charset=utf-8"
    json  = "application/json"
    map   = "application/json"
    txt   = "text/plain; charset=utf-8"
    svg   = "image/svg+xml"
    png   = "image/png"
    jpg   = "image/jpeg"
    jpeg  = "image/jpeg"
    gif   = "image/gif"
    webp  = "image/webp"
    ico   = "image/x-icon"
    woff  = "font/woff"
    woff2 = "font/woff2"
  }
  # Every file under site_dir (none when it is missing or empty); the generated config.js wins over a file of that name.
  files = { for file in fileset(var.site_dir, "**") : file => lower(try(regex("\\.([^./]+)$", file)[0], "")) if file != var.config_key }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV2_AWS_6:The public access block is below, deliberately open for the bucket policy: a website.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy

  website {
    index_document = var.index_document
    error_document = var.error_document
  }

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "AES256"
      }
    }
  }
}

# A website is public by nature: objects are readable by anyone, nothing else is.
resource "aws_s3_bucket_public_access_block" "this" {
  #checkov:skip=CKV_AWS_54:A website bucket needs its public-read policy (only s3:GetObject; ACLs stay blocked).
  #checkov:skip=CKV_AWS_56:Same: the public-read policy must take effect for anonymous website requests.
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = false
  restrict_public_buckets = false
}

data "aws_iam_policy_document" "public_read" {
  statement {
    sid       = "PublicReadPage"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.public_read.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_object" "page" {
  for_each = local.files

  bucket        = aws_s3_bucket.this.id
  key           = each.key
  source        = "${var.site_dir}/${each.key}"
  etag          = filemd5("${var.site_dir}/${each.key}")
  content_type  = lookup(local.content_types, each.value, "application/octet-stream")
  cache_control = "no-cache"
}

resource "aws_s3_bucket_object" "config" {
  bucket        = aws_s3_bucket.this.id
  key           = var.config_key
  content       = var.config_js
  etag          = md5(var.config_js)
  content_type  = local.content_types.js
  cache_control = "no-cache"
}
