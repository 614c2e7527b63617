"""Claims documents are read only from the documents folder (issue 13 part 7).

A claims file is written by hand; its ``document`` path named a file outside the documents folder and
the loader read it (here: a "secret" file whose text matches the quote, so the claim loaded as if the
document said so). Now such a path is refused, naming the claims file, the claim and the field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regiostat.reconcile.claims_file import ClaimsFileError
from tests.test_claims_file import DOC_TEXT, GOOD, load, write_claims


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    """(documents folder, a file outside it holding text that would satisfy the quote)."""
    documents = tmp_path / "documents"
    (documents / "seeds").mkdir(parents=True)
    (documents / "seeds" / "doc.txt").write_text(DOC_TEXT, encoding="utf-8")
    secret = tmp_path / "private" / "notes.txt"
    secret.parent.mkdir()
    secret.write_text(DOC_TEXT, encoding="utf-8")
    (documents / "seeds" / "link.txt").symlink_to(secret)
    return documents, secret


@pytest.mark.parametrize("style", ["dot-dot", "absolute", "symlink", "dot-dot-inside"])
def test_a_document_path_cannot_leave_the_documents_folder(tmp_path, folders, style, fault_ledger):
    documents, secret = folders
    path = {"dot-dot": "../private/notes.txt", "absolute": str(secret), "symlink": "seeds/link.txt",
            "dot-dot-inside": "seeds/../seeds/doc.txt"}[style]  # inside, but not a plain path
    claims = write_claims(tmp_path / "claims.toml", [GOOD | {"document": path}])

    with pytest.raises(ClaimsFileError) as err:
        load(claims, documents_root=documents, require_documents=True)

    assert GOOD["id"] in err.value.claim and err.value.field == "document" and str(claims) in str(err.value)
    assert "documents folder" in str(err.value)
    fault_ledger.record(fault=f"claims file document path leaving the documents folder ({style})",
                        outcome="refused", detail="ClaimsFileError naming file, claim and field; nothing read")


def test_a_document_inside_the_folder_still_loads(tmp_path, folders):
    documents, _ = folders
    [claim] = load(write_claims(tmp_path / "claims.toml", [GOOD]), documents_root=documents, require_documents=True)
    assert claim.source == "seeds/doc.txt" and claim.value == 118000
