"""Query words to finding ids, through the report reader's own vocabulary.

Search and ingest share one vocabulary (``radpilot.reports.vocabulary``), so a query
names exactly the findings the reader stored. That is the packaged vocabulary, or a
user's merged one (``--vocab FILE``) for the span of a ``using(vocabulary)`` block:
``archive add --vocab`` reads and stores with it, ``search --vocab`` resolves query words
and subtypes with it. Every function here answers for the vocabulary in use; results
are cached per vocabulary digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from radpilot.reports.vocabulary import Vocabulary

_ACTIVE: ContextVar[Vocabulary | None] = ContextVar("radpilot_search_vocabulary", default=None)


def active() -> Vocabulary:
    """The vocabulary in use: the one of the enclosing ``using`` block, else the packaged."""
    from radpilot.reports import vocabulary

    vocab = _ACTIVE.get()
    return vocab if vocab is not None else vocabulary.load_vocabulary()


@contextmanager
def using(vocab: Vocabulary | None) -> Iterator[None]:
    """Search and analysis inside the block use ``vocab`` (None: the packaged one)."""
    token = _ACTIVE.set(vocab)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@dataclass(frozen=True, slots=True)
class _Keyed:
    """A vocabulary as a cache key: two with one digest have one content."""

    digest: str
    vocab: Vocabulary = field(compare=False, hash=False)


def _key() -> _Keyed:
    vocab = active()
    return _Keyed(vocab.digest, vocab)


def lookup(phrase: str) -> str | None:
    """The finding id a query phrase names (a synonym, or the id itself), else None."""
    vocab = active()
    hit = vocab.lookup(phrase)
    if hit is None:
        key = phrase.strip().lower()
        if key in vocab.findings:
            return key
    return hit


def expand(finding_id: str) -> tuple[str, ...]:
    """See ``_expand``: the finding and its subtypes that share its label."""
    return _expand(_key(), finding_id)


@lru_cache(maxsize=1024)
def _expand(keyed: _Keyed, finding_id: str) -> tuple[str, ...]:
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
    from radpilot.reports.vocabulary import FindingRole

    vocab = keyed.vocab
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


def family(finding_id: str) -> tuple[str, ...]:
    """See ``_family``."""
    return _family(_key(), finding_id)


@lru_cache(maxsize=1024)
def _family(keyed: _Keyed, finding_id: str) -> tuple[str, ...]:
    """The finding, its subtypes (``expand``) and, when its parent rolls up to the same
    label, the parent and the parent's subtypes: "clavicle fracture" -> clavicle
    fracture, fracture, rib fracture, ... (a report whose fracture the reader placed
    at the rib has been read for fractures)."""
    vocab = keyed.vocab
    f = vocab.findings.get(finding_id)
    out = dict.fromkeys(_expand(keyed, finding_id))
    parent = vocab.findings.get(f.parent) if f is not None and f.parent else None
    if f is not None and parent is not None and f.chexpert and parent.chexpert == f.chexpert:
        out.update(dict.fromkeys(_expand(keyed, parent.id)))
    return tuple(out)


def broader(finding_id: str) -> str | None:
    """See ``_broader``."""
    return _broader(_key(), finding_id)


@lru_cache(maxsize=1024)
def _broader(keyed: _Keyed, finding_id: str) -> str | None:
    """The finding a finding is a kind of, where the two roll up to one CheXpert label:
    a PICC is a central line (Support Devices), a rib fracture a fracture, a nodule a
    lung lesion; a cause (``etiology``) and a finding of its own label (atelectasis, a
    kind of lung opacity) have none. A query for the finding may fall back to its
    mentions (``engine``)."""
    from radpilot.reports.vocabulary import FindingRole

    vocab = keyed.vocab
    f = vocab.findings.get(finding_id)
    parent = vocab.findings.get(f.parent) if f is not None and f.parent else None
    if f is None or parent is None or f.chexpert is None or parent.chexpert != f.chexpert:
        return None
    if FindingRole.ETIOLOGY in (f.role, parent.role):
        return None
    return parent.id


def site_children() -> dict[str, tuple[tuple[str, str], ...]]:
    """See ``_site_children`` (of the vocabulary in use)."""
    return _site_children(_key())


def site_children_of(vocab: Vocabulary) -> dict[str, tuple[tuple[str, str], ...]]:
    """See ``_site_children`` (of ``vocab``)."""
    return _site_children(_Keyed(vocab.digest, vocab))


@lru_cache(maxsize=8)
def _site_children(keyed: _Keyed) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per finding, its children that name a site: ``fracture -> (("rib", "rib_fracture"),
    ("clavicle", "clavicle_fracture"))``, derived from the names ("rib fracture" is
    "fracture" at "rib"). The reader may write the general finding with a location
    ("old fracture through the right 8th rib"); that mention is the site child."""
    vocab = keyed.vocab
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
    f = active().findings.get(finding_id)
    return f.name if f else finding_id
