"""Strict loaders for the reader's rule data: ConText cues, attribute words, section headers.

Each file lives in ``radpilot/reports/data/`` and is parsed once, on first use. Unknown
keys and unknown categories are rejected with the file name and the allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Any

from radpilot.errors import VocabularyError
from radpilot.reports.models import Hedge
from radpilot.reports.vocabulary import load_json, normalize_term

CUES_FILE = "cues.json"
MODIFIERS_FILE = "modifiers.json"
SECTIONS_FILE = "sections.json"


class CueCategory(StrEnum):
    NEGATION = "negation"
    UNCERTAINTY = "uncertainty"
    ALTERNATIVE = "alternative"  # "or": uncertain only between two findings, never over a negation
    DIFFERENTIAL = "differential"  # "versus": the findings right beside it are uncertain
    PSEUDO = "pseudo"  # looks like a cue ("no change") but decides nothing
    TERMINATOR = "terminator"
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    CHANGE_NEW = "change_new"
    CHANGE_WORSE = "change_worse"
    CHANGE_BETTER = "change_better"
    CHANGE_STABLE = "change_stable"
    CHANGE_RESOLVED = "change_resolved"
    NORMAL = "normal"  # "heart size is normal": decides an anchored finding is absent


# Categories whose rules say which kind of hedge they are (``"hedge"`` in cues.json).
HEDGE_CATEGORIES = frozenset(
    {CueCategory.UNCERTAINTY, CueCategory.ALTERNATIVE, CueCategory.DIFFERENTIAL}
)


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BIDIRECTIONAL = "bidirectional"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Cue:
    phrase: str  # normalized
    category: CueCategory
    direction: Direction


@dataclass(frozen=True, slots=True)
class CueRules:
    version: str
    cues: tuple[Cue, ...]
    hedges: Mapping[str, Hedge]  # normalized hedge phrase -> its kind
    forward_scope_chars: int
    backward_scope_chars: int
    modifier_scope_chars: int
    anchor_scope_chars: int


@dataclass(frozen=True, slots=True)
class Modifiers:
    version: str
    laterality: Mapping[str, str]  # normalized phrase -> Laterality value
    locations: Mapping[str, str]  # normalized phrase -> canonical location
    severity: Mapping[str, str]  # normalized phrase -> canonical severity
    units: Mapping[str, float]  # unit -> millimetres per unit


@dataclass(frozen=True, slots=True)
class SectionRules:
    version: str
    headers: Mapping[str, str]  # normalized header -> canonical section name
    context_sections: frozenset[str]
    abbreviations: frozenset[str]


def _check_keys(raw: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise VocabularyError(f"{where}: must be a JSON object")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise VocabularyError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    missing = sorted(k for k in allowed - {"description"} if k not in raw)
    if missing:
        raise VocabularyError(f"{where}: missing key(s) {', '.join(missing)}")
    return raw


def _enum(cls: type[Enum], value: Any, where: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        valid = ", ".join(m.value for m in cls)  # type: ignore[attr-defined]
        raise VocabularyError(f"{where}: {value!r} is not valid; valid: {valid}") from None


def _phrases(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise VocabularyError(f"{where}: must be a list of non-empty strings")
    return [normalize_term(v) for v in value]


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise VocabularyError(f"{where}: must be a positive integer")
    return value


def cue_rules_from_dict(raw: Any, where: str = CUES_FILE) -> CueRules:
    doc = _check_keys(raw, {"version", "description", "settings", "rules"}, where)
    settings = _check_keys(
        doc["settings"],
        {
            "forward_scope_chars",
            "backward_scope_chars",
            "modifier_scope_chars",
            "anchor_scope_chars",
        },
        f"{where}: settings",
    )
    if not isinstance(doc["rules"], list):
        raise VocabularyError(f"{where}: 'rules' must be a list")
    cues: list[Cue] = []
    hedges: dict[str, Hedge] = {}
    for i, rule in enumerate(doc["rules"]):
        at = f"{where}: rules[{i}]"
        keys = {"category", "direction", "phrases"}
        if isinstance(rule, dict) and rule.get("category") in HEDGE_CATEGORIES:
            keys.add("hedge")  # a hedge rule must say which kind of hedge it is
        rule = _check_keys(rule, keys, at)
        category = _enum(CueCategory, rule["category"], f"{at}.category")
        direction = _enum(Direction, rule["direction"], f"{at}.direction")
        hedge = _enum(Hedge, rule["hedge"], f"{at}.hedge") if "hedge" in rule else None
        for phrase in _phrases(rule["phrases"], f"{at}.phrases"):
            cues.append(Cue(phrase, category, direction))
            if hedge is not None:
                if hedges.setdefault(phrase, hedge) is not hedge:
                    raise VocabularyError(
                        f"{at}.phrases: {phrase!r} is already a {hedges[phrase].value} hedge;"
                        " one phrase has one hedge kind"
                    )
    return CueRules(
        version=str(doc["version"]),
        cues=tuple(cues),
        hedges=hedges,
        forward_scope_chars=_positive_int(settings["forward_scope_chars"], f"{where}: settings"),
        backward_scope_chars=_positive_int(settings["backward_scope_chars"], f"{where}: settings"),
        modifier_scope_chars=_positive_int(settings["modifier_scope_chars"], f"{where}: settings"),
        anchor_scope_chars=_positive_int(settings["anchor_scope_chars"], f"{where}: settings"),
    )


def _phrase_table(raw: Any, where: str, valid: set[str] | None = None) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise VocabularyError(f"{where}: must be a JSON object")
    table: dict[str, str] = {}
    for name, phrases in raw.items():
        if valid is not None and name not in valid:
            raise VocabularyError(
                f"{where}: {name!r} is not valid; valid: {', '.join(sorted(valid))}"
            )
        for p in _phrases(phrases, f"{where}.{name}"):
            table.setdefault(p, name)
    return table


def modifiers_from_dict(raw: Any, where: str = MODIFIERS_FILE) -> Modifiers:
    from radpilot.reports.models import Laterality

    doc = _check_keys(
        raw, {"version", "description", "laterality", "locations", "severity", "units"}, where
    )
    units = doc["units"]
    if not isinstance(units, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in units.values()
    ):
        raise VocabularyError(f"{where}: units must map unit names to positive millimetre factors")
    return Modifiers(
        version=str(doc["version"]),
        laterality=_phrase_table(
            doc["laterality"], f"{where}: laterality", {m.value for m in Laterality}
        ),
        locations=_phrase_table(doc["locations"], f"{where}: locations"),
        severity=_phrase_table(doc["severity"], f"{where}: severity"),
        units={normalize_term(k): float(v) for k, v in units.items()},
    )


SECTION_NAMES = frozenset(
    {
        "findings",
        "impression",
        "indication",
        "history",
        "comparison",
        "technique",
        "examination",
        "recommendation",
        "addendum",
        "body",
    }
)


def section_rules_from_dict(raw: Any, where: str = SECTIONS_FILE) -> SectionRules:
    doc = _check_keys(
        raw, {"version", "description", "headers", "context_sections", "abbreviations"}, where
    )
    headers = _phrase_table(doc["headers"], f"{where}: headers", set(SECTION_NAMES))
    context = _phrases(doc["context_sections"], f"{where}: context_sections")
    for name in context:
        if name not in SECTION_NAMES:
            raise VocabularyError(
                f"{where}: context_sections: {name!r} is not valid; valid: {', '.join(sorted(SECTION_NAMES))}"
            )
    return SectionRules(
        version=str(doc["version"]),
        headers=headers,
        context_sections=frozenset(context),
        abbreviations=frozenset(
            a.lower() for a in _phrases(doc["abbreviations"], f"{where}: abbreviations")
        ),
    )


@lru_cache(maxsize=1)
def cue_rules() -> CueRules:
    return cue_rules_from_dict(load_json(CUES_FILE))


@lru_cache(maxsize=1)
def modifiers() -> Modifiers:
    return modifiers_from_dict(load_json(MODIFIERS_FILE))


@lru_cache(maxsize=1)
def section_rules() -> SectionRules:
    return section_rules_from_dict(load_json(SECTIONS_FILE))
