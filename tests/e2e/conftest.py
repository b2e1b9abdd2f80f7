"""The e2e suite calls the whole app served by the local runner: the session's `running_app`
(tests/conftest.py, shared with the console and assistant suites). `RunningApp` and
`fresh_source` stay importable from here for the suite's modules."""

from __future__ import annotations

from tests.app_runner import RunningApp, fresh_source

__all__ = ["RunningApp", "fresh_source"]
