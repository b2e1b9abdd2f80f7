"""The migration engine: canonical model, pacer, id map logic, chunk runner (pure core).

Storage and queues are reached only through the ports in ``shared.engine.ports``.
"""
