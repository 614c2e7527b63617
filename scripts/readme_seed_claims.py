"""Rewrite the table of the seed plans' claims in README.md from the published bundled warehouse.

    uv run regiostat build && uv run python scripts/readme_seed_claims.py

The table is the result of scripts/seed_claims_table.sql; tests/test_readme_claims.py checks that the
README still equals that query on a fresh bundled build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

import regiostat
from pipelines.resources import settings_from_env

ROOT = Path(__file__).resolve().parents[1]  # a script in the checkout, not library code
START, END = "<!-- seed-claims-table:start -->", "<!-- seed-claims-table:end -->"
HEADER = ("| claim | indicator | region | period | stated | verdict | closest real figure | difference | beside it |\n"
          "|---|---|---|---|---|---|---|---|---|")


def table_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    sql = (ROOT / "scripts" / "seed_claims_table.sql").read_text(encoding="utf-8")
    return [row[0] for row in con.execute(sql).fetchall()]


def main() -> int:
    path = settings_from_env(None).publish_path
    con = regiostat.connect(path)
    try:
        lines = table_lines(con)
    finally:
        con.close()
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"README.md has no {START} ... {END} block", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{HEADER}\n" + "\n".join(lines) + f"\n{END}{tail}", encoding="utf-8")
    print(f"wrote {len(lines)} claims into {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
