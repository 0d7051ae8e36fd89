output "bucket" {
  description = "The website bucket's name."
  value       = aws_s3_bucket.this.id
}

output "website_endpoint" {
  description = "{bucket}.s3-website-{region}.amazonaws.com on AWS."
  value       = aws_s3_bucket.this.website_endpoint
}

output "files" {
  description = "Keys uploaded from site_dir."
  value       = sort(keys(aws_s3_bucket_object.page))
}
