variable "name" {
  description = "State machine name (also names its role)."
  type        = string
}

variable "definition_file" {
  description = "Amazon States Language JSON with $${...} placeholders."
  type        = string
}

variable "template_vars" {
  description = "Values for the placeholders of the definition."
  type        = map(string)
}

variable "function_arns" {
  description = "Functions the state machine may invoke."
  type        = list(string)
}
