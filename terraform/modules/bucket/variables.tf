variable "name" {
  description = "Bucket name."
  type        = string
}

variable "force_destroy" {
  description = "Delete the objects too when the bucket is destroyed."
  type        = bool
  default     = false
}
