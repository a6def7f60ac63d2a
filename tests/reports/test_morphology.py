"""The one singular/plural helper: regular English rules, shared by reader and search."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radpilot.reports import vocabulary
from radpilot.reports.morphology import (
    plural,
    plural_variants,
    singular,
    singular_candidates,
    stem,
)


@pytest.mark.parametrize(
    ("one", "many"),
    [
        ("opacity", "opacities"),
        ("effusion", "effusions"),
        ("nodule", "nodules"),
        ("mass", "masses"),
        ("process", "processes"),
        ("reflex", "reflexes"),
        ("patch", "patches"),
        ("change", "changes"),
        ("rib", "ribs"),
        ("airway", "airways"),  # a vowel before y: plain s
    ],
)
def test_regular_plurals_both_ways(one: str, many: str) -> None:
    assert plural(one) == many
    assert singular(many) == one
    assert stem(one) == stem(many)
    assert one in singular_candidates(many)


@pytest.mark.parametrize(
    ("word", "one"),
    [
        ("status", "status"),  # -us, -is, -ss are singular already
        ("pelvis", "pelvis"),
        ("glass", "glass"),
        ("bullae", "bullae"),  # Latin plurals are vocabulary synonyms, not rules
        ("lungs", "lung"),
        ("hx", "hx"),
    ],
)
def test_singular_leaves_singulars_alone(word: str, one: str) -> None:
    assert singular(word) == one


def test_short_or_odd_words_are_not_inflected() -> None:
    assert plural("hx") == "hx"
    assert plural("t10") == "t10"


def test_plural_variants_inflect_the_last_word_only() -> None:
    assert plural_variants("pleural effusion") == ("pleural effusion", "pleural effusions")
    assert plural_variants("airspace opacity") == ("airspace opacity", "airspace opacities")
    assert plural_variants("ptx") == ("ptx",)
    assert plural_variants("bibasilar atelectasis") == ("bibasilar atelectasis",)
    assert plural_variants("t10 fracture") == ("t10 fracture", "t10 fractures")


def test_the_vocabulary_looks_words_up_through_it() -> None:
    assert vocabulary.lookup("opacities") == "lung_opacity"
    assert vocabulary.lookup("Pleural effusions") == "pleural_effusion"
    assert vocabulary.plural_variants("Air-space opacity") == (
        "air space opacity",
        "air space opacities",
    )


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=12))
def test_a_generated_plural_reads_back(word: str) -> None:
    if word.endswith(("s", "u", "i", "ie")):
        # reads as a plural already; its plural (-us, -is) reads as a singular; or "-ies",
        # which the regular rules read back as "-y" (opacities), never as "-ie" (calories)
        return
    many = plural(word)
    assert word in singular_candidates(many)
    shared = stem(many)
    assert word.startswith(shared) and many.startswith(shared) and len(shared) >= len(word) - 2
