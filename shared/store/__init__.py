"""Data layer: Cosmos repositories bound to a tenant, and Blob/Queue access per region."""
