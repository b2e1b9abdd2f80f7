"""Ferry's own documentation as assistant records (the shared, tenant-free part).

The READMEs (the product's, the infrastructure's and each connector's, which document
what a vendor pair does to labels, dates, checklists…) are split at their headings into
passages of at most `MAX_CHARS`, each cited by its section path
(`shared/connectors/planner/README.md › Labels`). A passage's id is a digest of its path,
heading and text, so a changed passage is a new record and `sync_docs` removes the old.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.assistant.records import PUBLIC, SHARED_TENANT, SearchRecord, record_id

ROOT = Path(__file__).resolve().parents[2]
MAX_CHARS = 1200
_HEADING = re.compile(r"^(#{1,4})\s+(.*\S)\s*$")


@dataclass(frozen=True)
class Passage:
    section: str
    text: str


def doc_files(root: Path = ROOT) -> list[Path]:
    """The documents the assistant knows, relative order fixed."""
    files = [root / "README.md", root / "infra" / "README.md"]
    files += sorted((root / "shared" / "connectors").glob("*/README.md"))
    files.append(root / "shared" / "assistant" / "README.md")
    return [f for f in files if f.is_file()]


def passages(path: Path, root: Path = ROOT) -> Iterator[Passage]:
    """Heading-delimited passages of one Markdown file (code fences stay whole)."""
    name = path.relative_to(root).as_posix()
    trail: list[str] = []
    buffer: list[str] = []
    fenced = False

    def flush() -> Iterator[Passage]:
        text = "\n".join(buffer).strip()
        buffer.clear()
        if not text:
            return
        section = " › ".join([name, *trail])
        for part in _split(text):
            yield Passage(section, part)

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            yield from flush()
            depth = len(match.group(1))
            trail = trail[: max(0, depth - 1)] + [match.group(2).strip("# ")]
            continue
        buffer.append(line)
    yield from flush()


def _split(text: str) -> Iterator[str]:
    """Paragraph-aligned pieces of at most MAX_CHARS (a longer paragraph is cut at lines)."""
    piece = ""
    for paragraph in re.split(r"\n\s*\n", text):
        chunks = [paragraph] if len(paragraph) <= MAX_CHARS else _lines(paragraph)
        for chunk in chunks:
            if piece and len(piece) + len(chunk) + 2 > MAX_CHARS:
                yield piece
                piece = ""
            piece = f"{piece}\n\n{chunk}" if piece else chunk
    if piece:
        yield piece


def _lines(paragraph: str) -> list[str]:
    out, piece = [], ""
    for line in paragraph.splitlines():
        if piece and len(piece) + len(line) + 1 > MAX_CHARS:
            out.append(piece)
            piece = ""
        piece = f"{piece}\n{line}" if piece else line[:MAX_CHARS]
    return out + ([piece] if piece else [])


def doc_records(root: Path = ROOT) -> list[SearchRecord]:
    """Every passage as a record of the shared part (no vector yet)."""
    out = []
    for path in doc_files(root):
        for n, passage in enumerate(passages(path, root)):
            digest = hashlib.sha256(passage.text.encode("utf-8")).hexdigest()[:16]
            content = f"{passage.section}\n{passage.text}"
            out.append(
                SearchRecord(
                    id=record_id(SHARED_TENANT, passage.section, str(n), digest),
                    tenantId=SHARED_TENANT,
                    requires=PUBLIC,
                    type="doc",
                    content=content,
                    section=passage.section,
                )
            )
    return out


def docs_version(records: list[SearchRecord]) -> str:
    return hashlib.sha256("".join(sorted(r.id for r in records)).encode()).hexdigest()[:16]
