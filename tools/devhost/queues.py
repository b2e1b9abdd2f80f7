"""Queue triggers served from Azurite with the Functions host's documented semantics.

- messages are base64 text (host.json `messageEncoding`); one that does not decode goes
  straight to `<queue>-poison` with a log line saying why;
- a batch of `batchSize` is fetched when in-flight work drops to `newBatchThreshold`;
- a message is leased while it runs (visibility extended, like the host's renewal), so
  two worker processes never run the same message at the same time;
- success deletes it; failure makes it visible again after `visibilityTimeout`; after
  `maxDequeueCount` tries the original body moves to `<queue>-poison`;
- empty polls back off exponentially up to `maxPollingInterval`; a poll that returns fewer
  messages than it asked for waits `maxPollingInterval` too, or until one of this poller's
  messages finishes (whose function most likely enqueued the next);
- on stop, no new message is taken; in-flight ones finish (or, past the grace period,
  are abandoned and become visible again when their lease runs out): nothing is lost;
- with a `report` callback (worker processes of `--workers N`), every message held, every
  renewed pop receipt and every message let go is told to the runner's supervisor, which
  releases what a dead worker held, as the host fails the invocations of a dead language worker;
- with `invoke_in` (a worker process's loop), the poller runs on another loop (the host's
  thread, `tools.devhost.host_thread`) and each function runs on `invoke_in`, as the host hands
  invocations to the language worker.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import logging
from collections.abc import Callable
from typing import Any

from tools.devhost.host_config import HostConfig
from tools.devhost.loader import Trigger

log = logging.getLogger("ferry.runner.queue")

#: What a poller tells its supervisor: {"op": "hold"|"receipt"|"done", "id", …}.
Report = Callable[[dict[str, Any]], None]


class QueuePoller:
    def __init__(
        self,
        trigger: Trigger,
        connection: str,
        host: HostConfig,
        *,
        lease_s: float = 600.0,
        min_poll_s: float = 0.1,
        grace_s: float = 30.0,
        report: Report | None = None,
        invoke_in: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.trigger = trigger
        self.queue_name = str(trigger.binding["queueName"])
        self.connection = connection
        self.options = host.queues
        self.function_timeout_s = host.function_timeout_s
        self.lease_s = lease_s
        self.min_poll_s = min_poll_s
        self.grace_s = grace_s
        self.report = report
        self.invoke_in = invoke_in
        self._stop = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def stop(self) -> None:
        self._stop.set()

    def _client(self, name: str) -> Any:
        from azure.storage.queue.aio import QueueClient

        from shared.store.transport import CLIENT_OPTIONS

        # Raw text both ways: the runner decodes base64 itself to tell a malformed message apart.
        # No proxy or .netrc lookups from the environment on every poll (as Ferry's own clients).
        return QueueClient.from_connection_string(self.connection, name, **CLIENT_OPTIONS)

    async def run(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        self.queue = self._client(self.queue_name)
        self.poison = self._client(f"{self.queue_name}-poison")
        for q in (self.queue, self.poison):
            try:
                await q.create_queue()
            except ResourceExistsError:
                pass
        delay = self.min_poll_s
        try:
            while not self._stop.is_set():
                room = self.options.batch_size + self.options.threshold - len(self._in_flight)
                if len(self._in_flight) > self.options.threshold or room <= 0:
                    await self._wait_any(delay)
                    continue
                got = 0
                asked = min(32, self.options.batch_size, room)
                try:
                    async for msg in self.queue.receive_messages(
                        max_messages=asked, visibility_timeout=int(self.lease_s)
                    ):
                        got += 1
                        task = asyncio.create_task(self._handle(msg))
                        self._in_flight.add(task)
                        task.add_done_callback(self._in_flight.discard)
                except Exception as exc:  # storage hiccup: log, back off, keep serving
                    log.warning("receive from %s failed: %s", self.queue_name, exc)
                if got >= asked:
                    delay = self.min_poll_s
                    continue  # a full batch: more may be waiting
                # Fewer than asked: the queue is drained for now. The next message most likely
                # comes from a chunk this process runs (it enqueues its successor before it
                # finishes), and _wait_any wakes when one finishes; any other producer is
                # seen within the interval. Polling an empty queue every 0.1–1.6 s after each
                # message cost ~7 % of a worker's CPU (issue 19); the host does this in Azure.
                delay = (
                    self.options.max_polling_interval_s if got else min(delay * 2, self.options.max_polling_interval_s)
                )
                await self._wait_any(delay)
        finally:
            await self._drain()
            await self.queue.close()
            await self.poison.close()

    async def _wait_any(self, timeout: float) -> None:
        stop = asyncio.ensure_future(self._stop.wait())
        waiters: set[asyncio.Future[Any]] = {stop, *self._in_flight}
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        log.info("waiting for %d in-flight message(s) on %s", len(self._in_flight), self.queue_name)
        done, pending = await asyncio.wait(set(self._in_flight), timeout=self.grace_s)
        for task in pending:
            # Abandoned: the lease is no longer renewed, so the message becomes visible again.
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    def _tell(self, op: str, msg: Any, **extra: Any) -> None:
        if self.report is None:
            return
        try:
            self.report({"op": op, "id": msg.id, **extra})
        except OSError as exc:  # the supervisor is gone (runner stopping): serving goes on
            log.debug("could not report %s of %s: %s", op, msg.id, exc)

    async def _handle(self, msg: Any) -> None:
        log.debug("took message %s of %s (try %d)", msg.id, self.queue_name, msg.dequeue_count)
        self._tell(
            "hold",
            msg,
            queue=self.queue_name,
            connection=self.connection,
            receipt=msg.pop_receipt,
            dequeue=msg.dequeue_count,
            lease_s=self.lease_s,
        )
        try:
            await self._handle_held(msg)
        finally:
            self._tell("done", msg)
            log.debug("done with message %s of %s", msg.id, self.queue_name)

    async def _handle_held(self, msg: Any) -> None:
        state = {"receipt": msg.pop_receipt}
        raw = msg.content or ""
        if msg.dequeue_count > self.options.max_dequeue_count:
            await self._to_poison(
                msg, state, raw, f"dequeued {msg.dequeue_count} times (max {self.options.max_dequeue_count})"
            )
            return
        try:
            body = self._decode(raw)
        except ValueError as exc:
            await self._to_poison(msg, state, raw, f"malformed message: {exc}")
            return
        renew = asyncio.create_task(self._renew(msg, state))
        try:
            from azure.functions.queue import QueueMessage

            fmsg = QueueMessage(
                id=msg.id,
                body=body,
                dequeue_count=msg.dequeue_count,
                pop_receipt=state["receipt"],
                insertion_time=msg.inserted_on,
                expiration_time=msg.expires_on,
                time_next_visible=msg.next_visible_on,
            )
            await asyncio.wait_for(self._invoke(fmsg), timeout=self.function_timeout_s)
        except asyncio.CancelledError:
            renew.cancel()
            raise
        except Exception as exc:
            renew.cancel()
            await self._failed(msg, state, raw, exc)
            return
        renew.cancel()
        try:
            await self.queue.delete_message(msg.id, state["receipt"])
        except Exception as exc:
            log.warning(
                "could not delete message %s from %s: %s (it will be redelivered)", msg.id, self.queue_name, exc
            )

    def _decode(self, raw: str) -> bytes:
        if self.options.message_encoding != "base64":
            return raw.encode("utf-8")
        try:
            return base64.b64decode(raw.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueError("not base64 (host.json messageEncoding is base64)") from exc

    async def _invoke(self, fmsg: Any) -> None:
        fn = self.trigger.function
        kwargs = {self.trigger.arg_name: fmsg}
        if inspect.iscoroutinefunction(fn):
            if self.invoke_in is None:
                await fn(**kwargs)
            else:  # on the worker's loop; cancelling this (a timeout, a stop) cancels it there
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(**kwargs), self.invoke_in))
        else:
            await asyncio.to_thread(fn, **kwargs)

    async def _renew(self, msg: Any, state: dict[str, str]) -> None:
        try:
            while True:
                await asyncio.sleep(self.lease_s / 2)
                updated = await self.queue.update_message(
                    msg.id, state["receipt"], visibility_timeout=int(self.lease_s)
                )
                state["receipt"] = updated.pop_receipt
                self._tell("receipt", msg, receipt=updated.pop_receipt)
        except asyncio.CancelledError:
            return
        except Exception as exc:
            log.warning("lease renewal of %s failed: %s", msg.id, exc)

    async def _failed(self, msg: Any, state: dict[str, str], raw: str, exc: Exception) -> None:
        log.warning(
            "%s failed on message %s (try %d of %d): %s: %s",
            self.trigger.name,
            msg.id,
            msg.dequeue_count,
            self.options.max_dequeue_count,
            type(exc).__name__,
            exc,
        )
        if msg.dequeue_count >= self.options.max_dequeue_count:
            await self._to_poison(msg, state, raw, f"failed {msg.dequeue_count} times; last error {type(exc).__name__}")
            return
        try:
            updated = await self.queue.update_message(
                msg.id, state["receipt"], visibility_timeout=int(self.options.visibility_timeout_s)
            )
            state["receipt"] = updated.pop_receipt
        except Exception as update_exc:
            log.warning("could not release message %s: %s (visible after its lease)", msg.id, update_exc)

    async def _to_poison(self, msg: Any, state: dict[str, str], raw: str, why: str) -> None:
        log.error("moving message %s of %s to %s-poison: %s", msg.id, self.queue_name, self.queue_name, why)
        await self.poison.send_message(raw)
        try:
            await self.queue.delete_message(msg.id, state["receipt"])
        except Exception as exc:
            log.warning("could not delete poisoned message %s: %s", msg.id, exc)
