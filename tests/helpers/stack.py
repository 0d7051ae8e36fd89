"""Plain helpers for the suites that run against the deployed topology, through the endpoints a user would use."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import secrets
import signal
import socket
import sys
import subprocess
import time
import uuid
import zipfile
from pathlib import Path
from unittest import mock

import random

import requests
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parents[2]
ENDPOINT = f"http://127.0.0.1:{int(os.environ.get('LOCALSTACK_PORT') or 4566)}"

# Card numbers the suites pay or try to pay with; tests/security searches every store for them afterwards.
GOOD_CARD = "4111111111111111"  # Visa's test number, passes Luhn
CARD_NUMBERS_USED = (GOOD_CARD, "5555555555554444", "378282246310005", "4111111111111112")


def wait_for(check, timeout: float = 30.0, interval: float = 0.25):
    """Poll check() until it returns something truthy; fail with the last value after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s; last value: {last!r}")


def stays(check, seconds: float, interval: float = 0.25) -> None:
    """Assert check() holds on every poll for a whole window: a thing that must not happen, given time to happen."""
    deadline = time.monotonic() + seconds
    while True:
        assert check(), f"stopped holding after {seconds - (deadline - time.monotonic()):.1f} of {seconds} s"
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


# A PAN as a data-loss scanner sees one: 13-19 digits (single spaces or dashes allowed between them) standing as a
# word of their own, with a card network's prefix and length, passing Luhn. The prefix and length keep our own
# 13-digit ids and timestamps out; the word boundary keeps out digit runs inside hex digests (payment ids,
# fingerprints), which a full run of the suites hit once.
PAN_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])")
CARD_NETWORKS = (  # (first digits from, to), lengths
    ((4, 4), (13, 16, 19)),  # Visa
    ((51, 55), (16,)),
    ((2221, 2720), (16,)),  # Mastercard
    ((34, 34), (15,)),
    ((37, 37), (15,)),  # Amex
    ((6011, 6011), (16, 19)),
    ((644, 649), (16, 19)),
    ((65, 65), (16, 19)),  # Discover
    ((300, 305), (14, 16, 19)),
    ((36, 36), (14, 16, 19)),
    ((38, 39), (16, 19)),  # Diners
    ((3528, 3589), (16, 19)),  # JCB
    ((62, 62), (16, 19)),  # UnionPay
)


# How a card number is written when its digits are grouped: 4-4-4-4 (4-4-4-4-3 for 19 digits), Amex's 4-6-5 and
# Diners' 4-6-4, with one kind of separator. Other groupings are ids: a request id (a UUID) whose first groups (8-4-4)
# were all digits, Luhn-valid with a Mastercard prefix, was reported once in a CI run.
CARD_GROUPINGS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4)}


def written_as_a_card(run: str) -> bool:
    """Whether a run of digits is ungrouped, or grouped as card numbers are."""
    separators = set(re.findall(r"[ -]", run))
    groups = tuple(len(group) for group in re.split(r"[ -]", run))
    return not separators or (len(separators) == 1 and groups in CARD_GROUPINGS)


def looks_like_a_card(digits: str) -> bool:
    """Whether a digit string has a card network's prefix and length and passes Luhn."""
    if not any(
        low <= int(digits[: len(str(low))]) <= high and len(digits) in lengths for (low, high), lengths in CARD_NETWORKS
    ):
        return False
    total = sum(
        int(d) if i % 2 == 0 else (int(d) * 2 - 9 if int(d) > 4 else int(d) * 2) for i, d in enumerate(reversed(digits))
    )
    return total % 10 == 0


def pans_in(text: str, context: int = 0) -> list[str]:
    """Every PAN-shaped, Luhn-valid run of digits in the text, masked (first six and last four) for reports; with
    `context`, that many characters on each side too, to tell where it sits."""
    found = []
    for match in PAN_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if written_as_a_card(match.group()) and looks_like_a_card(digits):
            masked = f"{digits[:6]}…{digits[-4:]}"
            if context:
                before, after = text[max(0, match.start() - context) : match.start()], text[match.end() :][:context]
                masked = f"{before}[{masked}]{after}"
            found.append(masked)
    return found


def alarm_messages(sqs, inbox_url: str) -> list[dict]:
    """The alarm notifications that reached a queue subscribed to the operations topic since the last call."""
    messages = sqs.receive_message(QueueUrl=inbox_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=inbox_url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in messages]


def reset_alarms(cloudwatch, names: list[str], sqs, inbox_url: str) -> None:
    """Put alarms in OK, so the transition a test causes is the one it sees; drop the OK notifications this sends."""
    for name in names:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="a test starts from OK")
    alarm_messages(sqs, inbox_url)


def told_of_alarms(sqs, inbox_url: str, names: list[str], timeout: float = 30.0) -> None:
    """Wait until the inbox has received an ALARM notification of each of these alarms."""
    received: set[str] = set()

    def told():
        received.update(m["AlarmName"] for m in alarm_messages(sqs, inbox_url) if m["NewStateValue"] == "ALARM")
        return received >= set(names)

    wait_for(told, timeout=timeout, interval=0)


def ingest_log_lines(aws, deployment, key: str, since_ms: int) -> list[str]:
    """ingest_bills' log lines naming this key since a time (every line of a run carries the key)."""
    group = f"/aws/lambda/{deployment['function_names']['ingest_bills']}"
    return [
        event["message"]
        for page in aws.client("logs")
        .get_paginator("filter_log_events")
        .paginate(logGroupName=group, startTime=since_ms)
        for event in page["events"]
        if key in event["message"]
    ]


def summaries_in_logs(aws, deployment, key: str, since_ms: int) -> list[dict]:
    """The ingest_summary log lines of this key since a time (one per completed run of the file)."""
    return [
        json.loads(line[line.index("{") :])["counts"]
        for line in ingest_log_lines(aws, deployment, key, since_ms)
        if "ingest_summary" in line
    ]


def change_bill(aws, deployment, invoice_id: int, **values) -> None:
    """Set attributes of a stored bill, as another payment or the next bills file would while a test waits."""
    names = {f"#{name}": name for name in values}
    aws.resource("dynamodb").Table(deployment["balance_table"]).update_item(
        Key={"InvoiceID": invoice_id},
        UpdateExpression="SET " + ", ".join(f"{n} = :{n[1:]}" for n in names),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": value for name, value in values.items()},
    )


STACKCTL = [sys.executable, str(REPO / "stack" / "stackctl.py")]  # make up / down / status
DEPLOY = [sys.executable, str(REPO / "stack" / "terraform" / "deploy.py"), "apply"]  # make deploy
# The second deployment `make test` applies beside the main one for the tests of tests/conftest.py ON_OWN_DEPLOYMENT
# (deploy.py's variables): its own names, state, sender identity (one of those tests deletes it) and outputs. The
# account-wide API Gateway logging role stays the main deployment's. Kept after the run: the next one applies nothing.
OWN_DEPLOYMENT = {
    "NAME_PREFIX": "solo",
    "TF_WORKSPACE": "solo",
    "SENDER_EMAIL": "solo@example.com",
    "DEPLOY_OUTPUTS": str(REPO / "build" / "solo-outputs.json"),
    "TF_VAR_manage_api_gateway_account": "false",
}


def stack_mode() -> str:
    """The running stack's mode: "embedded" or "docker" (stackctl's state file)."""
    return json.loads((REPO / ".stack" / "stack.json").read_text())["mode"]


def stack_is_up() -> bool:
    return subprocess.run([*STACKCTL, "status"], capture_output=True).returncode == 0


def deploy_with(**variables: str) -> None:
    """`make deploy` of terraform/ with these environment variables (e.g. TF_VAR_*); none: the defaults again."""
    result = subprocess.run(
        DEPLOY,
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def make(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """A make target as a user runs it, against this stack."""
    env = {**os.environ, "AWS_ENDPOINT_URL": ENDPOINT}
    return subprocess.run(["make", "-s", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def separate_checkout(target: Path) -> Path:
    """A copy of this checkout's working tree (uncommitted changes included) at target, sharing its installed tools
    (.venv, .stack's venvs and runtimes, DynamoDB Local, the layer's packages) so that `make setup` there has nothing
    to install. stackctl keeps one stack per checkout (bench/README.md), so a test that stops and starts a stack does
    it in such a copy, on a port of its own, and leaves this checkout's stack alone."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():  # not a tracked file deleted meanwhile
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    (target / ".venv").symlink_to(REPO / ".venv")
    stack = target / ".stack"
    (stack / "root").mkdir(parents=True)
    for shared in ("venv", "runtimes", "npm", "checkov", "provider-schemas"):
        (stack / shared).symlink_to(REPO / ".stack" / shared)
    (stack / "root" / "usr").symlink_to(REPO / ".stack" / "root" / "usr")  # LocalStack's packages: DynamoDB Local, Java
    for done in (REPO / ".stack").glob(".done-*"):  # make setup's record of what is installed
        shutil.copy2(done, stack / done.name)
    # Not shared: .stack/terraform (its CLI config names the checkout's own paths; make setup writes it in seconds).
    shutil.copytree(REPO / "build" / "cache", target / "build" / "cache", symlinks=True)
    return target


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unique_invoice_id() -> int:
    """An invoice id no other test of this run or of an earlier one on the same stack uses: 15 digits, a 9 and then
    drawn at random, a multiple of 100 so that a test may take the next few (+1, +7) too. No card network starts with
    9, so the card scan (tests/security) never takes an id for a card number. Ids from the clock's milliseconds and a
    random two-digit tail met within a millisecond, between parallel workers or within one test (1 in 100)."""
    return (9 * 10**12 + secrets.randbelow(10**12)) * 100


def sent_emails(to_address: str) -> list[dict]:
    messages = requests.get(f"{ENDPOINT}/_aws/ses", timeout=10).json()["messages"]
    return [m for m in messages if to_address in m.get("Destination", {}).get("ToAddresses", [])]


def sent_texts(phone_number: str) -> list[str]:
    texts = requests.get(f"{ENDPOINT}/_aws/sns/sms-messages", params={"phoneNumber": phone_number}, timeout=10)
    return [sms["Message"] for sms in texts.json()["sms_messages"].get(phone_number, [])]


def unique_phone() -> str:
    return "+1555" + f"{uuid.uuid4().int % 10**7:07d}"


class Bucket:
    """A deployed bucket, as the tests upload to it and read its outputs."""

    def __init__(self, client, name: str):
        self.client, self.name = client, name

    def upload(self, key: str, text: str) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=text.encode())

    def head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.name, Key=key)
        except self.client.exceptions.ClientError:
            return None

    def read(self, key: str) -> str | None:
        """The object's text, or None when there is none."""
        try:
            return self.client.get_object(Bucket=self.name, Key=key)["Body"].read().decode()
        except self.client.exceptions.NoSuchKey:
            return None

    def rejected_rows(self, key: str) -> list[dict] | None:
        """The rejected-rows report written next to an uploaded file, parsed; None until it exists."""
        text = self.read(key + ".rejected.jsonl")
        return None if text is None else [json.loads(line) for line in text.splitlines()]

    def delete(self, *keys: str) -> None:
        for key in keys:
            self.client.delete_object(Bucket=self.name, Key=key)

    def remove(self) -> None:
        """Every object, then the bucket itself (S3 deletes only an empty bucket)."""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name):
            self.delete(*(listed["Key"] for listed in page.get("Contents", [])))
        self.client.delete_bucket(Bucket=self.name)


class FromAddress(HTTPAdapter):
    """Connections from one local address: the API's per-client limits key on it (docs/payments.md)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        return super().init_poolmanager(*args, **kwargs, source_address=(self.address, 0))


def client_address() -> str:
    """A loopback address for one client of the API (all of 127.0.0.0/8 reaches the stack): random, so that the
    clients of one run, of parallel workers and of runs within the hour-long failed-payment window do not share a
    budget. Never 127.0.0.x, which a browser test's Chromium, the one client that cannot choose, connects from."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def client_session(address: str | None = None) -> requests.Session:
    """HTTP as one client of the API, from its own loopback address (a new one unless given)."""
    session = requests.Session()
    adapter = FromAddress(address or client_address())
    session.mount("http://", adapter)
    session.client_address = adapter.address
    return session


SETTLED = ("notified", "declined", "failed")  # a payment's last statuses


class Api:
    """The public API as one user's client sees it, from an address of its own (client_session)."""

    def __init__(self, base_url: str, session: requests.Session | None = None, payments=None):
        """payments: the deployment's payments table (a boto3 Table), which wait_until_settled reads while it waits."""
        self.base_url = base_url.rstrip("/")
        self.session = session or client_session()
        self.address = self.session.client_address
        self.payments = payments

    def balance(self, invoice_id) -> requests.Response:
        return self.session.get(f"{self.base_url}/paymentbalance/{invoice_id}", timeout=30)

    def balance_legacy(self, invoice_id) -> requests.Response:
        return self.session.get(f"{self.base_url}/paymentbalance/id", params={"InvoiceID": invoice_id}, timeout=30)

    def pay(self, body: dict, key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return self.session.post(f"{self.base_url}/paymentbalance", json=body, headers=headers, timeout=30)

    def status(self, payment_id: str) -> requests.Response:
        return self.session.get(f"{self.base_url}/payments/{payment_id}", timeout=30)

    def wait_until_settled(self, payment_id: str, timeout: float = 60.0) -> dict:
        """The payment's status, as the status endpoint shows it, once it is notified, declined or failed.

        With the payments table at hand, the wait polls the payment's record and asks the endpoint once it is settled:
        a read costs the stack 8 ms of CPU against 32 ms for the endpoint, which runs a function (bench/wait_cost.py),
        on a machine that is CPU-bound through a `make test`, where ten waiters at once poll four times a second."""

        def settled():
            body = self.status(payment_id).json()
            return body if body.get("Status") in SETTLED else None

        def record_settled():
            # Through the table's client: the waits of a burst run in threads, and a boto3 resource is not thread-safe.
            key = {"PaymentId": payment_id}
            record = self.payments.meta.client.get_item(TableName=self.payments.name, Key=key, ConsistentRead=True)
            return record.get("Item", {}).get("Status") in SETTLED

        deadline = time.monotonic() + timeout  # one deadline for both waits, so a failure shows within timeout
        if self.payments is not None:
            wait_for(record_settled, timeout=timeout)
        return wait_for(settled, timeout=max(deadline - time.monotonic(), 1.0))  # at least one ask


def declining_card(last4: str = "0002") -> str:
    """A card number of its own that the test processor declines as its last four say (payproc.processor's
    TEST_CARDS: 0002 generic decline, 9995 insufficient funds, 0069 expired card, 0119 processor error): 400000,
    random digits, the last four; one middle digit makes the Luhn sum right. Its own, so that the per-card limit of
    failed attempts counts only this test's attempts."""
    from payproc.cards import luhn_valid  # lib/ is on pytest's path, not on tests/run.py's

    middle = [random.randint(0, 9) for _ in range(6)]
    for digit in range(10):
        number = "400000" + "".join(map(str, middle[:-1])) + str(digit) + last4
        if luhn_valid(number):
            return number
    raise AssertionError("unreachable: one of ten digits always completes the Luhn sum")


def payment_body(bill: dict, **overrides) -> dict:
    body = {
        "InvoiceID": bill["InvoiceID"],
        "BillersName": bill["CustomerName"],
        "BillingAmount": f"{bill['Balance']:.2f}",
        "CardNumber": GOOD_CARD,
        "ExpiryDate": "12/39",
        "EmailId": f"payer-{uuid.uuid4().hex[:10]}@example.com",
        "PhnNumber": unique_phone(),
        "Choices": "both",
    }
    body.update(overrides)
    return body


@contextlib.contextmanager
def function_environment(aws, function_name: str, **overrides: str):
    """Run the block with extra environment variables on a deployed function; its configuration is restored after,
    whatever happens. Waits for LastUpdateStatus Successful both ways."""
    lam = aws.client("lambda")
    original = lam.get_function_configuration(FunctionName=function_name).get("Environment", {}).get("Variables", {})

    def apply(variables: dict) -> None:
        lam.update_function_configuration(FunctionName=function_name, Environment={"Variables": variables})
        wait_for(
            lambda: lam.get_function_configuration(FunctionName=function_name)["LastUpdateStatus"] == "Successful",
            timeout=60,
            interval=0.2,
        )

    apply({**original, **overrides})
    try:
        yield
    finally:
        apply(original)


@contextlib.contextmanager
def own_embedded_stack(home: Path, make_up_environment: dict[str, str] | None = None, **overrides: str | None):
    """A second embedded LocalStack of this checkout, for tests of settings LocalStack reads at start-up, whatever the
    mode of the stack the other tests use (which is not touched): stackctl's settings as `make up` makes them from
    `make_up_environment`, then `overrides` (None drops a setting), on a free port, with its files under `home`.
    Yields (its endpoint URL, its log file); stopped after the block."""
    sys.path.insert(0, str(REPO / "stack"))
    import stackctl

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with mock.patch.dict(os.environ, make_up_environment or {}):
        environment = {
            **stackctl.embedded_environment(port),
            "FILESYSTEM_ROOT": str(home / "root"),
            "AWS_ENDPOINT_URL": url,
            **overrides,
        }
    environment = {name: value for name, value in environment.items() if value is not None}
    log = home / "localstack.log"
    with log.open("wb") as output:
        localstack = [str(stackctl.STACK_DIR / "venv" / "bin" / "python"), "-m", "localstack.runtime.main"]
        process = subprocess.Popen(
            localstack,
            cwd=home,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_for(lambda: process.poll() is not None or stackctl.health(port) is not None, timeout=90)
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        yield url, log
    finally:
        process.terminate()  # LocalStack stops its Lambda processes; they also die with it (PR_SET_PDEATHSIG)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def create_test_function(lambdas, name: str, handler_source: str, role: str, **settings) -> dict:
    """A function of one handler.py (python3.13 unless settings say otherwise), Active when this returns; settings are
    create_function's other arguments. The role is only a name to LocalStack, which does not enforce IAM."""
    arguments = {
        "FunctionName": name,
        "Runtime": "python3.13",
        "Role": role,
        "Handler": "handler.handler",
        "Code": {"ZipFile": zipped({"handler.py": handler_source})},
    }
    function = lambdas.create_function(**{**arguments, **settings})
    lambdas.get_waiter("function_active_v2").wait(FunctionName=name)
    return function


def delete_function(lambdas, logs, name: str) -> None:
    """A test's function and the log group its invokes created: the stack is often a user's own, and a suite leaves
    nothing on it."""
    lambdas.delete_function(FunctionName=name)
    with contextlib.suppress(logs.exceptions.ResourceNotFoundException):  # never invoked
        logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")


def zipped(files: dict[str, str]) -> bytes:
    """A zip of these {path: text} files, as a function's code is uploaded."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return buffer.getvalue()
