"""Where the files regiostat ships live: config, warehouse SQL, bundled data and documents.

This is the one place that decides. A source checkout reads the repository's own folders; an
installed wheel reads the copies shipped inside the package (``regiostat/_shipped/``, see
``[tool.hatch.build.targets.wheel.force-include]``). Every loader takes a path from here, so a
config folder can also be pointed elsewhere (``REGIOSTAT_PROJECT_DIR``) without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

SHIPPED = "_shipped"


@dataclass(frozen=True)
class ProjectPaths:
    """The shipped folders under one root (a checkout, or the package's ``_shipped`` copy)."""

    root: Path

    @classmethod
    def default(cls) -> ProjectPaths:
        package = Path(str(resources.files("regiostat")))
        shipped = package / SHIPPED
        return cls(shipped if shipped.is_dir() else package.parent)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def tables_toml(self) -> Path:
        return self.config_dir / "tables.toml"

    @property
    def indicators_toml(self) -> Path:
        return self.config_dir / "indicators.toml"

    @property
    def regions_toml(self) -> Path:
        return self.config_dir / "regions.toml"

    @property
    def rules_toml(self) -> Path:
        return self.config_dir / "rules.toml"

    @property
    def proxies_toml(self) -> Path:
        return self.config_dir / "proxies.toml"

    @property
    def claims_dir(self) -> Path:
        return self.config_dir / "claims"

    @property
    def sql_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def schema_sql(self) -> Path:
        return self.sql_dir / "schema.sql"

    @property
    def marts_dir(self) -> Path:
        return self.sql_dir / "marts"

    @property
    def views_dir(self) -> Path:
        return self.sql_dir / "views"

    @property
    def bundled_landing_dir(self) -> Path:
        return self.root / "data" / "bundled" / "landing"

    @property
    def bundled_lisa_dir(self) -> Path:
        return self.root / "data" / "bundled" / "lisa"

    @property
    def documents_dir(self) -> Path:
        return self.root / "data" / "documents"

    @property
    def geo_dir(self) -> Path:
        """CBS municipal boundaries (simplified TopoJSON) the profile site draws its maps from."""
        return self.root / "data" / "geo"
