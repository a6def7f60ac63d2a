"""Where the reader's matches of a finding are fewer than a page, the page goes on with
the mentions of the finding it is a kind of, where both roll up to one CheXpert label
(``vocab.broader``): a central line for a PICC, a lung lesion for a nodule, a fracture
for a rib fracture. Only the broader finding's own mentions with the query's side, after
every match of the finding asked; never its other kinds, nor a parent of another label."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from radpilot.search.engine import search
from radpilot.search.store import ArchiveStore
from radpilot.search.vocab import broader

REPORTS = {
    "P1": "FINDINGS: Left arm PICC with tip in the SVC.",
    "P2": "FINDINGS: Left subclavian central venous catheter, tip at the cavoatrial junction.",
    "P3": "FINDINGS: Right internal jugular central line in good position.",
    "P4": "FINDINGS: Left chest tube in place.",
    "N1": "FINDINGS: Right upper lobe nodule.",
    "N2": "FINDINGS: Ill-defined lesion in the right lung.",
    "N3": "FINDINGS: Large right lower lobe mass.",
    "N4": "FINDINGS: Ill-defined lesion in the left lung.",
    "F1": "FINDINGS: Healed right rib fractures.",
    "F2": "FINDINGS: Healed fracture on the right, unchanged.",
    "F3": "FINDINGS: Right clavicle fracture.",
    "O1": "FINDINGS: Patchy right lung opacity.",
}


@pytest.fixture(scope="module")
def archive(filled_archive: Callable[[str, dict[str, str]], ArchiveStore]) -> ArchiveStore:
    return filled_archive("broader", REPORTS)


def ids(store: ArchiveStore, query: str, limit: int = 20) -> list[str]:
    return [h.report.id for h in search(store, query, limit=limit, semantic=False).hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("left picc line", ["P1", "P2"]),
        ("right lung nodule", ["N1", "N2"]),
        ("right rib fractures", ["F1", "F2"]),
        ("picc", ["P1", "P2", "P3"]),
    ],
)
def test_the_broader_finding_follows_the_finding_asked(
    archive: ArchiveStore, query: str, expected: list[str]
) -> None:
    got = ids(archive, query)
    assert got[0] == expected[0] and set(got) == set(expected), got
    # Another kind of the broader finding (a mass, a clavicle fracture, a chest tube) or
    # the other side is no answer.
    assert not {"N3", "N4", "F3", "P4"} & set(got), got


def test_the_broader_finding_is_shown_as_its_evidence(archive: ArchiveStore) -> None:
    hits = search(archive, "left picc line", semantic=False).hits
    assert [h.report.id for h in hits] == ["P1", "P2"]
    assert not hits[1].words_only and {m.finding for m in hits[1].mentions} == {"central_line"}


def test_a_full_page_of_the_finding_asked_needs_no_broader_one(archive: ArchiveStore) -> None:
    assert ids(archive, "left picc line", limit=1) == ["P1"]


@pytest.mark.parametrize(
    ("finding", "up"),
    [
        ("picc", "central_line"),
        ("nodule", "lung_lesion"),
        ("rib_fracture", "fracture"),
        ("atelectasis", None),  # a kind of lung opacity with a label of its own
        ("infection", None),  # a cause, not what is seen
        ("calcified_lymph_node", None),  # no label to share
        ("pneumothorax", None),
    ],
)
def test_broader_needs_one_label(finding: str, up: str | None) -> None:
    assert broader(finding) == up


def test_a_finding_of_its_own_label_does_not_fall_back(archive: ArchiveStore) -> None:
    assert "O1" not in ids(archive, "right atelectasis")
