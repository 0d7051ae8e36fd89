"""DynamoDB Local on 127.0.0.1 only.

LocalStack 4.14 starts DynamoDB Local as `java ... -jar DynamoDBLocal.jar -port N`, which has no bind-address option
and so listens on every interface: on a laptop on a shared network, anyone nearby could read the stack's bills and
payments. The set-up compiles `stack/dynamodb_local/LoopbackDynamoDBLocal.java` beside the jar; this runs it in place
of `-jar`, with the same arguments, and it binds DynamoDB Local's Jetty connector to 127.0.0.1 before starting it.
Offered upstream as a `bindAddress` option of DynamoDB Local's server (docs/stack.md, "LocalStack fixes").

It also runs the JVM with its quick compiler only: on these 2-core machines the optimizing compiler made DynamoDB
Local spend 1.75x the CPU on 8,000 requests (17.6 s against 10.0 s) at the same request rate
(`.stack/venv/bin/python bench/dynamodb_jit.py`; bench/README.md, "The stack's own CPU").
"""

from __future__ import annotations

import logging
import os

from localstack.runtime import hooks
from localstack.services.dynamodb.server import DynamodbServer
from localstack.utils.patch import patch

LOG = logging.getLogger(__name__)

MAIN_CLASS = "LoopbackDynamoDBLocal"
JAR_NAME = "loopback-dynamodb-local.jar"
JVM_OPTIONS = ["-XX:TieredStopAtLevel=1"]


def loopback_command(command: list[str]) -> list[str]:
    """LocalStack's DynamoDB Local command with `-jar <DynamoDBLocal.jar>` run through our main class instead, and
    JVM_OPTIONS."""
    at = command.index("-jar")
    jar = command[at + 1]
    ours = os.path.join(os.path.dirname(jar), JAR_NAME)
    if not os.path.exists(ours):
        LOG.warning("%s is missing (run stack/setup.sh): DynamoDB Local will listen on every interface", ours)
        return command
    return [*command[:at], *JVM_OPTIONS, "-cp", f"{jar}:{ours}", MAIN_CLASS, *command[at + 2 :]]


def create_shell_command(original, self: DynamodbServer) -> list[str]:
    return loopback_command(original(self))


@hooks.on_infra_start()
def dynamodb_local_on_loopback() -> None:
    patch(DynamodbServer._create_shell_command)(create_shell_command)
