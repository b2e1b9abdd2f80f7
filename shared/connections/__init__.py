"""Tenant-bound connections: a tenant's stored connectors (public fields + sealed secrets),
their CRUD, tests and container listings. Connectors themselves are pure and never see
tenants or storage."""
