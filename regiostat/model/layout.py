"""Which tables and views warehouse/schema.sql declares, per layer: what a layer's step writes (and its
checks check) without a list kept by hand."""

from __future__ import annotations

import re
from pathlib import Path

_DECLARED = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\.(\w+)",
                       re.IGNORECASE | re.MULTILINE)


def declared_tables(schema_sql: Path, layer: str) -> list[str]:
    """``schema.name`` of every table and view schema.sql declares in ``layer``, in its order."""
    return [f"{s}.{t}" for s, t in _DECLARED.findall(schema_sql.read_text()) if s == layer]
