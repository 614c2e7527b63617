"""The bundled landing zone is reproducible: scripts/build_bundled_landing.py rebuilds it byte for byte
(files and manifest) from the shared data folder it was copied from."""

import hashlib

import pytest

from tests.conftest import BUNDLED, REPO

SHARED = REPO.parent / "shared" / "data"


def digests(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder not present")
def test_the_bundled_landing_zone_is_rebuilt_byte_for_byte_from_the_shared_data(tmp_path):
    from scripts.build_bundled_landing import build

    zone = build(SHARED, tmp_path / "landing")
    assert len(zone.entries()) == 35
    assert {e.table_id for e in zone.entries()} == {"03759NED", "83582NED", "83583NED", "70072NED", "81578NED",
                                                     "81575NED", "84799NED", "GEBIEDEN2024"}
    assert digests(tmp_path / "landing") == digests(BUNDLED)
