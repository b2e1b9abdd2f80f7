"""Connectors: vendor readers/writers of the canonical model. Contract: ``base.py``."""
