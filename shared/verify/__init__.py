"""Verify: whether a destination holds every part of every migrated item, proved by reading both sides (no writes)."""
