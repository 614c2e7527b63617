"""One reconciliation of the warehouse: every figure as a claim, the rules they obey, what cannot all be
true, a decision per quantity and a verdict per published claim, as the reconcile.* tables.

The claims are every source-backed indicator value in staging (all vintages, one frame built
set-based) and every statement in config/claims; the rules come from config/rules.toml. Sums inside one
source (``SUM_CHECK_TEMPLATES``) are checked set-based over every latest figure (reconcile.sum_checks).
The interval engine sees only what can be decided (regiostat.reconcile.screen): quantities with more
than one claim, documents' claims, custom regions, places where a rule could narrow or reject a figure,
and everything linked to those through a grounded rule; the rest would only confirm its own figure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import duckdb
import polars as pl

from regiostat.indicators.catalogue import Indicator, load_indicators
from regiostat.model.observations import in_batches
from regiostat.paths import ProjectPaths
from regiostat.reconcile import engine
from regiostat.reconcile.claims_file import load_claims
from regiostat.reconcile.closest import (
    ClosestSearch,
    FigureTable,
    Regions,
    Values,
    closest_figures,
    relevant,
    with_closest,
)
from regiostat.reconcile.consistency import SUM_CHECK_SCHEMA, sum_checks
from regiostat.reconcile.model import Claim, Rule
from regiostat.reconcile.proxies import load_proxies
from regiostat.reconcile.rules import RuleTemplate, ground, instantiate, labels, load_rules
from regiostat.reconcile.screen import QKEY, RULE_SCHEMA, screen
from regiostat.reconcile.sentences import DutchText
from regiostat.reconcile.store import ClaimStore
from regiostat.reconcile.tables import closest_frame, conflict_frame, decision_frame, rule_frame, verdict_frame
from regiostat.reconcile.warehouse_claims import (
    basis_condition,
    canonical_region_sql,
    claims_frame,
    claims_of,
    observation_batches,
    source_condition,
)
from regiostat.reconcile.warehouse_claims import rows_read as staged_rows
from regiostat.regions.custom import CustomRegion, load_region_config
from regiostat.regions.hierarchy import PARENT_COLUMNS
from regiostat.sources import registry
from regiostat.warehouse import Spool, drop_spools, registered, write_sorted

SUM_CHECK_TEMPLATES = {"sbi_sections_sum", "kerncijfers_sections_sum", "lisa_fulltime_parttime"}
TABLES = ("candidates", "rules", "conflicts", "decisions", "verdicts", "closest_figures",
          "sum_checks")  # reconcile.<name>


STAGED = "_reconcile_staged"  # the staged rows a run reads: staging.observations with each period's year and type
CLAIM_BATCH = 20_000  # claims per insert into the store
SOURCE_ROWS = 10_000  # staged rows of one indicator source read at once (whole regions)
SCREEN_ROWS = 20_000  # claims per group of periods the screen and the sum checks see at once


@dataclass(frozen=True)
class Reconciliation:
    tables: dict[str, pl.DataFrame]  # name in TABLES -> rows (reconcile_into: the small ones; the rest are written)
    claims: int
    document_claims: int
    rules: int
    complete: bool  # every minimal conflict was listed (else the engine localised the errors by MILP, or greedily)
    engine_claims: int = 0  # the claims the interval engine saw (the rest could only confirm their own figure)
    optimal: bool = True  # the claims dropped are a best correction (False only after a greedy fallback)


WRITTEN = ("candidates", "rules", "sum_checks")  # written by reconcile_into as they are made, never held whole


def _engine_claims(store: ClaimStore, chosen: pl.DataFrame, templates: Sequence[RuleTemplate],
                   indicators: Mapping[str, Indicator],
                   regions: Sequence[CustomRegion]) -> tuple[list[Claim], list[Rule]]:
    """The claims of the quantities the screen chose, closed over the rules grounded for them. Templates are
    grounded for every (region, period) some claim is about, so every claim at a (region, period) that a
    grounded rule touches joins too (before pruning: a rule pruned here may be kept among all claims), until
    nothing more does: the engine then sees these components exactly as among all the warehouse's claims."""
    memberships = {r.id: r for r in regions}  # members by period: CustomRegion.members_in
    while True:
        claims = claims_of(store.of_quantities(chosen))
        quantities = [c.quantity for c in claims]
        candidates = ground(templates, quantities, indicators=indicators, memberships=memberships)
        touched = pl.DataFrame(sorted({(q.region, q.period) for r in candidates for q in (r.target, *r.inputs)}),
                               schema={"region": pl.String, "period": pl.String}, orient="row")
        more = store.quantities_at(touched).join(chosen, on=QKEY, how="anti")
        if more.is_empty():
            return claims, instantiate(templates, quantities, indicators=indicators, memberships=memberships)
        chosen = pl.concat([chosen, more])


def rows_read(paths: ProjectPaths) -> tuple[str, list[str]]:
    """The SQL condition (and parameters) on staging.observations of the rows reconcile_warehouse needs."""
    return staged_rows(load_indicators(paths.indicators_toml))


def reconcile_warehouse(paths: ProjectPaths, staged: pl.DataFrame, known_regions: set[str],
                        parents: pl.DataFrame | None = None) -> Reconciliation:
    """Reconcile ``staged`` (staging.observations with each period's year and type) against the claims files;
    every table as a frame (reconcile_into on an in-memory database). ``parents``: core.region_parent, to find
    the region sets that stand in for a claim's region.

    Raises ClaimsFileError, RuleConfigError or ProxyConfigError naming the file, entry and field when config
    is malformed.
    """
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA reconcile")
        with registered(con, _staged_frame=staged):
            con.execute(f"CREATE TABLE {STAGED} AS SELECT * FROM _staged_frame")  # other cursors read it too
        result = reconcile_into(con, paths, known_regions, parents, staged=STAGED)
        written = {name: con.sql(f"SELECT * FROM reconcile.{name}").pl() for name in WRITTEN}
    finally:
        con.close()
    tables = {**result.tables, **written}
    return replace(result, tables={name: tables[name] for name in TABLES})


def reconcile_into(con: duckdb.DuckDBPyConnection, paths: ProjectPaths, known_regions: set[str],
                   parents: pl.DataFrame | None = None, *, staged: str | None = None) -> Reconciliation:
    """Reconcile the staged rows of ``con`` and write reconcile.candidates, rules and sum_checks into it as they are
    made; the small tables (conflicts, decisions, verdicts, closest_figures) come back as frames. ``staged``: a
    table (or a query in parentheses), not TEMP, of staging.observations with each period's year and period_type
    (default: staging.observations and core.dim_period). Claims, rules and checks pass through TEMP tables of
    ``con`` a batch at a time, so memory does not grow with the warehouse; the result equals reconcile_warehouse's."""
    if staged is None:
        staged = ("(SELECT f.*, p.year, p.period_type FROM staging.observations f "
                  "JOIN core.dim_period p USING (period_code))")
    indicators = load_indicators(paths.indicators_toml)
    regions = load_region_config(paths.regions_toml).regions
    custom = {r.id for r in regions}
    documents = load_claims(paths.claims_dir, known_indicators=set(indicators), known_regions=known_regions | custom,
                            documents_root=paths.documents_dir, require_documents=True)
    templates = load_rules(paths.rules_toml, indicators=indicators)
    proxies = load_proxies(paths.proxies_toml, indicators=set(indicators))
    try:
        store = ClaimStore(con, "reconcile.candidates")
        store.append(claims_frame(documents).with_columns(pl.lit(False).alias("is_latest")))
        for batch in in_batches(_observations(con, staged, indicators), CLAIM_BATCH):
            store.append(batch)
        engine_q, quiet, checks = _screened(con, store, templates, indicators, custom)
        claims, rules = _engine_claims(store, engine_q, templates, indicators, regions)
        latest = store.latest_ids(c.claim_id for c in claims)
        names = labels(indicators, regions)
        units = {code: ind.unit for code, ind in indicators.items()}
        result = engine.reconcile(claims, rules, labels=names, units=units)
        verdicts = engine.verdicts(claims, rules, result.decisions, labels=names, units=units)
        places = Regions(regions, parents if parents is not None else pl.DataFrame(schema=PARENT_COLUMNS),
                         proxies.cover_levels)
        wanted_indicators, wanted_regions = relevant(documents, places, proxies, indicators)
        figures = store.latest_of(wanted_indicators, wanted_regions)
        search = ClosestSearch(Values(FigureTable.of_frame(figures.with_columns(pl.col("period").cast(pl.Int64)
                                                                                .alias("year"))), indicators),
                               places, proxies)
        nearest = closest_figures(documents, search)
        text = DutchText(rules, names, units=units)
        verdicts = [with_closest(v, nearest.get(v.claim.claim_id, ()), text) for v in verdicts]
        store.close()  # its memory to the sorts below
        rule_count = _write_rules(con, rule_frame(rules), quiet)
        write_sorted(con, checks.table, "reconcile.sum_checks",
                     "source NULLS FIRST, region NULLS FIRST, period NULLS FIRST, template NULLS FIRST")
        tables = {
            "conflicts": conflict_frame(result.conflicts, claims, latest),
            "decisions": decision_frame([d for d in result.decisions if _shown(d, custom)]),
            "verdicts": verdict_frame(verdicts, indicators), "closest_figures": closest_frame(verdicts),
        }
        return Reconciliation(tables, store.rows, len(documents), rule_count, result.complete, len(claims),
                              result.optimal)
    finally:
        drop_spools(con)


def _observations(con: duckdb.DuckDBPyConnection, staged: str, indicators: Mapping[str, Indicator]):
    """The warehouse's claims (observation_batches), each source's rows read from ``staged`` when it is claimed,
    ordered by region (in its one spelling) and streamed in pieces of whole regions of about SOURCE_ROWS rows, on a
    connection of its own: the store is written on ``con`` between the pieces."""
    kinds = {r[0] for r in con.execute(f"SELECT DISTINCT source_kind FROM {staged}").fetchall()}
    tables = {r[0] for r in con.execute(f"SELECT DISTINCT table_id FROM {staged}").fetchall()}
    plugins = {s.name: s for s in registry.sources()}

    def read(condition: tuple[str, list[str]] | None) -> pl.DataFrame:
        sql, params = condition or ("FALSE", [])
        return con.sql(f"SELECT * FROM {staged} WHERE {sql}", params=params).pl()

    def pieces(source) -> Iterator[pl.DataFrame]:
        sql, params = source_condition(source)
        if con.execute(f"SELECT count(DISTINCT source_kind) FROM {staged} WHERE {sql}", params).fetchall()[0][0] > 1:
            yield read((sql, params))  # claims go kind by kind over all the source's rows: read them whole
            return
        reader = con.cursor()
        try:
            ordered = reader.sql(f"SELECT *, {canonical_region_sql()} AS _region FROM {staged} WHERE {sql} "
                                 "ORDER BY _region", params=params)
            yield from whole_regions(pl.from_arrow(b) for b in ordered.fetch_record_batch(SOURCE_ROWS))
        finally:
            reader.close()

    return observation_batches(indicators, kinds, tables, pieces, lambda kind: read(basis_condition(plugins[kind])))


def whole_regions(batches: Iterator[pl.DataFrame], region: str = "_region") -> Iterator[pl.DataFrame]:
    """Batches of rows sorted by ``region`` regrouped so that no region is split between two (that column dropped):
    each piece then sorts and sums on its own exactly as within all the rows."""
    held: pl.DataFrame | None = None
    for batch in batches:
        batch = batch if held is None else pl.concat([held, batch], how="vertical")
        if batch.is_empty():
            continue
        last = batch[region][-1]
        done, held = batch.filter(pl.col(region) != last), batch.filter(pl.col(region) == last)
        if not done.is_empty():
            yield done.drop(region)
    if held is not None and not held.is_empty():
        yield held.drop(region)


def _screened(con: duckdb.DuckDBPyConnection, store: ClaimStore, templates: Sequence[RuleTemplate],
              indicators: Mapping[str, Indicator], custom: set[str]) -> tuple[pl.DataFrame, Spool, Spool]:
    """The screen and the sum checks a group of periods at a time (both decide per region and period): the
    quantities the engine must see, and the quiet rules and sum checks written away."""
    signed = store.signed_indicators()
    plans: dict = {}
    quiet = Spool(con, "quiet_rules", RULE_SCHEMA)
    checks = Spool(con, "sum_checks", SUM_CHECK_SCHEMA)
    chosen = [pl.DataFrame(schema={k: pl.String for k in QKEY})]
    columns = [*QKEY, "value", "low", "high", "source_kind", "source", "is_latest"]
    for periods in store.period_groups(SCREEN_ROWS):
        claims = store.of_periods(periods, columns)
        screened = screen(claims, templates, indicators, custom, signed=signed, plans=plans)
        chosen.append(screened.engine)
        quiet.append(screened.quiet_rules)
        checks.append(sum_checks(claims, templates, checked=SUM_CHECK_TEMPLATES))
    return pl.concat(chosen).unique(), quiet, checks


def _write_rules(con: duckdb.DuckDBPyConnection, grounded: pl.DataFrame, quiet: Spool) -> int:
    """reconcile.rules: the rules grounded for the engine and the quiet groups' instances, by rule id."""
    with registered(con, _grounded=grounded):
        con.execute(f"DELETE FROM {quiet.table} q WHERE q.rule_id IN (SELECT rule_id FROM _grounded)")
        con.execute(f"INSERT INTO {quiet.table} BY NAME SELECT * FROM _grounded")
    return write_sorted(con, quiet.table, "reconcile.rules", "rule_id NULLS FIRST")


def _shown(d, custom: set[str]) -> bool:
    """Decisions worth a row: something was rejected, explained or warned about, a custom region, or a document."""
    return bool(d.rejected or d.causes or d.warnings or d.quantity.region in custom
                or any(c.source_kind == "document" for c in d.kept))


# -- what the checks ask of the tables ---------------------------------------------------------------

def violations_inside_one_source(conflicts: pl.DataFrame, checks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Conflicts inside one source in the figures the marts show (revisions aside), and violated sum checks."""
    bad = conflicts.filter(pl.col("within_one_source"), pl.col("in_latest_figures"),
                           ~pl.col("causes").list.contains("revision"))
    return (bad.select("conflict_id", "sources", "region", "period", "rule_ids", "gap", "claim_ids"),
            checks.filter(pl.col("violation")))


def conflicts_by_cause(conflicts: pl.DataFrame) -> pl.DataFrame:
    """How many sets of figures cannot all be true, per combination of causes, largest first."""
    return (conflicts.group_by("causes").agg(pl.len().alias("conflicts"), pl.col("gap").max().alias("largest_gap"))
            .sort("conflicts", descending=True, maintain_order=True))


def conflicts_summary(by_cause: pl.DataFrame, contradicted: int) -> str:
    causes = ", ".join(f"{r['conflicts']} {'+'.join(r['causes'])}" for r in by_cause.to_dicts())
    return (f"{by_cause['conflicts'].sum()} sets of figures cannot all be true ({causes}); "
            f"{contradicted} published claims contradicted. "
            "See reconcile.conflicts, reconcile.decisions and reconcile.verdicts.")
