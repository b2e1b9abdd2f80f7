"""Connector vault: envelope encryption of connector secrets (see service.py)."""
