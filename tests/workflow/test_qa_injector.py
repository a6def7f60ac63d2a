"""The benchmark's error injector (``benchmarks/qa_inject.py``): seeded, deterministic,
its targets inside the edited text, and blind to the checker (it imports nothing of
``radpilot.workflow``)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.workflow.qa import check

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPT = BENCHMARKS / "qa_inject.py"
CRITERION = BENCHMARKS / "qa_criterion.py"


def _load(name: str) -> ModuleType:
    # Registered before it runs: its dataclasses (and the criterion's import of the
    # injector) look their module up by name.
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


inj = _load("qa_inject")
crit = _load("qa_criterion")

FINDINGS = (
    "Heart size normal. Small left pleural effusion with left basilar atelectasis. No pneumothorax."
)
IMPRESSION = "1. Small left pleural effusion. 2. No acute osseous abnormality."


@pytest.mark.parametrize("script", [SCRIPT, CRITERION], ids=lambda p: p.name)
def test_the_injector_never_reads_the_checker(script: Path) -> None:
    tree = ast.parse(script.read_text())
    imported = [
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in (n.names if isinstance(n, ast.Import) else [n])
    ]
    assert imported and not [m for m in imported if m and m.startswith("radpilot")]


def test_each_error_type_is_seeded_and_points_inside_the_text() -> None:
    made = [
        inj.swap_laterality("1", FINDINGS, IMPRESSION, 13),
        inj.drop_impression_item("1", FINDINGS, IMPRESSION, 13),
        inj.insert_critical("1", FINDINGS, IMPRESSION, 13),
        inj.contradict("1", FINDINGS, IMPRESSION, 13),
    ]
    assert all(m is not None for m in made)
    again = [
        inj.swap_laterality("1", FINDINGS, IMPRESSION, 13),
        inj.drop_impression_item("1", FINDINGS, IMPRESSION, 13),
        inj.insert_critical("1", FINDINGS, IMPRESSION, 13),
        inj.contradict("1", FINDINGS, IMPRESSION, 13),
    ]
    assert made == again
    original = inj.report_text(FINDINGS, IMPRESSION)
    assert check(original) == ()
    for m in made:
        assert m.text != original and m.targets
        for a, b in m.targets:
            assert 0 <= a < b <= len(m.text)
        expected = inj.EXPECTED[m.kind]
        hits = [
            p
            for p in check(m.text)
            if p.kind.value == expected
            and any(e.start < b and a < e.end for e in p.evidence for a, b in m.targets)
        ]
        assert hits, (m.kind, m.text)


def test_swap_changes_one_side_word() -> None:
    m = inj.swap_laterality("1", FINDINGS, IMPRESSION, 13)
    ((a, b),) = m.targets
    assert m.text[a:b] == "right"
    assert m.text[:a] + "left" + m.text[b:] == inj.report_text(FINDINGS, IMPRESSION)


def test_communication_control_and_removal() -> None:
    control, removed = inj.with_communication("1", FINDINGS, IMPRESSION, 14)
    # (its inserted critical finding may contradict the report's "No pneumothorax.")
    assert "critical_not_communicated" not in [p.kind.value for p in check(control.text)]
    assert "critical_not_communicated" in [p.kind.value for p in check(removed.text)]


def test_a_swap_turns_every_side_word_of_the_sentence() -> None:
    findings = "Left midlung opacity. There is left basilar opacity."
    impression = "Left midlung and left basilar opacity."
    m = inj.swap_laterality("1", findings, impression, 13)
    assert m is not None and len(m.targets) == 2
    assert [m.text[a:b] for a, b in m.targets] == ["Right", "right"]


def test_a_drop_needs_the_rest_of_the_impression_silent_on_it() -> None:
    findings = "There is focal airspace disease in the right middle lobe."
    # "pneumonia" is left: the airspace disease is still summarised.
    assert (
        inj.drop_impression_item(
            "1",
            findings,
            "Right middle lobe airspace disease. This is concerning for pneumonia.",
            13,
        )
        is None
    )
    m = inj.drop_impression_item(
        "1", findings, "Right middle lobe airspace disease. Heart size normal.", 13
    )
    assert m is not None and m.text.endswith("IMPRESSION: Heart size normal.")


def test_the_checker_blind_criterion() -> None:
    real = crit.confirmed("Large right pneumothorax.", "Large right pneumothorax.")
    assert set(real) == {"critical_not_communicated"}
    told = "Large right pneumothorax. Discussed with Dr. X at 10:40."
    assert crit.confirmed("Large right pneumothorax.", told) == {}
    # a known, stable one needs no call, and is no new finding the impression must name
    assert crit.confirmed("Stable small right pneumothorax.", "No change.") == {}
    side = crit.confirmed("Small left pleural effusion.", "Small right pleural effusion.")
    assert set(side) == {"laterality_conflict"}
    missing = crit.confirmed("A patchy infiltrate in the right middle lobe.", "No acute disease.")
    assert set(missing) == {"missing_from_impression"}
    assert crit.confirmed("Right lower lobe infiltrate.", "Right lower lobe pneumonia.") == {}


_PIECES = st.sampled_from(
    [
        "Left",
        "right",
        "large",
        "no",
        "stable",
        "pneumothorax",
        "effusion",
        "infiltrate",
        "lower",
        "lobe",
        "nodule",
        "called",
        "Dr.",
        "10:40",
        ".",
        " ",
        "possible",
        "pneumonia",
    ]
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_PIECES, max_size=20), st.lists(_PIECES, max_size=20))
def test_the_criterion_never_fails_and_points_inside_the_text(f: list[str], i: list[str]) -> None:
    findings, impression = " ".join(f), " ".join(i)
    text = inj.report_text(findings, impression)
    for spans in crit.confirmed(findings, impression).values():
        assert spans and all(0 <= a < b <= len(text) for a, b in spans)


def test_every_drop_is_its_own_copy_and_one_of_them_is_the_seeded_drop() -> None:
    findings = "Right lower lobe consolidation. Small left pleural effusion. 2 cm left apical mass."
    items = ["Right lower lobe consolidation.", "Small left pleural effusion.", "Left apical mass."]
    every = inj.drop_impression_items(findings, " ".join(items))
    assert len(every) == 3  # one per impression sentence
    left_out = set()
    for m in every:
        assert m.kind == "drop_impression_item" and m.targets
        kept = m.text.split("IMPRESSION: ")[1]
        assert sum(i in kept for i in items) == 2
        left_out |= {i for i in items if i not in kept}
    assert left_out == set(items)
    impression = " ".join(items)
    for seed in (13, 14):
        assert inj.drop_impression_item("1", findings, impression, seed) in every
    assert inj.drop_impression_items("Heart size normal.", "Normal chest.") == []
    # named by another word of its group: one of every drop, none of the seeded one
    findings, impression = "Right lower lobe consolidation.", "Right lower lobe pneumonia."
    (m,) = inj.drop_impression_items(findings, impression)
    assert m.text.endswith("IMPRESSION: No acute cardiopulmonary abnormality.")
    assert inj.drop_impression_item("1", findings, impression, 13) is None


def test_an_inserted_sentence_never_runs_on_into_the_last_one() -> None:
    findings = "Heart size normal. Mild tortuosity of the thoracic aorta, unchanged"
    texts = {inj.insert_critical(str(n), findings, "No acute disease.", 13) for n in range(40)}
    texts.discard(None)
    assert texts
    for m in texts:
        assert m is not None and "unchanged " not in m.text
        for a, b in m.targets:
            assert m.text[a:b] in inj.CRITICAL_SENTENCES


def test_an_added_denial_never_runs_on_into_the_impression() -> None:
    findings = "Small calcified granuloma in the left base."
    m = inj.contradict("1", findings, "No acute cardiopulmonary disease", 13)
    assert m is not None and m.text.endswith("disease. No granuloma.")
    assert m.text[m.targets[-1][0] : m.targets[-1][1]] == "No granuloma."
