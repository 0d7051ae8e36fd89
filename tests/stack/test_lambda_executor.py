"""The Lambda executor (stack/lambda_executor, LAMBDA_RUNTIME_EXECUTOR=process) seen from outside, through boto3:
what a user of a Lambda execution environment would notice. Needs a running stack at AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tests.helpers.stack import REPO, create_test_function, delete_function, own_embedded_stack, wait_for, zipped

RUN = uuid.uuid4().hex[:8]
ROLE_ARN = "arn:aws:iam::000000000000:role/lambda-executor-test"  # LocalStack does not enforce IAM


def answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def endpoint(request) -> str:
    """The stack at AWS_ENDPOINT_URL; if none answers there, the suite's own fixture starts one."""
    url = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    if not answers(url):
        url = request.getfixturevalue("stack_endpoint")
    return url


@pytest.fixture(scope="session")
def clients(endpoint):
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return {name: session.client(name, endpoint_url=endpoint) for name in ("lambda", "logs")}


@pytest.fixture(scope="session")
def lam(clients):
    return clients["lambda"]


@pytest.fixture(scope="session")
def make_function(lam, clients):
    """make_function(source, **create_function_overrides) -> name of an Active function; all deleted at the end, with
    the log groups their invokes created (the stack is often a user's own: the suite leaves nothing on it)."""
    created: list[str] = []

    def make(source: str, **overrides) -> str:
        name = f"lx-{RUN}-{len(created)}"
        arguments = dict(
            FunctionName=name,
            Runtime="python3.13",
            Role=ROLE_ARN,
            Handler="handler.handler",
            Code={"ZipFile": zipped({"handler.py": source})},
            Timeout=5,
        )
        lam.create_function(**{**arguments, **overrides})
        created.append(name)
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        return name

    yield make
    for name in created:
        delete_function(lam, clients["logs"], name)


def invoke(lam, name: str, event: dict | None = None) -> tuple[dict, object]:
    """(the raw boto3 response, its decoded payload)"""
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), LogType="Tail")
    return response, json.loads(response["Payload"].read())


PROBE = """
import os, sys, time

COUNT = 0  # module state survives between invokes of a warm environment

def handler(event, context):
    global COUNT
    COUNT += 1
    if event.get("crash"):
        os._exit(3)
    time.sleep(event.get("sleep", 0))
    return {
        "pid": os.getpid(), "count": COUNT, "started": time.time() - event.get("sleep", 0), "ended": time.time(),
        "context": {name: getattr(context, name) for name in (
            "function_name", "function_version", "invoked_function_arn", "memory_limit_in_mb",
            "aws_request_id", "log_group_name", "log_stream_name")},
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": dict(os.environ), "version": list(sys.version_info[:2]),
    }
"""


def test_result_context_and_environment(lam, make_function):
    name = make_function(PROBE, Environment={"Variables": {"GREETING": "hello"}}, MemorySize=256)
    response, result = invoke(lam, name)
    assert "FunctionError" not in response
    context, env = result["context"], result["env"]
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"].endswith(f":function:{name}")
    assert context["memory_limit_in_mb"] == "256"  # a str, as AWS gives it
    assert context["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert context["log_stream_name"]
    assert 0 < result["remaining_ms"] <= 5000
    assert env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name and env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert os.path.isfile(os.path.join(env["LAMBDA_TASK_ROOT"], "handler.py"))


def test_warm_environment_is_reused(lam, make_function):
    name = make_function(PROBE)
    _, first = invoke(lam, name)
    _, second = invoke(lam, name)
    assert second["pid"] == first["pid"]
    assert second["count"] == first["count"] + 1


def test_boto3_inside_the_function_reaches_the_stack(lam, make_function):
    source = """
import boto3

def handler(event, context):
    return boto3.client("lambda").get_function(FunctionName=context.function_name)["Configuration"]["FunctionName"]
"""
    name = make_function(source)
    response, result = invoke(lam, name)
    assert "FunctionError" not in response, result
    assert result == name


def test_only_boto3_and_the_function_code_are_importable(lam, make_function):
    source = """
import importlib.util, sys

def handler(event, context):
    names = ["boto3", "botocore", "localstack", "plux", "localstack_process_executor", "pytest", "requests", "debugpy"]
    return {"found": {n: importlib.util.find_spec(n) is not None for n in names}, "path": sys.path}
"""
    name = make_function(source)
    _, result = invoke(lam, name)
    found = result["found"]
    assert found["boto3"] and found["botocore"]
    # debugpy sits beside the runtime venv: only the function DEBUG_FUNCTION names may import it.
    unexpected = ("localstack", "plux", "localstack_process_executor", "pytest", "requests", "debugpy")
    assert not any(found[n] for n in unexpected)
    assert not any("lsvenv" in p or "lambda_executor" in p or "debugpy" in p for p in result["path"])


MEDDLER = """
import json, os, sys

def handler(event, context):
    os.environ["SET_BY_ANOTHER_FUNCTION"] = "1"
    json.SET_BY_ANOTHER_FUNCTION = True  # a monkeypatched module
    sys.path.append("/set-by-another-function")
    return {"parent": open(f"/proc/{os.getppid()}/cmdline").read()}
"""

ONLOOKER = """
import json, os, sys

def handler(event, context):
    return {
        "env": "SET_BY_ANOTHER_FUNCTION" in os.environ, "module": hasattr(json, "SET_BY_ANOTHER_FUNCTION"),
        "path": "/set-by-another-function" in sys.path, "code_first": sys.path[0] == os.environ["LAMBDA_TASK_ROOT"],
        "parent": open(f"/proc/{os.getppid()}/cmdline").read(), "boto3_loaded": "boto3" in sys.modules,
    }
"""


def test_environments_forked_from_one_template_keep_what_a_handler_changes_to_themselves(lam, make_function):
    _, meddled = invoke(lam, make_function(MEDDLER))
    _, seen = invoke(lam, make_function(ONLOOKER))
    assert "--template" in meddled["parent"] and "--template" in seen["parent"]  # both forked from the template
    assert seen["boto3_loaded"]  # preloaded, yet the function's own code comes first on its path
    assert seen["code_first"] and not (seen["env"] or seen["module"] or seen["path"]), seen
    # A variable only a starting interpreter reads: this one starts as a new interpreter, LocalStack its parent.
    _, started = invoke(lam, make_function(ONLOOKER, Environment={"Variables": {"PYTHONWARNINGS": "default"}}))
    assert "localstack.runtime.main" in started["parent"] and not started["boto3_loaded"], started


def test_layer_python_dir_is_on_the_path(lam, make_function):
    layer = lam.publish_layer_version(
        LayerName=f"lx-{RUN}-layer",
        Content={"ZipFile": zipped({"python/shared_bits.py": "ANSWER = 42\n"})},
        CompatibleRuntimes=["python3.13"],
    )
    source = "import shared_bits\n\ndef handler(event, context):\n    return shared_bits.ANSWER\n"
    name = make_function(source, Layers=[layer["LayerVersionArn"]])
    response, result = invoke(lam, name)
    assert "FunctionError" not in response, result
    assert result == 42


LAYERED = """
import os, sys

PRELOADED = sorted(name for name in ("shared_lib", "settings_lib") if name in sys.modules)
import settings_lib, shared_lib


def handler(event, context):
    shared_lib.CALLERS.append(os.environ["AWS_LAMBDA_FUNCTION_NAME"])
    parent = os.getppid()
    grandparent = open(f"/proc/{parent}/stat").read().rsplit(")", 1)[1].split()[1]
    return {
        "preloaded": PRELOADED, "greeting": settings_lib.GREETING, "callers": shared_lib.CALLERS,
        "parent": open(f"/proc/{parent}/cmdline").read(), "grandparent": open(f"/proc/{grandparent}/cmdline").read(),
    }
"""


def test_a_layer_s_modules_are_preloaded_for_the_next_environments_and_a_setting_s_reader_is_not(lam, make_function):
    layer = lam.publish_layer_version(
        LayerName=f"lx-{RUN}-preloaded",
        Content={
            "ZipFile": zipped(
                {
                    "python/shared_lib.py": "CALLERS = []\n",
                    "python/settings_lib.py": "import os\nGREETING = os.environ.get('GREETING')\n",
                }
            )
        },
        CompatibleRuntimes=["python3.13"],
    )
    settings = {"Layers": [layer["LayerVersionArn"]]}
    first = make_function(LAYERED, Environment={"Variables": {"GREETING": "first"}}, **settings)
    _, taught = invoke(lam, first)  # its environment, forked from the runtime's template, reports its layer's imports
    assert taught["preloaded"] == [] and "localstack.runtime.main" in taught["grandparent"], taught
    second = make_function(LAYERED, Environment={"Variables": {"GREETING": "second"}}, **settings)
    response, layered = invoke(lam, second)
    assert "FunctionError" not in response, layered
    assert "--template" in layered["parent"] and "--template" in layered["grandparent"]  # a layer template's fork
    assert layered["preloaded"] == ["shared_lib"]  # settings_lib read GREETING: each function imports its own
    assert layered["greeting"] == "second" and layered["callers"] == [second]  # nothing of the first function's


def test_handler_exception_is_a_function_error(lam, make_function):
    source = "def handler(event, context):\n    raise ValueError('card declined: ' + event['why'])\n"
    name = make_function(source)
    response, error = invoke(lam, name, {"why": "insufficient funds"})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "card declined: insufficient funds"
    assert len(error["stackTrace"]) == 1  # the handler's frame only, none of the runtime's
    assert 'handler.py", line 2, in handler' in error["stackTrace"][0]
    assert "raise ValueError" in error["stackTrace"][0]
    assert "[ERROR] ValueError: card declined" in base64.b64decode(response["LogResult"]).decode()


def test_missing_handler_module_is_an_import_error(lam, make_function):
    name = make_function("x = 1\n", Handler="nowhere.handler")
    response, error = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'nowhere'" in error["errorMessage"]


def test_timeout_kills_the_invoke_and_the_next_one_runs(lam, make_function):
    name = make_function(PROBE, Timeout=1)
    started = time.monotonic()
    response, error = invoke(lam, name, {"sleep": 3})
    elapsed = time.monotonic() - started
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    assert elapsed < 2.5, f"the invoke was not cut at the timeout ({elapsed:.2f} s)"
    response, result = invoke(lam, name)
    assert "FunctionError" not in response and result["count"] == 1  # a fresh process


def test_concurrent_invokes_run_in_parallel(lam, make_function):
    name = make_function(PROBE)
    invoke(lam, name)  # one warm environment; the second invoke needs a second one
    with ThreadPoolExecutor(2) as pool:
        results = [payload for _, payload in pool.map(lambda _: invoke(lam, name, {"sleep": 1.5}), range(2))]
    first, second = sorted(results, key=lambda r: r["started"])
    assert first["pid"] != second["pid"]
    assert second["started"] < first["ended"], "the two invokes did not overlap in time"


def test_print_reaches_cloudwatch_logs(lam, make_function, clients):
    marker = f"payment-log-{uuid.uuid4().hex}"
    name = make_function(f"def handler(event, context):\n    print('{marker}')\n    return 1\n")
    response, _ = invoke(lam, name)
    assert marker in base64.b64decode(response["LogResult"]).decode()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            events = clients["logs"].filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except clients["logs"].exceptions.ResourceNotFoundException:
            events = []
        if any(marker in event["message"] for event in events):
            return
        time.sleep(0.5)
    pytest.fail(f"{marker} did not reach CloudWatch Logs")


def test_crashed_process_is_reported_and_replaced(lam, make_function):
    name = make_function(PROBE)
    _, before = invoke(lam, name)
    response, error = invoke(lam, name, {"crash": True})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["errorMessage"]
    response, after = invoke(lam, name)
    assert "FunctionError" not in response
    assert after["pid"] != before["pid"] and after["count"] == 1


def test_hot_reloaded_code_runs_as_saved_at_the_next_invoke(lam, make_function, tmp_path):
    # LocalStack's magic bucket `hot-reload`: the key is a folder on this machine, run as it is (make dev deploys ours
    # so). Docker mode restarts the runtime 0.5 s after a change, hence the polling; embedded mode at the next invoke.
    (tmp_path / "handler.py").write_text(
        "import os\nimport helper\n\ndef handler(event, context):\n"
        "    return {'pid': os.getpid(), 'word': helper.WORD}\n"
    )
    (tmp_path / "helper.py").write_text("WORD = 'one'\n")
    name = make_function("", Code={"S3Bucket": "hot-reload", "S3Key": str(tmp_path)})
    _, first = invoke(lam, name)
    _, warm = invoke(lam, name)
    assert first["word"] == "one"
    assert warm["pid"] == first["pid"]  # unchanged code: the warm process
    # The same size, most likely within the second of the first compile: no stale bytecode may answer.
    (tmp_path / "helper.py").write_text("WORD = 'two'\n")
    assert wait_for(lambda: invoke(lam, name)[1]["word"] == "two", timeout=10)
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return {'word': 'three'}\n")
    assert wait_for(lambda: invoke(lam, name)[1]["word"] == "three", timeout=10)


def test_runtime_alias_runs_the_declared_runtime_on_another_python(lam, make_function):
    # Terraform's offline provider knows python3.8 at most; the stack maps it (PROCESS_EXECUTOR_RUNTIME_ALIASES).
    name = make_function(PROBE, Runtime="python3.8")
    response, result = invoke(lam, name)
    # Both stack modes map python3.8 (stackctl's alias, docker-compose's image mapping): the deploy depends on it.
    assert "FunctionError" not in response, result
    assert result["version"] >= [3, 9]
    assert result["env"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_python{result['version'][0]}.{result['version'][1]}"


# --- Python runtimes: a user's own function on any Python AWS runs (embedded mode: runtimes.py) --------------------

FALLBACK_WORDS = "the nearest newer one installed"  # the executor's fallback warning (runtimes.Choice.warning)


@pytest.mark.parametrize("runtime", ["python3.9", "python3.12"])
def test_a_function_runs_on_the_python_it_declares(lam, make_function, runtime):
    name = make_function(PROBE, Runtime=runtime)
    response, result = invoke(lam, name)
    assert "FunctionError" not in response, result
    assert result["version"] == [3, int(runtime.rsplit(".", 1)[1])], f"{runtime} ran on Python {result['version']}"
    assert result["env"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert FALLBACK_WORDS not in base64.b64decode(response["LogResult"]).decode()


# Only these runtime venvs of .stack/runtimes are in the second stack's runtimes dir: 3.9 and 3.10 fall back to
# 3.11, not to the newest; 3.12 to 3.13; 3.14 has nothing newer.
FEW_RUNTIMES = ("python3.11", "python3.13")


@pytest.fixture(scope="module")
def stack_with_few_runtimes(tmp_path_factory):
    """A second embedded LocalStack of this checkout (whatever the mode of the first: the fallback is the embedded
    mode's), started for these tests on a free port with a runtimes dir of its own that holds only FEW_RUNTIMES, and
    stopped after them; the stack the other tests use is not touched. Yields its lambda and logs clients, its log."""
    installed = REPO / ".stack" / "runtimes"
    absent = [runtime for runtime in FEW_RUNTIMES if not (installed / runtime / "bin" / "python").exists()]
    assert not absent, f"these tests need the {absent} runtime venvs: install those Pythons, then `make setup`"
    home = tmp_path_factory.mktemp("stack-with-few-runtimes")
    (home / "runtimes").mkdir()
    for runtime in FEW_RUNTIMES:
        (home / "runtimes" / runtime).symlink_to(installed / runtime)
    with own_embedded_stack(
        home,
        PROCESS_EXECUTOR_RUNTIMES_DIR=str(home / "runtimes"),
        PROCESS_EXECUTOR_RUNTIME_ALIASES="python3.8=python3.13",
        SERVICES="lambda,logs,s3,sts,iam",
        LAMBDA_RETRY_BASE_DELAY="1",  # the async retry the template-killing test waits for
        PROCESS_EXECUTOR_STRICT_RUNTIMES=None,
    ) as (url, log):
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        yield {
            "lambda": session.client("lambda", endpoint_url=url),
            "logs": session.client("logs", endpoint_url=url),
            "log": log,
            "home": home,
        }


def create_probe(lam, runtime: str, code: str = PROBE) -> str:
    name = f"lx-{RUN}-{runtime.replace('.', '-')}"
    create_test_function(lam, name, code, ROLE_ARN, Runtime=runtime, Timeout=5)
    return name


@pytest.mark.parametrize(("declared", "runs_on"), [("python3.9", "python3.11"), ("python3.12", "python3.13")])
def test_a_runtime_without_a_venv_runs_on_the_nearest_newer_one_and_its_log_says_so(
    stack_with_few_runtimes, declared, runs_on
):
    lam = stack_with_few_runtimes["lambda"]
    name = create_probe(lam, declared)
    response, result = invoke(lam, name)
    assert "FunctionError" not in response, result
    assert result["version"] == [3, int(runs_on.rsplit(".", 1)[1])]
    assert result["env"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runs_on}"
    said = f"declares {declared}, which has no runtime venv here"

    def warning_in_log_group():
        logs = stack_with_few_runtimes["logs"]
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        return [e["message"] for e in events if said in e["message"] and f"runs on {runs_on}" in e["message"]]

    wait_for(warning_in_log_group, timeout=20)
    localstack_log = stack_with_few_runtimes["log"].read_text(errors="replace")
    assert any(f":function:{name}:" in line and said in line for line in localstack_log.splitlines())


def test_a_runtime_with_no_newer_one_installed_fails_with_the_clear_message(stack_with_few_runtimes):
    lam = stack_with_few_runtimes["lambda"]
    name = create_probe(lam, "python3.14")
    response, error = invoke(lam, name)
    assert response.get("FunctionError") == "Unhandled", error
    assert error["errorType"] == "Runtime.InvalidRuntime"
    assert error["errorMessage"].startswith("No runtime venv for python3.14:")


def test_an_alias_wins_over_the_fallback(stack_with_few_runtimes):
    lam = stack_with_few_runtimes["lambda"]
    name = create_probe(lam, "python3.8")  # no python3.8 venv; the fallback would pick 3.11, the alias says 3.13
    response, result = invoke(lam, name)
    assert "FunctionError" not in response, result
    assert result["version"] == [3, 13]
    assert FALLBACK_WORDS not in base64.b64decode(response["LogResult"]).decode()


SLOW_WRITER = """
import os, time, boto3

def handler(event, context):
    time.sleep(event["sleep"])
    parent = str(os.getppid()).encode()
    boto3.client("s3").put_object(Bucket=event["bucket"], Key=f"done/{context.aws_request_id}", Body=parent)
"""


def test_killing_the_template_mid_invocation_loses_no_async_invocation(stack_with_few_runtimes, tmp_path):
    """Issue 18's bad case: the template dies while one of its environments is running an event. The environment dies
    with it (its parent-death signal), LocalStack retries the event as it retries any failed one, and the retry runs
    on an environment of a new template (or started the usual way): the event is not lost."""
    lam = stack_with_few_runtimes["lambda"]
    url = lam.meta.endpoint_url
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    bucket = f"lx-{RUN}-kill"
    s3.create_bucket(Bucket=bucket)
    # Created with its code, not updated to it: no version rollover for the event to race (without the fix in
    # stack/localstack_fixes/lambda_events.py such an event hid for the function's timeout + 60 s).
    name = create_probe(lam, "python3.13", SLOW_WRITER)

    runtime = str(stack_with_few_runtimes["home"] / "runtimes" / "python3.13")
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"sleep": 3, "bucket": bucket}))

    def template_running_it():
        for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
            try:
                command = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            if "--template" in command and runtime in command and has_children(pid):
                return pid
        return None

    template = wait_for(template_running_it, timeout=30, interval=0.05)
    os.kill(template, signal.SIGKILL)

    def written():
        return s3.list_objects_v2(Bucket=bucket, Prefix="done/").get("Contents")

    done = wait_for(written, timeout=90, interval=0.5)  # at least once, as AWS delivers events
    parents = {s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode() for item in done}
    assert str(template) not in parents  # the killed template's environment never finished it


def has_children(pid: int) -> bool:
    try:
        return bool(open(f"/proc/{pid}/task/{pid}/children").read().split())
    except OSError:
        return False
