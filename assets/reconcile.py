"""Reconciliation: every figure (warehouse observation or published claim) as a claim, the rules they obey,
conflicts, a decision per quantity with its reason, and a verdict per published claim."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.checks import WRITER_POOL, preview, split_checks, table_checks
from pipelines.resources import RegiostatSettings
from regiostat import warehouse
from regiostat.paths import ProjectPaths
from regiostat.reconcile import run

RECONCILIATION = dg.AssetKey(["reconcile", "reconciliation"])


@dg.asset(key=RECONCILIATION, deps=[dg.AssetKey(["staging", "observations"]), dg.AssetKey(["core", "dim_region"]),
                                    dg.AssetKey(["core", "dim_period"]), dg.AssetKey(["core", "custom_region"]),
                                    dg.AssetKey(["core", "region_parent"])],
          group_name="reconcile", kinds={"duckdb", "python"}, pool=WRITER_POOL,
          description="Every figure of every source (all vintages) and every published claim in config/claims as a "
                      "claim with its precision interval; the rules of config/rules.toml; the minimal conflicts; a "
                      "figure held per quantity with a sentence saying why; a verdict per published claim beside "
                      "the closest real figure; and violations inside one source beyond rounding (reconcile.* "
                      "tables).")
def reconciliation(settings: RegiostatSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        known = set(warehouse.read_table(con, "core.dim_region")["region_code"])
        parents = warehouse.read_table(con, "core.region_parent")
        con.execute("CREATE SCHEMA IF NOT EXISTS reconcile")
        try:  # candidates, rules and sum checks are written as they are made: national scale never sits in memory
            result = run.reconcile_into(con, settings.paths, known, parents)
        except ValueError as exc:  # a malformed claims file or rule, named with its field
            raise dg.Failure(str(exc)) from exc
        for name, frame in result.tables.items():
            warehouse.create_table_from(con, f"reconcile.{name}", frame)
        checks, violations, largest = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE violation), coalesce(max(abs(difference)), 0) "
            "FROM reconcile.sum_checks").fetchall()[0]
    verdicts = result.tables["verdicts"]
    counts = verdicts.group_by("verdict").len()
    return dg.MaterializeResult(metadata={
        "claims": result.claims, "document_claims": result.document_claims, "rules": result.rules,
        "claims_seen_by_the_engine": result.engine_claims, "drops_optimal": result.optimal,
        "conflicts": result.tables["conflicts"].height, "conflicts_complete": result.complete,
        "verdicts": dg.MetadataValue.json(dict(zip(counts["verdict"], counts["len"], strict=True))),
        "decisions_shown": result.tables["decisions"].height,
        "sum_checks": checks, "sum_check_violations": violations, "largest_sum_difference": float(largest),
        "preview": preview(verdicts.select("claim_id", "verdict", "sentence")),
    })


@dg.asset_check(asset=RECONCILIATION, name="no_violation_inside_one_source", blocking=True, pool=WRITER_POOL,
                description="ERROR: in the figures the marts show (latest vintages), no source contradicts itself "
                            "beyond rounding (e.g. SBI sections that do not add up to the total).")
def no_violation_inside_one_source(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        conflicts = warehouse.read_table(con, "reconcile.conflicts")
        violated = warehouse.read_table(con, "reconcile.sum_checks", where={"violation": True})  # only these count
        bad, sums = run.violations_inside_one_source(conflicts, violated)
    superseded = conflicts.filter("within_one_source", ~conflicts["in_latest_figures"]).height
    return dg.AssetCheckResult(passed=bad.is_empty() and sums.is_empty(), metadata={
        "violations": bad.height, "sum_check_violations": sums.height,
        "violations_in_superseded_vintages": superseded,
        "failure_cases": dg.MetadataValue.json(bad.head(25).to_dicts() + sums.head(25).to_dicts())})


@dg.asset_check(asset=RECONCILIATION, name="conflicts_between_figures", pool=WRITER_POOL,
                description="WARN: figures that cannot all be true (revisions, definitions, published claims that "
                            "the data or each other contradict); see reconcile.conflicts and reconcile.decisions.")
def conflicts_between_figures(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        by_cause = run.conflicts_by_cause(warehouse.read_table(con, "reconcile.conflicts"))
        verdicts = warehouse.read_table(con, "reconcile.verdicts")
    contradicted = verdicts.filter(verdicts["verdict"] == "contradicted").select("claim_id", "sentence")
    return dg.AssetCheckResult(
        passed=by_cause.is_empty(), severity=dg.AssetCheckSeverity.WARN,
        metadata={"summary": dg.MetadataValue.text(run.conflicts_summary(by_cause, contradicted.height)),
                  "conflicts_by_cause": dg.MetadataValue.json(
                      [{**r, "causes": list(r["causes"])} for r in by_cause.to_dicts()]),
                  "contradicted_claims": dg.MetadataValue.json(contradicted.to_dicts())})


def definitions(paths: ProjectPaths) -> dg.Definitions:
    return split_checks([reconciliation, table_checks(RECONCILIATION, [f"reconcile.{t}" for t in run.TABLES]),
                         no_violation_inside_one_source, conflicts_between_figures])
