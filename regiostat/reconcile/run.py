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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from regiostat.indicators.catalogue import Indicator, load_indicators
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
from regiostat.reconcile.consistency import sum_checks
from regiostat.reconcile.model import Claim, Rule
from regiostat.reconcile.proxies import load_proxies
from regiostat.reconcile.rules import RuleTemplate, ground, instantiate, labels, load_rules
from regiostat.reconcile.screen import QKEY, screen
from regiostat.reconcile.sentences import DutchText
from regiostat.reconcile.tables import closest_frame, conflict_frame, decision_frame, rule_frame, verdict_frame
from regiostat.reconcile.warehouse_claims import CLAIM_COLUMNS, claims_frame, claims_of, observation_frame
from regiostat.reconcile.warehouse_claims import rows_read as staged_rows
from regiostat.regions.custom import CustomRegion, load_region_config
from regiostat.regions.hierarchy import PARENT_COLUMNS

SUM_CHECK_TEMPLATES = {"sbi_sections_sum", "kerncijfers_sections_sum", "lisa_fulltime_parttime"}
TABLES = ("candidates", "rules", "conflicts", "decisions", "verdicts", "closest_figures",
          "sum_checks")  # reconcile.<name>


@dataclass(frozen=True)
class Reconciliation:
    tables: dict[str, pl.DataFrame]  # name in TABLES -> rows
    claims: int
    document_claims: int
    rules: int
    complete: bool  # every minimal conflict was listed (else the engine localised the errors by MILP, or greedily)
    engine_claims: int = 0  # the claims the interval engine saw (the rest could only confirm their own figure)
    optimal: bool = True  # the claims dropped are a best correction (False only after a greedy fallback)


def _engine_claims(frame: pl.DataFrame, chosen: pl.DataFrame, templates: Sequence[RuleTemplate],
                   indicators: Mapping[str, Indicator],
                   regions: Sequence[CustomRegion]) -> tuple[list[Claim], list[Rule]]:
    """The claims of the quantities the screen chose, closed over the rules grounded for them. Templates are
    grounded for every (region, period) some claim is about, so every claim at a (region, period) that a
    grounded rule touches joins too (before pruning: a rule pruned here may be kept among all claims), until
    nothing more does: the engine then sees these components exactly as among all the warehouse's claims."""
    memberships = {r.id: r for r in regions}  # members by period: CustomRegion.members_in
    places = frame.select(QKEY).unique()
    while True:
        claims = claims_of(frame.join(chosen, on=QKEY, how="semi"))
        quantities = [c.quantity for c in claims]
        candidates = ground(templates, quantities, indicators=indicators, memberships=memberships)
        touched = pl.DataFrame(sorted({(q.region, q.period) for r in candidates for q in (r.target, *r.inputs)}),
                               schema={"region": pl.String, "period": pl.String}, orient="row")
        more = places.join(touched, on=["region", "period"], how="semi").join(chosen, on=QKEY, how="anti")
        if more.is_empty():
            return claims, instantiate(templates, quantities, indicators=indicators, memberships=memberships)
        chosen = pl.concat([chosen, more])


def rows_read(paths: ProjectPaths) -> tuple[str, list[str]]:
    """The SQL condition (and parameters) on staging.observations of the rows reconcile_warehouse needs."""
    return staged_rows(load_indicators(paths.indicators_toml))


def reconcile_warehouse(paths: ProjectPaths, staged: pl.DataFrame, known_regions: set[str],
                        parents: pl.DataFrame | None = None) -> Reconciliation:
    """Reconcile ``staged`` (staging.observations with each period's year and type) against the claims files.
    ``parents``: core.region_parent, to find the region sets that stand in for a claim's region.

    Raises ClaimsFileError, RuleConfigError or ProxyConfigError naming the file, entry and field when config
    is malformed.
    """
    indicators = load_indicators(paths.indicators_toml)
    regions = load_region_config(paths.regions_toml).regions
    custom = {r.id for r in regions}
    documents = load_claims(paths.claims_dir, known_indicators=set(indicators), known_regions=known_regions | custom,
                            documents_root=paths.documents_dir, require_documents=True)
    templates = load_rules(paths.rules_toml, indicators=indicators)
    proxies = load_proxies(paths.proxies_toml, indicators=set(indicators))
    observed = observation_frame(indicators, staged)
    frame = pl.concat([claims_frame(documents).with_columns(pl.lit(False).alias("is_latest")), observed])
    screened = screen(frame, templates, indicators, custom)
    claims, rules = _engine_claims(frame, screened.engine, templates, indicators, regions)
    ids = [c.claim_id for c in claims]
    latest = set(frame.filter(pl.col("is_latest"), pl.col("claim_id").is_in(ids))["claim_id"])
    names = labels(indicators, regions)
    units = {code: ind.unit for code, ind in indicators.items()}
    result = engine.reconcile(claims, rules, labels=names, units=units)
    verdicts = engine.verdicts(claims, rules, result.decisions, labels=names, units=units)
    places = Regions(regions, parents if parents is not None else pl.DataFrame(schema=PARENT_COLUMNS),
                     proxies.cover_levels)
    wanted_indicators, wanted_regions = relevant(documents, places, proxies, indicators)
    figures = observed.filter(pl.col("is_latest"), pl.col("indicator").is_in(sorted(wanted_indicators)),
                              pl.col("region").is_in(sorted(wanted_regions)))
    search = ClosestSearch(Values(FigureTable.of_frame(figures.with_columns(pl.col("period").cast(pl.Int64)
                                                                            .alias("year"))), indicators),
                           places, proxies)
    nearest = closest_figures(documents, search)
    text = DutchText(rules, names, units=units)
    verdicts = [with_closest(v, nearest.get(v.claim.claim_id, ()), text) for v in verdicts]
    grounded = rule_frame(rules)
    all_rules = pl.concat([grounded, screened.quiet_rules.join(grounded.select("rule_id"), on="rule_id",
                                                               how="anti")]).sort("rule_id")
    tables = {
        "candidates": frame.select(CLAIM_COLUMNS), "rules": all_rules,
        "conflicts": conflict_frame(result.conflicts, claims, latest),
        "decisions": decision_frame([d for d in result.decisions if _shown(d, custom)]),
        "verdicts": verdict_frame(verdicts, indicators), "closest_figures": closest_frame(verdicts),
        "sum_checks": sum_checks(frame, templates, checked=SUM_CHECK_TEMPLATES),
    }
    return Reconciliation(tables, frame.height, len(documents), all_rules.height, result.complete, len(claims),
                          result.optimal)


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
