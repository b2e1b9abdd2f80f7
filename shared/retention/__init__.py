"""Data lifecycle: 90-day retention, org deletion (on request or inactivity), GDPR export.

The daily sweep (sweep.py) is the only code allowed to read across tenants; everything
else here works on one org through its TenantContext.
"""

from __future__ import annotations
