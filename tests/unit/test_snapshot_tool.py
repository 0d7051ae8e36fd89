"""ops.snapshot against moto's DynamoDB and S3: a restore is exact, typed values stay as they were, a bucket's triggers
are off while it is restored and back after it however the restore ends, and bad input changes nothing."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from ops import snapshot
from tests.helpers.handlers import mocked_aws

REGION = "us-east-1"
DEPLOYMENT = snapshot.Deployment(
    name_prefix="unit",
    tables={"balance": "unit-PaymentBalance", "payments": "unit-Payments", "salary": "unit-EmployeeSalary"},
    buckets={"bills": "unit-bills-due", "salary": "unit-salary-files"},
)
KEYS = {"balance": [("InvoiceID", "N")], "payments": [("PaymentId", "S")], "salary": [("EmpID", "N"), ("EmpName", "S")]}
TRIGGER = {
    "LambdaFunctionConfigurations": [
        {
            "Id": "ingest",
            "LambdaFunctionArn": f"arn:aws:lambda:{REGION}:123456789012:function:unit-ingest-bills",
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}},
        }
    ]
}
ENDPOINT = "moto"
# Values that a conversion through floats or Python types would change.
EXACT = {
    "InvoiceID": {"N": "7"},
    "Balance": {"N": "10.50"},
    "Big": {"N": "12345678901234567890.123456789012345678"},
    "Raw": {"B": b"\x00\xffsnapshot"},
    "Codes": {"BS": [b"\x01", b"\x02"]},
    "Tags": {"SS": ["a", "b"]},
    "Nested": {"M": {"list": {"L": [{"N": "0.001"}, {"NULL": True}, {"BOOL": False}]}, "s": {"S": "é"}}},
}


@pytest.fixture
def stores():
    with mocked_aws():
        dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        for file, table in DEPLOYMENT.tables.items():
            dynamodb.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[
                    {"AttributeName": name, "KeyType": kind} for (name, _), kind in zip(KEYS[file], ("HASH", "RANGE"))
                ],
                AttributeDefinitions=[{"AttributeName": name, "AttributeType": kind} for name, kind in KEYS[file]],
            )
        for bucket in DEPLOYMENT.buckets.values():
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(Bucket=DEPLOYMENT.buckets["bills"], NotificationConfiguration=TRIGGER)
        yield dynamodb, s3


def seed(dynamodb, s3) -> None:
    dynamodb.put_item(TableName=DEPLOYMENT.tables["balance"], Item=EXACT)
    for n in range(60):  # more than one BatchWriteItem
        dynamodb.put_item(
            TableName=DEPLOYMENT.tables["balance"], Item={"InvoiceID": {"N": str(100 + n)}, "Balance": {"N": f"{n}.25"}}
        )
    dynamodb.put_item(
        TableName=DEPLOYMENT.tables["payments"], Item={"PaymentId": {"S": "p1"}, "Status": {"S": "notified"}}
    )
    dynamodb.put_item(
        TableName=DEPLOYMENT.tables["salary"],
        Item={"EmpID": {"N": "3"}, "EmpName": {"S": "Ada"}, "TotalSalary": {"N": "1000.00"}},
    )
    bills, salary = DEPLOYMENT.buckets["bills"], DEPLOYMENT.buckets["salary"]
    s3.put_object(
        Bucket=bills,
        Key="bills-due/day.csv",
        Body=b"InvoiceID,CustomerName,Balance,IsProcessed\n7,A,1,0\n",
        ContentType="text/csv",
        Metadata={"uploaded-by": "unit test"},
    )
    s3.put_object(Bucket=bills, Key="bills-due/day.csv.rejected.jsonl", Body=b"")
    s3.put_object(
        Bucket=bills, Key="same content/elsewhere.csv", Body=b"InvoiceID,CustomerName,Balance,IsProcessed\n7,A,1,0\n"
    )
    s3.put_object(Bucket=salary, Key="processed/big.psv", Body=bytes(range(256)) * 9000)  # > one 1 MiB chunk


def everything(dynamodb, s3) -> dict:
    """Every item (typed, as DynamoDB returns it) and every object (content hash, type, metadata) of the stores."""
    existing = dynamodb.list_tables()["TableNames"]
    tables = {
        file: sorted(
            snapshot.item_line(item)
            for page in dynamodb.get_paginator("scan").paginate(TableName=table)
            for item in page["Items"]
        )
        for file, table in DEPLOYMENT.tables.items()
        if table in existing
    }
    buckets = {}
    for file, bucket in DEPLOYMENT.buckets.items():
        buckets[file] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for listed in page.get("Contents", []):
                response = s3.get_object(Bucket=bucket, Key=listed["Key"])
                buckets[file][listed["Key"]] = (
                    hashlib.sha256(response["Body"].read()).hexdigest(),
                    response["ContentType"],
                    response["Metadata"],
                )
    return {"tables": tables, "buckets": buckets}


def change_everything(dynamodb, s3) -> None:
    balance, bills = DEPLOYMENT.tables["balance"], DEPLOYMENT.buckets["bills"]
    dynamodb.put_item(TableName=balance, Item={"InvoiceID": {"N": "999"}, "Balance": {"N": "1"}})  # created since
    dynamodb.delete_item(TableName=balance, Key={"InvoiceID": {"N": "100"}})
    dynamodb.put_item(TableName=balance, Item={**EXACT, "Balance": {"N": "0"}, "Raw": {"B": b"other"}})
    dynamodb.delete_item(TableName=DEPLOYMENT.tables["payments"], Key={"PaymentId": {"S": "p1"}})
    s3.put_object(
        Bucket=bills,
        Key="bills-due/day.csv",
        Body=b"changed",
        ContentType="text/plain",
        Metadata={"uploaded-by": "someone else"},
    )
    s3.delete_object(Bucket=bills, Key="bills-due/day.csv.rejected.jsonl")
    s3.put_object(Bucket=bills, Key="bills-due/new.csv", Body=b"new")


def test_a_restore_puts_back_exactly_what_was_saved(stores, tmp_path):
    dynamodb, s3 = stores
    seed(dynamodb, s3)
    saved = everything(dynamodb, s3)
    manifest = snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "day-1", ENDPOINT)
    assert {file: table["items"] for file, table in manifest["tables"].items()} == {
        "balance": 61,
        "payments": 1,
        "salary": 1,
    }
    assert {file: bucket["objects"] for file, bucket in manifest["buckets"].items()} == {"bills": 3, "salary": 1}
    assert manifest["deployment"]["name_prefix"] == "unit"
    assert len(list((tmp_path / "day-1" / "objects").iterdir())) == 3  # the two equal files are stored once

    change_everything(dynamodb, s3)
    assert everything(dynamodb, s3) != saved
    snapshot.restore(dynamodb, s3, DEPLOYMENT, tmp_path, "day-1", ENDPOINT)
    assert everything(dynamodb, s3) == saved
    exact = dynamodb.get_item(TableName=DEPLOYMENT.tables["balance"], Key={"InvoiceID": {"N": "7"}})["Item"]
    assert exact == EXACT


def test_typed_values_are_saved_as_dynamodb_json(stores, tmp_path):
    dynamodb, s3 = stores
    seed(dynamodb, s3)
    snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "typed", ENDPOINT)
    lines = (tmp_path / "typed" / "tables" / "balance.jsonl").read_text().splitlines()
    saved = next(json.loads(line) for line in lines if json.loads(line)["InvoiceID"] == {"N": "7"})
    assert saved["Big"] == {"N": "12345678901234567890.123456789012345678"} and saved["Balance"] == {"N": "10.50"}
    assert saved["Raw"] == {"B": "AP9zbmFwc2hvdA=="}  # base64, as DynamoDB's own JSON


def test_triggers_are_off_while_a_bucket_is_restored_and_back_after_it(stores, tmp_path, monkeypatch):
    dynamodb, s3 = stores
    seed(dynamodb, s3)
    snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "s", ENDPOINT)
    seen_during_uploads = []
    upload = s3.upload_file

    def watched_upload(path, bucket, key, **kwargs):
        configuration = s3.get_bucket_notification_configuration(Bucket=bucket)
        seen_during_uploads.append(configuration.get("LambdaFunctionConfigurations", []))
        return upload(path, bucket, key, **kwargs)

    monkeypatch.setattr(s3, "upload_file", watched_upload)
    snapshot.restore(dynamodb, s3, DEPLOYMENT, tmp_path, "s", ENDPOINT)
    assert len(seen_during_uploads) == 4 and not any(seen_during_uploads)
    after = s3.get_bucket_notification_configuration(Bucket=DEPLOYMENT.buckets["bills"])
    assert after["LambdaFunctionConfigurations"] == TRIGGER["LambdaFunctionConfigurations"]


def test_a_failing_restore_still_puts_the_triggers_back(stores, tmp_path, monkeypatch):
    dynamodb, s3 = stores
    seed(dynamodb, s3)
    snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "s", ENDPOINT)
    upload, calls = s3.upload_file, []

    def failing_second_upload(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise ConnectionError("the stack went away")
        return upload(*args, **kwargs)

    monkeypatch.setattr(s3, "upload_file", failing_second_upload)
    with pytest.raises(ConnectionError):
        snapshot.restore(dynamodb, s3, DEPLOYMENT, tmp_path, "s", ENDPOINT)
    after = s3.get_bucket_notification_configuration(Bucket=DEPLOYMENT.buckets["bills"])
    assert after["LambdaFunctionConfigurations"] == TRIGGER["LambdaFunctionConfigurations"]


class ThrottledDynamoDB:
    """Leaves the last request of every BatchWriteItem unprocessed the first time it is sent."""

    def __init__(self):
        self.written, self.calls, self.refused = [], 0, set()

    def batch_write_item(self, RequestItems):
        self.calls += 1
        ((table, requests),) = RequestItems.items()
        last = json.dumps(requests[-1], sort_keys=True)
        if last not in self.refused:
            self.refused.add(last)
            self.written += requests[:-1]
            return {"UnprocessedItems": {table: requests[-1:]}}
        self.written += requests
        return {"UnprocessedItems": {}}


def test_unprocessed_writes_are_sent_again_until_written(monkeypatch):
    monkeypatch.setattr(snapshot.time, "sleep", lambda seconds: None)
    requests = [{"PutRequest": {"Item": {"InvoiceID": {"N": str(n)}}}} for n in range(30)]
    dynamodb = ThrottledDynamoDB()
    snapshot.batch_write(dynamodb, "t", iter(requests), snapshot.progress("t", "item"))
    assert sorted(dynamodb.written, key=lambda r: int(r["PutRequest"]["Item"]["InvoiceID"]["N"])) == requests
    assert dynamodb.calls == 4  # two batches (25 + 5), each sent again once


def test_writes_that_stay_unprocessed_fail_by_name(monkeypatch):
    monkeypatch.setattr(snapshot.time, "sleep", lambda seconds: None)

    class NeverWrites:
        def batch_write_item(self, RequestItems):
            return {"UnprocessedItems": RequestItems}

    with pytest.raises(snapshot.SnapshotError, match="unprocessed"):
        snapshot.batch_write(NeverWrites(), "t", [{"PutRequest": {"Item": {}}}], snapshot.progress("t", "item"))


@pytest.mark.parametrize(
    "case, message",
    [
        ("unknown", "no snapshot named unknown"),
        ("other prefix", "deployment named 'unit'"),
        ("not deployed", "make deploy"),
        ("damaged", "is damaged"),
        ("damaged index", "is damaged"),
        ("other key", "cannot be restored"),
    ],
)
def test_bad_input_says_what_to_do_and_changes_nothing(stores, tmp_path, case, message):
    dynamodb, s3 = stores
    seed(dynamodb, s3)
    snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "s", ENDPOINT)
    change_everything(dynamodb, s3)
    deployment, name = DEPLOYMENT, "s"
    if case == "unknown":
        name = "unknown"
    elif case == "other prefix":
        deployment = snapshot.Deployment("other", DEPLOYMENT.tables, DEPLOYMENT.buckets)
    elif case == "not deployed":
        dynamodb.delete_table(TableName=DEPLOYMENT.tables["salary"])
    elif case == "damaged":
        next((tmp_path / "s" / "objects").iterdir()).write_bytes(b"not what was saved")
    elif case == "damaged index":
        (tmp_path / "s" / "buckets" / "bills.jsonl").write_text("{not json")
    elif case == "other key":
        manifest_path = tmp_path / "s" / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["tables"]["payments"]["key_schema"][0]["AttributeName"] = "Id"
        manifest_path.write_text(json.dumps(manifest))
    before = everything(dynamodb, s3)
    with pytest.raises(snapshot.SnapshotError, match=message):
        snapshot.restore(dynamodb, s3, deployment, tmp_path, name, ENDPOINT)
    assert everything(dynamodb, s3) == before


def test_a_name_in_use_is_not_overwritten(stores, tmp_path):
    dynamodb, s3 = stores
    seed(dynamodb, s3)
    snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "s", ENDPOINT)
    saved = (tmp_path / "s" / "tables" / "balance.jsonl").read_text()
    change_everything(dynamodb, s3)
    with pytest.raises(snapshot.SnapshotError, match="exists"):
        snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "s", ENDPOINT)
    assert (tmp_path / "s" / "tables" / "balance.jsonl").read_text() == saved
    assert [path.name for path in tmp_path.iterdir()] == ["s"]  # no partial snapshot left behind


def test_a_failed_save_leaves_no_snapshot(stores, tmp_path, monkeypatch):
    dynamodb, s3 = stores
    seed(dynamodb, s3)
    monkeypatch.setattr(s3, "get_object", lambda **kwargs: (_ for _ in ()).throw(ConnectionError("gone")))
    with pytest.raises(ConnectionError):
        snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "s", ENDPOINT)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "../elsewhere", ".hidden", "a b"])
def test_a_missing_or_unusable_name_is_refused(stores, tmp_path, monkeypatch, capsys, name):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "name_prefix": "unit",
                **{output: DEPLOYMENT.tables[file] for file, output in snapshot.TABLES.items()},
                **{output: DEPLOYMENT.buckets[file] for file, output in snapshot.BUCKETS.items()},
            }
        )
    )
    monkeypatch.setattr(snapshot, "OUTPUTS", outputs)
    assert snapshot.main(["save", name, "--dir", str(tmp_path / "snapshots")]) == 1
    assert ("NAME=<name>" if not name else "is not a snapshot name") in capsys.readouterr().err
    assert not (tmp_path / "snapshots").exists() and not (tmp_path / "elsewhere").exists()


def test_without_a_deployment_it_says_to_deploy(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(snapshot, "OUTPUTS", tmp_path / "missing.json")
    assert snapshot.main(["restore", "s", "--dir", str(tmp_path)]) == 1
    assert "deploy first (make deploy)" in capsys.readouterr().err


def test_list_names_each_snapshot_with_its_counts(stores, tmp_path, capsys):
    dynamodb, s3 = stores
    seed(dynamodb, s3)
    snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "first", ENDPOINT)
    snapshot.save(dynamodb, s3, DEPLOYMENT, tmp_path, "second", ENDPOINT)
    (tmp_path / ".third.partial").mkdir()  # a save still writing (or killed): not a snapshot
    (tmp_path / ".third.partial" / "manifest.json").write_text((tmp_path / "second" / "manifest.json").read_text())
    capsys.readouterr()
    assert snapshot.main(["list", "--dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["first", "second", "2"]
    assert "deployment unit  63 items, 4 objects" in lines[0]
