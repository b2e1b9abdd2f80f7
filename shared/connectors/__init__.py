"""Connectors: readers and writers of the canonical model, one package per vendor (see README.md).

Importing any connector module registers every connection kind (``settings``), and with it
the hosts the SSRF guard lets each kind reach, so a client built by a connector never meets
an empty allow-list."""

from shared.connectors import settings as settings  # registers the kinds and their hosts
