"""Outbound HTTP for connectors, behind the SSRF guard (see http.py)."""
