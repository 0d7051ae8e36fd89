output "arn" {
  value = aws_sfn_state_machine.this.id
}

output "name" {
  value = aws_sfn_state_machine.this.name
}
