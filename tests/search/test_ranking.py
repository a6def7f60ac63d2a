"""What a plain finding query finds and in which order: hierarchy expansion (subtypes,
not etiologies), site children written as a general finding with a location, and
hypothesis-only possibilities ranked last. Real report reader, no mocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from radpilot.interop.records import make_record
from radpilot.search.analysis import specialise
from radpilot.search.engine import search
from radpilot.search.ingest import ingest_records
from radpilot.search.store import ArchiveStore, open_store
from radpilot.search.vocab import expand, site_children

REPORTS = {
    "P1": "FINDINGS: Right lower lobe airspace consolidation.\nIMPRESSION: Right lower lobe pneumonia.",
    "P2": "FINDINGS: Patchy bibasilar opacities.\n"
    "IMPRESSION: Bibasilar opacities, most consistent with infectious process.",
    "P3": "FINDINGS: Right lower lobe opacity.\n"
    "IMPRESSION: Right lower lobe opacity, which may represent pneumonia.",
    "P4": "FINDINGS: Lungs are clear.\nIMPRESSION: Probable early pneumonia.",
    "F1": "FINDINGS: There is an old healed fracture through the right 8th rib. Lungs are clear.\n"
    "IMPRESSION: No acute disease.",
    "F2": "FINDINGS: Healed fracture of the left clavicle. Lungs are clear.\n"
    "IMPRESSION: No acute disease.",
    "F3": "FINDINGS: Acute displaced fracture of the right 5th rib.\nIMPRESSION: Right 5th rib fracture.",
    "F4": "FINDINGS: No rib fracture. Lungs are clear.\nIMPRESSION: No acute disease.",
    # "Age-indeterminate" doubts the age, not the fracture; "indeterminate nodule" doubts it.
    "F5": "IMPRESSION: Multiple age-indeterminate left-sided rib fractures.",
    "N1": "IMPRESSION: Possible nodule in the right upper lobe.",
    # "stable" says the mediastinum is as it was, not that it is widened
    "M1": "FINDINGS: The heart is normal in size. The mediastinum is stable. Lungs are clear.",
    "M2": "FINDINGS: The mediastinum is widened.",
    "M3": "FINDINGS: The mediastinum may be widened.",
}


@pytest.fixture(scope="module")
def archive(new_archive: Callable[[str], str]) -> Iterator[ArchiveStore]:
    store = open_store(new_archive("ranking"))
    ingest_records(store, [make_record(rid=k, text=v) for k, v in REPORTS.items()], jobs=1)
    yield store
    store.close()


def ids(store: ArchiveStore, query: str) -> list[str]:
    return [h.report.id for h in search(store, query, semantic=False).hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Definite first; a leaning hedge next; a possibility offered to explain a stated
        # opacity last; an etiology ("infectious process") is not the disease pneumonia.
        ("pneumonia", ["P1", "P4", "P3"]),
        ("infection", ["P2"]),
        ("+pneumonia", ["P1"]),
        # "fracture ... of the right 8th rib" is a rib fracture; a clavicle one is not.
        # Stated twice (findings and impression) before once; current before old.
        ("rib fracture", ["F3", "F5", "F1"]),
        ('+"rib fracture"', ["F3", "F5", "F1"]),
        ("left rib fracture", ["F5"]),
        ("uncertain:nodule", ["N1"]),
        ("+nodule", []),
        ("clavicle fracture", ["F2"]),
        ('absent:"rib fracture"', ["F4"]),
        ("widened mediastinum", ["M2", "M3"]),
        ('uncertain:"widened mediastinum"', ["M3"]),
    ],
)
def test_plain_finding_queries(archive: ArchiveStore, query: str, expected: list[str]) -> None:
    assert ids(archive, query) == expected


def test_fracture_finds_every_site(archive: ArchiveStore) -> None:
    assert sorted(ids(archive, "fracture")) == ["F1", "F2", "F3", "F5"]


def test_hypothesis_only_scores_below_a_leaning_hedge(archive: ArchiveStore) -> None:
    hits = {h.report.id: h for h in search(archive, "pneumonia", semantic=False).hits}
    assert hits["P3"].uncertain and hits["P4"].uncertain and not hits["P1"].uncertain
    assert hits["P3"].parts["finding"] < hits["P4"].parts["finding"]


@pytest.mark.parametrize(
    ("finding", "included", "excluded"),
    [
        ("pneumonia", ["pneumonia"], ["infection"]),
        ("infection", ["infection"], ["pneumonia"]),
        ("fracture", ["rib_fracture", "clavicle_fracture"], []),
        ("lung_opacity", ["airspace_disease", "infiltrate"], ["atelectasis", "infection"]),
        ("not_a_finding", ["not_a_finding"], ["pneumonia"]),
    ],
)
def test_expand(finding: str, included: list[str], excluded: list[str]) -> None:
    got = expand(finding)
    assert got[0] == finding
    assert set(included) <= set(got) and not set(excluded) & set(got)


@pytest.mark.parametrize(
    ("finding", "locations", "expected"),
    [
        ("fracture", ("rib",), "rib_fracture"),
        ("fracture", ("anterior", "rib"), "rib_fracture"),
        ("fracture", ("Clavicle",), "clavicle_fracture"),
        ("fracture", ("clavicle", "rib"), "fracture"),  # two sites: stay general
        ("fracture", (), "fracture"),
        ("fracture", ("shoulder",), "fracture"),
        ("pneumothorax", ("rib",), "pneumothorax"),  # no site children
        ("unknown_finding", ("rib",), "unknown_finding"),
    ],
)
def test_specialise(finding: str, locations: tuple[str, ...], expected: str) -> None:
    assert specialise(finding, locations) == expected


def test_site_children_come_from_names() -> None:
    assert ("rib", "rib_fracture") in site_children()["fracture"]
