"""The Functions host's half of the queue triggers, on a thread of its own in a queue worker.

In Azure the host — a .NET process apart from the Python worker — polls the queues, keeps the
messages it runs leased, deletes or releases them, and hands each invocation to the language
worker over gRPC; the Python worker's event loop only runs the functions. The local runner
used to do both on one loop, so the worker's CPU held the host's polling (~8 % of a Trello →
Asana run, py-spy; issue 19) and its loop carried the polls between the functions' requests.
Here the pollers run on a thread with an event loop of its own, and every invocation goes to
the worker's loop (``QueuePoller(invoke_in=…)``), where it runs as it would under the host.

The thread is named ``ferry-host`` at the OS level (Linux ``/proc/<pid>/task/<tid>/comm``),
so its CPU can be told apart from the functions' (``bench.proc_cpu``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import ctypes.util
import logging
import sys
import threading
from collections.abc import Sequence

from tools.devhost.queues import QueuePoller

log = logging.getLogger("ferry.runner.host")

#: The OS name of the thread (at most 15 bytes: Linux's limit).
HOST_THREAD_NAME = "ferry-host"
_PR_SET_NAME = 15


def name_os_thread(name: str) -> None:
    """Give the calling thread ``name`` where the OS shows thread names (Linux); elsewhere
    nothing happens (the CPU split is then not available, everything else works)."""
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


class HostThread:
    """Runs ``pollers`` on their own loop in a thread; ``stop`` may be called from any thread."""

    def __init__(self, pollers: Sequence[QueuePoller]) -> None:
        self.pollers = list(pollers)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stop_asked = False
        self._thread = threading.Thread(target=self._run, name=HOST_THREAD_NAME, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def stop(self) -> None:
        """No new message is taken; in-flight invocations finish (see ``QueuePoller``)."""
        self._stop_asked = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for poller in self.pollers:
            try:
                loop.call_soon_threadsafe(poller.stop)
            except RuntimeError:  # the loop closed meanwhile: the pollers are done anyway
                return

    async def wait(self) -> None:
        """Until every poller has stopped (and its in-flight invocations are over) and the
        thread has ended."""
        await asyncio.wrap_future(self._done)
        await asyncio.to_thread(self._thread.join)  # only its loop's closing is left by now

    def _run(self) -> None:
        name_os_thread(HOST_THREAD_NAME)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._ready.set()
        try:
            if self._stop_asked:  # stopped before the loop existed
                for poller in self.pollers:
                    poller.stop()
            loop.run_until_complete(asyncio.gather(*(p.run() for p in self.pollers)))
            self._done.set_result(None)
        except BaseException as exc:
            log.exception("the queue host thread failed")
            self._done.set_exception(exc)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
