"""Targets mode: ConText assertion of caller-given spans, and the JSONL targets field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError, VocabularyError
from radpilot.reports import read_targets
from radpilot.reports.clinicalcues import CLINICAL_CUES, clinical_rules_from_dict
from radpilot.reports.models import Certainty
from radpilot.reports.targetrows import read_targets_field

_MARK = re.compile(r"\[([^\]|]+)\|([^\]]*)\]")


def _marked(line: str) -> tuple[str, list[tuple[int, int]], list[str]]:
    text, spans, codes, pos = "", [], [], 0
    for m in _MARK.finditer(line):
        text += line[pos : m.start()]
        spans.append((len(text), len(text) + len(m.group(1))))
        text += m.group(1)
        codes.append(m.group(2))
        pos = m.end()
    return text + line[pos:], spans, codes


def _code(a) -> str:  # type: ignore[no-untyped-def]
    out = a.certainty.value[0]
    out += "h" if a.historical else ""
    out += "y" if a.hypothetical else ""
    out += "o" if a.experiencer.value == "other" else ""
    return out


# One case per mechanism of the ConText tradition (codes as in benchmarks/data).
CASES = [
    "Denies [fever|a], [chills|a], or [night sweats|a].",  # forward scope over a list
    "No [fever|a] but reports [cough|p].",  # termination term
    "No [fever|a]; [cough|p] for two days.",  # ";" ends every scope
    "[Pneumothorax|a] is not seen.",  # backward cue
    "[Pneumonia|a] was ruled out.",
    "Cannot rule out [pneumonia|u].",  # longest phrase: not "rule out" alone
    "No increase in [pain|p].",  # pseudo-trigger
    "Presents with a 3-day history of [cough|p].",  # pseudo historical
    "History of [asthma|ph], now with [wheezing|p].",  # "now" ends the historical
    "No history of [seizures|ah].",
    "Status post [appendectomy|ph].",
    "Return to the ED if [chest pain|py] recurs.",
    "He is at risk for [stroke|py].",
    "Started on [DVT|py] prophylaxis.",  # backward hypothetical noun
    "Family history of [colon cancer|po].",
    "Mother has [diabetes|po].",
    "[Breast cancer|po] in her maternal aunt.",
    "Mother reports [fever|p] for two days.",  # a relative who only reports
    "Mother denies [fever|a] in the child.",  # pseudo per dimension: "denies" still negates
    "[Cough|p], likely [bronchitis|u].",  # a both-way cue looks forward to a target
    "[Pneumonia|u] versus [atelectasis|u].",  # alternatives
    "Denies [nausea|a] or [vomiting|a].",  # a negated list is no alternative
    "Tenderness without [rebound|a] or [guarding|a].",
    "No [focal consolidation|a].",  # a cue phrase running into the target
    "Abdomen soft, non-[tender|a].",
    "Gram-negative [rods|p].",
    "Findings are consistent with [heart failure|p].",  # radpilot's convention
    "[Influenza|a] swab negative.",
    "Concern for [sepsis|u] given [hypotension|p].",
    "Past Medical History: [hypertension|ph], [gout|ph].\nHPI: [chest pain|p] today.",
    "Family History: [diabetes|po]. Social History: no [tobacco|a].",
    "The pain has not improved; [pain|p] is constant.",
    # issue 10 families, the same mechanisms as the chest reader's (cues.json):
    "[Appendicitis|u] is felt to be unlikely.",  # a hedge that leans against
    "Doubt [septic arthritis|u]; exam fits [gout|p].",  # ER-note style
    "It is not unlikely that this represents [cellulitis|u].",  # double negation
    "There is nothing to suggest [meningitis|a].",  # the pseudo-hedge inside a negation
    "Denies [fever|a] despite [productive cough|p].",  # a concessive clause ends the scope
    "No [wheezing|a] in spite of the [viral illness|p] in this toddler.",  # pediatric
    "Viral gastroenteritis is favored; [appendicitis|u] is another consideration.",
    "[Pulmonary embolism|u] had not been excluded at discharge.",  # discharge summary
    "Probably no [fracture|u] on the plain films.",  # a hedged negation stays open
    "There is no doubt she has [pneumonia|p].",  # pseudo-hedge
    "ROS: [fever|a]: no, [cough|p]: yes, [chest pain|a] - no.",  # a template's answers
    "[Dysuria|a]: negative; [hematuria|a]: no.",
    "Triage: [headache|p]: no change.",  # a pseudo-negation stays one
    "Complaints: no [fever|a].",  # a negation that opens its item looks forward
    # audit (issue 10 §2): "never" and history abbreviations before a terminator phrase
    "The patient has never had a [seizure|a].",  # "had" ended the scope of "never"
    "She has never been diagnosed with [diabetes|a].",  # so did "diagnosed with"
    "He never had [chest pain|a] before today.",
    "PMH significant for [COPD|ph] and [CAD|ph].",  # "significant for" ended "pmh"
    "Hx notable for [migraines|ph].",
    "Medical history remarkable for [hypothyroidism|ph].",
    "PMH: [HTN|ph], HPI: [chest pain|p] today.",  # a header inside a line ends each scope
    "Hx [asthma|ph]  CC: [cough|p] x3 days.",
    "Denies [fever|a] Exam: [RLQ tenderness|p].",
    # a negation before a certainty terminator phrase ("ruled out" + "for", "not" + "found
    # to have", "experienced") is one longer cue
    "Patient was ruled out for [MI|a].",
    "He has been ruled out for [MI|a].",
    "He has not been ruled out for [MI|u].",
    "She has not yet been ruled out for [PE|u].",
    "[PE|u] has not yet been ruled out.",
    # "personal history" hands the list back to the patient, as "the patient" does
    "Family history of [colon cancer|po] and a personal history of [polyps|ph].",
    # a template's "Negative:" label negates the list it opens, as "Complaints: no" does
    "ROS: Positive: [cough|p]. Negative: [fever|a], [chills|a].",
    "Negatives: [night sweats|a], [weight loss|a].",
    "[Fever|a]: negative.",  # the answer form still reads backward
    # a relative that is itself a negated list item names no one the next items belong to
    "Denies recent travel, sick contacts, or [fevers|a].",
    "No sick contacts, [fever|a], or [rash|a].",
    "No siblings with [asthma|ao].",  # ... but one followed by "with" still does
    "Her mother, who has [lupus|po], lives nearby.",
    "The patient was not found to have [DVT|a].",
    "He hasn't experienced any [chest pain|a].",
    "She did not experience [nausea|a] after the dose.",
    "Pertinent negatives include [fever|a] and [chills|a].",
    "Pertinent negatives: [fever|a], [chills|a].",
    # the BioScope round's mechanisms, in the same phrases as the chest reader's:
    "Exam is normal and there is likely a [viral syndrome|u].",  # "is likely" looks ahead
    "Toddler being evaluated for [seizures|u].",  # the open question's passive form
    "[Chest pain|p] is felt to represent [costochondritis|u].",  # hedges what follows
    "[Lyme disease|u] should be included in the differential.",
    # slips round 3: a comma list that "or" closes is one list of alternatives
    "[Cellulitis|u], [abscess|u], or both.",
    "The source is [UTI|u], [pneumonia|u], or [cellulitis|u].",
    "Exam suggests [viral pharyngitis|u], [strep throat|u], or a combination.",
    "Differential: [gastritis|u], [ulcer|u], or [pancreatitis|u].",
    "No [fever|a], [cough|a], or [rash|a].",  # a negated list stays negated
    "[Fever|p], [cough|p], and [rash|p].",  # "and" joins no alternatives
    # a bare "neg" / "negative" that opens its clause looks forward; after a concept it
    # is that concept's answer; "(-)" as the note's minus sign
    "Neg [Homans sign|a].",
    "Exam: negative [Murphy sign|a], [RUQ tenderness|p] present.",
    "[Homans sign|a] negative, [calf tenderness|p] present.",
    "[Fever|a] (-), [cough|p] (+).",
    "[Dysuria|a](-) [frequency|p](+)",
    "Gram-negative [rods|p] on culture.",
    # the check3 round (kinds named by its writer; these wordings are the lead's own):
    # a note's sign markers open their items ("(-)" forward, "(+)" / "+" end a negation)
    "ROS: (-) [fever|a], [chills|a]; (+) [cough|p].",
    "No [fever|a], + [cough|p].",
    "Denies [headache|a], +[photophobia|p].",
    "She is not without [discomfort|p] on ambulation.",  # a double negative states it
    "He is not free of [pain|p] yet.",
    "Her [cough|a] has stopped.",  # the absence said after the concept
    "The [rash|a] has since resolved.",
    "[Seizure|a]-free for two years.",  # ... or joined to it ("free", "nonreactive")
    "[HIV|a] nonreactive.",
    "She is now off [prednisone|a].",  # off a drug
    "Weaned off [oxygen|a] yesterday.",
    "No one in the family has [diabetes|ao].",  # "no one" negates what they have
    "Nobody at home has had [fever|ao].",
    "No one has [allergies|a].",
    "[Chest pain|p] with exertion, none at rest.",  # a trailing "none" only qualifies
    "Go to the emergency department for any [bleeding|py].",  # an instruction
    "She was treated for [pneumonia|ph] last month.",
    # the check4 round (kinds named by its writer; these wordings are h/targets5's own):
    # a word right after a concept that states it closes its own list item ...
    "No [pedal edema|a], [distal pulses|p] present.",
    "Without [clubbing|a], [cyanosis|p] is present.",
    "Abd: no [guarding|a], [bowel sounds|p] present in all quadrants.",
    "Denies [dysuria|a], [urgency|p] present since Monday.",
    "Possible [pneumonia|u], [effusion|p] present on the left.",
    "No [fever|a], [chills|a], or [sweats|a] present.",  # ... unless the item goes on the list
    "No [murmur|a] or [gallop|a] present.",
    "Lungs: no [wheezes|a], [rales|a] or [rhonchi|a] present.",
    "No [rash|a] present.",
    # an instruction to call or contact someone about a concept
    "Call your doctor for [fever|py] over 101.",
    "Notify your surgeon of any [wound drainage|py].",
    "Contact us with [new weakness|py].",
    "Call 911 for [chest pain|py].",
    # a drug stopped or held, said after it
    "[Metformin|a] was discontinued.",
    "[Warfarin|a] held for the procedure.",
    "[Aspirin|a] is on hold.",
    "Her [amlodipine|a] was tapered off last week.",
    "Her [lisinopril|a] 10 mg daily was stopped.",
    "[Pneumonia|p] improved and she was d/c'd home.",  # "d/c" is also discharge
    "[Chest pain|p] workup in progress, so the patient was held overnight.",  # too far
    "[Pain|p] held steady overnight.",  # "held" as "remained"
    "Discontinued [metformin|a] last month.",  # ... or before it, where it opens a clause
    "Stopped [lisinopril|a] because of [cough|p].",
    "Held [metoprolol|a] for a heart rate of 48.",
    "[Metoprolol|a] discontinued, [bradycardia|p] noted on telemetry.",
    "Symptoms stopped after [ibuprofen|p].",
    "[Heparin drip|a] discontinued this morning.",
    # a zero count negates what it counts
    "0/2 blood cultures positive for [Staphylococcus|a].",
    "0 of 3 cultures grew [Candida|a].",
    "Lymph nodes: 0/14 positive for [metastatic carcinoma|a].",
    "Zero of four sets grew [bacteria|a].",
    "None of the cultures grew [MRSA|a].",
    "Pain 0/10 at rest, [tenderness|p] on palpation.",  # a pain score counts nothing
    # a reporting abbreviation between a denial and its concept is the denial's
    "No c/o [chest pain|a] today.",
    "Pt denies c/o [nausea|a].",
    # the abbreviated "neg for" opens a list as "negative for" does
    "Neg for [fever|a], [chills|a], [cough|a].",
    "ROS neg for [headache|a], [vision change|a], [weakness|a].",
    # "only" and "still" end a scope where they open a clause, not inside one
    "Denies [chest pain|a], only mild [fatigue|p].",
    "No [vomiting|a], only [nausea|p] after meals.",
    "Unsure whether she still takes [lisinopril|u].",
    "Unclear if he is still having [seizures|u].",  # "if" after a doubt is "whether"
    "Unsure if [fever|u] was present.",
    "Call if she still has [fever|py] on Friday.",
    "Denies [fever|a], still has [cough|p].",
    "No [fever|a] and still [coughing|p].",
    # a negation opening a later clause ends the historical scope: it says what is now
    "History of [MI|ph], no [recurrence|a].",
    "Hx of [CVA|ph], no [residual weakness|a].",
    "History of [DVT|ph] and [PE|ph].",
]


@pytest.mark.parametrize("line", CASES)
def test_context_mechanisms(line: str) -> None:
    text, spans, codes = _marked(line)
    got = [_code(a) for a in read_targets(text, spans)]
    assert got == codes, text


def test_results_keep_the_order_given_and_overlaps_are_allowed() -> None:
    text = "No chest pain."
    out = read_targets(text, [(8, 13), (3, 13), (3, 8)])
    assert [(a.start, a.end) for a in out] == [(8, 13), (3, 13), (3, 8)]
    assert {a.certainty.value for a in out} == {"absent"}
    assert out[0].cues == ("no",)


def test_a_target_that_is_not_a_span_names_its_index() -> None:
    with pytest.raises(InputError, match=r"targets\[1\]: start 5 is not before end 5"):
        read_targets("abcdefgh", [(0, 1), (5, 5)])
    with pytest.raises(InputError, match=r"targets\[0\]: end 99 is past the end"):
        read_targets("abc", [(0, 99)])
    assert read_targets("abc", []) == ()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"start": 0}, "targets[0]: no end"),
        ({"start": "0", "end": 2}, "targets[0]: start is a string, expected an integer"),
        ({"start": True, "end": 2}, "targets[0]: start is a boolean, expected an integer"),
        ({"start": 1.0, "end": 2}, "targets[0]: start is a number, expected an integer"),
        ({"start": -1, "end": 2}, "targets[0]: start -1 is negative"),
        ({"start": 3, "end": 2}, "targets[0]: start 3 is not before end 2"),
        ({"start": 0, "end": 11}, "targets[0]: end 11 is past the end of the text (10 characters)"),
        ([1, 2], 'targets[0]: is an array, expected an object {"start", "end"}'),
    ],
)
def test_each_bad_target_is_named_by_index(raw: object, reason: str) -> None:
    spans, note = read_targets_field([raw], 10)
    assert len(spans) == 1 and spans[0].error is not None
    assert note == f"targets: 1 of 1 not read ({reason})"


def test_targets_not_a_list_and_over_the_prefix() -> None:
    assert read_targets_field({"start": 0}, 10) == (
        (),
        "targets is an object, expected an array of {start, end}; not read",
    )
    spans, _ = read_targets_field([{"start": 0, "end": 8}], 10, max_chars=5)
    assert spans[0].error == "end 8 is past the first 5 characters, which are labelled"


def test_combinations_add_phrases_to_their_rule() -> None:
    from radpilot.reports.clinicalcues import clinical_rules

    hypothetical = clinical_rules().dimensions["hypothetical"].phrases
    assert "return to urgent care for any" in hypothetical
    assert "go to the emergency department if" in hypothetical
    negation = clinical_rules().dimensions["certainty"].phrases
    assert [r.category.value for r in negation["nobody in the family has"]] == ["negation"]


def test_cue_file_is_strict() -> None:
    raw = CLINICAL_CUES.raw()
    raw["rules"][0]["scope"] = 3
    with pytest.raises(VocabularyError, match=r"rules\[0\]\.scope: unknown key; allowed:"):
        clinical_rules_from_dict(raw)
    raw = CLINICAL_CUES.raw()
    raw["rules"].append({"category": "negation", "direction": "pseudo", "phrases": ["denies"]})
    with pytest.raises(VocabularyError, match="'denies' is both a negation cue and a pseudo"):
        clinical_rules_from_dict(raw)


def test_clause_terminators_and_item_affirmations_are_data() -> None:
    """The two check4-round mechanisms act through the cue file only: without the flag
    "still" ends the hedge it sits in; without the list no trailing word states an item."""
    unsure = "Unsure whether she still takes lisinopril."
    pulses = "No edema, pulses present."
    targets = {unsure: [(30, 40)], pulses: [(10, 16)]}
    assert [read_targets(t, s)[0].certainty for t, s in targets.items()] == [
        Certainty.UNCERTAIN,
        Certainty.PRESENT,
    ]
    raw = CLINICAL_CUES.raw()
    for t in raw["terminators"]:
        t.pop("opens_clause", None)
    raw["item_affirmations"] = []
    plain = clinical_rules_from_dict(raw)
    from radpilot.reports.targets import read_targets as read_with

    assert [read_with(t, s, rules=plain)[0].certainty for t, s in targets.items()] == [
        Certainty.PRESENT,
        Certainty.ABSENT,
    ]
    raw["terminators"][0]["opens_clause"] = "yes"
    with pytest.raises(VocabularyError, match=r"terminators\[0\]\.opens_clause"):
        clinical_rules_from_dict(raw)


def _label_file(src: Path, *args: str) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    """``radpilot label SRC --format jsonl``: its exit code, output rows and stderr."""
    import contextlib
    import io

    from radpilot.commands.main import run

    out = src.with_name("out.jsonl")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = run(["label", str(src), "-o", str(out), "--format", "jsonl", "-q", *args])
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return code, rows, err.getvalue()


def _label_jsonl(tmp_path: Path, rows: list[dict[str, object]], *args: str) -> list[dict]:  # type: ignore[type-arg]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, _ = _label_file(src, *args)
    assert code in (0, 1)
    return out


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_jsonl_targets_round_trip(tmp_path: Path, jobs: str) -> None:
    text = "Denies chest pain.\x07 Mother has diabetes."
    rows = [
        {
            "id": "1",
            "text": text,
            "targets": [{"start": 7, "end": 17}, {"start": 31, "end": 39}, {"end": 3}],
        },
        {"id": "2", "text": "No effusion."},
        {"id": "3", "targets": [{"start": 0, "end": 1}]},
    ]
    out = _label_jsonl(tmp_path, rows, "--jobs", jobs)
    t = out[0]["targets"]
    # The control character became a space: the offsets still hold.
    assert [x["certainty"] for x in t] == ["absent", "present", None]
    assert t[1]["experiencer"] == "other" and t[2]["error"] == "no start"
    assert "targets" not in out[1]
    assert out[2]["targets"][0]["error"] == "the row was left unlabelled"
    assert any("targets[2]: no start" in p["message"] for p in out[0]["problems"])


def test_the_demo_part_runs_through_the_cli(tmp_path: Path) -> None:
    """The reports demo's --vocab and targets commands: the expected exit codes, outputs."""
    import contextlib
    import io

    from radpilot.commands.demo import Command
    from radpilot.commands.demos.reports import _vocab_and_targets
    from radpilot.commands.main import run

    for item in _vocab_and_targets(tmp_path):
        if isinstance(item, Command):
            with contextlib.redirect_stderr(io.StringIO()):
                assert run(list(item.argv)) in item.ok
    rows = [
        json.loads(line)
        for line in (tmp_path / "clinical_targets_out.jsonl").read_text("utf-8").splitlines()
    ]
    assert [[t["certainty"] for t in r["targets"]] for r in rows] == [
        ["absent", "absent", "present"],
        ["present", "present", "present"],
        ["uncertain", "present"],
    ]
    assert [t["experiencer"] for t in rows[0]["targets"]] == ["patient", "patient", "other"]
    assert [t["historical"] for t in rows[1]["targets"]] == [True, False, False]
    assert rows[1]["targets"][2]["hypothetical"] is True


_ITEMS = ("fever", "chest pain", "cough", "nausea", "shortness of breath")
_ANSWERS = ("no", "No", "yes", "mild", "present", "2 days")


@settings(max_examples=80, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(_ITEMS), st.sampled_from(_ANSWERS), st.sampled_from((":", " -"))),
        min_size=1,
        max_size=4,
        unique_by=lambda p: p[0],
    ),
    joiner=st.sampled_from((", ", "; ", ". ")),
)
def test_a_template_answer_negates_its_own_item_only(
    picks: list[tuple[str, str, str]], joiner: str
) -> None:
    """ROS-style items ("Fever: no, cough: yes"): each answer is its own item's only."""
    parts, spans = [], []
    at = 0
    for item, answer, sep in picks:
        spans.append((at, at + len(item)))
        part = f"{item}{sep} {answer}"
        parts.append(part)
        at += len(part) + len(joiner)
    text = joiner.join(parts) + "."
    got = [a.certainty for a in read_targets(text, spans)]
    want = [Certainty.ABSENT if a.lower() == "no" else Certainty.PRESENT for _, a, _ in picks]
    assert got == want, text


def test_a_csv_targets_column_is_named_as_not_read(tmp_path: Path) -> None:
    """Targets are a JSONL field: a CSV column of that name is not read, and the run says so
    in one line instead of labelling as if the targets had been asserted."""
    src = tmp_path / "in.csv"
    src.write_text(
        'id,text,Targets\nC1,No edema.,"[{""start"": 3, ""end"": 8}]"\nC2,Edema.,\n',
        encoding="utf-8",
    )
    code, rows, err = _label_file(src)
    assert code == 0
    assert [r["id"] for r in rows] == ["C1", "C2"] and all("targets" not in r for r in rows)
    lines = [line for line in err.splitlines() if "targets" in line.lower()]
    assert lines == [
        f"warning: {src}: column 'Targets' is not read: caller-given targets are read from "
        'JSONL rows ("targets": [{"start", "end"}, ...]); the reports were labelled without them'
    ]


def test_a_targets_key_given_twice_is_named(tmp_path: Path) -> None:
    """JSON keeps the last of two equal keys: the first list of targets would be lost
    without a word. The row says so (the last list is read, as any JSON reader does)."""
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": "X", "text": "No edema.", "targets": [{"start": 3, "end": 8}], "targets": []}\n'
        '{"id": "Y", "text": "No \\"targets\\": edema.", "targets": [{"start": 14, "end": 19}]}\n',
        encoding="utf-8",
    )
    code, rows, _ = _label_file(src)
    assert code == 0
    assert rows[0]["targets"] == []
    assert [p["message"] for p in rows[0]["problems"]] == [
        'the key "targets" is given 2 times; the last one was read'
    ]
    assert rows[1]["targets"][0]["certainty"] == "absent" and rows[1]["problems"] == []
