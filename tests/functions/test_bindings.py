"""Trigger and binding shapes of the real function app, read as the host reads them."""

from __future__ import annotations

import importlib

from shared.config import QUEUE_ASSISTANT, QUEUE_CHUNKS, QUEUE_DELETIONS
from tools.devhost.loader import triggers
from tools.devhost.ncrontab import parse


def _app():  # type: ignore[no-untyped-def]
    return importlib.import_module("function_app").app


def test_http_api_is_one_anonymous_catch_all_route() -> None:
    http = [t for t in triggers(_app()) if t.kind == "httpTrigger"]
    assert len(http) == 1
    binding = http[0].binding
    assert binding["route"] == "{*route}"
    assert binding["authLevel"] == "ANONYMOUS"  # auth is Ferry's own (OIDC / API keys), on every route


def test_http_api_uses_the_streaming_extension() -> None:
    """The worker streams only functions that take the extension's Request (HTTP v2)."""
    import typing

    from azurefunctions.extensions.base import HttpV2FeatureChecker, RequestTrackerMeta

    (http,) = [t for t in triggers(_app()) if t.kind == "httpTrigger"]
    assert RequestTrackerMeta.check_type(typing.get_type_hints(http.function)[http.arg_name])
    assert HttpV2FeatureChecker.http_v2_enabled()


def test_queue_triggers_use_known_queues_and_the_host_connection() -> None:
    for t in triggers(_app()):
        if t.kind == "queueTrigger":
            known = {QUEUE_CHUNKS, QUEUE_DELETIONS, f"{QUEUE_CHUNKS}-poison", QUEUE_ASSISTANT}
            assert t.binding["queueName"] in known, t.name
            assert t.binding["connection"] == "AzureWebJobsStorage", t.name


def test_every_trigger_family_is_registered() -> None:
    found = {(t.kind, t.binding.get("queueName")) for t in triggers(_app())}
    assert ("queueTrigger", QUEUE_CHUNKS) in found  # the migration worker
    assert ("queueTrigger", f"{QUEUE_CHUNKS}-poison") in found  # poison chunks end their scope
    assert ("queueTrigger", QUEUE_DELETIONS) in found  # org deletion jobs
    assert ("queueTrigger", QUEUE_ASSISTANT) in found  # the assistant's index
    assert any(kind == "timerTrigger" for kind, _ in found)  # the daily retention sweep


def test_timer_schedules_are_valid_ncrontab() -> None:
    for t in triggers(_app()):
        if t.kind == "timerTrigger":
            parse(t.binding["schedule"])


def test_core_never_imports_azure_functions() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "shared"
    offenders = [
        p for p in root.rglob("*.py") if "azure.functions" in p.read_text() or "import azure.functions" in p.read_text()
    ]
    assert not offenders, offenders
