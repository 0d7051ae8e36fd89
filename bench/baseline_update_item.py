"""BENCHMARK BASELINE, not product code: the original design's ingestion algorithm, deployed by the benchmark as
its own Lambda. It reads the bills-due CSV from S3 and writes one `update_item` per row, sequentially.

Event: {"bucket": ..., "key": ..., "table": ...}; returns {"rows": n}.
"""

import codecs
import csv
from decimal import Decimal

import boto3


def handler(event, context):
    s3 = boto3.client("s3")
    table = boto3.resource("dynamodb").Table(event["table"])
    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"]
    rows = 0
    for row in csv.DictReader(codecs.getreader("utf-8-sig")(body)):
        table.update_item(
            Key={"InvoiceID": int(row["InvoiceID"])},
            UpdateExpression="SET CustomerName = :n, Balance = :b, IsProcessed = :p",
            ExpressionAttributeValues={
                ":n": row["CustomerName"],
                ":b": Decimal(row["Balance"]),
                ":p": int(row["IsProcessed"]),
            },
        )
        rows += 1
    return {"rows": rows}
