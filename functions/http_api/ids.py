"""One grammar for every id in a path, checked at the edge before any store is asked.

Ferry's ids are ASCII letters, digits, `_` and `-` (`org_eu_…`, `con_…`, `run_<time>_…`,
`del_eu_…`). A path segment that cannot be an id — control characters, NUL, `?`, `/`, 64 KB
of anything — is answered 422 here: it never reaches Cosmos or Blob Storage, where such
names fail slowly (retries) or as a 500. The grammar is declared once and appears in the
OpenAPI document (`pattern`, `maxLength`), so clients and fuzzers see the rule too.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path

ID_MAX_LENGTH = 100
ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_-]{{0,{ID_MAX_LENGTH - 1}}}$"
_ID = re.compile(ID_PATTERN)


def is_id(value: str) -> bool:
    """True when `value` follows the id grammar (what every path id must match)."""
    return _ID.fullmatch(value) is not None


def _id(description: str) -> Any:
    return Path(
        description=description, pattern=ID_PATTERN, max_length=ID_MAX_LENGTH, examples=["abc_0123456789abcdef"]
    )


OrgId = Annotated[str, _id("Organisation id (names its region, e.g. org_eu_…)")]
MemberId = Annotated[str, _id("Member id (mem_…)")]
KeyId = Annotated[str, _id("API key id (key_…)")]
ConnectorId = Annotated[str, _id("Connector id (con_…)")]
MigrationId = Annotated[str, _id("Migration id (mig_…)")]
RunId = Annotated[str, _id("Run id (run_…)")]
ExportId = Annotated[str, _id("Export id (exp_…)")]
JobId = Annotated[str, _id("Deletion job id (del_<region>_…)")]
