"""Strict keys for config/*.toml: every table of a config file lists the keys it may hold.

A misspelt or unsupported key is not a harmless extra: the loader would drop it and the figure it
was meant to shape would silently come out wrong or empty (an indicator's ``role`` was dropped this
way). So each loader states its tables' keys here, in one place per file, and an unknown key stops
the run naming the file, the entry and the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path


class ConfigError(ValueError):
    """A config file (config/*.toml) is malformed or wired to something that does not exist; the message names
    the file, the entry and the key. Each loader raises its own subclass."""


def check_keys(file: Path | str, entry: str, raw: object, allowed: Iterable[str],
               error: type[ValueError] = ConfigError) -> None:
    """Refuse a table with a key outside ``allowed``, or a value that is not a table at all."""
    allowed = tuple(allowed)
    if not isinstance(raw, Mapping):
        raise error(f"{file}: {entry}: expected a table of keys ({', '.join(allowed)}), got {raw!r}")
    for key in raw:
        if key not in allowed:
            raise error(f"{file}: {entry}: unknown key {key!r} (allowed: {', '.join(allowed)})")


def check_file_keys(file: Path | str, data: Mapping, allowed: Iterable[str],
                    error: type[ValueError] = ConfigError) -> None:
    """The top level of a config file: only its known tables and arrays of tables."""
    check_keys(file, "top level", data, allowed, error)
