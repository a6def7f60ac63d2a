"""The finding vocabulary and the rule files: content, lookups, and strict loaders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from radpilot import registry
from radpilot.errors import VocabularyError
from radpilot.reports import vocabulary
from radpilot.reports.labels import CHEXPERT_LABELS, CXR14_LABELS
from radpilot.reports.models import Hedge, Laterality
from radpilot.reports.rules import (
    CUES,
    MODIFIERS,
    SECTIONS,
    cue_rules,
    cue_rules_from_dict,
    modifiers,
    modifiers_from_dict,
    section_rules,
    section_rules_from_dict,
)
from radpilot.reports.vocabulary import FINDINGS, load_vocabulary, vocabulary_from_dict

GOOD: dict[str, Any] = {
    "version": "0.0.1",
    "findings": [
        {
            "id": "lung_opacity",
            "name": "lung opacity",
            "synonyms": ["opacity"],
            "parent": None,
            "chexpert": "Lung Opacity",
            "cxr14": None,
            "radlex": None,
        },
        {
            "id": "atelectasis",
            "name": "atelectasis",
            "synonyms": ["collapse"],
            "parent": "lung_opacity",
            "chexpert": "Atelectasis",
            "cxr14": "Atelectasis",
            "radlex": None,
            "anchors": ["lung"],
            "qualifiers": ["collapsed"],
        },
    ],
}


def test_packaged_vocabulary_covers_the_required_findings() -> None:
    vocab = load_vocabulary()
    assert len(vocab) >= 60
    assert vocab.version
    rolled_cx = {f.chexpert for f in vocab if f.chexpert}
    rolled_14 = {f.cxr14 for f in vocab if f.cxr14}
    assert rolled_cx == set(CHEXPERT_LABELS) - {"No Finding"}
    assert rolled_14 == set(CXR14_LABELS) - {"No Finding"}
    for fid in (
        "nodule",
        "mass",
        "granuloma",
        "calcified_granuloma",
        "emphysema",
        "hyperinflation",
        "fibrosis",
        "scarring",
        "hiatal_hernia",
        "tortuous_aorta",
        "aortic_calcification",
        "scoliosis",
        "degenerative_spine",
        "low_lung_volumes",
        "interstitial_markings",
        "bronchiectasis",
        "cavitation",
        "lymphadenopathy",
        "pneumomediastinum",
        "subcutaneous_emphysema",
        "pneumoperitoneum",
        "endotracheal_tube",
        "enteric_tube",
        "central_line",
        "picc",
        "chest_tube",
        "cardiac_device",
        "sternotomy",
        "surgical_clips",
        "prosthetic_valve",
    ):
        assert fid in vocab.findings, fid


@pytest.mark.parametrize(
    ("term", "fid"),
    [
        ("pleural effusion", "pleural_effusion"),
        ("Pleural Effusions", "pleural_effusion"),
        ("  air-space   disease ", "airspace_disease"),
        ("PTX", "pneumothorax"),
        ("opacities", "lung_opacity"),
        ("calcified granuloma", "calcified_granuloma"),
        ("NG tube", "enteric_tube"),
        ("edematous changes", "edema"),  # an adjective form before an adjective head
        ("fibrotic process", "fibrosis"),
        ("consolidative opacity", "consolidation"),  # an explicit term keeps its owner
        ("edematous", None),  # a bare adjective names nothing unless it is a synonym
        ("no such finding", None),
        ("", None),
    ],
)
def test_lookup(term: str, fid: str | None) -> None:
    assert vocabulary.lookup(term) == fid


def test_get_and_hierarchy() -> None:
    assert vocabulary.get("nodule").chexpert == "Lung Lesion"
    assert vocabulary.get("nodule").cxr14 == "Nodule"
    assert "lung_lesion" in load_vocabulary().ancestors("calcified_granuloma")
    with pytest.raises(
        VocabularyError, match=r"unknown finding id 'nope'; valid ids: .*pneumothorax"
    ):
        vocabulary.get("nope")


def test_radlex_ids_are_well_formed_or_null() -> None:
    for f in vocabulary.findings():
        assert f.radlex is None or f.radlex.startswith("RID")


def _bad(mutate: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            _bad(lambda d: d.update(extra=1)),
            "extra: unknown key; allowed: $schema, adjective_heads, description, findings, version",
        ),
        (
            _bad(lambda d: d["findings"][0].update(colour="red")),
            "findings[0].colour: unknown key; allowed: abnormal, adjectives, also_uncertain, anchors",
        ),
        (_bad(lambda d: d["findings"][0].pop("radlex")), "findings[0].radlex: missing key"),
        (
            _bad(lambda d: d["findings"][0].update(id="Bad Id")),
            "findings[0].id: 'Bad Id' is not lower_snake_case",
        ),
        (
            _bad(lambda d: d["findings"][1].update(parent="nowhere")),
            "atelectasis.parent 'nowhere' is not a finding id",
        ),
        (_bad(lambda d: d["findings"][0].update(parent="atelectasis")), "cycle"),
        (
            _bad(lambda d: d["findings"][1].update(synonyms=["opacity"])),
            "term 'opacity' belongs to both",
        ),
        (
            _bad(lambda d: d["findings"][0].update(chexpert="Lung Thing")),
            "findings[0].chexpert: 'Lung Thing' unknown; valid: No Finding",
        ),
        (
            _bad(lambda d: d["findings"][0].update(cxr14="Effusions")),
            "findings[0].cxr14: 'Effusions' unknown",
        ),
        (
            _bad(lambda d: d["findings"][0].update(radlex="12345")),
            "findings[0].radlex: '12345' is not a RadLex ID",
        ),
        (
            _bad(lambda d: d["findings"][0].update(synonyms="opacity")),
            "findings[0].synonyms: Input should be a valid list",
        ),
        (
            _bad(lambda d: d["findings"][0].update(synonyms=["  "])),
            "findings[0].synonyms[0]: must not be blank",
        ),
        (
            _bad(lambda d: d["findings"][1].pop("qualifiers")),
            "findings[1]: atelectasis: anchors and qualifiers must be given together",
        ),
        (
            _bad(lambda d: d["findings"][1].update(uncertain_qualifiers=["x"])),
            "must also be a qualifier",
        ),
        (
            _bad(lambda d: d["findings"][0].update(normal_qualifiers=["clear"])),
            "normal_qualifiers need anchors",
        ),
        (
            _bad(
                lambda d: d["findings"][1].update(
                    normal_qualifiers=d["findings"][1]["qualifiers"][:1]
                )
            ),
            "a normal_qualifiers entry cannot also be a qualifier",
        ),
        (
            _bad(lambda d: d["findings"][1].update(label_certainty="maybe")),
            "findings[1].label_certainty: Input should be 'present' or 'uncertain'",
        ),
        (
            _bad(lambda d: d["findings"][1].update(also_uncertain=["Heart"])),
            "findings[1].also_uncertain: 'Heart' unknown",
        ),
        (
            _bad(lambda d: d["findings"][1].update(role="disease")),
            "findings[1].role: Input should be 'observation', 'diagnosis' or 'etiology'",
        ),
        (
            _bad(lambda d: d["findings"][0].update(abnormal="yes")),
            "findings[0].abnormal: Input should be a valid boolean",
        ),
        (
            _bad(lambda d: d["findings"][1].update(any_region=["pleural fluid"])),
            "findings[1]: atelectasis: each any_region entry must also be a synonym",
        ),
        (_bad(lambda d: d["findings"][1].update(any_region="yes")), "findings[1].any_region"),
        (_bad(lambda d: d["findings"].append(copy.deepcopy(d["findings"][0]))), "appears twice"),
        (_bad(lambda d: d.update(findings=[])), "findings: List should have at least 1 item"),
        ([], "Input should be a valid dictionary"),
    ],
)
def test_vocabulary_loader_rejects(doc: Any, message: str) -> None:
    with pytest.raises(VocabularyError) as info:
        vocabulary_from_dict(doc, "v.json")
    assert message in str(info.value)
    assert str(info.value).startswith("v.json")
    assert "\n" not in str(info.value)


def test_vocabulary_from_a_file(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD), encoding="utf-8")
    assert set(load_vocabulary(good).findings) == {"lung_opacity", "atelectasis"}
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(VocabularyError, match=r"broken\.json: not valid JSON"):
        load_vocabulary(broken)
    with pytest.raises(VocabularyError, match=r"missing\.json: no such file"):
        load_vocabulary(tmp_path / "missing.json")
    yaml_file = tmp_path / "good.yaml"
    yaml_file.write_text(json.dumps(GOOD), encoding="utf-8")  # JSON is YAML
    assert set(load_vocabulary(yaml_file).findings) == {"lung_opacity", "atelectasis"}


def test_every_reader_data_file_is_registered_with_a_schema() -> None:
    names = set(registry.data_files.names())
    for name in ("findings", "cues", "modifiers", "sections", "explanations"):
        assert f"reports.{name}.v1" in names
    for spec in (FINDINGS, CUES, MODIFIERS, SECTIONS):
        assert spec.raw()["$schema"] == f"./{spec.schema_file.rsplit('/', 1)[-1]}"
        assert spec.schema_on_disk().is_file()


def test_organ_places_name_body_regions() -> None:
    """Every organ's region (modifiers.json location_regions) is a region that
    sections.json names for a combined examination's sub-headers, and not the chest."""
    regions = set(section_rules().regions.values())
    placed = modifiers().location_regions
    assert placed["liver"] == "abdomen" and placed["thyroid"] == "head and neck"
    assert set(placed.values()) <= regions - {"chest"}


def _rule(doc: dict[str, Any], category: str) -> dict[str, Any]:
    """The first rule of a category in a cues.json document."""
    return next(r for r in doc["rules"] if r["category"] == category)


def test_packaged_rule_files_load() -> None:
    assert len(cue_rules().cues) > 300
    hedges = cue_rules().hedges
    assert hedges["likely"] is Hedge.PROBABLE and hedges["may represent"] is Hedge.POSSIBLE
    assert hedges["or"] is Hedge.ALTERNATIVE and hedges["or possibly"] is Hedge.POSSIBLE
    assert "no" not in hedges  # a negation is no hedge
    assert modifiers().laterality["left"] is Laterality.LEFT
    assert modifiers().laterality["bilat"] is Laterality.BILATERAL
    assert modifiers().laterality_words[Laterality.RIGHT][:2] == ("right", "right sided")
    assert set(modifiers().laterality_words) == set(Laterality)
    assert cue_rules().alternative_scope_chars == 40
    assert modifiers().units["cm"] == 10.0
    assert section_rules().headers["impression"] == "impression"
    assert "indication" in section_rules().context_sections


def test_cue_combinations_make_one_phrase_per_choice_of_alternatives() -> None:
    doc = copy.deepcopy(CUES.raw())
    _rule(doc, "hypothetical")["combinations"] = [[["may", "Can"], ["be missed", "be occult"]]]
    made = {c.phrase for c in cue_rules_from_dict(doc).cues if c.category == "hypothetical"}
    assert {"may be missed", "may be occult", "can be missed", "can be occult"} <= made
    ranked = cue_rules().hedges_before  # the finding before a ranked differential
    assert ranked["is favored over"] is Hedge.PROBABLE
    assert ranked["is less likely than"] is Hedge.POSSIBLE
    assert cue_rules().hedges["is less likely than"] is Hedge.PROBABLE  # the one after


@pytest.mark.parametrize(
    ("spec", "loader", "mutate", "message"),
    [
        (CUES, cue_rules_from_dict, lambda d: d.update(extra=1), "extra: unknown key; allowed"),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: d["rules"][0].update(combinations=[[["may"], []]]),
            "rules[0].combinations[0][1]: List should have at least 1 item",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: d["rules"][0].update(combinations=[[["may be missed"]]]),
            "rules[0].combinations[0]: List should have at least 2 items",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: d["rules"][0].update(category="denial"),
            "rules[0].category: Input should be 'negation', 'uncertainty'",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: d["rules"][0].update(direction="up"),
            "rules[0].direction: Input should be 'forward', 'backward'",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: d["settings"].update(forward_scope_chars=0),
            "settings.forward_scope_chars: Input should be greater than 0",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: d["settings"].update(alternative_scope_chars=True),
            "settings.alternative_scope_chars: Input should be a valid integer",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: d["settings"].pop("alternative_scope_chars"),
            "settings.alternative_scope_chars: missing key",
        ),
        (CUES, cue_rules_from_dict, lambda d: d["rules"][0].pop("phrases"), "phrases: missing key"),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: _rule(d, "uncertainty").pop("hedge"),
            "hedge: missing key (uncertainty rules name their hedge kind)",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: _rule(d, "alternative").update(hedge="maybe"),
            "hedge: Input should be 'probable', 'possible', 'alternative' or 'consistent'",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: _rule(d, "negation").update(hedge="possible"),
            "hedge: negation rules are no hedge",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: _rule(d, "uncertainty").update(hedge_before="probable"),
            "hedge_before: uncertainty rules have no finding before them to hedge",
        ),
        (
            CUES,
            cue_rules_from_dict,
            lambda d: _rule(d, "uncertainty")["phrases"].append("may represent"),
            "'may represent' is already a probable hedge; one phrase has one hedge kind",
        ),
        (
            MODIFIERS,
            modifiers_from_dict,
            lambda d: d["laterality"].update(both=["x"]),
            "laterality.both: Input should be 'left', 'right' or 'bilateral'",
        ),
        (
            MODIFIERS,
            modifiers_from_dict,
            lambda d: d["units"].update(mm=-1),
            "units.mm: Input should be greater than 0",
        ),
        (
            MODIFIERS,
            modifiers_from_dict,
            lambda d: d["location_regions"].update(spleeen="abdomen"),
            "location_regions: spleeen: not a key of locations",
        ),
        (
            MODIFIERS,
            modifiers_from_dict,
            lambda d: d["location_regions"].update(liver="chest"),
            "location_regions: 'chest' is no other region",
        ),
        (
            SECTIONS,
            section_rules_from_dict,
            lambda d: d["headers"].update(garbage=["x"]),
            "headers.garbage: Input should be 'findings'",
        ),
        (
            SECTIONS,
            section_rules_from_dict,
            lambda d: d.update(context_sections=["nope"]),
            "context_sections[0]: Input should be 'findings'",
        ),
    ],
)
def test_rule_loaders_reject(spec: Any, loader: Any, mutate: Any, message: str) -> None:
    doc = spec.raw()
    mutate(doc)
    filename = spec.path.rsplit("/", 1)[-1]
    with pytest.raises(VocabularyError) as info:
        loader(doc, filename)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{filename}: ")
    assert "\n" not in str(info.value)
