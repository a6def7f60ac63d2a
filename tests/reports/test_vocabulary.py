"""The finding vocabulary and the rule files: content, lookups, and strict loaders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from radpilot.errors import VocabularyError
from radpilot.reports import vocabulary
from radpilot.reports.labels import CHEXPERT_LABELS, CXR14_LABELS
from radpilot.reports.models import Hedge
from radpilot.reports.rules import (
    cue_rules,
    cue_rules_from_dict,
    modifiers,
    modifiers_from_dict,
    section_rules,
    section_rules_from_dict,
)
from radpilot.reports.vocabulary import load_json, load_vocabulary, vocabulary_from_dict

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
            "unknown key(s) extra; allowed: description, findings, version",
        ),
        (
            _bad(lambda d: d["findings"][0].update(colour="red")),
            "unknown key(s) colour; allowed: id, name",
        ),
        (_bad(lambda d: d["findings"][0].pop("radlex")), "missing key(s) radlex"),
        (_bad(lambda d: d["findings"][0].update(id="Bad Id")), "must be lower_snake_case"),
        (
            _bad(lambda d: d["findings"][1].update(parent="nowhere")),
            "parent 'nowhere' is not a finding id",
        ),
        (_bad(lambda d: d["findings"][0].update(parent="atelectasis")), "cycle"),
        (
            _bad(lambda d: d["findings"][1].update(synonyms=["opacity"])),
            "term 'opacity' belongs to both",
        ),
        (
            _bad(lambda d: d["findings"][0].update(chexpert="Lung Thing")),
            "chexpert 'Lung Thing' unknown; valid: No Finding",
        ),
        (_bad(lambda d: d["findings"][0].update(cxr14="Effusions")), "cxr14 'Effusions' unknown"),
        (_bad(lambda d: d["findings"][0].update(radlex="12345")), "is not a RadLex ID"),
        (
            _bad(lambda d: d["findings"][0].update(synonyms="opacity")),
            "must be a list of non-empty strings",
        ),
        (
            _bad(lambda d: d["findings"][1].pop("qualifiers")),
            "anchors and qualifiers must be given together",
        ),
        (
            _bad(lambda d: d["findings"][1].update(uncertain_qualifiers=["x"])),
            "must also be a qualifier",
        ),
        (
            _bad(lambda d: d["findings"][1].update(label_certainty="maybe")),
            "label_certainty: 'maybe' is not valid",
        ),
        (
            _bad(lambda d: d["findings"][1].update(also_uncertain=["Heart"])),
            "also_uncertain 'Heart' unknown",
        ),
        (
            _bad(lambda d: d["findings"][1].update(role="disease")),
            "role: 'disease' is not valid; valid: observation, diagnosis, etiology",
        ),
        (_bad(lambda d: d["findings"].append(copy.deepcopy(d["findings"][0]))), "appears twice"),
        (_bad(lambda d: d.update(findings=[])), "'findings' must be a non-empty list"),
        ([], "top level must be a JSON object"),
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
    with pytest.raises(VocabularyError, match=r"missing\.json: cannot read"):
        load_vocabulary(tmp_path / "missing.json")


def _rule(doc: dict[str, Any], category: str) -> dict[str, Any]:
    """The first rule of a category in a cues.json document."""
    return next(r for r in doc["rules"] if r["category"] == category)


def test_packaged_rule_files_load() -> None:
    assert len(cue_rules().cues) > 300
    hedges = cue_rules().hedges
    assert hedges["likely"] is Hedge.PROBABLE and hedges["may represent"] is Hedge.POSSIBLE
    assert hedges["or"] is Hedge.ALTERNATIVE and hedges["or possibly"] is Hedge.POSSIBLE
    assert "no" not in hedges  # a negation is no hedge
    assert modifiers().laterality["left"] == "left"
    assert modifiers().units["cm"] == 10.0
    assert section_rules().headers["impression"] == "impression"
    assert "indication" in section_rules().context_sections


@pytest.mark.parametrize(
    ("filename", "loader", "mutate", "message"),
    [
        ("cues.json", cue_rules_from_dict, lambda d: d.update(extra=1), "unknown key(s) extra"),
        (
            "cues.json",
            cue_rules_from_dict,
            lambda d: d["rules"][0].update(category="denial"),
            "'denial' is not valid; valid: negation, uncertainty",
        ),
        (
            "cues.json",
            cue_rules_from_dict,
            lambda d: d["rules"][0].update(direction="up"),
            "'up' is not valid; valid: forward, backward",
        ),
        (
            "cues.json",
            cue_rules_from_dict,
            lambda d: d["settings"].update(forward_scope_chars=0),
            "must be a positive integer",
        ),
        (
            "cues.json",
            cue_rules_from_dict,
            lambda d: d["rules"][0].pop("phrases"),
            "missing key(s) phrases",
        ),
        (
            "cues.json",
            cue_rules_from_dict,
            lambda d: _rule(d, "uncertainty").pop("hedge"),
            "missing key(s) hedge",
        ),
        (
            "cues.json",
            cue_rules_from_dict,
            lambda d: _rule(d, "alternative").update(hedge="maybe"),
            "'maybe' is not valid; valid: probable, possible, alternative",
        ),
        (
            "cues.json",
            cue_rules_from_dict,
            lambda d: _rule(d, "negation").update(hedge="possible"),
            "unknown key(s) hedge",
        ),
        (
            "cues.json",
            cue_rules_from_dict,
            lambda d: _rule(d, "uncertainty")["phrases"].append("may represent"),
            "'may represent' is already a probable hedge; one phrase has one hedge kind",
        ),
        (
            "modifiers.json",
            modifiers_from_dict,
            lambda d: d["laterality"].update(both=["x"]),
            "'both' is not valid; valid: bilateral, left, right",
        ),
        (
            "modifiers.json",
            modifiers_from_dict,
            lambda d: d["units"].update(mm=-1),
            "positive millimetre",
        ),
        (
            "sections.json",
            section_rules_from_dict,
            lambda d: d["headers"].update(garbage=["x"]),
            "'garbage' is not valid",
        ),
        (
            "sections.json",
            section_rules_from_dict,
            lambda d: d.update(context_sections=["nope"]),
            "context_sections: 'nope' is not valid",
        ),
    ],
)
def test_rule_loaders_reject(filename: str, loader: Any, mutate: Any, message: str) -> None:
    doc = copy.deepcopy(load_json(filename))
    mutate(doc)
    with pytest.raises(VocabularyError) as info:
        loader(doc, filename)
    assert message in str(info.value)
    assert str(info.value).startswith(filename)
