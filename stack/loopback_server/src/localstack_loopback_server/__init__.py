"""LocalStack's twisted gateway server, listening only on the host that GATEWAY_LISTEN names.

LocalStack 4.14 offers two servers. Twisted (its default) handles a warm Lambda invoke in 8-14 ms where hypercorn
takes 16-18 ms on our machines (docs/stack.md), but as LocalStack configures it:

- it ignores the host of GATEWAY_LISTEN and binds 0.0.0.0 (a TODO in localstack/runtime/server/twisted.py);
- it resets a connection 75 s after it has handed the last byte of a response to the socket, however much of
  it the client has still to read: twisted's idle timeout (60 s, then 15 s to abort) restarts once a response is
  written, and a large S3 object is written at once into twisted's buffer. A Lambda streaming a big file from S3
  got `Connection reset by peer` after 78 s (bench/results/million).

This plugin runs the same server, with the host passed on and no idle timeout: the socket is on loopback, and
clients close their own keep-alive connections (the kernel closes those of a process that dies).
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
        site_with_idle_timeout = localstack_twisted.TwistedGateway

        def bound_endpoint(reactor, port: int, backlog: int = 50, interface: str = ""):
            return unbound_endpoint(reactor, port, backlog, interface or host_of_port[port])

        def site_without_idle_timeout(gateway_):
            site = site_with_idle_timeout(gateway_)
            site.timeOut = None  # twisted's Site passes it to every connection it builds
            return site

        # The only changes to LocalStack's register(): the endpoints' host, and the site's idle timeout.
        with (
            mock.patch.object(localstack_twisted.endpoints, "TCP4ServerEndpoint", bound_endpoint),
            mock.patch.object(localstack_twisted, "TwistedGateway", site_without_idle_timeout),
        ):
            super().register(gateway, listen, ssl_creds)


class LoopbackTwistedServerPlugin(RuntimeServerPlugin):
    name = "twisted-loopback"

    def load(self, *args, **kwargs) -> RuntimeServer:
        return LoopbackTwistedServer()
