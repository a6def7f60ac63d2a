"""Independent regression suite for the report reader.

The expectations in ``regression_cases.jsonl`` and ``regression_mentions.jsonl`` were written
by hand from radiology knowledge and the CheXpert labeler's published rules (Irvin et al. 2019;
the labeler's mention phrases, negation and pre/post-negation uncertainty patterns), never from
what the implementation returns. A case that fails is a finding about the reader, not a reason
to edit the case.

Label cases are pinned under the ``chexpert`` uncertainty policy (every hedge is -1.0, the
CheXpert labeler's convention they were written for); ``test_policy.py`` pins radpilot's default
policy. Label cases: ``expect`` maps a CheXpert label name to 1.0 / 0.0 / -1.0, ``null`` (must be
blank: not mentioned), or a list of acceptable values where a convention is disputed (each such
case says why in its ``note``). Labels the case does not name are not checked.

Mention cases: some mention of ``finding`` (a vocabulary id, or a CheXpert label name matched by
any mention whose finding rolls up to it) must carry every listed attribute.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

try:
    from radpilot.reports import labels, read
except ImportError as exc:  # the reader is built concurrently: fail loudly, never skip
    raise ImportError(
        "the report reader API is missing: this suite needs radpilot.reports.read(text) -> Report "
        f"and radpilot.reports.labels.chexpert(report) ({exc})"
    ) from exc

from radpilot.reports.models import Certainty, Change, Hedge, Laterality, Mention, Report

HERE = Path(__file__).resolve().parent
CASES_FILE = HERE / "regression_cases.jsonl"
MENTIONS_FILE = HERE / "regression_mentions.jsonl"

# The CheXpert labeler's output columns, in its order (written here independently of
# radpilot.reports.labels so that a renamed or reordered label is caught).
CHEXPERT_NAMES: tuple[str, ...] = (
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Lesion",
    "Lung Opacity",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
)
LABEL_VALUES: tuple[float | None, ...] = (1.0, 0.0, -1.0, None)

# Every behaviour the suite must exercise, each with at least MIN_PER_CATEGORY cases.
REQUIRED_CATEGORIES: frozenset[str] = frozenset(
    {
        "negation",
        "negation-list",
        "negation-post",
        "hedged-exclusion",
        "scope",
        "resolved",
        "no-new",
        "indication",
        "question",
        "template",
        "hedge",
        "pseudo-negation",
        "change",
        "normal-anatomy",
        "borderline",
        "hyperexpansion",
        "devices",
        "device-removed",
        "fracture",
        "no-finding",
        "laterality",
        "redaction",
        "numbered-list",
        "abbreviation",
        "line-wrap",
        "multi-sentence",
        "sections",
        "aggregation",
    }
)
OPTIONAL_CATEGORIES: frozenset[str] = frozenset(
    {
        "positive",
        "convention",
        # issue 10's families of error on unseen reports, each written as a phenomenon:
        "combined-exam",  # another body part's sub-header: its findings are not the chest's
        "device-part",  # a device's part named with a finding's word ("lead fracture")
        "general-statement",  # a statement about radiography or disease, not this patient
        "negated-forms",  # plural and adjectival forms under a negation
        "differential-list",  # a diagnosis offered as one of several explanations
        # corrections made by readers in `radpilot datasets` (`datasets corrections`)
        "annotator-correction",
        "improbable",  # a hedge that leans against the finding ("unlikely", "doubt")
        "double-negation",  # a negated negation or resolution ("not unlikely", "not resolved")
        # out-of-sample check set (benchmarks/reader_fresh.py): styles OpenI lacks
        "spelling-variant",  # British/Australian spellings ("oedema", "favoured", "tumour")
        "uk-wording",  # UK/Australian words ("nil", "shadowing", "infective")
    }
)
MIN_PER_CATEGORY = 3
MIN_LABEL_CASES = 150
MIN_MENTION_CASES = 40

CASE_KEYS_REQUIRED = frozenset({"id", "category", "text", "expect"})
CASE_KEYS_OPTIONAL = frozenset({"note"})
MENTION_KEYS_REQUIRED = frozenset({"id", "text", "finding"})
MENTION_KEYS_OPTIONAL = frozenset(
    {
        "note",
        "certainty",
        "laterality",
        "change",
        "severity",
        "size_mm",
        "locations",
        "historical",
        "hypothetical",
        "section",
        "hedge",
    }
)
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class CaseFileError(ValueError):
    """A regression case file breaks its own schema."""


@dataclass(frozen=True)
class LabelCase:
    id: str
    category: str
    text: str
    expect: dict[str, tuple[float | None, ...]]  # label -> acceptable values
    note: str | None


@dataclass(frozen=True)
class MentionCase:
    id: str
    text: str
    finding: str
    attrs: dict[str, Any]
    note: str | None


def _check_keys(
    row: dict[str, Any], required: frozenset[str], optional: frozenset[str], where: str
) -> None:
    unknown = set(row) - required - optional
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise CaseFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {allowed}")
    missing = required - set(row)
    if missing:
        raise CaseFileError(f"{where}: missing key(s) {sorted(missing)}")


def _check_common(row: dict[str, Any], where: str) -> None:
    if not isinstance(row["id"], str) or not ID_PATTERN.match(row["id"]):
        raise CaseFileError(f"{where}: id {row['id']!r} must be lowercase words joined by '-'")
    if not isinstance(row["text"], str) or not row["text"].strip():
        raise CaseFileError(f"{where}: text must be a non-empty string")
    note = row.get("note")
    if note is not None and not isinstance(note, str):
        raise CaseFileError(f"{where}: note must be a string")


def _label_value(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value not in LABEL_VALUES:
        raise CaseFileError(f"{where}: label value {value!r} is not one of 1.0, 0.0, -1.0, null")
    return float(value)


def parse_label_case(row: Any, where: str) -> LabelCase:
    if not isinstance(row, dict):
        raise CaseFileError(f"{where}: a case must be a JSON object, got {type(row).__name__}")
    _check_keys(row, CASE_KEYS_REQUIRED, CASE_KEYS_OPTIONAL, where)
    _check_common(row, where)
    category = row["category"]
    known = REQUIRED_CATEGORIES | OPTIONAL_CATEGORIES
    if category not in known:
        raise CaseFileError(
            f"{where}: unknown category {category!r}; known: {', '.join(sorted(known))}"
        )
    expect = row["expect"]
    if not isinstance(expect, dict) or not expect:
        raise CaseFileError(f"{where}: expect must be a non-empty object of label -> value")
    parsed: dict[str, tuple[float | None, ...]] = {}
    for name, value in expect.items():
        if name not in CHEXPERT_NAMES:
            raise CaseFileError(
                f"{where}: unknown label {name!r}; valid labels: {', '.join(CHEXPERT_NAMES)}"
            )
        if isinstance(value, list):
            if len(value) < 2 or len(set(value)) != len(value):
                raise CaseFileError(f"{where}: {name}: a list needs 2+ distinct acceptable values")
            parsed[name] = tuple(_label_value(v, f"{where}: {name}") for v in value)
            if not row.get("note"):
                raise CaseFileError(
                    f"{where}: {name}: a disputed (list) value needs a note saying why"
                )
        else:
            parsed[name] = (_label_value(value, f"{where}: {name}"),)
    return LabelCase(row["id"], category, row["text"], parsed, row.get("note"))


def parse_mention_case(row: Any, where: str) -> MentionCase:
    if not isinstance(row, dict):
        raise CaseFileError(f"{where}: a case must be a JSON object, got {type(row).__name__}")
    _check_keys(row, MENTION_KEYS_REQUIRED, MENTION_KEYS_OPTIONAL, where)
    _check_common(row, where)
    if not isinstance(row["finding"], str) or not row["finding"]:
        raise CaseFileError(f"{where}: finding must be a non-empty string")
    enums: dict[str, tuple[str, ...]] = {
        "certainty": tuple(c.value for c in Certainty),
        "laterality": tuple(c.value for c in Laterality),
        "change": tuple(c.value for c in Change),
        "hedge": tuple(c.value for c in Hedge),
    }
    attrs = {k: v for k, v in row.items() if k in MENTION_KEYS_OPTIONAL and k != "note"}
    if not attrs:
        raise CaseFileError(f"{where}: a mention case must check at least one attribute")
    for key, value in attrs.items():
        if key in enums:
            nullable = key != "certainty"
            if not (value in enums[key] or (nullable and value is None)):
                raise CaseFileError(
                    f"{where}: {key} {value!r} is not one of {', '.join(enums[key])}"
                    + (" or null" if nullable else "")
                )
        elif key in ("historical", "hypothetical"):
            if not isinstance(value, bool):
                raise CaseFileError(f"{where}: {key} must be true or false")
        elif key == "size_mm":
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise CaseFileError(f"{where}: size_mm must be a positive number")
        elif key in ("severity", "section"):
            if not isinstance(value, str) or not value:
                raise CaseFileError(f"{where}: {key} must be a non-empty string")
        elif key == "locations":
            items = value if isinstance(value, list) else []
            alternatives = [item if isinstance(item, list) else [item] for item in items]
            ok = bool(alternatives) and all(
                alts and all(isinstance(a, str) and a for a in alts) for alts in alternatives
            )
            if not ok:
                raise CaseFileError(
                    f"{where}: locations must be a non-empty list of strings or lists of alternatives"
                )
    return MentionCase(row["id"], row["text"], row["finding"], attrs, row.get("note"))


def load_jsonl(path: Path, parse: Any) -> list[Any]:
    cases: list[Any] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise CaseFileError(f"{where}: not valid JSON ({err.msg})") from None
        case = parse(row, where)
        if case.id in seen:
            raise CaseFileError(f"{where}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


LABEL_CASES: list[LabelCase] = load_jsonl(CASES_FILE, parse_label_case)
MENTION_CASES: list[MentionCase] = load_jsonl(MENTIONS_FILE, parse_mention_case)


@cache
def _read(text: str) -> Report:
    return read(text)


def _show(value: float | None) -> str:
    return "blank" if value is None else f"{value:+.1f}"


def _describe(report: Report) -> str:
    rows = []
    for m in report.mentions:
        rows.append(
            f"    {m.finding}: {m.certainty.value} span={m.span.text!r} section={m.section}"
            f" lat={m.laterality.value if m.laterality else None}"
            f" change={m.change.value if m.change else None} cues={list(m.cues)}"
        )
    return "\n".join(rows) or "    (no mentions)"


# ---------------------------------------------------------------------------------------------
# Label cases
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", LABEL_CASES, ids=[c.id for c in LABEL_CASES])
def test_chexpert_labels(case: LabelCase) -> None:
    report = _read(case.text)
    got = labels.chexpert(report, policy="chexpert")
    wrong = []
    for name, accepted in case.expect.items():
        value = got.get(name)
        if value not in accepted:
            wrong.append(
                f"  {name}: expected {' or '.join(_show(a) for a in accepted)}, got {_show(value)}"
            )
    if wrong:
        why = f"\n  note: {case.note}" if case.note else ""
        pytest.fail(
            f"[{case.category}] {case.text!r}\n"
            + "\n".join(wrong)
            + why
            + "\n  mentions:\n"
            + _describe(report),
            pytrace=False,
        )


def test_chexpert_label_names_and_order() -> None:
    assert tuple(labels.CHEXPERT_LABELS) == CHEXPERT_NAMES


def test_chexpert_returns_every_label_with_valid_values() -> None:
    for text in ("No pneumothorax.", "Possible left lower lobe pneumonia.", "Comparison: none."):
        got = labels.chexpert(_read(text))
        assert set(got) == set(CHEXPERT_NAMES), text
        bad = {k: v for k, v in got.items() if v not in LABEL_VALUES}
        assert not bad, f"{text!r}: values outside 1.0/0.0/-1.0/None: {bad}"


def test_mentions_carry_their_evidence() -> None:
    """Every stated finding points at the words that name it, inside its sentence."""
    problems = []
    for case in LABEL_CASES:
        report = _read(case.text)
        for m in report.mentions:
            if report.text[m.span.start : m.span.end] != m.span.text or not m.span.text.strip():
                problems.append(f"{case.id}: {m.finding} span {m.span} does not match the text")
            if report.text[m.sentence.start : m.sentence.end] != m.sentence.text:
                problems.append(
                    f"{case.id}: {m.finding} sentence {m.sentence} does not match the text"
                )
            if not (m.sentence.start <= m.span.start and m.span.end <= m.sentence.end):
                problems.append(f"{case.id}: {m.finding} span lies outside its sentence")
    assert not problems, "\n".join(problems[:30])


def test_suite_size_and_category_coverage() -> None:
    assert len(LABEL_CASES) >= MIN_LABEL_CASES
    assert len(MENTION_CASES) >= MIN_MENTION_CASES
    counts = Counter(c.category for c in LABEL_CASES)
    thin = {
        cat: counts.get(cat, 0)
        for cat in REQUIRED_CATEGORIES
        if counts.get(cat, 0) < MIN_PER_CATEGORY
    }
    assert not thin, f"categories with fewer than {MIN_PER_CATEGORY} cases: {thin}"
    # every label is exercised as positive, negative and uncertain or blank somewhere
    seen: dict[str, set[float | None]] = {name: set() for name in CHEXPERT_NAMES}
    for case in LABEL_CASES:
        for name, accepted in case.expect.items():
            if len(accepted) == 1:
                seen[name].add(accepted[0])
    for name in CHEXPERT_NAMES:
        if name == "No Finding":
            assert 1.0 in seen[name], "No Finding is never expected 1.0"
        else:
            assert {1.0, 0.0} <= seen[name], f"{name}: no firm positive and negative cases"


# ---------------------------------------------------------------------------------------------
# Mention cases
# ---------------------------------------------------------------------------------------------


def _rolls_up(report: Report, mention: Mention, name: str) -> bool:
    """True when ``mention`` names ``name``: the same finding id, or a finding that the label
    function alone maps to CheXpert label ``name`` when stated present."""
    if mention.finding == name:
        return True
    if name not in CHEXPERT_NAMES:
        return False
    probe = replace(
        mention,
        certainty=Certainty.PRESENT,
        section="findings",
        change=None,
        historical=False,
        hypothetical=False,
    )
    alone = Report(report.text, report.sections, report.sentences, (probe,))
    return labels.chexpert(alone, policy="chexpert").get(name) == 1.0


def _mismatches(m: Mention, attrs: dict[str, Any]) -> list[str]:
    out = []
    for key, want in attrs.items():
        if key == "certainty":
            got: Any = m.certainty.value
            ok = got == want
        elif key in ("laterality", "change", "hedge"):
            raw = getattr(m, key)
            got = raw.value if raw is not None else None
            ok = got == want
        elif key in ("historical", "hypothetical", "section"):
            got = getattr(m, key)
            ok = got == want
        elif key == "severity":
            got = m.severity
            ok = got is not None and want.lower() in got.lower()
        elif key == "size_mm":
            got = m.size.mm if m.size is not None else None
            ok = got is not None and abs(got - float(want)) < 0.01
        else:  # locations: each wanted item (or one of its alternatives) inside some location
            got = list(m.locations)
            names = [loc.lower() for loc in m.locations]
            ok = all(
                any(
                    alt.lower() in loc
                    for alt in (item if isinstance(item, list) else [item])
                    for loc in names
                )
                for item in want
            )
        if not ok:
            out.append(f"{key}: expected {want!r}, got {got!r}")
    return out


@pytest.mark.parametrize("case", MENTION_CASES, ids=[c.id for c in MENTION_CASES])
def test_mention_attributes(case: MentionCase) -> None:
    report = _read(case.text)
    candidates = [m for m in report.mentions if _rolls_up(report, m, case.finding)]
    if not candidates:
        pytest.fail(
            f"{case.text!r}: no mention of {case.finding!r}\n  mentions:\n{_describe(report)}",
            pytrace=False,
        )
    misses = [(m, _mismatches(m, case.attrs)) for m in candidates]
    if all(problems for _, problems in misses):
        lines = [f"  {m.finding} {m.span.text!r}: " + "; ".join(problems) for m, problems in misses]
        why = f"\n  note: {case.note}" if case.note else ""
        pytest.fail(
            f"{case.text!r}: no mention of {case.finding!r} with {case.attrs}\n"
            + "\n".join(lines)
            + why,
            pytrace=False,
        )


# ---------------------------------------------------------------------------------------------
# The case loader itself: invalid rows fail loudly with the file, line and what is wrong
# ---------------------------------------------------------------------------------------------

_GOOD = {
    "id": "x-01",
    "category": "negation",
    "text": "No pneumothorax.",
    "expect": {"Pneumothorax": 0.0},
}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param({**_GOOD, "expected": {}}, "unknown key(s) ['expected']", id="unknown-key"),
        pytest.param(
            {k: v for k, v in _GOOD.items() if k != "expect"},
            "missing key(s) ['expect']",
            id="missing-key",
        ),
        pytest.param(
            {**_GOOD, "expect": {"Pneumothoraxx": 0.0}},
            "unknown label 'Pneumothoraxx'",
            id="bad-label",
        ),
        pytest.param(
            {**_GOOD, "expect": {"Pneumothorax": 0.5}}, "is not one of 1.0", id="bad-value"
        ),
        pytest.param(
            {**_GOOD, "expect": {"Pneumothorax": True}}, "is not one of 1.0", id="bool-value"
        ),
        pytest.param({**_GOOD, "expect": {"Pneumothorax": [0.0]}}, "2+ distinct", id="short-list"),
        pytest.param(
            {**_GOOD, "expect": {"Pneumothorax": [0.0, -1.0]}}, "needs a note", id="list-no-note"
        ),
        pytest.param({**_GOOD, "expect": {}}, "non-empty object", id="empty-expect"),
        pytest.param(
            {**_GOOD, "category": "negations"}, "unknown category 'negations'", id="bad-category"
        ),
        pytest.param({**_GOOD, "id": "Bad ID"}, "lowercase words", id="bad-id"),
        pytest.param({**_GOOD, "text": "  "}, "non-empty string", id="empty-text"),
        pytest.param(["not", "an", "object"], "must be a JSON object", id="not-object"),
    ],
)
def test_label_case_loader_rejects(row: Any, message: str) -> None:
    with pytest.raises(CaseFileError, match=re.escape(message)) as info:
        parse_label_case(row, "cases.jsonl:7")
    assert str(info.value).startswith("cases.jsonl:7: ")


_GOOD_M = {
    "id": "m-x",
    "text": "Small left pleural effusion.",
    "finding": "Pleural Effusion",
    "laterality": "left",
}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param({**_GOOD_M, "side": "left"}, "unknown key(s) ['side']", id="unknown-key"),
        pytest.param(
            {**_GOOD_M, "laterality": "both"},
            "laterality 'both' is not one of",
            id="bad-laterality",
        ),
        pytest.param(
            {**_GOOD_M, "certainty": "maybe"}, "certainty 'maybe' is not one of", id="bad-certainty"
        ),
        pytest.param(
            {**_GOOD_M, "certainty": None}, "certainty None is not one of", id="null-certainty"
        ),
        pytest.param({**_GOOD_M, "change": "gone"}, "change 'gone' is not one of", id="bad-change"),
        pytest.param({**_GOOD_M, "size_mm": -3}, "positive number", id="bad-size"),
        pytest.param({**_GOOD_M, "historical": "yes"}, "true or false", id="bad-bool"),
        pytest.param({**_GOOD_M, "locations": []}, "locations must be", id="empty-locations"),
        pytest.param({**_GOOD_M, "locations": [[]]}, "locations must be", id="empty-alternatives"),
        pytest.param(
            {"id": "m-x", "text": "x", "finding": "Edema"}, "at least one attribute", id="no-attrs"
        ),
    ],
)
def test_mention_case_loader_rejects(row: Any, message: str) -> None:
    with pytest.raises(CaseFileError, match=re.escape(message)):
        parse_mention_case(row, "mentions.jsonl:3")


def test_loader_reports_bad_json_and_duplicates(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(_GOOD) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match=r"bad\.jsonl:2: not valid JSON"):
        load_jsonl(bad, parse_label_case)
    dup = tmp_path / "dup.jsonl"
    dup.write_text(json.dumps(_GOOD) + "\n" + json.dumps(_GOOD) + "\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match=r"dup\.jsonl:2: duplicate id 'x-01'"):
        load_jsonl(dup, parse_label_case)
