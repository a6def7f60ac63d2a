"""Which vocabulary an archive was read with, and whether a command uses the same one.

``archive add --vocab FILE`` reads reports with a user's merged vocabulary
(``radpilot.reports.uservocab``) and stores its findings; a query names findings of a
vocabulary too. An archive read with one vocabulary and searched with another finds
nothing for the findings only one of them has, and may name a term's finding differently,
so the archive keeps the digest of the vocabulary it was read with (meta key
``vocabulary``) and each command compares:

* ``archive add`` with another vocabulary is refused before anything is written (one
  archive, one reading of its reports);
* ``search`` / ``cohort`` with another one say so in one note, and search.

An archive with no record (older than this, or empty) was read with the packaged one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from radpilot.reports.vocabulary import PACKAGED_DIGEST, Vocabulary
from radpilot.search.models import ArchiveError
from radpilot.search.store import ArchiveStore

META_KEY = "vocabulary"


@dataclass(frozen=True, slots=True)
class VocabularyRecord:
    """What an archive keeps of a vocabulary: its digest and the files merged in."""

    digest: str
    files: tuple[str, ...] = ()

    @classmethod
    def of(cls, vocab: Vocabulary | None) -> VocabularyRecord:
        if vocab is None:
            return cls(PACKAGED_DIGEST)
        return cls(vocab.digest, tuple(where for where, _ in vocab.extensions))

    def describe(self) -> str:
        if self.digest == PACKAGED_DIGEST:
            return "the packaged vocabulary"
        files = ", ".join(self.files) or "a vocabulary file"
        return f"--vocab {files} (digest {self.digest.rsplit('+', 1)[-1]})"


def stored(store: ArchiveStore) -> VocabularyRecord:
    """The vocabulary the archive's reports were read with."""
    raw = store.meta(META_KEY)
    if raw is None:
        return VocabularyRecord(PACKAGED_DIGEST)
    try:
        doc = json.loads(raw)
        return VocabularyRecord(str(doc["digest"]), tuple(str(f) for f in doc.get("files", ())))
    except (ValueError, KeyError, TypeError):
        raise ArchiveError(
            f"{store.location}: the archive's vocabulary record is damaged "
            "(`radpilot archive check`)"
        ) from None


def check_for_add(store: ArchiveStore, vocab: Vocabulary | None) -> None:
    """Refuse (``ArchiveError``, one line) to add with another vocabulary than the one the
    archive's reports were read with; record it for a new archive."""
    want = VocabularyRecord.of(vocab)
    have = stored(store)
    if store.meta(META_KEY) is None and store.stats().reports == 0:
        _record(store, want)
        return
    if have.digest != want.digest:
        raise ArchiveError(
            f"{store.location}: its reports were read with {have.describe()}, this add "
            f"reads with {want.describe()}; nothing was written (use the same vocabulary, "
            "or a new archive with --db)"
        )
    if store.meta(META_KEY) is None:
        _record(store, want)


def mismatch_note(store: ArchiveStore, vocab: Vocabulary | None) -> str | None:
    """One line when a search uses another vocabulary than the archive was read with."""
    want = VocabularyRecord.of(vocab)
    have = stored(store)
    if have.digest == want.digest:
        return None
    return (
        f"the archive was read with {have.describe()}, this search uses {want.describe()}: "
        "findings of one are not in the other (search with the archive's vocabulary)"
    )


def _record(store: ArchiveStore, rec: VocabularyRecord) -> None:
    store.set_meta(META_KEY, json.dumps({"digest": rec.digest, "files": list(rec.files)}))
