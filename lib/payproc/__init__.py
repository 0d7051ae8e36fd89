"""Shared rules of the payment processor: money, cards, validation, CSV streaming, HTTP responses, config.

Pure Python on the stdlib and boto3 only (what the Lambda runtime provides), so the layer ships no compiled wheels.
"""
