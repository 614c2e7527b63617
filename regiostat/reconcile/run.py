"""One reconciliation of the warehouse: every figure as a claim, the rules they obey, what cannot all be
true, a decision per quantity and a verdict per published claim, as the reconcile.* tables.

The claims are every source-backed indicator value in staging (all vintages) and every statement in
config/claims; the rules come from config/rules.toml. ``SUM_CHECK_TEMPLATES`` are the rules whose
instances are parts against a total inside one source, listed one by one in reconcile.sum_checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from regiostat.indicators.catalogue import load_indicators
from regiostat.paths import ProjectPaths
from regiostat.reconcile import engine
from regiostat.reconcile.claims_file import load_claims
from regiostat.reconcile.closest import ClosestSearch, FigureTable, Regions, Values, closest_figures, with_closest
from regiostat.reconcile.consistency import sum_checks
from regiostat.reconcile.proxies import load_proxies
from regiostat.reconcile.rules import instantiate, labels, load_rules
from regiostat.reconcile.sentences import DutchText
from regiostat.reconcile.tables import closest_frame, conflict_frame, decision_frame, rule_frame, verdict_frame
from regiostat.reconcile.warehouse_claims import claims_frame, observation_claims
from regiostat.regions.custom import load_region_config
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
    complete: bool  # the conflict search finished (else it was cut short and says so)


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
    observed, latest = observation_claims(indicators, staged)
    claims = documents + observed
    rules = instantiate(templates, [c.quantity for c in claims], indicators=indicators,
                        memberships={r.id: r.members for r in regions})
    names = labels(indicators, regions)
    units = {code: ind.unit for code, ind in indicators.items()}
    result = engine.reconcile(claims, rules, labels=names, units=units)
    verdicts = engine.verdicts(claims, rules, result.decisions, labels=names, units=units)
    proxies = load_proxies(paths.proxies_toml, indicators=set(indicators))
    search = ClosestSearch(Values(FigureTable.of_claims(observed, latest), indicators),
                           Regions({r.id: r.members for r in regions}, {r.id: r.name for r in regions},
                                   parents if parents is not None else pl.DataFrame(schema=PARENT_COLUMNS),
                                   proxies.cover_levels), proxies)
    nearest = closest_figures(documents, search)
    text = DutchText(rules, names, units=units)
    verdicts = [with_closest(v, nearest.get(v.claim.claim_id, ()), text) for v in verdicts]
    tables = {
        "candidates": claims_frame(claims), "rules": rule_frame(rules),
        "conflicts": conflict_frame(result.conflicts, claims, latest),
        "decisions": decision_frame([d for d in result.decisions if _shown(d, custom)]),
        "verdicts": verdict_frame(verdicts, indicators), "closest_figures": closest_frame(verdicts),
        "sum_checks": sum_checks(rules, claims, latest, templates=SUM_CHECK_TEMPLATES),
    }
    return Reconciliation(tables, len(claims), len(documents), len(rules), result.complete)


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
