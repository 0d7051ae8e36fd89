variable "name" {
  type = string
}

variable "openapi_file" {
  description = "OpenAPI document with $${...} placeholders."
  type        = string
}

variable "template_vars" {
  description = "Values for the placeholders of the document (integration URIs, allowed origin)."
  type        = map(string)
}

variable "stage_name" {
  type    = string
  default = "v1"
}

variable "function_names" {
  description = "Functions behind the API (key: a stable label, value: function name)."
  type        = map(string)
}
