variable "bucket_name" {
  description = "Name of the website bucket."
  type        = string
}

variable "site_dir" {
  description = "Folder of the page's files; missing or empty is fine (only config.js is uploaded)."
  type        = string
}

variable "config_key" {
  description = "Key of the generated configuration script."
  type        = string
  default     = "config.js"
}

variable "config_js" {
  description = "Content of the generated configuration script (the API URL)."
  type        = string
}

variable "index_document" {
  description = "The page served at the site's root."
  type        = string
  default     = "index.html"
}

variable "error_document" {
  description = "The page served for a missing key."
  type        = string
  default     = "index.html"
}

variable "force_destroy" {
  description = "Let a destroy remove the bucket with its files (they all come from site_dir, so nothing is lost)."
  type        = bool
  default     = true
}
