"""An asynchronous event sent just after a function's code changed runs at once, not timeout + 60 s later.

LocalStack 4.14 gives each function version a poller that long-polls the function's internal event queue, taking the
messages it receives out of sight for the function's timeout + 60 s. When a deploy replaces the version, the new
version's poller starts on the same queue and the old one is told to stop; but a message the old poller receives in
the meantime is dropped on the floor ("Guard against shutdown event arriving while polling", `event_manager.py`,
`Poller.run`), as is one its invoker pool still held when it was shut down. Either stays hidden until its visibility
timeout ends, and only then does the new poller run it, a minute or more late (an upload's event to ingest_bills just
after `make deploy`, say). The executor test that kills a template mid-invocation, which updated its function just
before its event, failed 3 of 5 times under load for it (its 30 s wait) and took 70 s in the full run.

Here the poller gives such messages back (visibility 0), so the new version's poller runs them within one poll. The
rest of the loop is LocalStack's. Offered upstream as a patch to
`localstack/services/lambda_/invocation/event_manager.py` (docs/stack.md, "LocalStack fixes");
`tests/stack/test_services.py` sends events through three rollovers and checks that every one runs within 30 s
(without this: the last ran after 71 s).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from localstack.runtime import hooks
from localstack.services.lambda_.invocation import event_manager
from localstack.utils.patch import patch

LOG = logging.getLogger(__name__)


def give_back(sqs_client, queue_url: str, messages: list[dict]) -> None:
    """Make messages visible again at once, for the poller of the version that replaces this one. The internal
    queue's client (FakeSqsClient) has no ChangeMessageVisibility, so this asks the queue itself."""
    try:
        queue = sqs_client.queue_manager.get_queue(queue_name=queue_url)
        for message in messages:
            queue.update_visibility_timeout(message["ReceiptHandle"], 0)
    except Exception as error:  # the queue went with a deleted function: nothing is left to run them
        LOG.debug("could not give back %d events of %s: %s", len(messages), queue_url, error)


def run(self: event_manager.Poller, *args, **kwargs) -> None:
    sqs_client = event_manager.get_sqs_client(
        self.version_manager.function_version, client_config=event_manager.CLIENT_CONFIG
    )
    function_timeout = self.version_manager.function_version.config.timeout

    def given_back_if_cancelled(message: dict):
        def done(future: Future) -> None:
            if future.cancelled():  # the pool was shut down before it ran the message
                give_back(sqs_client, self.event_queue_url, [message])

        return done

    while not self._shutdown_event.is_set():
        try:
            response = sqs_client.receive_message(
                QueueUrl=self.event_queue_url,
                WaitTimeSeconds=2,
                MaxNumberOfMessages=10,
                VisibilityTimeout=function_timeout + 60,
            )
            messages = response.get("Messages") or []
            if not messages:
                continue
            if self._shutdown_event.is_set():  # received while this version was being replaced
                give_back(sqs_client, self.event_queue_url, messages)
                return
            for index, message in enumerate(messages):
                try:
                    future = self.invoker_pool.submit(self.handle_message, message)
                except RuntimeError:  # the pool was shut down between the check and here
                    give_back(sqs_client, self.event_queue_url, messages[index:])
                    return
                future.add_done_callback(given_back_if_cancelled(message))
        except Exception as error:
            if self._shutdown_event.is_set():
                return
            LOG.error(
                "Error while polling lambda events for function %s: %s",
                self.version_manager.function_version.qualified_arn,
                error,
            )
            self._shutdown_event.wait(1)  # some time between retries, as LocalStack's loop sleeps


@hooks.on_infra_start()
def lambda_events_survive_a_deploy() -> None:
    patch(event_manager.Poller.run, pass_target=False)(run)
