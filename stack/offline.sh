#!/usr/bin/env bash
# offline.sh CMD... : run CMD where nothing can leave 127.0.0.1, to prove the stack, the deploy and the tests never
# reach the internet or real AWS (a dropped endpoint or skip flag in Terraform would fail loudly, not quietly).
#
# It uses a fresh network namespace that has only a loopback interface. That needs root and `ip netns`; where either
# is missing, or a stack is already up outside (the namespace could not reach it), CMD runs as it is.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

if python3 "$repo/stack/stackctl.py" status >/dev/null 2>&1; then
    exec "$@"  # the developer's running stack: test against it
fi
namespace="payproc-offline-$$"
if [ "$(id -u)" != 0 ] || ! ip netns add "$namespace" 2>/dev/null; then
    echo "offline.sh: no network namespace here (needs root and iproute2); running without network isolation" >&2
    exec "$@"
fi
trap 'ip netns delete "$namespace"' EXIT
ip netns exec "$namespace" ip link set lo up
echo "offline.sh: running in network namespace $namespace (loopback only)" >&2
ip netns exec "$namespace" "$@"
