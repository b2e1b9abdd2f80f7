"""Run logs: typed, redacted lines in append blobs of the org's region, read by cursor.

The engine writes with `RunLogWriter`; the API reads with `RunLogReader`.
"""

from __future__ import annotations
