"""The provider override that points Terraform at the local stack: tflocal's, fixed for the provider in use.

    python stack/terraform/local_override.py [ROOT_MODULE]   # writes ROOT_MODULE/localstack_providers_override.tf

This is the one place that knows how Terraform talks to LocalStack. tflocal (terraform-local) writes the override
(DRY_RUN=1: it only writes the file), with an endpoint for each of ~107 services, tflocal's alias rules for current
providers, the region and its fake credentials. What it writes is right for current providers (4.x-6.x) and wrong
for hashicorp/aws 3.x, the offline toolchain's 3.39.0:

- endpoint names 3.x does not know are an error: they are dropped, except the three that 3.x knows under another
  name (sfn -> stepfunctions, logs -> cloudwatchlogs, events -> cloudwatchevents; dropping `sfn` would silently
  send Step Functions calls to real AWS);
- `s3_use_path_style` does not exist in 3.x (and without path style S3 calls hang): `s3_force_path_style`;
- 3.x calls ec2:DescribeAccountAttributes on the real AWS endpoint at configure time unless told not to
  (`skip_get_ec2_platforms`), and retries unreachable endpoints for many minutes (`max_retries`).

The endpoint names the installed provider accepts are read from its own schema (`terraform providers schema`), so
the rule is exact for whichever 3.x is installed. Afterwards every service our modules use must still have a local
endpoint, or this fails loudly rather than let a call leave the machine.

S3 goes to the endpoint's host (S3_HOSTNAME), not tflocal's default `s3.localhost.localstack.cloud`, which needs
public DNS.

tflocal's answer is kept in .terraform/payproc-tflocal/, by a digest of all it reads, and reused while none of that
changes: about 2 CPU-s and 1.6 s of each `make deploy` (bench: three make deploy runs each way, paired).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

OVERRIDE_NAME = "localstack_providers_override.tf"
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"

# Services the modules in terraform/ call (under provider 3.x names); each must point at the local stack.
REQUIRED_3X = (
    "apigateway",
    "cloudwatchlogs",
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
)
RENAMED_3X = {"sfn": "stepfunctions", "logs": "cloudwatchlogs", "events": "cloudwatchevents"}
EXTRA_3X = {"skip_get_ec2_platforms": "true", "skip_region_validation": "true", "max_retries": "5"}

PROVIDER_LOCK = re.compile(
    r'provider\s+"registry\.terraform\.io/hashicorp/aws"\s*\{[^}]*?version\s*=\s*"([^"]+)"', re.S
)
ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(.+?)\s*$")
# The environment variables tflocal reads (terraform-local's `tflocal` script): the endpoint, host and port, each
# <SERVICE>_ENDPOINT, credentials and region, and its own switches.
TFLOCAL_READS = re.compile(
    r"^(AWS_\w+|\w+_ENDPOINT|LOCALSTACK_HOSTNAME|EDGE_PORT|S3_HOSTNAME|CUSTOMIZE_ACCESS_KEY|LS_PROVIDERS_FILE"
    r"|SKIP_ALIASES|TF_CMD|TF_UNPROXIED_CMDS|USE_EXEC|DRY_RUN)$"
)


class OverrideError(RuntimeError):
    pass


def provider_version(root: Path) -> str | None:
    """hashicorp/aws version selected by `terraform init` (from the dependency lock file)."""
    try:
        match = PROVIDER_LOCK.search((root / ".terraform.lock.hcl").read_text())
    except OSError:
        return None
    return match.group(1) if match else None


def tflocal_command() -> list[str]:
    beside = Path(sys.executable).parent / "tflocal"
    if beside.is_file():
        return [sys.executable, str(beside)]
    found = shutil.which("tflocal")
    if not found:
        raise OverrideError("tflocal not found: pip install -r stack/terraform/requirements.txt")
    return [found]


def local_environment(env: dict[str, str]) -> dict[str, str]:
    endpoint = env.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT
    host = urlparse(endpoint).hostname or "127.0.0.1"
    return {
        **env,
        "AWS_ENDPOINT_URL": endpoint,
        "S3_HOSTNAME": env.get("S3_HOSTNAME") or host,
        "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION") or "us-east-1",
        "DISABLE_DEPRECATION_NOTICE": "1",
        "CHECKPOINT_DISABLE": "1",
    }


def tflocal_inputs(root: Path, env: dict[str, str]) -> str | None:
    """A digest of all that tflocal's override depends on (its code, the Terraform version, the root module's *.tf
    files, the variables it reads), or None when it reads more than that (ADDITIONAL_TF_OVERRIDE_LOCATIONS)."""
    if env.get("ADDITIONAL_TF_OVERRIDE_LOCATIONS"):
        return None
    terraform = subprocess.run(
        [env.get("TF_CMD") or "terraform", "version", "-json"], cwd=root, env=env, capture_output=True, text=True
    )
    if terraform.returncode != 0:
        return None
    tflocal = Path(tflocal_command()[-1]).read_bytes()
    inputs = {
        "tflocal": [hashlib.sha256(tflocal).hexdigest(), metadata.version("localstack-client")],
        "terraform": json.loads(terraform.stdout)["terraform_version"],
        "files": {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.glob("*.tf"))
            if path.name != OVERRIDE_NAME
        },
        "environment": {name: value for name, value in sorted(env.items()) if TFLOCAL_READS.match(name)},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def run_tflocal(root: Path, env: dict[str, str]) -> str:
    """tflocal's override, written to ROOT and returned; kept by its inputs' digest, because tflocal parses every
    root *.tf file three times with python-hcl2 (1.3 CPU-s of each deploy.py run) for the same answer."""
    path = root / OVERRIDE_NAME
    path.unlink(missing_ok=True)  # tflocal asks on stdin before overwriting one
    digest = tflocal_inputs(root, env)
    kept = root / env.get("TF_DATA_DIR", ".terraform") / "payproc-tflocal" / f"{digest}.tf"
    if digest and kept.is_file():
        path.write_text(kept.read_text())
        return path.read_text()
    result = subprocess.run(
        [*tflocal_command(), "plan"],  # any command tflocal proxies; DRY_RUN=1 makes it only write the file
        cwd=root,
        env={**env, "DRY_RUN": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not path.is_file():
        raise OverrideError(f"tflocal could not write {path}:\n{result.stdout}{result.stderr}")
    text = path.read_text()
    if digest:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(f".{os.getpid()}")
        partial.write_text(text)
        partial.replace(kept)  # whole or absent, whatever stops this run
    return text


def endpoint_names(root: Path, env: dict[str, str]) -> set[str]:
    """Names the installed provider accepts in `endpoints {}`, from its schema (cached per lock file)."""
    lock = (root / ".terraform.lock.hcl").read_bytes()
    data_dir = root / env.get("TF_DATA_DIR", ".terraform")
    cache = data_dir / "payproc-endpoint-names.json"
    key = hashlib.sha256(lock).hexdigest()
    try:
        cached = json.loads(cache.read_text())
        if cached["lock"] == key:
            return set(cached["names"])
    except (OSError, ValueError, KeyError):
        pass
    terraform = env.get("TF_CMD") or "terraform"
    result = subprocess.run(
        [terraform, "providers", "schema", "-json"], cwd=root, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise OverrideError(f"terraform providers schema failed (run init first):\n{result.stderr}")
    schema = json.loads(result.stdout)["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["provider"]
    names = sorted(schema["block"]["block_types"]["endpoints"]["block"]["attributes"])
    data_dir.mkdir(exist_ok=True)
    cache.write_text(json.dumps({"lock": key, "names": names}))
    return set(names)


def parse_provider(text: str) -> tuple[list[tuple[str, str]], dict[str, str], str]:
    """tflocal's single `provider "aws"` block -> (settings, endpoints, text after the block)."""
    start = text.find('provider "aws"')
    if start < 0 or text.count('provider "aws"') != 1:
        raise OverrideError('expected exactly one provider "aws" block in tflocal\'s override')
    settings: list[tuple[str, str]] = []
    endpoints: dict[str, str] = {}
    lines = text[start:].splitlines(keepends=True)
    depth, in_endpoints, consumed = 0, False, 0
    for line in lines:
        consumed += len(line)
        stripped = line.strip()
        if stripped.startswith("endpoints") and stripped.endswith("{"):
            in_endpoints, depth = True, depth + 1
            continue
        if stripped.endswith("{"):
            depth += 1
            continue
        if stripped == "}":
            depth -= 1
            in_endpoints = in_endpoints and depth > 1
            if depth == 0:
                break
            continue
        match = ASSIGNMENT.match(line)
        if match and in_endpoints:
            endpoints[match.group(1)] = match.group(2)
        elif match:
            settings.append((match.group(1), match.group(2)))
    return settings, endpoints, text[start + consumed :]


INTERPOLATION_ONLY = re.compile(r'^"\$\{([^"{}]+)\}"$')  # "${var.region}" -> var.region, as terraform fmt wants


def render_provider(settings: list[tuple[str, str]], endpoints: dict[str, str]) -> str:
    settings = [(name, INTERPOLATION_ONLY.sub(r"\1", value)) for name, value in settings]
    width = max(len(name) for name, _ in settings)
    lines = ['provider "aws" {']
    lines += [f"  {name.ljust(width)} = {value}" for name, value in settings]
    lines += ["", "  endpoints {"]
    width = max(len(name) for name in endpoints)
    lines += [f"    {name.ljust(width)} = {endpoints[name]}" for name in sorted(endpoints)]
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def fix_for_3x(text: str, known: set[str]) -> tuple[str, list[str]]:
    settings, endpoints, rest = parse_provider(text)
    fixed: dict[str, str] = {}
    dropped = []
    for name, url in endpoints.items():
        target = name if name in known else RENAMED_3X.get(name)
        if target in known:
            fixed.setdefault(target, url)
        else:
            dropped.append(name)
    missing = [name for name in REQUIRED_3X if name not in fixed]
    if missing:
        raise OverrideError(f"no local endpoint for {', '.join(missing)}: calls would go to real AWS; refusing")
    values = dict(settings)
    values.pop("s3_use_path_style", None)
    values["s3_force_path_style"] = "true"
    values.update(EXTRA_3X)
    header = (
        "# Written by stack/terraform/local_override.py (tflocal's override, fixed for hashicorp/aws 3.x): every\n"
        "# service at the local stack. Ignored by git; deleted after each run.\n"
    )
    return header + render_provider(sorted(values.items()), fixed) + rest, dropped


def write_override(root: Path, env: dict[str, str] | None = None) -> Path:
    """Write ROOT/localstack_providers_override.tf for the provider `terraform init` selected. Returns its path."""
    env = local_environment(dict(os.environ if env is None else env))
    version = provider_version(root)
    if version is None:
        raise OverrideError(f"no hashicorp/aws in {root}/.terraform.lock.hcl: run terraform init first")
    text = run_tflocal(root, env)
    path = root / OVERRIDE_NAME
    if int(version.split(".")[0]) < 4:
        text, _dropped = fix_for_3x(text, endpoint_names(root, env))
        path.write_text(text)
    return path


def remove_override(root: Path) -> None:
    (root / OVERRIDE_NAME).unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "terraform"
    try:
        print(write_override(root.resolve()))
    except OverrideError as error:
        print(f"local_override: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
