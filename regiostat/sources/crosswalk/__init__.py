"""Municipality-COROP lists (CBS Gebieden in Nederland) as a source of region memberships."""
