"""LocalStack's twisted gateway server, listening only on the host that GATEWAY_LISTEN names.

LocalStack 4.14 offers two servers. Twisted (its default) handles a warm Lambda invoke in 11-14 ms where hypercorn
takes 16-18 ms on our machines (docs/stack.md), but it ignores the host of GATEWAY_LISTEN and binds 0.0.0.0 (there
is a TODO in localstack/runtime/server/twisted.py). This plugin runs the same server and passes the host on.
"""

from __future__ import annotations

from unittest import mock

from localstack import config
from localstack.runtime.server import twisted as localstack_twisted
from localstack.runtime.server.core import RuntimeServer, RuntimeServerPlugin
from localstack.runtime.server.twisted import TwistedRuntimeServer


class LoopbackTwistedServer(TwistedRuntimeServer):
    def register(self, gateway, listen: list[config.HostAndPort], ssl_creds=None) -> None:
        host_of_port = {address.port: address.host for address in listen}
        unbound_endpoint = localstack_twisted.endpoints.TCP4ServerEndpoint

        def bound_endpoint(reactor, port: int, backlog: int = 50, interface: str = ""):
            return unbound_endpoint(reactor, port, backlog, interface or host_of_port[port])

        # The only change to LocalStack's register(): its IPv4 endpoints get the host they were configured with.
        with mock.patch.object(localstack_twisted.endpoints, "TCP4ServerEndpoint", bound_endpoint):
            super().register(gateway, listen, ssl_creds)


class LoopbackTwistedServerPlugin(RuntimeServerPlugin):
    name = "twisted-loopback"

    def load(self, *args, **kwargs) -> RuntimeServer:
        return LoopbackTwistedServer()
