"""Rewrite one generated section of docs/benchmarks.md, between its ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` markers, leaving the rest of the page as it is."""

from __future__ import annotations

import re
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(name: str, body: str, doc: Path = BENCHMARKS_MD) -> Path:
    """Put ``body`` between the section's markers (one newline after the start marker)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = doc.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{doc} lacks the {start} / {end} markers")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    body = body.strip("\n") + "\n"
    doc.write_text(pattern.sub(lambda _: f"{start}\n{body}{end}", text, count=1))
    print(f"[bench] wrote the {name} section of {doc}")
    return doc
