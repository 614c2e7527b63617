"""pandera (polars) models for every table the warehouse publishes, found by table name.

Each model names its table in ``Config.name`` (e.g. ``"core.fact_observation"``); ``schema_for``
finds it, so a table's checks need no list to be registered in. One module per layer: raw, staging,
core, marts, reconcile.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import pandera.polars as pa


@cache
def table_schemas() -> dict[str, type[pa.DataFrameModel]]:
    """Table name -> model, over every module of this package."""
    out: dict[str, type[pa.DataFrameModel]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            name = getattr(getattr(obj, "__config__", None), "name", None)
            if isinstance(obj, type) and issubclass(obj, pa.DataFrameModel) and name and "." in name:
                if out.get(name, obj) is not obj:
                    raise TypeError(f"two pandera models claim table {name}: {out[name].__name__}, {obj.__name__}")
                out[name] = obj
    return out


def schema_for(table: str) -> type[pa.DataFrameModel]:
    """The model of ``table`` ("schema.name"); a table without one is an error, never an unchecked table."""
    try:
        return table_schemas()[table]
    except KeyError:
        raise KeyError(f"{table} has no pandera model: add one to schemas/{table.split('.')[0]}.py with "
                       f"Config.name = {table!r}") from None
