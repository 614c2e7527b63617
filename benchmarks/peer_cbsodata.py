"""The peer: what a user would do instead of regiostat. cbsodata 1.3.5 get_data + pandas -> a DuckDB table.

Runs in its own virtual environment (cbsodata, pandas and duckdb only; benchmarks/scale.py makes it
with uv), never in regiostat's, so it imports nothing from this repository. cbsodata speaks v3
only: it reads the table's service document from the ODataFeed, every entity set it lists, and
the TypedDataSet through odata.nextLink, then replaces dimension keys by their titles.

    <env>/bin/python benchmarks/peer_cbsodata.py --host 127.0.0.1:PORT --table 83582NED --db out.duckdb
"""

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True, help="host:port of the v3 server (plain http)")
    parser.add_argument("--table", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    import cbsodata
    import duckdb
    import pandas as pd

    cbsodata.options.use_https = False
    data = cbsodata.get_data(args.table, catalog_url=args.host)
    frame = pd.DataFrame(data)
    con = duckdb.connect(args.db)
    con.register("frame", frame)
    con.execute("CREATE OR REPLACE TABLE observations AS SELECT * FROM frame")
    rows = con.execute("SELECT count(*) FROM observations").fetchone()[0]
    con.close()
    print(json.dumps({"rows": rows, "cbsodata": cbsodata.__version__ if hasattr(cbsodata, "__version__") else "",
                      "pandas": pd.__version__, "duckdb": duckdb.__version__,
                      "inner_s": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
