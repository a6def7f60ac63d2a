"""Query words to finding ids, through the report reader's own vocabulary.

Search and ingest share one vocabulary (``radpilot.reports.vocabulary``), so a query
names exactly the findings the reader stored.
"""

from __future__ import annotations

from functools import lru_cache


def lookup(phrase: str) -> str | None:
    """The finding id a query phrase names (a synonym, or the id itself), else None."""
    from radpilot.reports import vocabulary

    hit = vocabulary.lookup(phrase)
    if hit is None:
        key = phrase.strip().lower()
        if key in _ids():
            return key
    return hit


@lru_cache(maxsize=1)
def _ids() -> frozenset[str]:
    from radpilot.reports import vocabulary

    return frozenset(f.id for f in vocabulary.findings())


@lru_cache(maxsize=256)
def expand(finding_id: str) -> tuple[str, ...]:
    """The finding and its descendants that roll up to the same CheXpert label.

    "lung opacity" also finds "airspace disease" and "infiltrate" (both Lung Opacity),
    but not "atelectasis" (its own label); a finding without a label takes all of its
    descendants ("bone abnormality" finds "scoliosis").
    """
    from radpilot.reports import vocabulary

    vocab = vocabulary.load_vocabulary()
    root = vocab.findings.get(finding_id)
    if root is None:
        return (finding_id,)
    out = [finding_id]
    for f in vocab:
        if f.id == finding_id or finding_id not in vocab.ancestors(f.id):
            continue
        if root.chexpert is None or f.chexpert == root.chexpert:
            out.append(f.id)
    return tuple(out)


def name(finding_id: str) -> str:
    from radpilot.reports import vocabulary

    f = vocabulary.load_vocabulary().findings.get(finding_id)
    return f.name if f else finding_id
