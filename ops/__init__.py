"""Operator tools that work the same against the local stack and a real AWS account (`make failures`, `make redrive`,
`make logs`, `make trace`)."""
