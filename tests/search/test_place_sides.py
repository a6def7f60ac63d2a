"""A sided query's place carries the query's side; a plural paired place ("the lung
bases", "the apices", "the hila") is both sides (the reader's ``modifiers.json``); and a
place asked ranks before a side: a bilateral mention at the place answers a one-sided
query before a mention on that side placed only elsewhere."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from radpilot.search.engine import search
from radpilot.search.freewords import NEAR_PLACE, answers_place, place_grade, placed
from radpilot.search.models import StoredMention
from radpilot.search.store import ArchiveStore

REPORTS = {
    # "right lower lobe scarring": at the right base (S1), at both bases (S4, written as a
    # plural place), then on the right placed nowhere (S3), then one whose side is the
    # right but whose lower lobe is the left one (S2: the mid zone is the right's).
    # "left basilar scarring": at the left base (S5), at both (S4), then on the left
    # elsewhere (S6), then on both sides elsewhere (A1).
    "S1": "FINDINGS: Scarring in the right lower lobe.",
    "S2": "FINDINGS: Patchy scarring in the right midlung and left lower lobe.",
    "S3": "FINDINGS: Right lung scarring. Heart size normal.",
    "S4": "FINDINGS: Mild scarring at the lung bases.",
    "S5": "FINDINGS: Scarring at the left base.",
    "S6": "FINDINGS: Left upper lobe scarring.",
    # "bilateral calcified granulomas" / "left apical scarring": the plural places.
    "G1": "FINDINGS: A few calcified granulomas are seen in the lung bases.",
    "G2": "FINDINGS: Calcified granuloma in the right lower lobe.",
    "A1": "FINDINGS: Linear scarring at the apices.",
    "A2": "FINDINGS: Scarring at the right apex.",
}


@pytest.fixture(scope="module")
def archive(filled_archive: Callable[[str, dict[str, str]], ArchiveStore]) -> ArchiveStore:
    return filled_archive("place_sides", REPORTS)


def ids(store: ArchiveStore, query: str) -> list[str]:
    return [h.report.id for h in search(store, query, limit=20, semantic=False).hits]


def test_a_sided_querys_place_must_carry_its_side(archive: ArchiveStore) -> None:
    got = ids(archive, "right lower lobe scarring")
    assert got[:3] == ["S1", "S4", "S3"], got
    assert got.index("S3") < got.index("S2"), got
    assert "S5" not in got and "S6" not in got


def test_a_place_asked_ranks_before_a_side(archive: ArchiveStore) -> None:
    got = ids(archive, "left basilar scarring")
    assert got[:4] == ["S5", "S4", "S6", "A1"], got


@pytest.mark.parametrize(
    ("query", "wanted", "unwanted"),
    [
        ("bilateral calcified granulomas", "G1", "G2"),
        ("left apical scarring", "A1", "A2"),
        ("bibasilar scarring", "S4", "S1"),
    ],
)
def test_a_plural_paired_place_is_each_side(
    archive: ArchiveStore, query: str, wanted: str, unwanted: str
) -> None:
    got = ids(archive, query)
    assert wanted in got[:1], got
    assert unwanted not in got


def _mention(sides: str, *locations: str) -> StoredMention:
    return StoredMention(
        finding="scarring",
        status="present",
        certainty="positive",
        laterality=sides.strip("|").split("|")[0] or None,
        locations=locations,
        change=None,
        section="findings",
        span=(0, 1),
        sentence=(0, 1),
        historical=False,
        span_text="scarring",
        sides=tuple(s for s in sides.split("|") if s),
    )


@pytest.mark.parametrize(
    ("place", "sides", "locations", "expected"),
    [
        ("lower lobe", ("right", "bilateral"), {"left lower lobe"}, False),
        ("lower lobe", ("left", "bilateral"), {"left lower lobe"}, True),
        ("lower lobe", ("right", "bilateral"), {"right lower lobe"}, True),
        ("lower lobe", (), {"left lower lobe"}, True),
        ("lower lobe", ("right", "bilateral"), {"lower lobe"}, True),
        ("lower lobe", ("right", "bilateral"), {"basilar"}, True),
        ("lingula", ("right", "bilateral"), {"lingula"}, False),
        ("upper lobe", ("left", "bilateral"), {"bilateral upper lobe"}, True),
    ],
)
def test_answers_place_reads_the_side_a_location_carries(
    place: str, sides: tuple[str, ...], locations: set[str], expected: bool
) -> None:
    assert answers_place(place, locations, sides) is expected


def test_a_place_written_as_asked_ranks_before_one_only_near_it(
    filled_archive: Callable[[str, dict[str, str]], ArchiveStore],
) -> None:
    # The apex is in the upper lobe: both answer, the lobe written first, though the
    # apical opacity is said twice, in the impression too, and its report holds the
    # query's words elsewhere (a higher finding and lexical score).
    store = filled_archive(
        "near_places",
        {
            "N1": "FINDINGS: Heart size is at the upper limits of normal. An azygos lobe is "
            "noted. There are biapical opacities. IMPRESSION: Stable biapical opacities.",
            "N2": "FINDINGS: Mild streaky opacities in the left upper lobe. IMPRESSION: No "
            "acute abnormality.",
            "N3": "FINDINGS: Opacity at the right base.",
        },
    )
    assert ids(store, "upper lobe opacities")[:2] == ["N2", "N1"]


def test_a_place_as_written_ranks_before_certainty_only_near_it(
    filled_archive: Callable[[str, dict[str, str]], ArchiveStore],
) -> None:
    # Scarring offered for an opacity is at the opacity's place (the reader): "upper lobe
    # scarring" asks first for the scarring written there, even hedged, then the apical
    # one; the bases are the lower lobes, so "basilar" is answered by both as written.
    store = filled_archive(
        "written_places",
        {
            "U1": "FINDINGS: Stable right apical scarring.",
            "U2": "FINDINGS: Focal opacity in the left upper lobe, probably scarring.",
            "U3": "FINDINGS: Scarring at the right base.",
            "L1": "FINDINGS: Right lower lobe scarring.",
            "L2": "FINDINGS: Opacity at the right base, which may represent scarring.",
        },
    )
    assert ids(store, "upper lobe scarring")[:2] == ["U2", "U1"]
    got = ids(store, "basilar scarring")
    assert set(got[:2]) == {"U3", "L1"} and got[2] == "L2"


@pytest.mark.parametrize(
    ("place", "locations", "grade"),
    [
        ("upper lobe", {"left upper lobe"}, 1.0),
        ("upper lobe", {"upper lobe"}, 1.0),
        ("upper lobe", {"apical"}, NEAR_PLACE),
        ("upper lobe", {"apical", "right upper lobe"}, 1.0),
        ("upper lobe", {"basilar"}, 0.0),
        ("basilar", {"left lower lobe"}, 1.0),
        ("lower lobe", {"basilar"}, 1.0),
        ("lower lobe", {"lower zone"}, 1.0),
        ("apical", {"upper zone"}, NEAR_PLACE),
        ("lower lobe", set(), 0.0),
    ],
)
def test_place_grade_puts_the_place_asked_above_a_near_one(
    place: str, locations: set[str], grade: float
) -> None:
    assert place_grade(place, locations) == grade


def test_a_side_is_put_before_a_location_only_where_it_carries_none() -> None:
    got = placed(_mention("|right|", "mid zone", "left lower lobe"))
    assert got == {"mid zone", "left lower lobe", "right mid zone"}
