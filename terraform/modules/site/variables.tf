variable "bucket_name" {
  type = string
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
  type    = string
  default = "index.html"
}

variable "error_document" {
  type    = string
  default = "index.html"
}

variable "force_destroy" {
  type    = bool
  default = true
}
