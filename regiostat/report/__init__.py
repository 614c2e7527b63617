"""The regional profile site: static pages per region, built from the PUBLISHED warehouse.

``write_site(published_path, out_dir, regions=None, paths=...)`` is the one entry point (the CLI's
``regiostat report`` and a Dagster asset call it). The package reads the warehouse read-only, builds a
page model per region (key figures, Vega-Lite chart specs, a map, document claims), renders HTML and
copies the vendored JavaScript once into the site. No Dagster import here.
"""

from regiostat.report.site import SiteSummary, write_site

__all__ = ["SiteSummary", "write_site"]
