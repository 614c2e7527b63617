"""An installed wheel carries its config, SQL and bundled data: it builds the warehouse outside any checkout.

Offline: the wheel goes into a fresh venv without dependencies; the dependencies come from this
test's own environment through a .pth line (a plain path entry, so the checkout's editable install
is not picked up), and the build runs in a temp folder with the checkout nowhere on sys.path.
"""

import shutil
import site
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import REPO


def test_wheel_installed_outside_the_checkout_builds_the_bundled_warehouse(tmp_path):
    uv = shutil.which("uv")
    assert uv, "uv is on PATH wherever the suite runs (.ci/run installs it)"
    dist = tmp_path / "dist"
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(dist), str(REPO)], check=True, capture_output=True)
    wheel = next(dist.glob("regiostat-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([uv, "pip", "install", "--offline", "--no-deps", "--python", str(python), str(wheel)],
                   check=True, capture_output=True)
    (target / "zz_regiostat_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "REGIOSTAT_HOME": str(work / "var")}
    located = subprocess.run([python, "-c", "import regiostat.paths as p; print(p.ProjectPaths.default().root)"],
                             cwd=work, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert located.startswith(str(target)) and located.endswith("regiostat/_shipped"), located

    build = subprocess.run([venv / "bin" / "regiostat", "build"], cwd=work, env=env, capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    published = work / "warehouse" / "regional.duckdb"
    con = duckdb.connect(str(published), read_only=True)
    try:
        value = con.execute("SELECT employee_jobs FROM marts.jobs_by_sector_region_year WHERE region_code = 'CR08' "
                            "AND year = 2020 AND sector_code = 'T001081'").fetchall()
        bare = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name IN ('marts', 'core', 'reconcile') "
                           "AND comment IS NULL").fetchall()  # the docs TOMLs ship too
    finally:
        con.close()
    assert value == [(62200.0,)]
    assert bare == [(0,)]
