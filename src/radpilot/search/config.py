"""The search package's data files, loaded lazily and strictly.

``query_words.json`` holds the modifier words of the query language; ``ranking.json``
holds the ranking weights. Unknown keys are rejected with the list of allowed ones, so
a typo in a tuning file fails loudly instead of being ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from radpilot.errors import VocabularyError
from radpilot.reports.models import Change, Laterality


def _load(name: str) -> dict[str, Any]:
    try:
        text = resources.files("radpilot.search").joinpath("data", name).read_text("utf-8")
        data = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        raise VocabularyError(f"radpilot/search/data/{name}: cannot be loaded ({exc})") from None
    if not isinstance(data, dict):
        raise VocabularyError(f"radpilot/search/data/{name}: a JSON object is needed")
    return data


def _check_keys(where: str, data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed - {"_about"})
    if unknown:
        raise VocabularyError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    missing = sorted(allowed - set(data))
    if missing:
        raise VocabularyError(f"{where}: missing key(s) {', '.join(missing)}")


@dataclass(frozen=True, slots=True)
class QueryWords:
    laterality: dict[str, Laterality]  # written word -> canonical value
    change: dict[str, Change]
    stopwords: frozenset[str]


@lru_cache(maxsize=1)
def query_words() -> QueryWords:
    data = _load("query_words.json")
    where = "radpilot/search/data/query_words.json"
    _check_keys(where, data, {"laterality", "change", "stopwords"})
    lat: dict[str, Laterality] = {}
    chg: dict[str, Change] = {}
    try:
        for key, words in data["laterality"].items():
            for w in words:
                lat[w.lower()] = Laterality(key)
        for key, words in data["change"].items():
            for w in words:
                chg[w.lower()] = Change(key)
    except ValueError as exc:
        raise VocabularyError(f"{where}: {exc}") from None
    return QueryWords(lat, chg, frozenset(w.lower() for w in data["stopwords"]))


@dataclass(frozen=True, slots=True)
class Ranking:
    w_finding: float
    w_lexical: float
    w_semantic: float
    w_similar_findings: float
    status_base: dict[str, float]
    impression_bonus: float
    per_extra_mention: float
    max_extra_mentions: int
    historical_penalty: float
    candidates: int
    semantic_scan_max: int
    literal_bonus: float
    hedge_bonus: dict[str, float]


@lru_cache(maxsize=1)
def ranking() -> Ranking:
    data = _load("ranking.json")
    where = "radpilot/search/data/ranking.json"
    _check_keys(
        where, data, {"weights", "status_base", "bonus", "hedge", "candidates", "semantic_scan_max"}
    )
    w, b, s = data["weights"], data["bonus"], data["status_base"]
    _check_keys(f"{where}: weights", w, {"finding", "lexical", "semantic", "similar_findings"})
    _check_keys(
        f"{where}: bonus",
        b,
        {"impression", "per_extra_mention", "max_extra_mentions", "historical_penalty", "literal"},
    )
    _check_keys(f"{where}: status_base", s, {"present", "uncertain"})
    _check_keys(
        f"{where}: hedge", data["hedge"], {"probable", "possible", "alternative", "hypothesis"}
    )
    return Ranking(
        w_finding=float(w["finding"]),
        w_lexical=float(w["lexical"]),
        w_semantic=float(w["semantic"]),
        w_similar_findings=float(w["similar_findings"]),
        status_base={k: float(v) for k, v in s.items()},
        impression_bonus=float(b["impression"]),
        per_extra_mention=float(b["per_extra_mention"]),
        max_extra_mentions=int(b["max_extra_mentions"]),
        historical_penalty=float(b["historical_penalty"]),
        candidates=int(data["candidates"]),
        semantic_scan_max=int(data["semantic_scan_max"]),
        literal_bonus=float(b["literal"]),
        hedge_bonus={k: float(v) for k, v in data["hedge"].items()},
    )
