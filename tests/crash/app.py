"""The function app the crash-test workers serve: Ferry's real queue triggers only
(`functions/migration_worker.py`: chunk worker and poison handler), without HTTP or timers."""

from __future__ import annotations

import azure.functions as func

from functions import migration_worker

app = func.FunctionApp()
app.register_functions(migration_worker.bp)
