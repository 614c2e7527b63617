"""regiostat: Dutch regional statistics into a DuckDB warehouse.

``regiostat.connect()`` opens the published warehouse read-only at its current version (see
``regiostat.publish.reader``); the rest of the library is imported from its modules.
"""

from regiostat.publish.reader import connect, current_version

__all__ = ["connect", "current_version"]
