"""Composition root: build the Functions app, register the trigger blueprints, settle the process."""

import azure.functions as func

from functions import migration_worker, retention
from functions.assistant import worker as assistant_worker
from functions.http_api import front_door
from functions.startup import settle_imports
from shared.logs.redaction import install_redaction

install_redaction()  # before any handler can log: secrets are masked on every log record
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(front_door.bp)
app.register_functions(migration_worker.bp)
app.register_functions(retention.bp)
app.register_functions(assistant_worker.bp)
settle_imports()  # last: everything imported above lives as long as the process
