"""Organisations, members, API keys and audit, bound to a tenant in the data layer."""
