"""In-memory reference connector (reader + writer) with injectable latency, limits, faults."""

from shared.connectors.memory.connector import MemoryReader, MemoryWriter, memory_capabilities
from shared.connectors.memory.seed import seed_project
from shared.connectors.memory.vendor import MemoryVendor, SyntheticBlob, VendorLimits

__all__ = [
    "MemoryReader",
    "MemoryVendor",
    "MemoryWriter",
    "SyntheticBlob",
    "VendorLimits",
    "memory_capabilities",
    "seed_project",
]
