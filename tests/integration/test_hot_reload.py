"""`make dev` (stack/hot_reload.py): the functions deployed through Terraform from the working tree, each saved
change to a function or to lib/payproc answering through the API with no deploy; `make deploy` deploys the zips
again. It runs on a scratch copy of functions/ and lib/ (its --functions/--lib), so the working tree is never edited,
and ends with a normal deploy whatever happens, so the suites after it see the zips."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from payproc.bills import masked_name
from tests.helpers.stack import REPO, deploy_with, wait_for


@contextlib.contextmanager
def make_dev(functions: Path, lib: Path, out: Path, log: Path):
    """stack/hot_reload.py running as `make dev` runs it, until the block ends (then Ctrl-C, as a user stops it)."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "stack" / "hot_reload.py"),
                "--functions",
                str(functions),
                "--lib",
                str(lib),
                "--out",
                str(out),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "watching" in log.read_text() or process.poll() is not None, timeout=240, interval=1)
        assert process.poll() is None, log.read_text()[-4000:]
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a stuck watcher must not outlive the test
            process.kill()
            raise


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer has {old!r}: update this test's edit"
    path.write_text(text.replace(old, new))


def code_sha256(aws, function_name: str) -> str:
    return aws.client("lambda").get_function_configuration(FunctionName=function_name)["CodeSha256"]


def test_make_dev_runs_each_save_with_no_deploy_and_make_deploy_restores_the_zips(aws, deployment, api, bill, tmp_path):
    item = bill(balance="12.34")
    functions, lib = tmp_path / "functions", tmp_path / "lib"
    shutil.copytree(REPO / "functions", functions, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "lib", lib, ignore=shutil.ignore_patterns("__pycache__"))
    get_balance = deployment["function_names"]["get_balance"]
    zip_hash = base64.b64encode(
        hashlib.sha256((REPO / "build" / "functions" / "get_balance.zip").read_bytes()).digest()
    ).decode()

    try:
        with make_dev(functions, lib, tmp_path / "hot-reload", tmp_path / "make-dev.log"):
            assert code_sha256(aws, get_balance) != zip_hash
            assert api.balance(item["InvoiceID"]).json()["Balance"] == "12.34"

            edit(
                functions / "get_balance" / "handler.py",
                '"IsProcessed": int(item["IsProcessed"]),',
                '"IsProcessed": int(item["IsProcessed"]), "Edited": "handler",',
            )
            assert wait_for(lambda: api.balance(item["InvoiceID"]).json().get("Edited") == "handler", timeout=30)

            edit(
                lib / "payproc" / "http.py",
                '"headers": {"Content-Type": JSON_CONTENT_TYPE,',
                '"headers": {"Content-Type": JSON_CONTENT_TYPE, "X-Edited": "payproc",',
            )
            # Every function has lib/payproc beside its code: get_balance, and payment_status, which nothing else
            # edited.
            assert wait_for(lambda: api.balance(item["InvoiceID"]).headers.get("X-Edited") == "payproc", timeout=30)
            assert wait_for(lambda: api.status("no-such-payment").headers.get("X-Edited") == "payproc", timeout=30)
            assert api.balance(item["InvoiceID"]).json()["Edited"] == "handler"
    finally:
        deploy_with()  # make deploy

    response = api.balance(item["InvoiceID"])
    assert response.json() == {
        "InvoiceID": item["InvoiceID"],
        "CustomerName": masked_name(item["CustomerName"]),
        "Balance": "12.34",
        "IsProcessed": 0,
    }
    assert "X-Edited" not in response.headers
    assert code_sha256(aws, get_balance) == zip_hash
