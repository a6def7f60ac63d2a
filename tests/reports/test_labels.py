"""Report-level labels: the aggregation rule of labels.py, on hand-built reports (so that
the rule is tested apart from the reader) and end to end."""

from __future__ import annotations

import pytest

from radpilot.reports import read
from radpilot.reports.labels import CHEXPERT_LABELS, CXR14_LABELS, chestxray14, chexpert
from radpilot.reports.models import Certainty, Hedge, Mention, Report, Span

P, A, U = Certainty.PRESENT, Certainty.ABSENT, Certainty.UNCERTAIN


def _report(*mentions: tuple[str, Certainty] | tuple[str, Certainty, bool]) -> Report:
    out = []
    for item in mentions:
        finding, certainty = item[0], item[1]
        hypothetical = bool(item[2]) if len(item) > 2 else False
        span = Span(0, 1, "x")
        out.append(Mention(finding, certainty, span, span, "findings", hypothetical=hypothetical))
    return Report(text="x", mentions=tuple(out))


def test_label_names_and_order() -> None:
    assert CHEXPERT_LABELS[0] == "No Finding" and CHEXPERT_LABELS[-1] == "Support Devices"
    assert len(CHEXPERT_LABELS) == 14 and len(CXR14_LABELS) == 15
    assert CXR14_LABELS[-1] == "No Finding" and "Pleural_Thickening" in CXR14_LABELS


@pytest.mark.parametrize(
    ("mentions", "label", "value"),
    [
        ((), "Pneumothorax", None),
        ((("pneumothorax", A),), "Pneumothorax", 0.0),
        ((("pneumothorax", U),), "Pneumothorax", -1.0),
        ((("pneumothorax", P),), "Pneumothorax", 1.0),
        ((("pneumothorax", A), ("pneumothorax", U)), "Pneumothorax", -1.0),
        ((("pneumothorax", U), ("pneumothorax", P), ("pneumothorax", A)), "Pneumothorax", 1.0),
        ((("pneumothorax", P, True),), "Pneumothorax", None),  # hypothetical: not a finding
        ((("nodule", P),), "Lung Lesion", 1.0),
        ((("mass", U),), "Lung Lesion", -1.0),
        ((("calcified_granuloma", P),), "Lung Lesion", None),  # granuloma: no CheXpert roll-up
        ((("vascular_congestion", P),), "Edema", -1.0),  # label_certainty: uncertain
        ((("vascular_congestion", A),), "Edema", 0.0),
        ((("heart_failure", P),), "Cardiomegaly", -1.0),  # also_uncertain
        ((("heart_failure", A),), "Cardiomegaly", None),
        ((("picc", P),), "Support Devices", 1.0),
    ],
)
def test_chexpert_aggregation(mentions: tuple, label: str, value: float | None) -> None:
    assert chexpert(_report(*mentions))[label] == value


@pytest.mark.parametrize(
    ("mentions", "no_finding"),
    [
        ((), 1.0),
        ((("pneumothorax", A), ("cardiomegaly", A)), 1.0),
        ((("picc", P),), 1.0),  # devices never block No Finding
        ((("pneumothorax", P),), None),
        ((("pneumonia", U),), None),
        ((("emphysema", P),), None),  # an abnormal finding outside the 14 blocks it too
        ((("emphysema", A),), 1.0),
        ((("scoliosis", P, True),), 1.0),
    ],
)
def test_no_finding_rule(mentions: tuple, no_finding: float | None) -> None:
    assert chexpert(_report(*mentions))["No Finding"] == no_finding


@pytest.mark.parametrize(
    ("mentions", "expected"),
    [
        ((("pleural_effusion", P),), {"Effusion": 1.0, "No Finding": None}),
        ((("infiltrate", U),), {"Infiltration": -1.0}),
        ((("lung_opacity", P),), {"Infiltration": None, "No Finding": None}),
        ((("hiatal_hernia", P),), {"Hernia": 1.0}),
        ((("pleural_thickening", A),), {"Pleural_Thickening": 0.0, "No Finding": 1.0}),
        ((("emphysema", P),), {"Emphysema": 1.0}),
    ],
)
def test_chestxray14_aggregation(mentions: tuple, expected: dict[str, float | None]) -> None:
    got = chestxray14(_report(*mentions))
    assert set(got) == set(CXR14_LABELS)
    assert {k: got[k] for k in expected} == expected


def test_end_to_end() -> None:
    text = (
        "INDICATION: Rule out pneumonia.\n"
        "FINDINGS: Right PICC tip in the SVC. Mild cardiomegaly. Small left pleural effusion, "
        "possibly with adjacent atelectasis. No pneumothorax.\n"
        "IMPRESSION: Small left effusion."
    )
    report = read(text)
    expected: dict[str, float | None] = {
        "No Finding": None,
        "Enlarged Cardiomediastinum": None,
        "Cardiomegaly": 1.0,
        "Lung Lesion": None,
        "Lung Opacity": None,
        "Edema": None,
        "Consolidation": None,
        "Pneumonia": None,
        "Atelectasis": -1.0,
        "Pneumothorax": 0.0,
        "Pleural Effusion": 1.0,
        "Pleural Other": None,
        "Fracture": None,
        "Support Devices": 1.0,
    }
    assert chexpert(report, policy="chexpert") == expected
    # radpilot's policy: the atelectasis is only offered as a possibility beside the stated
    # effusion, so it is no label of its own; the mention keeps its hedge as evidence.
    assert chexpert(report) == {**expected, "Atelectasis": None}
    assert [m.hedge for m in report.mentions if m.finding == "atelectasis"] == [Hedge.POSSIBLE]


@pytest.mark.parametrize("labels_name", ["chexpert", "chestxray14"])
@pytest.mark.parametrize("policy_name", ["radpilot", "chexpert"])
def test_label_table_gives_what_rollup_and_no_finding_give(
    labels_name: str, policy_name: str
) -> None:
    # label() looks rules 2, 3 and 5 up in a table per vocabulary and label set; the values
    # must be those of rollup() and no_finding() mention by mention.
    from radpilot.reports import read
    from radpilot.reports.labels import counted, label, label_set, no_finding, rollup
    from radpilot.reports.policy import raised, uncertainty_policy
    from radpilot.reports.vocabulary import load_vocabulary

    texts = [
        "Possible pneumonia or atelectasis. Heart size is unchanged.",
        "Congestive heart failure. No effusion.",
        "Vascular congestion. Blunting of the costophrenic angle.",
        "Calcified granuloma. No pneumothorax.",
        "Possible pneumonia. Stable cardiomegaly. Emphysema.",
        "No acute disease. Pacemaker in place.",
        "Right basilar opacity, may represent pneumonia. Hiatal hernia.",
        "Resolved effusion. Mild edema versus atelectasis.",
    ]
    labels = label_set(labels_name)
    policy = uncertainty_policy(policy_name)
    vocab = load_vocabulary()
    seen = set()
    for text in texts:
        report = read(text)
        expected: dict[str, float | None] = dict.fromkeys(labels.labels)
        mentions = counted(report)
        rank = {None: 0, 0.0: 1, -1.0: 2, 1.0: 3}
        kept = policy.select(report, mentions, vocab)
        for m in kept:
            for name, value in rollup(m, labels, vocab):
                if rank[value] > rank[expected[name]]:
                    expected[name] = value
        if no_finding(expected, mentions, labels, vocab, raised(mentions, kept)) == 1.0:
            expected["No Finding"] = 1.0
        got = label(report, labels, policy=policy)
        assert got == expected
        assert list(got) == list(expected)
        seen.update(v for v in got.values())
    assert {1.0, -1.0, 0.0, None} <= seen
