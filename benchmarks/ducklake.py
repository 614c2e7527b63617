"""The published warehouse as a DuckLake, measured (docs/scaling.md, issue 12 part 6).

No DuckLake extension installs for DuckDB 2.0 here (``INSTALL ducklake`` downloads from DuckDB's extension
host, which this machine cannot reach), but PyPI carries the extension builds for DuckDB 1.x as wheels
(duckdb-extension-ducklake, duckdb-extension-postgres-scanner). So this makes an isolated environment with
DuckDB 1.5.5 and those wheels (uv, once, cached) and runs benchmarks/ducklake_probe.py there against the
published file, which DuckDB 1.5.5 reads (storage v1.1.0): copy every table into a DuckLake (DuckDB-file
catalog, Parquet data files) and compare row by row; which DDL a DuckLake refuses; publish from the lake with
the same COPY FROM DATABASE regiostat.publish.storage uses; two writer processes at once against a
DuckDB-file catalog and, with ``--postgres``, against a Postgres catalog.

    uv run python -m benchmarks.ducklake                       # the current published warehouse
    uv run python -m benchmarks.ducklake --warehouse W.duckdb --postgres "host=127.0.0.1 port=55432 dbname=lake"
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import child_env

PROBE = Path(__file__).resolve().with_name("ducklake_probe.py")
PACKAGES = ("duckdb==1.5.5", "duckdb-extension-ducklake==1.5.5", "duckdb-extension-postgres-scanner==1.5.5")
DEFAULT_ENV = Path.home() / ".cache" / "regiostat-benchmarks" / "ducklake-1.5.5"


def environment(env_dir: Path, *, offline: bool) -> Path:
    python = env_dir / "bin" / "python"
    check = [str(python), "-c", "import duckdb, duckdb_extension_ducklake, duckdb_extension_postgres_scanner"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv not found: it makes the isolated DuckDB 1.5.5 environment")
    for step in ([uv, "venv", "--quiet", "--python", sys.executable, str(env_dir)],
                 [uv, "pip", "install", "--quiet", "--python", str(python), *(["--offline"] if offline else []),
                  *PACKAGES]):
        subprocess.run(step, check=True, env=child_env())
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ducklake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, help="a published file (default: the current published version)")
    parser.add_argument("--postgres", help="libpq string of an empty Postgres database for the DuckLake catalog")
    parser.add_argument("--env", type=Path, default=DEFAULT_ENV)
    parser.add_argument("--offline", action="store_true", help="install the environment from uv's cache only")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed after)")
    args = parser.parse_args(argv)
    if args.warehouse is None:
        from regiostat.publish.reader import current_version

        args.warehouse = current_version()
    python = environment(args.env, offline=args.offline)
    work = args.work or Path(tempfile.mkdtemp(prefix="regiostat-ducklake-"))
    try:
        command = [str(python), str(PROBE), "--warehouse", str(args.warehouse), "--work", str(work / "lake")]
        done = subprocess.run(command + (["--postgres", args.postgres] if args.postgres else []),
                              capture_output=True, text=True, env=child_env())
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    print(json.dumps(json.loads(done.stdout.strip().splitlines()[-1]), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
