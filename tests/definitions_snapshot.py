"""The shape of pipelines.definitions as text: every asset, check, job, schedule and sensor, one per line.

tests/test_definitions.py compares it with the committed tests/snapshots/definitions.txt, so a rename, a
new step or a lost check shows in review. After an intended change, regenerate the file:

    uv run python -m tests.definitions_snapshot
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.txt"
HEADER = ("# pipelines.definitions: every asset (group), check (blocking or warn), job, schedule and sensor.\n"
          "# Regenerate after an intended change: uv run python -m tests.definitions_snapshot\n")


def snapshot_text(defs: dg.Definitions) -> str:
    graph = defs.resolve_asset_graph()
    lines = [f"asset {k.to_user_string()} [{graph.get(k).group_name}]" for k in sorted(graph.get_all_asset_keys())]
    for key in sorted(graph.asset_check_keys):
        spec = graph.get_check_spec(key)
        lines.append(f"check {key.asset_key.to_user_string()} : {key.name} ({'blocking' if spec.blocking else 'warn'})")
    lines += [f"job {j.name}" for j in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name)
              if not j.name.startswith("__")]
    lines += [f"schedule {s.name}" for s in sorted(defs.schedules or [], key=lambda s: s.name)]
    lines += [f"sensor {s.name}" for s in sorted(defs.sensors or [], key=lambda s: s.name)]
    return HEADER + "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pipelines.definitions import make_definitions

    SNAPSHOT.write_text(snapshot_text(make_definitions()))
    print(f"wrote {SNAPSHOT}")
