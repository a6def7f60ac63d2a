"""Report-level label rules, one function each, pinned by tables of hand-built cases.

``labels.rollup`` (rules 2-3: which labels one mention sets, at what value),
``labels.no_finding`` (rule 5) and ``labels.counted`` (rule 1) are exercised here on
mentions built by hand, apart from the reader, so that a change of the reader cannot hide
a change of a rule. The uncertainty policy (rule 4) has its own tables in
``test_policy.py`` (hand-built reports) and ``regression_policy.jsonl`` (sentences).
The expectations follow the rules as documented in ``radpilot.reports.labels`` and the
CheXpert labeler's conventions, not what the code returns.
"""

from __future__ import annotations

import pytest

from radpilot.reports.labels import counted, label, no_finding, rollup
from radpilot.reports.labelsets import CHESTXRAY14, CHEXPERT, LabelSet
from radpilot.reports.models import Certainty, Mention, Report, Span
from radpilot.reports.vocabulary import load_vocabulary

P, A, U = Certainty.PRESENT, Certainty.ABSENT, Certainty.UNCERTAIN
SETS = {"chexpert": CHEXPERT, "cxr14": CHESTXRAY14}


def _mention(finding: str, certainty: Certainty, **kw: object) -> Mention:
    span = Span(0, 1, "x")
    return Mention(finding, certainty, span, Span(0, 9, "x"), "findings", **kw)  # type: ignore[arg-type]


# finding, certainty, label set -> the (label, value) pairs, in order
ROLLUP_CASES = [
    ("pleural_effusion", P, "chexpert", [("Pleural Effusion", 1.0)]),
    ("pleural_effusion", U, "chexpert", [("Pleural Effusion", -1.0)]),
    ("pleural_effusion", A, "chexpert", [("Pleural Effusion", 0.0)]),
    ("pleural_effusion", P, "cxr14", [("Effusion", 1.0)]),
    # label_certainty: uncertain -> a present mention counts -1.0 (CheXpert's convention)
    ("vascular_congestion", P, "chexpert", [("Edema", -1.0)]),
    ("vascular_congestion", A, "chexpert", [("Edema", 0.0)]),
    ("costophrenic_blunting", P, "chexpert", [("Pleural Effusion", -1.0)]),
    # also_uncertain: heart failure is Edema and makes Cardiomegaly uncertain, CheXpert only
    ("heart_failure", P, "chexpert", [("Edema", 1.0), ("Cardiomegaly", -1.0)]),
    ("heart_failure", U, "chexpert", [("Edema", -1.0), ("Cardiomegaly", -1.0)]),
    ("heart_failure", A, "chexpert", [("Edema", 0.0)]),
    # no propagation to parents: a granuloma is no Lung Lesion; emphysema only in ChestX-ray14
    ("granuloma", P, "chexpert", []),
    ("emphysema", P, "chexpert", []),
    ("emphysema", P, "cxr14", [("Emphysema", 1.0)]),
    ("hiatal_hernia", P, "cxr14", [("Hernia", 1.0)]),
    ("central_line", P, "chexpert", [("Support Devices", 1.0)]),
    ("central_line", P, "cxr14", []),
]


@pytest.mark.parametrize(
    ("finding", "certainty", "label_set", "expected"),
    ROLLUP_CASES,
    ids=[f"{f}-{c.value}-{s}" for f, c, s, _ in ROLLUP_CASES],
)
def test_rollup_table(
    finding: str, certainty: Certainty, label_set: str, expected: list[tuple[str, float]]
) -> None:
    assert rollup(_mention(finding, certainty), SETS[label_set], load_vocabulary()) == expected


# counted mentions (finding, certainty), the label values the other rules gave, set -> value
NO_FINDING_CASES = [
    ([], {}, "chexpert", 1.0),
    ([("pneumothorax", A)], {"Pneumothorax": 0.0}, "chexpert", 1.0),
    ([("pneumothorax", P)], {"Pneumothorax": 1.0}, "chexpert", None),
    ([("pneumothorax", U)], {"Pneumothorax": -1.0}, "chexpert", None),
    # a device is no pathology (CheXpert's Support Devices, ChestX-ray14 has no device label)
    ([("central_line", P)], {"Support Devices": 1.0}, "chexpert", 1.0),
    ([("central_line", P)], {}, "cxr14", 1.0),
    # an abnormal finding that rolls up to no label of the set still blocks it
    ([("granuloma", P)], {}, "chexpert", None),
    ([("granuloma", U)], {}, "chexpert", None),
    ([("granuloma", A)], {}, "chexpert", 1.0),
    ([("emphysema", P)], {}, "chexpert", None),
    ([("emphysema", P)], {"Emphysema": 1.0}, "cxr14", None),
    # a normal variant (abnormal: false) does not
    ([("skin_fold", P)], {}, "chexpert", 1.0),
]


@pytest.mark.parametrize(
    ("mentions", "values", "label_set", "expected"),
    NO_FINDING_CASES,
    ids=[f"nf-{i}" for i in range(len(NO_FINDING_CASES))],
)
def test_no_finding_table(
    mentions: list[tuple[str, Certainty]],
    values: dict[str, float | None],
    label_set: str,
    expected: float | None,
) -> None:
    labels: LabelSet = SETS[label_set]
    built = [_mention(f, c) for f, c in mentions]
    full: dict[str, float | None] = {**dict.fromkeys(labels.labels), **values}
    assert no_finding(full, built, labels, load_vocabulary()) == expected


# what rule 1 keeps out of every label, "No Finding" included
COUNTED_CASES = [
    ({}, True),
    ({"historical": True}, True),  # "old rib fracture": on this image
    ({"hypothetical": True}, False),  # "rule out pneumothorax", indication section
    ({"region": "lower limb"}, False),  # "Right knee: small effusion"
]


@pytest.mark.parametrize(("attrs", "kept"), COUNTED_CASES, ids=[str(a) for a, _ in COUNTED_CASES])
def test_counted_table(attrs: dict[str, object], kept: bool) -> None:
    m = _mention("pleural_effusion", P, **attrs)
    report = Report("x" * 10, mentions=(m,))
    assert (counted(report) == [m]) is kept
    got = label(report, CHEXPERT)
    assert got["Pleural Effusion"] == (1.0 if kept else None)
    assert got["No Finding"] == (None if kept else 1.0)
