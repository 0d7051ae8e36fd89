"""Step Functions parses a state machine's definition once, not at every execution.

LocalStack 4.14 builds each execution's program with `AmazonStateLanguageParser.parse(definition)` (an ANTLR parse,
then a pass that turns the tree into evaluation components): 20 ms of CPU for our payment workflow, for every
execution of an unchanged definition (py-spy found it among the largest parts of a payment's LocalStack CPU,
bench/README.md, "Where the time goes"). The components hold only what the definition says; what an execution
changes lives in its own Environment, which is why LocalStack already evaluates one program in many threads at once
(a Map state's iterations, a Parallel state's branches). So the program of a definition is built once and reused; a
changed definition is another key. Offered upstream as a cache in
`localstack/services/stepfunctions/backend/execution_worker.py` (docs/stack.md, "LocalStack fixes");
`.stack/venv/bin/python bench/state_machine_parse.py` times both.
"""

from __future__ import annotations

import functools

from localstack.runtime import hooks
from localstack.services.stepfunctions.asl.component.eval_component import EvalComponent
from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser
from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker
from localstack.utils.patch import patch


@functools.lru_cache(maxsize=128)  # definitions, not executions: a stack holds a few state machines
def program_of(definition: str) -> EvalComponent:
    return AmazonStateLanguageParser.parse(definition)[0]


def evaluation_entrypoint(self: ExecutionWorker) -> EvalComponent:
    return program_of(self._evaluation_details.state_machine_details.definition)


@hooks.on_infra_start()
def state_machines_parsed_once() -> None:
    patch(ExecutionWorker._get_evaluation_entrypoint, pass_target=False)(evaluation_entrypoint)
