"""The function app without the assistant's index (``function_app`` minus one blueprint).

For ``bench.e2e_budget --app bench.migration_app:app``: the assistant indexes run log lines
in the same worker processes (``functions/assistant/worker.py``: its queue trigger and the
run-log feed it registers on import), so with the full app the workers' CPU holds both the
migration and the indexing of its log. This app isolates the migration path; the full app
stays the default because in Azure both run in the same instances.
"""

import azure.functions as func

from functions import migration_worker, retention
from functions.http_api import front_door
from functions.startup import settle_imports
from shared.logs.redaction import install_redaction

install_redaction()
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(front_door.bp)
app.register_functions(migration_worker.bp)
app.register_functions(retention.bp)
settle_imports()  # last: everything imported above lives as long as the process
