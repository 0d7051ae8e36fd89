"""Fixtures shared by the suites that need the running stack (stack, terraform, integration, browser, reliability,
security), and their environment: the stack's endpoint and test credentials.

A test run uses the stack that is already up (`make up`); if none is, it starts one and stops it at the end,
so it never leaves a process behind that it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
from decimal import Decimal

import boto3
import pytest

from ops import outputs
from tests.helpers.stack import DEPLOY, ENDPOINT, REPO, STACKCTL, Api, stack_is_up, unique_invoice_id


# A run started as a background job of a non-interactive shell (`make test &` in a script) inherits SIGINT ignored,
# and every process it started would too: Python then installs no Ctrl-C handler, and the tests that stop `make logs`
# or `make dev` with Ctrl-C would see them go on. A handler is reset to the default in a started process.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

STACK_ENVIRONMENT = {
    "AWS_ENDPOINT_URL": ENDPOINT,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}
UNIT_SUITE = REPO / "tests" / "unit"  # moto's, never the stack's: tests/unit/conftest.py


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every client of a suite that uses the stack talks to the local stack, never to AWS: set once the run's tests
    are known, so a run of the unit tests alone never sees the stack's endpoint."""
    if any(not item.path.is_relative_to(UNIT_SUITE) for item in session.items):
        os.environ.update(STACK_ENVIRONMENT)


# Tests that change or break the deployment they run on (redeploy it, point a function at a dead endpoint, kill its
# functions' processes, take its failure queue whole) or count everything it does: `make test` (tests/run.py) runs
# them one at a time on a deployment of their own (tests/helpers/stack.py OWN_DEPLOYMENT), beside the parallel
# workers that share the main one. A node id or a whole file, with the reason.
ON_OWN_DEPLOYMENT = {
    "tests/integration/test_bills_fanout.py": "redeploys ingest_bills with a small chunk size",
    "tests/integration/test_hot_reload.py": "redeploys every function from hot-reload folders, then from the zips",
    "tests/integration/test_logs_and_traces.py::test_a_file_that_failed_every_attempt_has_its_failure_record_in_its_trace":
        "puts a record on the ingest failures queue, which test_failures redrives whole",
    "tests/integration/test_operations.py::test_rejected_rows_are_counted_and_alarm_the_operations_topic":
        "counts every rejected row of the deployment",
    "tests/integration/test_operations.py::test_a_declined_payment_counts_one_failed_payment":
        "counts every failed payment of the deployment",
    "tests/reliability/test_faults.py": "breaks the alert channels, kills the functions' processes",
}  # fmt: skip

# Tests that mostly sleep: `make test` runs them one at a time in a lane of their own, beside the others, so that they
# hold no parallel worker idle while the rest are short of CPU.
MOSTLY_WAITING = {
    "tests/integration/test_client_limits.py::test_a_throttled_client_leaves_other_clients_alone_and_is_served_again_after_the_window":
        "sleeps out a one-minute window",
    "tests/stack/test_services.py::test_a_slow_reader_gets_the_whole_of_a_large_object":
        "sleeps 80 s past the server's idle timeout",
}  # fmt: skip

# Files that start a stack of their own (its start and deploy are most of their time) and need nothing deployed on the
# running one: `make test` runs them one at a time in a lane of their own from its start, beside the unit tests and
# then the parallel workers.
ON_OWN_STACK = {
    "tests/integration/test_snapshot.py": "a copy of the checkout with a stack of its own",
    "tests/stack/test_debugger.py": "a stack of its own, started with the debugger switch",
    "tests/stack/test_lambda_executor.py": "a second embedded stack for the runtime fallback; functions of its own",
}

# Tests that must see what all the others left, on both deployments: run after them, one at a time, the scan last.
RUN_LAST = {
    "tests/reliability/test_report.py": "reads what every reliability test left",
    "tests/security/test_card_data.py": "scans every store after all the other suites",
}


# Each marker tests/run.py runs apart, and the tests it marks (a test listed twice takes the first).
RUN_APART = {
    "own_deployment": ON_OWN_DEPLOYMENT,
    "mostly_waiting": MOSTLY_WAITING,
    "run_last": RUN_LAST,
    "own_stack": ON_OWN_STACK,
}


# Files whose tests share an expensive module fixture (a stack of their own) or take turns on what they share
# (terraform/, the failure queue): a parallel worker runs each of them whole; every other test goes to whichever worker
# is free (tests/run.py, --dist loadgroup).
KEEP_TOGETHER = {
    **ON_OWN_STACK,
    "tests/terraform/test_terraform.py": "deploy.py runs that take turns and a second deployment",
    "tests/terraform/test_provider_schema.py": "two provider schemas: 5 CPU-s a worker to parse after a change",
    "tests/integration/test_tutorial.py": "the tutorial's files, uploaded once",
    "tests/integration/test_failures.py": "each test redrives the whole failure queue, so they take turns",
}


def listed(item, where_to_reasons: dict[str, str]) -> bool:
    return any(item.nodeid == where or item.nodeid.startswith(where + "::") for where in where_to_reasons)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups off the items
def pytest_collection_modifyitems(config, items):
    grouping = config.pluginmanager.hasplugin("xdist")
    for item in items:
        path = item.nodeid.split("::")[0]
        marker = next((marker for marker, where in RUN_APART.items() if listed(item, where)), None)
        if marker:
            item.add_marker(getattr(pytest.mark, marker))
        if grouping and path in KEEP_TOGETHER:
            item.add_marker(pytest.mark.xdist_group(path))


@pytest.fixture(scope="session")
def stack_endpoint():
    """The endpoint of a running stack; started for this run (and stopped after it) if it was not up."""
    started_here = not stack_is_up()
    if started_here:
        subprocess.run([*STACKCTL, "up"], check=True)
    yield ENDPOINT
    if started_here:
        subprocess.run([*STACKCTL, "down"], check=True)


@pytest.fixture(scope="session")
def aws(stack_endpoint):
    """A boto3 session bound to the local stack."""
    return boto3.session.Session(region_name="us-east-1")


@pytest.fixture(scope="session")
def deployment(stack_endpoint) -> dict:
    """The Terraform outputs of the topology applied to the stack (applied once per run; a no-op when current;
    tests/run.py applies it once before its parallel workers start)."""
    if not os.environ.get("PAYPROC_DEPLOYED"):
        subprocess.run(DEPLOY, check=True)
    return outputs.load(outputs.LOCAL)  # build/outputs.json, or DEPLOY_OUTPUTS: another deployment's


@pytest.fixture(scope="session")
def payments(aws, deployment):
    """The deployed payments table, which the api fixture's wait_until_settled reads while it waits."""
    return aws.resource("dynamodb").Table(deployment["payments_table"])


@pytest.fixture
def api(deployment, payments) -> Api:
    """The deployed public API, as one user's client calls it: each test from a loopback address of its own, so no
    test spends another's per-client limits (docs/payments.md, "The public page")."""
    return Api(deployment["api_url"], payments=payments)


@pytest.fixture
def bill(aws, deployment):
    """A factory of bills written straight into the deployed balance table, with invoice ids unique to the run."""
    table = aws.resource("dynamodb").Table(deployment["balance_table"])

    def make(balance: str = "125.50", processed: int = 0, name: str = "Ada Lovelace") -> dict:
        item = {
            "InvoiceID": unique_invoice_id(),
            "CustomerName": name,
            "Balance": Decimal(balance),
            "IsProcessed": processed,
        }
        table.put_item(Item=item)
        return item

    return make


@pytest.fixture
def operations_inbox(aws, deployment):
    """A queue subscribed to the operations topic, as an on-call tool would be: (sqs client, queue URL); removed
    after."""
    sqs, sns = aws.client("sqs"), aws.client("sns")
    url = sqs.create_queue(QueueName=f"test-operations-inbox-{unique_invoice_id()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=deployment["operations_topic_arn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )["SubscriptionArn"]
    yield sqs, url
    sns.unsubscribe(SubscriptionArn=subscription)
    sqs.delete_queue(QueueUrl=url)
