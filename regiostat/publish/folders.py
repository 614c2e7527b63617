"""Replacing a whole output folder (an export, the profile site) so a reader sees the old one or the new one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def swap_folder(staging: Path, out: Path) -> None:
    """Put ``staging`` in place of ``out``: the old folder aside, the new one in, then delete the old. Each rename
    is atomic; between them ``out`` is briefly missing, never half written."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
