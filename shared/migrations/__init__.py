"""Migrations and runs: the engine wired to Cosmos, queues, connectors and the vault."""
