"""The Fleischner Society 2017 guideline for incidental pulmonary nodules, as data
(``data/fleischner_2017.json``, with its citation), and the check of a report's
recommendation against it.

A nodule is a sentence that names a nodule finding of the reader (``nodule``,
``nodular_opacity``) with a stated size: the mean of the long and short axes ("1.2 x 0.8
cm" is 10 mm), rounded to the nearest millimetre, as the guideline measures. Solid unless
the sentence says ground-glass / part-solid / subsolid; single unless it says multiple or
names nodules in the plural; risk low or high only where the report states it, else both
rows are given. Calcified or otherwise benign-looking nodules, masses over 30 mm, patients
under 35, immunocompromised patients, known cancer and screening examinations are outside
the guideline (each named as the reason).

>>> a = assess_text("FINDINGS: Incidental 7 mm solid nodule in the right upper lobe.")[0]
>>> (a.size_mm, a.type, a.multiplicity, [o.rule for o in a.options])
(7, 'solid', 'single', ['solid-single-6to8-low', 'solid-single-6to8-high'])
>>> a.options[0].recommendation
'CT at 6-12 months, then consider CT at 18-24 months'
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import Field, StrictInt

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.reports import read
from radpilot.reports.models import Certainty, Mention, Report
from radpilot.reports.vocabulary import Phrase
from radpilot.workflow.followup_rules import phrase_pattern
from radpilot.workflow.followups import Followups, Recommendation, extract_report

NoduleType = Literal["solid", "ground_glass", "part_solid", "subsolid"]
Risk = Literal["low", "high", "any"]
# A recommendation within this many sentences after a nodule is about that nodule.
LINK_SENTENCES = 2


class Step(DataModel):
    min_months: StrictInt = Field(ge=0)
    max_months: StrictInt = Field(ge=0)
    modality: str
    optional: bool = False
    alternatives: list[str] = Field(default_factory=list)


class Rule(DataModel):
    id: str
    type: NoduleType
    multiplicity: Literal["single", "multiple"]
    min_mm: StrictInt = Field(ge=0, description="Rounded mean size, inclusive.")
    max_mm: StrictInt = Field(gt=0, description="Rounded mean size, exclusive.")
    risk: Risk
    recommendation: str
    steps: list[Step]


class Exclusions(DataModel):
    min_age_years: StrictInt
    immunocompromised: list[Phrase]
    known_cancer: list[Phrase]
    screening: list[Phrase]


class Cues(DataModel):
    nodule_findings: list[str] = Field(min_length=1)
    ground_glass: list[Phrase]
    part_solid: list[Phrase]
    subsolid: list[Phrase]
    multiple: list[Phrase]
    high_risk: list[Phrase]
    low_risk: list[Phrase]
    negated_before: list[Phrase] = Field(
        description="Before a risk factor or a cancer ('denies smoking', 'no history of "
        "cancer'): the report says the patient lacks it."
    )
    negated_after: list[Phrase] = Field(description="After one: 'Smoking history: none'.")
    benign: list[Phrase]
    not_benign: list[Phrase] = Field(description="'not calcified': hides the benign cue in it.")
    age: list[Phrase] = Field(description="Words after a number that make it an age.")


class FleischnerFile(DataDocument):
    version: str
    citation: str
    months_to_days: StrictInt = Field(gt=0)
    days_per_year: StrictInt = Field(
        gt=0,
        description="A report's '1 year' (365 days) is the guideline's '12 months' (360): a "
        "window's end is stretched to calendar months when compared.",
    )
    max_nodule_mm: StrictInt = Field(gt=0)
    rules: list[Rule] = Field(min_length=1)
    exclusions: Exclusions
    cues: Cues


FLEISCHNER = DataFile("radpilot.workflow", "data/fleischner_2017.json", FleischnerFile)


@dataclass(frozen=True, slots=True)
class Option:
    """One row of the guideline that applies (one per risk level when risk is not stated)."""

    rule: str
    risk: str
    recommendation: str
    min_days: int | None  # the first step's window; None: no routine follow-up
    max_days: int | None
    modality: str | None
    optional: bool


@dataclass(frozen=True, slots=True)
class Conflict:
    start: int  # the recommendation's span
    end: int
    reason: str


@dataclass(frozen=True, slots=True)
class NoduleAssessment:
    text: str
    start: int
    end: int
    size_mm: int
    type: str
    multiplicity: str
    risk: str  # low | high | unknown
    excluded: str | None  # why the guideline does not apply, else None
    options: tuple[Option, ...]
    conflicts: tuple[Conflict, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "span": {"start": self.start, "end": self.end},
            "size_mm": self.size_mm,
            "type": self.type,
            "multiplicity": self.multiplicity,
            "risk": self.risk,
            "excluded": self.excluded,
            "guideline": [
                {
                    "rule": o.rule,
                    "risk": o.risk,
                    "recommendation": o.recommendation,
                    "min_days": o.min_days,
                    "max_days": o.max_days,
                    "modality": o.modality,
                }
                for o in self.options
            ],
            "conflicts": [
                {"span": {"start": c.start, "end": c.end}, "reason": c.reason}
                for c in self.conflicts
            ],
        }


@dataclass(frozen=True, slots=True)
class _Compiled:
    data: FleischnerFile
    patterns: dict[str, re.Pattern[str]]
    age: re.Pattern[str]
    negated_before: re.Pattern[str]
    negated_after: re.Pattern[str]


@cache
def _compiled() -> _Compiled:
    data = FLEISCHNER.load()
    c, x = data.cues, data.exclusions
    lists = {
        "ground_glass": c.ground_glass,
        "part_solid": c.part_solid,
        "subsolid": c.subsolid,
        "multiple": c.multiple,
        "high_risk": c.high_risk,
        "low_risk": c.low_risk,
        "benign": c.benign,
        "not_benign": c.not_benign,
        "immunocompromised": x.immunocompromised,
        "known_cancer": x.known_cancer,
        "screening": x.screening,
    }
    words = "|".join(re.escape(w).replace(r"\ ", r"[\s\-]+") for w in c.age)
    age = re.compile(rf"\b(\d{{1,3}})[\s\-]*(?:{words})\b", re.IGNORECASE)
    before = "|".join(re.escape(w).replace(r"\ ", r"[\s\-]+") for w in c.negated_before)
    after = "|".join(re.escape(w).replace(r"\ ", r"[\s\-]+") for w in c.negated_after)
    return _Compiled(
        data,
        {k: phrase_pattern(v) for k, v in lists.items()},
        age,
        # the negation, then at most one word ("denies any smoking")
        re.compile(rf"\b(?:{before})(?:\s+\w+)?\s+$", re.IGNORECASE),
        re.compile(rf"^\s*[:\-]?\s*(?:{after})\b", re.IGNORECASE),
    )


def _negated(text: str, m: re.Match[str], c: _Compiled) -> bool:
    """Whether the report says the patient lacks what ``m`` names."""
    return bool(
        c.negated_before.search(text[: m.start()]) or c.negated_after.match(text[m.end() :])
    )


def _affirmed(key: str, text: str, c: _Compiled) -> list[re.Match[str]]:
    return [m for m in c.patterns[key].finditer(text) if not _negated(text, m, c)]


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def citation() -> str:
    return FLEISCHNER.load().citation


def size_from(span_text: str, mm_per_unit: float) -> int:
    """The guideline's size of a measurement: the mean of its first two dimensions, in mm,
    rounded half up ("1.2 x 0.8 cm" -> 10)."""
    values = [float(v) for v in re.findall(r"\d+(?:\.\d+)?", span_text)][:2]
    mean = sum(values) / len(values) * mm_per_unit
    return int(mean + 0.5)


def _type_of(sentence: str, p: dict[str, re.Pattern[str]]) -> str:
    if p["part_solid"].search(sentence):
        return "part_solid"
    if p["ground_glass"].search(sentence):
        return "ground_glass"
    return "subsolid" if p["subsolid"].search(sentence) else "solid"


def _risk(text: str, c: _Compiled) -> str:
    """high or low where the report says so; "never smoker" is low, not a "smoker", and
    a risk factor the patient lacks ("denies smoking", "Smoking history: none") is low."""
    p = c.patterns
    low = p["low_risk"].search(text) is not None
    unlow = _blank(text, [m.span() for m in p["low_risk"].finditer(text)])
    factors = list(p["high_risk"].finditer(unlow))
    if any(not _negated(unlow, m, c) for m in factors):
        return "high"
    return "low" if low or factors else "unknown"


def _excluded(report_text: str, sentence: str, size: int, c: _Compiled) -> str | None:
    p = c.patterns
    if p["benign"].search(p["not_benign"].sub(lambda m: " " * len(m.group(0)), sentence)):
        return "benign features (calcified, granuloma, fat): no follow-up by the guideline"
    if size > c.data.max_nodule_mm:
        return f"over {c.data.max_nodule_mm} mm: a mass, outside the guideline"
    ages = [int(m.group(1)) for m in c.age.finditer(report_text)]
    if ages and min(ages) < c.data.exclusions.min_age_years:
        return f"patient younger than {c.data.exclusions.min_age_years}"
    # screening first: "lung cancer screening" names a cancer the patient need not have;
    # a risk factor ("family history of lung cancer") is no cancer of the patient's
    text = _blank(report_text, [m.span() for m in p["high_risk"].finditer(report_text)])
    for key, why in (
        ("screening", "lung cancer screening (Lung-RADS applies)"),
        ("immunocompromised", "immunocompromised patient"),
        ("known_cancer", "known cancer"),
    ):
        if _affirmed(key, report_text if key == "screening" else text, c):
            return why
    return None


def _multiplicity(
    text: str, offset: int, mentions: list[Mention], nodule_ids: set[str], c: _Compiled
) -> str:
    """multiple where two nodules are measured ("a 6 mm nodule ... and a 4 mm nodule") or a
    plural or count word is said of nodules that are there ("no other nodules" is none).
    Only measured ones count: "nodular opacity ... could represent a lung nodule" is one."""
    nodules = [m for m in mentions if m.finding in nodule_ids]
    if sum(m.certainty is not Certainty.ABSENT and m.size is not None for m in nodules) >= 2:
        return "multiple"
    absent = [
        (m.span.start - offset, m.span.end - offset)
        for m in nodules
        if m.certainty is Certainty.ABSENT
    ]
    return "multiple" if c.patterns["multiple"].search(_blank(text, absent)) else "single"


def options_for(type_: str, multiplicity: str, size_mm: int, risk: str) -> tuple[Option, ...]:
    """The guideline rows for a nodule; ``risk`` 'unknown' gives the low and high rows.
    Multiple ground-glass or part-solid nodules use the 'subsolid multiple' rows."""
    data = _compiled().data
    if multiplicity == "multiple" and type_ != "solid":
        type_ = "subsolid"
    per_month = data.months_to_days
    out = []
    for rule in data.rules:
        if rule.type != type_ or rule.multiplicity != multiplicity:
            continue
        if not rule.min_mm <= size_mm < rule.max_mm:
            continue
        if risk in ("low", "high") and rule.risk not in (risk, "any"):
            continue
        first = rule.steps[0] if rule.steps else None
        out.append(
            Option(
                rule=rule.id,
                risk=rule.risk,
                recommendation=rule.recommendation,
                min_days=first.min_months * per_month if first else None,
                max_days=first.max_months * per_month if first else None,
                modality=first.modality if first else None,
                optional=first.optional if first else False,
            )
        )
    return tuple(out)


def _agrees(rec: Recommendation | None, option: Option) -> bool:
    """Whether a recommendation (None: a 'no follow-up' statement) fits one guideline row."""
    if rec is None:
        return option.min_days is None or option.optional
    if option.min_days is None:
        return False
    iv = rec.interval
    if iv is None or iv.max_days is None:
        # no interval: a study to characterise the nodule now ("dedicated views", "CT"),
        # not a surveillance schedule the guideline could contradict
        return True
    if rec.modality not in ("CT", "PET", "unspecified"):
        return False
    low = iv.min_days if iv.min_days is not None else 0
    assert option.max_days is not None
    data = _compiled().data
    # the window's end in calendar days: "in 1 year" keeps "CT at 12 months"
    end = math.ceil(option.max_days * data.days_per_year / (12 * data.months_to_days))
    return low <= end and iv.max_days >= option.min_days


def _conflicts(
    assessment: NoduleAssessment, linked: list[Recommendation | tuple[int, int]]
) -> tuple[Conflict, ...]:
    out = []
    for item in linked:
        rec = item if isinstance(item, Recommendation) else None
        if rec is not None and rec.kind != "imaging":
            continue
        if any(_agrees(rec, o) for o in assessment.options):
            continue
        start, end = (rec.start, rec.end) if rec is not None else item  # type: ignore[misc]
        said = "no follow-up" if rec is None else _describe(rec)
        wants = " or ".join(sorted({o.recommendation for o in assessment.options}))
        out.append(Conflict(start, end, f"report says {said}; Fleischner 2017: {wants}"))
    return tuple(out)


def _describe(rec: Recommendation) -> str:
    iv = f" in {rec.interval.text}" if rec.interval is not None else ""
    return f"{rec.modality if rec.modality != 'unspecified' else 'follow-up'}{iv}"


def assess(report: Report, followups: Followups | None = None) -> list[NoduleAssessment]:
    """Every sized pulmonary nodule of a read report, with the guideline rows that apply
    and the report's recommendations (or 'no follow-up' statements) that contradict all
    of them."""
    c = _compiled()
    followups = followups if followups is not None else extract_report(report)
    nodule_ids = set(c.data.cues.nodule_findings)
    out: list[NoduleAssessment] = []
    for index, sentence in enumerate(report.sentences):
        mentions = [m for m in report.mentions if m.sentence.start == sentence.start]
        if not any(
            m.finding in nodule_ids and m.certainty is not Certainty.ABSENT for m in mentions
        ):
            continue
        sized = next((m.size for m in mentions if m.size is not None and m.size.mm), None)
        if sized is None or sized.mm is None:
            continue
        size = size_from(sized.span.text, sized.mm / sized.value if sized.value else 1.0)
        text = sentence.text
        multiplicity = _multiplicity(text, sentence.start, mentions, nodule_ids, c)
        risk = _risk(report.text, c)
        excluded = _excluded(report.text, text, size, c)
        type_ = _type_of(text, c.patterns)
        options = () if excluded else options_for(type_, multiplicity, size, risk)
        a = NoduleAssessment(
            text, sentence.start, sentence.end, size, type_, multiplicity, risk, excluded, options
        )
        if options:
            linked = _linked(report, index, followups, nodule_ids)
            a = dataclasses.replace(a, conflicts=_conflicts(a, linked))
        out.append(a)
    return out


def _linked(
    report: Report, index: int, followups: Followups, nodule_ids: set[str]
) -> list[Recommendation | tuple[int, int]]:
    """The recommendations and 'no follow-up' statements about the nodule of sentence
    ``index``: in it or the few sentences after it, or naming a nodule finding."""
    sentences = report.sentences
    lo = sentences[index].start
    hi = sentences[min(index + LINK_SENTENCES, len(sentences) - 1)].end
    linked: list[Recommendation | tuple[int, int]] = [
        r
        for r in followups.recommendations
        if lo <= r.start <= hi or (r.finding in nodule_ids and r.start >= lo)
    ]
    linked += [d for d in followups.declined if lo <= d[0] <= hi]
    return linked


def assess_text(text: str) -> list[NoduleAssessment]:
    return assess(read(text))
