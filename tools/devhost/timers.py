"""Timer triggers on their six-field NCRONTAB schedule, runOnStartup honoured."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from tools.devhost.loader import Trigger
from tools.devhost.ncrontab import parse

log = logging.getLogger("ferry.runner.timer")


class TimerRunner:
    def __init__(self, trigger: Trigger, *, now: Callable[[], datetime] | None = None) -> None:
        self.trigger = trigger
        self.schedule = parse(str(trigger.binding["schedule"]))
        self.run_on_startup = bool(trigger.binding.get("runOnStartup", False))
        self._now = now or (lambda: datetime.now(UTC))
        self._stop = asyncio.Event()
        self.fired = 0

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        if self.run_on_startup:
            await self._fire(past_due=False)
        next_at = self.schedule.next_after(self._now())
        while not self._stop.is_set():
            wait = (next_at - self._now()).total_seconds()
            if wait > 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=wait)
                    return
                except TimeoutError:
                    pass
            now = self._now()
            # Like the host: a fire noticed more than a moment late is reported past due.
            await self._fire(past_due=(now - next_at).total_seconds() > 1.0)
            next_at = self.schedule.next_after(max(now, next_at))

    async def _fire(self, *, past_due: bool) -> None:
        from azure.functions.timer import TimerRequest

        self.fired += 1
        fn = self.trigger.function
        kwargs = {self.trigger.arg_name: TimerRequest(past_due=past_due)}
        try:
            if inspect.iscoroutinefunction(fn):
                await fn(**kwargs)
            else:
                await asyncio.to_thread(fn, **kwargs)
        except Exception:
            # The host logs a failed timer run and keeps the schedule; so do we.
            log.exception("timer %s failed", self.trigger.name)
