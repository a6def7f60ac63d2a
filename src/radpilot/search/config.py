"""The search package's data files, as strict ``radpilot.datafiles`` models.

``query_words.json`` holds what only the query language needs (change words, stopwords);
laterality words come from the report reader's ``modifiers.json``, so a query says "left"
the way a report does. ``ranking.json`` holds the ranking weights. Unknown keys are
errors naming the file, the key path and the allowed keys; each file's JSON Schema sits
beside it.

>>> ranking().status_base.present
1.0
>>> query_words().laterality["left sided"].value, query_words().change["unchanged"].value
('left', 'stable')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.errors import VocabularyError
from radpilot.reports.models import Change, Hedge, Laterality


class QueryWordsFile(DataDocument):
    """``query_words.json``: the query language's own words."""

    change: dict[Change, list[str]] = Field(
        description="Canonical change value -> words a query writes for it ('worsening')."
    )
    stopwords: list[str] = Field(description="Words dropped from a query's free text.")
    same_locations: dict[str, list[str]] = Field(
        default_factory=dict,
        description="A location a query names -> the reader's locations that name the same "
        "part of the lung in other words ('basilar' -> 'lower lobe': the bases are the lower "
        "lobes on a radiograph): they answer it as the location as written does.",
    )
    near_locations: dict[str, list[str]] = Field(
        default_factory=dict,
        description="A location a query names (the reader's canonical names, modifiers.json) "
        "-> the reader's locations that answer it too, a part of it ('upper lobe' -> "
        "'apical'): free words of a finding query that name a location prefer mentions at "
        "it, and at the location as written (or a same location) before one near it.",
    )
    derived_endings: dict[str, list[str]] = Field(
        default_factory=dict,
        description="A word ending -> endings of the other forms of the word a report "
        "writes for the same thing: adjectives and participles ('emphysema' -> "
        "'emphysematous', 'calcification' -> 'calcified') and the noun of an adjective "
        "('aortic' -> 'aorta'): a mention in such a form names the query's finding literally.",
    )
    organ_words: list[str] = Field(
        default_factory=list,
        description="Words of a finding term that name the organ the finding is in "
        "('lungs' of 'hyperlucent lungs', 'pulmonary'): most of the finding's mentions are "
        "there, so in the word share such a word counts half of the finding's own words.",
    )
    each_side_words: list[str] = Field(
        default_factory=list,
        description="Side words of the reader's modifiers.json (bilateral ones) that name a "
        "site on each side ('bibasilar': both bases): a mention written with one is on the "
        "left and on the right as well as bilateral, so 'left basilar atelectasis' finds "
        "'bibasilar atelectasis' (stored with the mention at ingest: re-ingest or migrate "
        "after a change).",
    )

    joined_prefixes: list[str] = Field(
        default_factory=list,
        description="Prefixes a report joins to a finding's word without changing what it "
        "names ('dextro', 'levo': 'dextroscoliosis' is a scoliosis written with its side): "
        "in the word share a mention so written holds the query's word ('thoracic "
        "scoliosis' is answered by 'dextroscoliosis of the thoracic spine').",
    )
    degrees: dict[str, list[str]] = Field(
        default_factory=dict,
        description="A severity a query word names (the reader's canonical severities, "
        "modifiers.json: 'mildly' is 'mild') -> the severities whose words answer it in "
        "the sentence of a matching mention ('mild' -> 'mild', 'trace': a mild finding "
        "asked is a minimal or slight one too). Ranked after the place asked, before the "
        "finding's own words, as the reader's attribute it is. A severity not listed "
        "('severe', whose words hold 'dense' and 'prominent') stays a plain free word.",
    )
    count_words: list[str] = Field(
        default_factory=list,
        description="Words that say a finding is more than one ('multiple', 'several'): a "
        "query word among them is answered, as a degree is, by a matching mention whose "
        "sentence writes one of these words ('multifocal' too) or, ranked after it, whose "
        "head word is the query's in the plural ('calcified granulomas').",
    )
    compound_words: dict[str, list[str]] = Field(
        default_factory=dict,
        description="A word a report writes for two places joined ('thoracolumbar') -> "
        "the place words it joins ('thoracic', 'lumbar'): a query's free word among them "
        "('lumbar scoliosis') is written by the compound too.",
    )


class Weights(DataModel):
    finding: float = Field(ge=0, description="Weight of the stored finding score.")
    lexical: float = Field(ge=0, description="Weight of the free-word score.")
    semantic: float = Field(ge=0, description="Weight of the embedding cosine.")
    similar_findings: float = Field(
        ge=0, description="`similar` with embeddings: weight of the present-finding Jaccard."
    )


class StatusBase(DataModel):
    present: float
    uncertain: float


class Bonus(DataModel):
    impression: float
    per_extra_mention: float
    max_extra_mentions: int = Field(ge=0)
    historical_penalty: float
    literal: float


class HedgeBonus(DataModel):
    probable: float
    possible: float
    alternative: float
    hypothesis: float = Field(
        description="Added when the label policy keeps none of the finding's hedged mentions."
    )

    def of(self, hedge: Hedge | None) -> float:
        # A hedge kind the reader adds later weighs nothing until it is given a weight here.
        return float(getattr(self, hedge.value, 0.0)) if hedge is not None else 0.0


class RankingFile(DataDocument):
    """``ranking.json``: how search ranks (see ``data/README.md``)."""

    weights: Weights
    status_base: StatusBase
    bonus: Bonus
    hedge: HedgeBonus
    candidates: int = Field(ge=1, description="Reports each index proposes before ranking.")
    words_rerank: int = Field(
        ge=1,
        description="A finding query's best candidates (certainty tier, then score) that are "
        "read for the query's own words (stated phrase, word share) and reordered by them; at "
        "least five pages.",
    )
    semantic_scan_max: int = Field(
        ge=0, description="Above this many vectors, embeddings re-rank but do not propose."
    )


QUERY_WORDS = DataFile("radpilot.search", "data/query_words.json", QueryWordsFile)
RANKING = DataFile("radpilot.search", "data/ranking.json", RankingFile)


@dataclass(frozen=True, slots=True)
class QueryWords:
    """Written phrase (normalised as the reader normalises) -> canonical value."""

    laterality: dict[str, Laterality]
    change: dict[str, Change]
    stopwords: frozenset[str]
    longest_laterality: int  # words in the longest laterality phrase
    locations: dict[str, str]  # the reader's location phrases -> canonical location
    same_locations: dict[str, frozenset[str]]  # canonical -> locations naming it otherwise
    near_locations: dict[str, frozenset[str]]  # canonical -> locations that answer it too
    derived_endings: tuple[tuple[str, tuple[str, ...]], ...]  # ending -> derived endings
    each_side_words: frozenset[str]  # bilateral side words that are a site on each side
    organ_words: frozenset[str]  # a finding term's words naming its organ: they count half
    joined_prefixes: tuple[str, ...]  # "dextro": "dextroscoliosis" holds "scoliosis"
    degrees: dict[str, frozenset[str]]  # a severity word -> the severity words answering it
    count_words: frozenset[str]  # "multiple", "several": a finding more than one
    compounds: dict[str, tuple[str, ...]]  # a place word -> the compounds that write it


@lru_cache(maxsize=1)
def query_words() -> QueryWords:
    from radpilot.reports.rules import modifiers
    from radpilot.reports.vocabulary import normalize_term

    doc = QUERY_WORDS.load()
    lat = {normalize_term(k): Laterality(v) for k, v in modifiers().laterality.items()}
    odd = [w for w in doc.each_side_words if lat.get(normalize_term(w)) is not Laterality.BILATERAL]
    if odd:
        raise VocabularyError(
            f"{QUERY_WORDS.where}: each_side_words {odd} are not bilateral side words of the "
            "reader's modifiers.json"
        )
    chg = {normalize_term(w): key for key, words in doc.change.items() for w in words}
    degrees = _degrees(doc.degrees, modifiers().severity)
    compounds: dict[str, list[str]] = {}
    for joined, parts in doc.compound_words.items():
        for part in parts:
            compounds.setdefault(normalize_term(part), []).append(normalize_term(joined))
    return QueryWords(
        laterality=lat,
        change=chg,
        stopwords=frozenset(normalize_term(w) for w in doc.stopwords),
        longest_laterality=max((len(k.split()) for k in lat), default=1),
        locations=dict(modifiers().locations),
        same_locations={k: frozenset(v) for k, v in doc.same_locations.items()},
        near_locations={k: frozenset(v) for k, v in doc.near_locations.items()},
        derived_endings=tuple((k, tuple(v)) for k, v in doc.derived_endings.items()),
        each_side_words=frozenset(normalize_term(w) for w in doc.each_side_words),
        organ_words=frozenset(normalize_term(w) for w in doc.organ_words),
        joined_prefixes=tuple(normalize_term(w) for w in doc.joined_prefixes),
        degrees=degrees,
        count_words=frozenset(normalize_term(w) for w in doc.count_words),
        compounds={k: tuple(v) for k, v in compounds.items()},
    )


def _degrees(asked: dict[str, list[str]], severity: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Each severity word of the reader whose severity ``asked`` lists -> the reader's
    words of the severities that answer it ("mildly" -> "mild", "minimal", "slight", ...)."""
    known = set(severity.values())
    odd = sorted({k for k, v in asked.items() for k in (k, *v) if k not in known})
    if odd:
        raise VocabularyError(
            f"{QUERY_WORDS.where}: degrees {odd} are not severities of the reader's "
            f"modifiers.json (known: {sorted(known)})"
        )
    return {
        word: frozenset(w for w, s in severity.items() if s in asked[sev])
        for word, sev in severity.items()
        if sev in asked
    }


def ranking() -> RankingFile:
    return RANKING.load()
