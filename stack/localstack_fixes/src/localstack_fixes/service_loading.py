"""A request that arrives while its service is being loaded waits for it, instead of failing "no handler for operation".

LocalStack 4.14 loads a service at its first request (`localstack/aws/handlers/service_plugin.py`,
`ServiceLoader.require_service`). Under the service's lock it marks the service loaded, then adds a route for each of
its operations; a request that comes meanwhile sees the service marked loaded, skips the lock and reaches the router
before its operation's route: `InternalFailure: no handler for operation 'FilterLogEvents' on service 'logs'`. A
test's first FilterLogEvents met a Lambda worker's first log write that way on a freshly started stack, and turned
a `make test` run red. Here a request for a service marked loaded takes the service's lock once (free, unless the
routes are still being added), so it waits for the routes. Offered upstream as the two lines swapped (mark the
service loaded after its routes are added) in `localstack/aws/handlers/service_plugin.py` (docs/stack.md,
"LocalStack fixes"); `tests/stack/test_services.py` loads a service with a request racing it.
"""

from __future__ import annotations

from localstack.aws.handlers.service_plugin import ServiceLoader
from localstack.runtime import hooks
from localstack.utils.patch import patch


def require_service(require, self: ServiceLoader, chain, context, response):
    if context.service and context.service.service_name in self.loaded_services:
        with self.service_locks[context.service.service_name]:
            pass  # the loader holds it until every route of the service is in
    return require(self, chain, context, response)


@hooks.on_infra_start()
def requests_wait_for_their_service_to_load() -> None:
    patch(ServiceLoader.require_service)(require_service)
