"""The local Azure Functions host stand-in (see runner.py)."""
