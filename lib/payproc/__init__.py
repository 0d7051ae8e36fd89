"""Shared rules of the payment processor: money, cards, validation, CSV streaming, HTTP responses, config.

Pure Python on the stdlib, boto3 (what the Lambda runtime provides) and the pure-Python packages the layer ships
beside it (lib/requirements.txt).
"""
