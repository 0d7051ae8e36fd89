"""terraform/ and its toolchain: static checks offline, then the deployment on the running stack.

Static (no stack): `terraform fmt -check`; versions.tf refuses the offline toolchain's hashicorp/aws 3.39.0 (it admits
the releases users can use), while with the toolchain's pin an offline init + validate with 3.39.0 from the filesystem
mirror passes; `deploy.py init` leaves no override file behind; reproducible Lambda zips, the provider-override fix,
checkov against its baseline.
On the stack: the deployment the other suites use has every output, a second apply plans no change, hot reload is
refused without the local endpoint, a Ctrl-C leaves no override file, the page and its config.js are served, and a
separate deployment (own workspace and name prefix) is destroyed without a trace.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
import requests

from tests.helpers.stack import ENDPOINT, REPO

STACK_TERRAFORM = REPO / "stack" / "terraform"
ROOT = REPO / "terraform"
DEPLOY = [sys.executable, str(STACK_TERRAFORM / "deploy.py")]
sys.path[:0] = [str(STACK_TERRAFORM), str(REPO / "stack")]

import build_lambdas  # noqa: E402
import local_override  # noqa: E402
import toolchain  # noqa: E402

CONTRACT_OUTPUTS = {
    "api_url",
    "site_url",
    "bills_bucket",
    "salary_bucket",
    "site_bucket",
    "balance_table",
    "payments_table",
    "salary_table",
    "state_machine_arn",
}


@pytest.fixture(scope="module")
def offline_env() -> dict[str, str]:
    try:
        toolchain.install()
    except toolchain.ToolchainError as error:
        pytest.fail(f"offline toolchain: {error}")
    return toolchain.environment()


def terraform(env, *args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([env["TF_CMD"], *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# --- offline, no stack ----------------------------------------------------------------------------------------------


def test_fmt(offline_env, tmp_path):
    # On a copy: a deploy running meanwhile (tests/run.py's lanes) has tflocal's generated override file in terraform/.
    result = terraform(offline_env, "fmt", "-check", "-recursive", "-diff", cwd=copy_of_root(tmp_path))
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{result.stdout}{result.stderr}"


def copy_of_root(tmp_path: Path) -> Path:
    """A copy of terraform/, so a test neither needs nor disturbs the working directory's .terraform/ and lock file."""
    copy = tmp_path / "terraform"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*", "*_override.tf"))
    return copy


DEPLOY_LOCK = ROOT / ".terraform" / "payproc-deploy.lock"  # deploy.py's one_run_at_a_time


def overrides() -> list[str]:
    """The override files in terraform/ once no deploy.py run holds the checkout: every run deletes its own before it
    lets the next one in, so any file seen then was left behind (other runs go on meanwhile: tests/run.py)."""
    DEPLOY_LOCK.parent.mkdir(exist_ok=True)
    with DEPLOY_LOCK.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return sorted(path.name for path in ROOT.glob("*_override.tf"))


def deploy_run_holding_the_checkout() -> str:
    """What the deploy lock file says of the run that holds it now: `pid N: command`."""
    return DEPLOY_LOCK.read_text().strip() if DEPLOY_LOCK.exists() else ""


def test_versions_tf_refuses_the_offline_provider(offline_env, tmp_path):
    """versions.tf admits only the releases users can use (>= 5.76): without the pin, the mirror's 3.39.0 is refused."""
    copy = copy_of_root(tmp_path)
    init = terraform(offline_env, "init", "-input=false", "-no-color", cwd=copy)
    output = " ".join((init.stdout + init.stderr).split())
    assert init.returncode != 0, output
    assert "no available releases match the given constraints" in output and ">= 5.76.0, < 7.0.0" in output, output


def test_offline_init_and_validate(offline_env, tmp_path):
    copy = copy_of_root(tmp_path)
    with toolchain.pinned_provider(copy) as pin:
        assert pin.name == toolchain.PIN_NAME and pin.is_file()
        init = terraform(offline_env, "init", "-input=false", "-no-color", cwd=copy)
        assert init.returncode == 0, init.stdout + init.stderr
        assert local_override.provider_version(copy) == toolchain.PROVIDER_VERSION
        validate = terraform(offline_env, "validate", "-json", cwd=copy)
    assert not pin.exists()
    report = json.loads(validate.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


def test_deploy_init_pins_the_offline_provider_and_cleans_up():
    """`deploy.py init` (no stack needed) installs 3.39.0 through the pin, and leaves no override file, also when
    Terraform fails."""
    result = subprocess.run([*DEPLOY, "init"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert f"offline toolchain, hashicorp/aws {toolchain.PROVIDER_VERSION}" in result.stdout
    assert overrides() == []
    failing = {**os.environ, "TF_CLI_ARGS_init": "-no-such-flag"}  # Terraform fails while the pin is in place
    result = subprocess.run([*DEPLOY, "init"], env=failing, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "terraform init failed" in result.stderr, result.stdout + result.stderr
    assert overrides() == []


def test_a_new_workspace_leaves_the_selected_one_as_it_was(offline_env):
    """deploy.py creates TF_WORKSPACE's workspace if new; plain `terraform` in terraform/ stays on the one it was on."""
    selected = terraform(offline_env, "workspace", "show").stdout.strip()
    name = f"wscheck-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(
        [*DEPLOY, "init"], env={**os.environ, "TF_WORKSPACE": name}, capture_output=True, text=True, timeout=300
    )
    try:
        assert created.returncode == 0, created.stdout + created.stderr
        assert name in terraform(offline_env, "workspace", "list").stdout
        assert terraform(offline_env, "workspace", "show").stdout.strip() == selected
    finally:
        terraform(offline_env, "workspace", "delete", name)


def test_runs_from_one_checkout_take_turns():
    """A second deploy.py waits for the first (else the first would delete the second's provider pin halfway)."""
    DEPLOY_LOCK.parent.mkdir(exist_ok=True)
    with DEPLOY_LOCK.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as a running deploy.py holds it
        process = subprocess.Popen([*DEPLOY, "init"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = process.stdout.readline()
        assert "waiting for the other deploy.py run" in first, first + process.stderr.read()
        assert process.poll() is None and not list(ROOT.glob("*_override.tf"))  # we hold the lock: no other run
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout + stderr
    assert overrides() == []


def test_pin_is_only_for_the_offline_toolchain(tmp_path):
    with toolchain.pinned_provider(tmp_path) as pin:
        assert f'version = "{toolchain.PROVIDER_VERSION}"' in pin.read_text()
    stale = tmp_path / toolchain.PIN_NAME
    stale.write_text(toolchain.pin_text())  # left behind by a killed run
    with toolchain.pinned_provider(tmp_path, pin=False):
        assert not stale.exists()  # the system toolchain must not get it


def test_toolchain_install_is_idempotent():
    mirror_zip = toolchain.MIRROR / toolchain.PROVIDER / toolchain.PROVIDER_ZIP
    toolchain.install()
    before = mirror_zip.stat().st_mtime_ns
    toolchain.install()
    assert mirror_zip.stat().st_mtime_ns == before
    assert toolchain.sha256(mirror_zip) == toolchain.PROVIDER_SHA256
    config = toolchain.CLI_CONFIG.read_text()
    assert "filesystem_mirror" in config and 'exclude = ["registry.terraform.io/hashicorp/aws"]' in config


def test_lambda_zips_are_reproducible(tmp_path):
    functions, lib = tmp_path / "functions", tmp_path / "lib"
    (functions / "demo" / "tests").mkdir(parents=True)
    (functions / "demo" / "__pycache__").mkdir()
    (functions / "demo" / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (functions / "demo" / "rules.py").write_text("X = 1\n")
    (functions / "demo" / "tests" / "test_rules.py").write_text("")
    (functions / "demo" / "__pycache__" / "rules.cpython-311.pyc").write_bytes(b"x")
    (lib / "payproc").mkdir(parents=True)
    (lib / "payproc" / "__init__.py").write_text("")

    first = build_lambdas.build(functions, lib, tmp_path / "a")
    os.utime(functions / "demo" / "rules.py", (1, 1))  # a touched file must not change the zip
    (functions / "demo" / "rules.py").chmod(0o755)
    second = build_lambdas.build(functions, lib, tmp_path / "b")

    a, b = tmp_path / "a" / "functions" / "demo.zip", tmp_path / "b" / "functions" / "demo.zip"
    assert a.read_bytes() == b.read_bytes()
    assert first["functions"]["demo"]["sha256"] == second["functions"]["demo"]["sha256"]
    with zipfile.ZipFile(a) as archive:
        assert archive.namelist() == ["handler.py", "rules.py"]
        assert {info.date_time for info in archive.infolist()} == {build_lambdas.FIXED_TIME}
        assert {info.external_attr >> 16 for info in archive.infolist()} == {0o100644}
    with zipfile.ZipFile(tmp_path / "a" / "layers" / "payproc.zip") as archive:
        assert archive.namelist() == ["python/payproc/__init__.py"]
    assert build_lambdas.build(functions, lib, tmp_path / "a")["functions"]["demo"]["changed"] is False


TFLOCAL_LIKE = """
provider "aws" {
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
   s3_use_path_style = true
region = "${var.region}"
  endpoints {
    apigatewayv2 = "http://127.0.0.1:4566"
    %s
 }
}
"""
KNOWN_3X = {
    "apigateway",
    "cloudwatchlogs",
    "cloudwatchevents",
    "dynamodb",
    "ec2",
    "iam",
    "lambda",
    "s3",
    "ses",
    "sns",
    "ssm",
    "stepfunctions",
    "sts",
}


def test_override_fix_for_provider_3():
    names = [
        "apigateway",
        "dynamodb",
        "ec2",
        "events",
        "iam",
        "lambda",
        "logs",
        "s3",
        "ses",
        "sesv2",
        "sfn",
        "sns",
        "ssm",
        "sts",
    ]
    endpoints = "\n".join(f'    {name} = "http://127.0.0.1:4566"' for name in names)
    text, dropped = local_override.fix_for_3x(TFLOCAL_LIKE % endpoints, KNOWN_3X)
    settings, fixed, _ = local_override.parse_provider(text)
    assert sorted(fixed) == sorted(
        [
            "apigateway",
            "dynamodb",
            "ec2",
            "cloudwatchevents",
            "iam",
            "lambda",
            "cloudwatchlogs",
            "s3",
            "ses",
            "sns",
            "ssm",
            "stepfunctions",
            "sts",
        ]
    )
    assert sorted(dropped) == ["apigatewayv2", "sesv2"]
    settings = dict(settings)
    assert settings["s3_force_path_style"] == "true" and "s3_use_path_style" not in settings
    assert settings["skip_get_ec2_platforms"] == "true"
    assert settings["region"] == "var.region"


def test_override_fix_refuses_to_lose_a_service():
    endpoints = '    s3 = "http://127.0.0.1:4566"'  # no sfn/stepfunctions: Step Functions would go to AWS
    with pytest.raises(local_override.OverrideError, match="stepfunctions"):
        local_override.fix_for_3x(TFLOCAL_LIKE % endpoints, KNOWN_3X)


def test_a_kept_override_is_what_tflocal_writes_for_the_same_inputs_only(offline_env, tmp_path):
    root = copy_of_root(tmp_path)
    env = local_override.local_environment(offline_env)
    written = local_override.run_tflocal(root, env)
    kept = list((root / ".terraform" / "payproc-tflocal").iterdir())
    assert len(kept) == 1 and kept[0].read_text() == written
    (root / local_override.OVERRIDE_NAME).unlink()
    kept[0].write_text(written + "# from the kept copy\n")  # so a second tflocal run would show
    assert local_override.run_tflocal(root, env).endswith("# from the kept copy\n")
    assert (root / local_override.OVERRIDE_NAME).read_text().endswith("# from the kept copy\n")

    # Anything tflocal reads that changes is a new run of tflocal: a root *.tf file, an endpoint variable.
    (root / "extra.tf").write_text('locals {\n  unused = "x"\n}\n')
    assert local_override.run_tflocal(root, env) == written
    other_port = {**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:4599"}
    assert "4599" in local_override.run_tflocal(root, other_port)
    assert len(list((root / ".terraform" / "payproc-tflocal").iterdir())) == 3


def checkov_command() -> list[str] | None:
    candidates = (os.environ.get("CHECKOV"), REPO / ".stack" / "checkov" / "bin" / "checkov", shutil.which("checkov"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return [str(candidate)]
    return None


def test_checkov_findings_are_fixed_or_justified():
    """Every checkov finding is fixed, or justified in terraform/.checkov.yaml or inline (#checkov:skip=ID:reason)."""
    checkov = checkov_command()
    if checkov is None:  # make setup installs it: a missing checkov is a broken set-up, not a reason to pass
        pytest.fail("checkov not installed (its own venv: stack/terraform/checkov-requirements.txt -> .stack/checkov)")
    result = subprocess.run(
        [
            *checkov,
            "--config-file",
            str(ROOT / ".checkov.yaml"),
            "--directory",
            str(ROOT),
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "cli",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


# --- on the running stack ------------------------------------------------------------------------------------------


def test_deployment_outputs(deployment):
    assert CONTRACT_OUTPUTS <= set(deployment)
    assert deployment["api_url"].startswith(f"{ENDPOINT}/_aws/execute-api/")
    site_host = f"{deployment['site_bucket']}.s3-website.localhost.localstack.cloud"
    assert deployment["site_url"].startswith(f"http://{site_host}:")


def test_second_apply_plans_no_changes(deployment):
    result = subprocess.run([*DEPLOY, "plan"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"expected no changes (exit 0), got {result.returncode}:\n{result.stdout[-8000:]}"
    assert overrides() == []


def test_hot_reload_is_refused_without_the_local_endpoint(deployment, tmp_path):
    """On AWS, `hot-reload` is an ordinary bucket name anyone may own: code from it must never be deployed there."""
    for name in build_lambdas.function_folders(REPO / "functions"):
        (tmp_path / name.name).mkdir()
        (tmp_path / name.name / "handler.py").write_text("")
    result = subprocess.run(
        [*DEPLOY, "plan"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_VAR_local_endpoint": "", "TF_VAR_hot_reload_dir": str(tmp_path)},
    )
    assert result.returncode == 1, f"expected an error (exit 1), got {result.returncode}:\n{result.stdout[-8000:]}"
    assert "hot_reload_dir is for the local stack" in result.stderr, result.stderr[-4000:]
    assert overrides() == []


def test_interrupted_deploy_leaves_no_override(deployment):
    """Ctrl-C while both override files are in place (the local stack's is written after init): both are gone."""
    process = subprocess.Popen([*DEPLOY, "plan"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and not (
            deploy_run_holding_the_checkout().startswith(f"pid {process.pid}:")  # not another run's files
            and (ROOT / local_override.OVERRIDE_NAME).exists()
        ):
            assert time.monotonic() < deadline, "deploy.py plan never wrote the local stack's override"
            time.sleep(0.05)
        assert (ROOT / toolchain.PIN_NAME).exists() or process.poll() is not None
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode in (0, 130), stdout[-4000:] + stderr[-4000:]
    assert overrides() == []


def test_deploy_runs_init_again_only_when_what_init_reads_changed(deployment):
    """After an init, a deploy.py run with the same inputs skips it; a changed input (here Terraform's extra init
    arguments, which make it fail) runs it again."""
    plan = [*DEPLOY, "plan"]
    assert subprocess.run([*DEPLOY, "init"], capture_output=True, text=True, timeout=300).returncode == 0
    same = subprocess.run(plan, capture_output=True, text=True, timeout=300)
    assert same.returncode == 0 and "hashicorp/aws 3.39.0): up to date" in same.stdout, same.stdout + same.stderr
    failing = {**os.environ, "TF_CLI_ARGS_init": "-no-such-flag"}
    changed = subprocess.run(plan, env=failing, capture_output=True, text=True, timeout=300)
    assert changed.returncode == 1 and "terraform init failed" in changed.stderr, changed.stdout + changed.stderr
    assert overrides() == []


def test_page_and_config_are_served(deployment):
    host = deployment["site_url"].split("//", 1)[1].rstrip("/")
    config = requests.get(f"{ENDPOINT}/config.js", headers={"Host": host}, timeout=10)
    assert config.status_code == 200
    assert config.headers["Content-Type"].startswith("text/javascript")
    assert json.dumps(deployment["api_url"]) in config.text and "window.PAYPROC_CONFIG" in config.text
    page = requests.get(f"{ENDPOINT}/", headers={"Host": host}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.text == (REPO / "site" / "index.html").read_text()


def deploy_within(command: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """`deploy.py command`, failing the test with what it printed if it is still running after timeout seconds."""
    try:
        return subprocess.run([*DEPLOY, command], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as stuck:
        printed = stuck.stdout.decode(errors="replace") if isinstance(stuck.stdout, bytes) else stuck.stdout or ""
        pytest.fail(f"`deploy.py {command}` still running after {timeout} s; it printed, last:\n{printed[-6000:]}")


def test_a_destroyed_deployment_leaves_nothing(deployment, tmp_path):
    """A second deployment (own prefix, workspace and sender) is applied and destroyed; none of its names remain."""
    prefix = "tfcheck"
    env = {
        **os.environ,
        "NAME_PREFIX": prefix,
        "TF_WORKSPACE": prefix,
        "SENDER_EMAIL": f"{prefix}@example.com",
        "DEPLOY_OUTPUTS": str(tmp_path / "outputs.json"),
        "TF_VAR_manage_api_gateway_account": "false",  # account-wide: the first deployment owns it
    }
    applied = deploy_within("apply", env, timeout=180)  # both well inside the test's 300 s, so that a stuck
    destroyed = deploy_within("destroy", env, timeout=90)  # apply fails with Terraform's output, not pytest's timeout
    assert applied.returncode == 0, applied.stdout[-6000:] + applied.stderr[-2000:]
    assert destroyed.returncode == 0, destroyed.stdout[-6000:] + destroyed.stderr[-2000:]
    assert overrides() == []

    session = boto3.session.Session(region_name="us-east-1")

    def every(service: str, operation: str, key: str, name: str | None = None, **kwargs) -> list[str]:
        """Every name a list operation returns, across all its pages."""
        pages = session.client(service).get_paginator(operation).paginate(**kwargs)
        return [item[name] if name else item for page in pages for item in page.get(key, [])]

    left = {
        "buckets": every("s3", "list_buckets", "Buckets", "Name"),
        "tables": every("dynamodb", "list_tables", "TableNames"),
        "functions": every("lambda", "list_functions", "Functions", "FunctionName"),
        "roles": every("iam", "list_roles", "Roles", "RoleName"),
        "apis": every("apigateway", "get_rest_apis", "items", "name"),
        "state machines": every("stepfunctions", "list_state_machines", "stateMachines", "name"),
        "log groups": every("logs", "describe_log_groups", "logGroups", "logGroupName"),
        "identities": every("ses", "list_identities", "Identities"),
        "queues": every("sqs", "list_queues", "QueueUrls"),
        "topics": every("sns", "list_topics", "Topics", "TopicArn"),
        "alarms": every("cloudwatch", "describe_alarms", "MetricAlarms", "AlarmName"),
        "parameters": every("ssm", "describe_parameters", "Parameters", "Name"),
    }
    remaining = {kind: [n for n in names if prefix in n] for kind, names in left.items()}
    assert not any(remaining.values()), remaining
