"""Save the deployment's data and bring it back, e.g. across `make down`: what `make snapshot` / `make restore` run.

    python -m ops.snapshot save NAME       # make snapshot NAME=x
    python -m ops.snapshot restore NAME    # make restore NAME=x
    python -m ops.snapshot list            # make snapshot

The local stack keeps nothing across `make down` (LocalStack's own persistence is a paid feature). A snapshot holds
the data a user cares about, read through the AWS APIs at the stack's endpoint, so it is the same in either stack mode:
every item of the balance, payments and salary tables (DynamoDB JSON, so numbers stay exact) and every object of the
bills and salary buckets (content, content type and user metadata). The site and Lambda artifacts buckets are not
saved: Terraform writes them on every deploy. Nor are workflow executions in flight, the failure queue, logs, metrics.

A snapshot is the folder snapshots/NAME/ (ignored by git): manifest.json (when, from which deployment, counts and the
SHA-256 of every file), tables/<table>.jsonl and buckets/<bucket>.jsonl (one item, one object a line) and
objects/<sha256> (object contents, each stored once). It is written aside and renamed when complete. Tables and
buckets are read one after the other, not at one instant: save while nothing is being uploaded or paid.

A restore is exact: afterwards each table holds exactly the snapshot's items (items created since are deleted) and
each bucket exactly its objects. While it writes a bucket, the bucket's notification configuration is cleared, so the
restored uploads do not run ingestion again; it is put back when the restore ends, however it ends (should the
process be killed, `make deploy` puts it back). Everything is checked before anything is written (the snapshot's
checksums, the deployment's name prefix, that its tables and buckets exist), so bad input changes nothing.

Names come from the deployment's outputs (build/outputs.json, or DEPLOY_OUTPUTS as for deploy.py); credentials and
the endpoint are boto3's usual ones (the Makefile points AWS_ENDPOINT_URL at the local stack).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import hashlib
import itertools
import json
import re
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError
from tqdm import tqdm

from ops import outputs

REPO = Path(__file__).resolve().parent.parent
OUTPUTS = outputs.LOCAL
SNAPSHOTS = REPO / "snapshots"
FORMAT = 1
TABLES = {"balance": "balance_table", "payments": "payments_table", "salary": "salary_table"}  # file: output
BUCKETS = {"bills": "bills_bucket", "salary": "salary_bucket"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# What a restore puts back with an object's content besides its user metadata (get_object and put_object names).
OBJECT_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")
BATCH_WRITE_LIMIT = 25
DELETE_OBJECTS_LIMIT = 1000
WRITE_ATTEMPTS = 10
CHUNK_BYTES = 1 << 20


class SnapshotError(RuntimeError):
    pass


@dataclass(frozen=True)
class Deployment:
    """The deployment's data stores, by their file names in a snapshot."""

    name_prefix: str
    tables: dict[str, str]
    buckets: dict[str, str]


def read_deployment(outputs_path: Path) -> Deployment:
    try:
        deployed = outputs.load(outputs_path)
    except (OSError, ValueError):
        raise SnapshotError(f"no deployment outputs in {outputs_path}: deploy first (make deploy)") from None
    missing = [name for name in ["name_prefix", *TABLES.values(), *BUCKETS.values()] if name not in deployed]
    if missing:
        raise SnapshotError(f"{outputs_path} lacks {', '.join(missing)}: deploy again (make deploy)")
    return Deployment(
        deployed["name_prefix"],
        {file: deployed[name] for file, name in TABLES.items()},
        {file: deployed[name] for file, name in BUCKETS.items()},
    )


# --- DynamoDB JSON ---------------------------------------------------------------------------------------------------
# botocore hands binary values (B, BS) over as bytes; in the files they are base64, as in DynamoDB's own JSON.


def to_json(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value as botocore gives it -> as JSON can hold it."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: base64.b64encode(inner).decode()}
    if kind == "BS":
        return {kind: [base64.b64encode(item).decode() for item in inner]}
    if kind == "M":
        return {kind: {name: to_json(item) for name, item in inner.items()}}
    if kind == "L":
        return {kind: [to_json(item) for item in inner]}
    return value


def from_json(value: dict[str, Any]) -> dict[str, Any]:
    """The reverse of to_json."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: base64.b64decode(inner)}
    if kind == "BS":
        return {kind: [base64.b64decode(item) for item in inner]}
    if kind == "M":
        return {kind: {name: from_json(item) for name, item in inner.items()}}
    if kind == "L":
        return {kind: [from_json(item) for item in inner]}
    return value


def item_line(item: dict[str, Any]) -> str:
    return json.dumps({name: to_json(value) for name, value in item.items()}, sort_keys=True)


def item_of(line: str) -> dict[str, Any]:
    return {name: from_json(value) for name, value in json.loads(line).items()}


def key_of(item: dict[str, Any], key_names: list[str]) -> str:
    return item_line({name: item[name] for name in key_names})


# --- small helpers ---------------------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def lines_of(path: Path) -> Iterator[str]:
    with path.open() as stream:
        yield from (line.rstrip("\n") for line in stream)


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def progress(description: str, unit: str, total: int | None = None) -> tqdm:
    """A progress bar on a terminal (stderr), nothing otherwise; each step also prints a summary line when done."""
    return tqdm(desc=description, unit=unit, total=total, unit_scale=True, disable=None, leave=False)


def check_name(name: str) -> None:
    if not name:
        raise SnapshotError(
            "which snapshot? give its name: make snapshot NAME=<name> / make restore NAME=<name> "
            "(make snapshot without NAME lists them)"
        )
    if not NAME.fullmatch(name):
        raise SnapshotError(
            f"{name!r} is not a snapshot name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 100"
        )


def check_deployed(dynamodb: Any, s3: Any, deployment: Deployment, endpoint: str) -> dict[str, list[dict]]:
    """Every table and bucket of the deployment exists; the key schema of each table."""
    schemas, missing = {}, []
    for file, table in deployment.tables.items():
        try:
            schemas[file] = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        except dynamodb.exceptions.ResourceNotFoundException:
            missing.append(f"table {table}")
    for bucket in deployment.buckets.values():
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
                raise
            missing.append(f"bucket {bucket}")
    if missing:
        raise SnapshotError(
            f"{', '.join(missing)} not found at {endpoint}: the stack has no deployment (restarted?). "
            "Deploy first (make deploy), then run this again; nothing was changed."
        )
    return schemas


# --- save ------------------------------------------------------------------------------------------------------------


def save(dynamodb: Any, s3: Any, deployment: Deployment, folder: Path, name: str, endpoint: str) -> dict:
    """Write snapshots/NAME/ from the deployment's tables and buckets; its manifest."""
    target = folder / name
    if target.exists():
        raise SnapshotError(f"a snapshot named {name} exists ({target}): choose another NAME, or delete it first")
    schemas = check_deployed(dynamodb, s3, deployment, endpoint)
    partial = folder / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    for sub in ("tables", "buckets", "objects"):
        (partial / sub).mkdir(parents=True)
    try:
        manifest = {
            "format": FORMAT,
            "name": name,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "deployment": {
                "name_prefix": deployment.name_prefix,
                "endpoint": endpoint,
                "region": dynamodb.meta.region_name,
            },
            "tables": {
                file: save_table(dynamodb, table, schemas[file], partial, file)
                for file, table in deployment.tables.items()
            },
            "buckets": {file: save_bucket(s3, bucket, partial, file) for file, bucket in deployment.buckets.items()},
        }
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def save_table(dynamodb: Any, table: str, key_schema: list[dict], snapshot: Path, file: str) -> dict:
    path = snapshot / "tables" / f"{file}.jsonl"
    count = 0
    with path.open("w") as out, progress(f"table {table}", "item") as bar:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            out.writelines(item_line(item) + "\n" for item in page["Items"])
            count += len(page["Items"])
            bar.update(len(page["Items"]))
    print(f"  table {table}: {count} items", flush=True)
    return {
        "name": table,
        "key_schema": key_schema,
        "items": count,
        "file": str(path.relative_to(snapshot)),
        "sha256": sha256_of(path),
    }


def save_bucket(s3: Any, bucket: str, snapshot: Path, file: str) -> dict:
    index = snapshot / "buckets" / f"{file}.jsonl"
    count = size = 0
    with index.open("w") as out, progress(f"bucket {bucket}", "B") as bar:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for listed in page.get("Contents", []):
                entry = save_object(s3, bucket, listed["Key"], snapshot / "objects")
                out.write(json.dumps(entry, sort_keys=True) + "\n")
                count, size = count + 1, size + entry["size"]
                bar.update(entry["size"])
    print(f"  bucket {bucket}: {count} objects, {size} bytes", flush=True)
    return {
        "name": bucket,
        "objects": count,
        "bytes": size,
        "file": str(index.relative_to(snapshot)),
        "sha256": sha256_of(index),
    }


def save_object(s3: Any, bucket: str, key: str, objects: Path) -> dict:
    """Stream one object to objects/<sha256>; its index entry."""
    response = s3.get_object(Bucket=bucket, Key=key)
    digest, size = hashlib.sha256(), 0
    download = objects / ".download"
    with download.open("wb") as out:
        for chunk in response["Body"].iter_chunks(CHUNK_BYTES):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    download.replace(objects / digest.hexdigest())
    headers = {header: response[header] for header in OBJECT_HEADERS if response.get(header)}
    return {
        "key": key,
        "sha256": digest.hexdigest(),
        "size": size,
        "metadata": response.get("Metadata", {}),
        "headers": headers,
    }


# --- restore ---------------------------------------------------------------------------------------------------------


def load_manifest(folder: Path, name: str) -> dict:
    try:
        manifest = json.loads((folder / name / "manifest.json").read_text())
    except (OSError, ValueError):
        known = ", ".join(manifest["name"] for manifest in list_manifests(folder)) or "none yet"
        raise SnapshotError(f"no snapshot named {name} in {folder} (snapshots: {known})") from None
    if manifest.get("format") != FORMAT:
        raise SnapshotError(f"snapshot {name} has format {manifest.get('format')}; this tool reads format {FORMAT}")
    return manifest


def verify(path: Path, manifest: dict) -> None:
    """Every file of the snapshot is what was saved: the manifest's files, then the objects their indexes name."""
    saved = [*manifest["tables"].values(), *manifest["buckets"].values()]
    check_files(path, {item["file"]: item["sha256"] for item in saved})
    check_files(
        path,
        {
            f"objects/{digest}": digest
            for bucket in manifest["buckets"].values()
            for digest in (json.loads(line)["sha256"] for line in lines_of(path / bucket["file"]))
        },
    )


def check_files(path: Path, expected: dict[str, str]) -> None:
    with progress(f"checking {path.name}", "file", total=len(expected)) as bar:
        for file, digest in expected.items():
            if not (path / file).is_file() or sha256_of(path / file) != digest:
                raise SnapshotError(
                    f"snapshot {path.name} is damaged: {path / file} is missing or not what was "
                    "saved; nothing was changed"
                )
            bar.update()


def check_same_deployment(manifest: dict, deployment: Deployment, key_schemas: dict[str, list[dict]]) -> None:
    saved_prefix = manifest["deployment"]["name_prefix"]
    if saved_prefix != deployment.name_prefix:
        raise SnapshotError(
            f"snapshot {manifest['name']} is of the deployment named {saved_prefix!r}, but the deployed one is named "
            f"{deployment.name_prefix!r}: restore it into a deployment of that name (NAME_PREFIX={saved_prefix} "
            "make deploy; with TF_WORKSPACE and DEPLOY_OUTPUTS for one beside this one); nothing was changed"
        )
    for file, saved in manifest["tables"].items():
        if key_schemas.get(file) != saved["key_schema"]:
            raise SnapshotError(
                f"table {saved['name']}'s key is now {key_schemas.get(file)}, the snapshot's is "
                f"{saved['key_schema']}: it cannot be restored into this deployment; nothing was changed"
            )


def restore(dynamodb: Any, s3: Any, deployment: Deployment, folder: Path, name: str, endpoint: str) -> dict:
    """Make the deployment's tables and buckets hold exactly the snapshot's items and objects; its manifest."""
    manifest = load_manifest(folder, name)
    key_schemas = check_deployed(dynamodb, s3, deployment, endpoint)
    check_same_deployment(manifest, deployment, key_schemas)
    path = folder / name
    verify(path, manifest)
    # Buckets first: should any trigger still fire meanwhile, the tables are restored after it.
    for file, saved in manifest["buckets"].items():
        restore_bucket(s3, deployment.buckets[file], path / saved["file"], path / "objects")
    for file, saved in manifest["tables"].items():
        restore_table(dynamodb, deployment.tables[file], saved["key_schema"], path / saved["file"])
    return manifest


def restore_table(dynamodb: Any, table: str, key_schema: list[dict], items_file: Path) -> None:
    key_names = [part["AttributeName"] for part in key_schema]
    wanted = {key_of(item_of(line), key_names) for line in lines_of(items_file)}
    names = {f"#k{n}": name for n, name in enumerate(key_names)}
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table, ConsistentRead=True, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names
    )
    # The whole scan before the first write: a key deleted after its item was put back would lose it.
    extra = [item for page in pages for item in page["Items"] if key_of(item, key_names) not in wanted]
    with progress(f"table {table}", "item", total=len(extra) + len(wanted)) as bar:
        batch_write(dynamodb, table, ({"DeleteRequest": {"Key": key}} for key in extra), bar)
        batch_write(dynamodb, table, ({"PutRequest": {"Item": item_of(line)}} for line in lines_of(items_file)), bar)
    print(f"  table {table}: {len(wanted)} items restored, {len(extra)} deleted", flush=True)


def batch_write(dynamodb: Any, table: str, requests: Iterable[dict], bar: tqdm) -> None:
    """BatchWriteItem in groups of 25, retrying unprocessed requests with backoff. Our own loop rather than the
    resource's batch_writer: that one converts every typed value to Python and back, and retries without backoff."""
    for batch in batches(requests, BATCH_WRITE_LIMIT):
        pending = {table: batch}
        for attempt in range(WRITE_ATTEMPTS):
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 5.0))
        else:
            raise SnapshotError(
                f"DynamoDB kept writes to {table} unprocessed after {WRITE_ATTEMPTS} attempts; run the restore again"
            )
        bar.update(len(batch))


@contextlib.contextmanager
def notifications_paused(s3: Any, bucket: str) -> Iterator[None]:
    """No S3 trigger of the bucket fires inside the block; its notification configuration is put back after it,
    however the block ends. (On AWS a configuration change can take a moment to apply; LocalStack applies it at
    once.)"""
    saved = s3.get_bucket_notification_configuration(Bucket=bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        yield
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=saved)


def restore_bucket(s3: Any, bucket: str, index: Path, objects: Path) -> None:
    entries = [json.loads(line) for line in lines_of(index)]
    wanted = {entry["key"] for entry in entries}
    with notifications_paused(s3, bucket):
        extra = [
            listed["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for listed in page.get("Contents", [])
            if listed["Key"] not in wanted
        ]
        for batch in batches(extra, DELETE_OBJECTS_LIMIT):
            errors = s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            ).get("Errors")
            if errors:
                raise SnapshotError(f"could not delete from {bucket}: {errors[:3]}")
        with progress(f"bucket {bucket}", "B", total=sum(entry["size"] for entry in entries)) as bar:
            for entry in entries:
                # upload_file streams from the file, in parts when it is large.
                s3.upload_file(
                    str(objects / entry["sha256"]),
                    bucket,
                    entry["key"],
                    ExtraArgs={"Metadata": entry["metadata"], **entry["headers"]},
                )
                bar.update(entry["size"])
    print(f"  bucket {bucket}: {len(entries)} objects restored, {len(extra)} deleted", flush=True)


# --- list ------------------------------------------------------------------------------------------------------------


def list_manifests(folder: Path) -> list[dict]:
    """The manifest of every complete snapshot in the folder, oldest first."""
    manifests = []
    for path in sorted(folder.glob("[!.]*/manifest.json")):  # not a .NAME.partial being written
        with contextlib.suppress(OSError, ValueError):
            manifests.append(json.loads(path.read_text()))
    return sorted(manifests, key=lambda manifest: manifest.get("created", ""))


def print_list(folder: Path) -> None:
    manifests = list_manifests(folder)
    for manifest in manifests:
        items = sum(table["items"] for table in manifest["tables"].values())
        objects = sum(bucket["objects"] for bucket in manifest["buckets"].values())
        size = sum(bucket["bytes"] for bucket in manifest["buckets"].values())
        print(
            f"{manifest['name']}  {manifest['created']}  deployment {manifest['deployment']['name_prefix']}  "
            f"{items} items, {objects} objects ({size} bytes)"
        )
    print(
        f"{len(manifests)} snapshot(s) in {folder}; make snapshot NAME=<name> saves one, make restore NAME=<name> "
        "puts one back"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.snapshot", description=__doc__.strip().splitlines()[0])
    parser.add_argument("command", choices=["save", "restore", "list"])
    parser.add_argument("name", nargs="?", default="")
    parser.add_argument("--dir", type=Path, default=SNAPSHOTS, help="where snapshots live (default: snapshots/)")
    args = parser.parse_args(argv)
    if args.command == "list":
        print_list(args.dir)
        return 0
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    endpoint = dynamodb.meta.endpoint_url
    try:
        check_name(args.name)
        deployment = read_deployment(OUTPUTS)
        started = time.monotonic()
        if args.command == "save":
            print(f"saving the deployment {deployment.name_prefix} at {endpoint} as {args.dir / args.name}", flush=True)
            save(dynamodb, s3, deployment, args.dir, args.name, endpoint)
        else:
            print(
                f"restoring {args.dir / args.name} into the deployment {deployment.name_prefix} at {endpoint}",
                flush=True,
            )
            restore(dynamodb, s3, deployment, args.dir, args.name, endpoint)
        print(f"{args.command}: done in {time.monotonic() - started:.1f} s")
    except SnapshotError as error:
        print(f"snapshot: {error}", file=sys.stderr)
        return 1
    except EndpointConnectionError:
        print(
            f"snapshot: nothing answers at {endpoint}: start the stack (make up) and deploy it (make deploy)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
