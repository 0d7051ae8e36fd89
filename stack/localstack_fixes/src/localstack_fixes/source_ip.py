"""API Gateway's `requestContext.identity.sourceIp`: the caller's address, as on AWS.

LocalStack 4.14's REST API invocations report "127.0.0.1" for every caller (a TODO in
`localstack/services/apigateway/next_gen/execute_api/handlers/parse.py`), so anything keyed on the client's address,
such as the page's per-client limits (docs/payments.md), would put every local client in one budget. This sets it to
the address the request's connection came from, never to a header the client sent (X-Forwarded-For is the client's
word). Tests act as distinct clients by connecting from distinct loopback addresses (127.0.0.2, 127.0.0.3, ...).
Offered upstream as a patch to that line (docs/stack.md, "LocalStack fixes").
"""

from __future__ import annotations

from localstack.runtime import hooks
from localstack.services.apigateway.next_gen.execute_api.handlers.parse import InvocationRequestParser
from localstack.utils.patch import patch


def parse_and_enrich(original, self: InvocationRequestParser, context) -> None:
    original(self, context)
    if context.request.remote_addr:
        context.context_variables["identity"]["sourceIp"] = context.request.remote_addr


@hooks.on_infra_start()
def api_gateway_source_ip_of_the_caller() -> None:
    patch(InvocationRequestParser.parse_and_enrich)(parse_and_enrich)
