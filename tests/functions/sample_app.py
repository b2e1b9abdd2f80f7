"""A small function app the runner tests drive: one queue trigger, one timer trigger.

Each invocation appends a JSON line (message id, process, start/end time) to the file named
by SAMPLE_OUT, so tests can prove exactly-once processing and no concurrent double runs.
"""

from __future__ import annotations

import json
import os
import time

import azure.functions as func

app = func.FunctionApp()


def _record(path_var: str, row: dict) -> None:  # type: ignore[type-arg]
    path = os.environ.get(path_var)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


@app.queue_trigger(arg_name="msg", queue_name="sample-jobs", connection="AzureWebJobsStorage")
def sample_job(msg: func.QueueMessage) -> None:
    body = json.loads(msg.get_body())
    start = time.time()
    # Which process took the message, before it works on it (runner tests kill that process).
    _record("SAMPLE_STARTED", {"key": body["key"], "pid": os.getpid(), "dequeue": msg.dequeue_count})
    time.sleep(float(body.get("sleep", 0)))
    _record(
        "SAMPLE_OUT",
        {"key": body["key"], "pid": os.getpid(), "start": start, "end": time.time(), "dequeue": msg.dequeue_count},
    )
    if body.get("fail"):
        raise RuntimeError("asked to fail")


@app.timer_trigger(arg_name="timer", schedule="*/1 * * * * *", run_on_startup=True)
def sample_tick(timer: func.TimerRequest) -> None:
    _record("SAMPLE_TICKS", {"at": time.time(), "past_due": timer.past_due})
