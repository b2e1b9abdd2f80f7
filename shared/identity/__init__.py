"""Identity: decisions about a caller that need no stored data — token validation, the role
and scope table, API key format and hashing, regions, abuse limits.

The rule between the two packages: ``identity`` *decides* (pure modules, no storage and no
web-framework imports); ``shared.tenancy`` *binds* those decisions to one organisation's
stored records (orgs, members, key digests, audit, idempotency) through the tenant-scoped
data layer. The HTTP layer wires both into its dependencies.
"""
