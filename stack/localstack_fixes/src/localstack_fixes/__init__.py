"""Fixes to LocalStack 4.14 that the embedded stack applies when LocalStack starts (entry points in
pyproject.toml), one module per fix, each saying what it fixes, how it was measured and where it is offered upstream.
The docker stack runs LocalStack's image as it is, without them (docs/stack.md)."""
