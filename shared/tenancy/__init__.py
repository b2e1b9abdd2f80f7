"""Tenancy: organisations, members, API key records, audit and idempotency, each bound to one
tenant in the data layer (``TenantContext``). What a caller may do and whether a token or key
is well-formed is decided in ``shared.identity``, which never touches storage."""
