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

    Descendants whose vocabulary role is ``etiology`` are left out: "infection" sits
    under pneumonia because it rolls up to that label, but "consistent with infection"
    names a cause, not the disease seen (the radpilot label policy drops it for the same
    reason), so "pneumonia" finds pneumonia and its subtypes, and "infection" finds
    infection.
    """
    from radpilot.reports import vocabulary
    from radpilot.reports.vocabulary import FindingRole

    vocab = vocabulary.load_vocabulary()
    root = vocab.findings.get(finding_id)
    if root is None:
        return (finding_id,)
    out = [finding_id]
    for f in vocab:
        if f.id == finding_id or finding_id not in vocab.ancestors(f.id):
            continue
        if f.role is FindingRole.ETIOLOGY and root.role is not FindingRole.ETIOLOGY:
            continue
        if root.chexpert is None or f.chexpert == root.chexpert:
            out.append(f.id)
    return tuple(out)


@lru_cache(maxsize=256)
def family(finding_id: str) -> tuple[str, ...]:
    """The finding, its subtypes (``expand``) and, when its parent rolls up to the same
    label, the parent and the parent's subtypes: "clavicle fracture" -> clavicle
    fracture, fracture, rib fracture, ... (a report whose fracture the reader placed
    at the rib has been read for fractures)."""
    from radpilot.reports import vocabulary

    vocab = vocabulary.load_vocabulary()
    f = vocab.findings.get(finding_id)
    out = dict.fromkeys(expand(finding_id))
    parent = vocab.findings.get(f.parent) if f is not None and f.parent else None
    if f is not None and parent is not None and f.chexpert and parent.chexpert == f.chexpert:
        out.update(dict.fromkeys(expand(parent.id)))
    return tuple(out)


@lru_cache(maxsize=1)
def site_children() -> dict[str, tuple[tuple[str, str], ...]]:
    """Per finding, its children that name a site: ``fracture -> (("rib", "rib_fracture"),
    ("clavicle", "clavicle_fracture"))``, derived from the names ("rib fracture" is
    "fracture" at "rib"). The reader may write the general finding with a location
    ("old fracture through the right 8th rib"); that mention is the site child."""
    from radpilot.reports import vocabulary

    vocab = vocabulary.load_vocabulary()
    out: dict[str, list[tuple[str, str]]] = {}
    for f in vocab:
        parent = vocab.findings.get(f.parent) if f.parent else None
        if parent is None or parent.chexpert != f.chexpert:
            continue
        if f.name.endswith(" " + parent.name):
            site = f.name[: -len(parent.name)].strip().lower()
            out.setdefault(parent.id, []).append((site, f.id))
    return {k: tuple(v) for k, v in out.items()}


def name(finding_id: str) -> str:
    from radpilot.reports import vocabulary

    f = vocabulary.load_vocabulary().findings.get(finding_id)
    return f.name if f else finding_id
