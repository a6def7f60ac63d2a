"""Issue 11 acceptance gaps found by trying each promise through the CLI as documented.

Each case failed before its fix: what a user types, what they must get back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CliRun = Callable[..., tuple[int, str, str]]


def _image(study: str | None, **over: Any) -> dict[str, Any]:
    image: dict[str, Any] = {
        "path": "img.dcm",
        "analysed": True,
        "findings": [
            {"name": "Pneumothorax", "probability": 0.9, "positive": True, "threshold": 0.5},
            {"name": "Effusion", "probability": 0.1, "positive": False, "threshold": 0.5},
        ],
        "study": study,
        "error": None,
    }
    image.update(over)
    return image


def _write(tmp_path: Path, value: Any) -> str:
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # an unreadable image or one the quality gate stopped says nothing about the patient:
        # drafting "No pneumothorax." from it would state negatives nobody saw
        ([_image("1.2", analysed=False, findings=[], error="cannot read")], "was analysed"),
        ([_image("1.2", analysed=False, findings=[])], "was analysed"),
        ([], "holds no image"),
        # two studies' findings merged into one report would be neither study's report
        ([_image("1.2"), _image("1.3")], "2 studies"),
    ],
)
def test_draft_refuses_an_analysis_that_shows_nothing_of_one_study(
    cli: CliRun, tmp_path: Path, value: Any, message: str
) -> None:
    code, out, err = cli("draft", "--analysis", _write(tmp_path, value))
    assert code == 2, out
    assert out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_draft_uses_the_analysed_views_of_one_study_and_notes_the_rest(
    cli: CliRun, tmp_path: Path
) -> None:
    value = [_image("1.2"), _image("1.2", analysed=False, findings=[], path="lat.dcm")]
    code, out, err = cli("draft", "--analysis", _write(tmp_path, value))
    assert code == 0, err
    assert "Pneumothorax." in out
    assert "[1]: not analysed" in err


FINDINGS = "small left pleural effusion; cardiomegaly; no pneumothorax"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        # the finding is still in FINDINGS, but the IMPRESSION no longer names it
        ("2. Cardiomegaly.=>", "cardiomegaly: dropped from the IMPRESSION"),
        ("1. Small left pleural effusion.=>1. Left pleural effusion.", "IMPRESSION"),
        # facts that are no finding, and so not read back, but a model may invent
        ("IMPRESSION:=>Findings discussed with Dr. Jones at 10:00.\\nIMPRESSION:", "communication"),
        ("Cardiomegaly.=>Cardiomegaly. Recommend chest CT in 3 months.", "recommendation"),
        ("No pneumothorax.=>No pneumothorax. MRN 4471902.", "number"),
        ("EXAMINATION: CHEST RADIOGRAPH=>EXAMINATION: CT ABDOMEN", "EXAMINATION"),
        ("COMPARISON: None.=>COMPARISON: Prior study.", "COMPARISON"),
    ],
)
def test_polished_draft_that_changes_what_the_template_says_is_rejected(
    cli: CliRun, fake_llm: str, edit: str, reason: str
) -> None:
    code, out, err = cli(
        "draft", "-f", FINDINGS, "--llm-url", fake_llm, "--llm-model", f"sub:{edit}", "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["backend"] == "template.v1", data
    assert reason in data["rejected"]["reason"]
    # the reason names what differs, never the model's words
    assert "Jones" not in err + out and "4471902" not in err + out


def test_polished_draft_that_only_rewords_is_used(cli: CliRun, fake_llm: str) -> None:
    edit = "No pneumothorax.=>There is no pneumothorax."
    code, out, _ = cli(
        "draft", "-f", FINDINGS, "--llm-url", fake_llm, "--llm-model", f"sub:{edit}", "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["backend"] == "openai-compatible.v1", data
    assert "There is no pneumothorax." in data["report"] and "rejected" not in data


def _archive(tmp_path: Path, rows: list[tuple[str, str, str, str, str, str]]) -> str:
    from radpilot.interop.records import make_record
    from radpilot.search.ingest import ingest_records
    from radpilot.search.store import open_store

    path = tmp_path / "a.db"
    store = open_store(path)
    try:
        records = [
            make_record(rid=r, patient_id=p, study_date=d, modality=m, body_part=b, text=t)
            for r, p, d, m, b, t in rows
        ]
        assert ingest_records(store, records, jobs=1).added == len(rows)
    finally:
        store.close()
    return str(path)


SPINE_REC = (
    "F4",
    "P3",
    "2026-02-02",
    "CR",
    "CHEST",
    "FINDINGS: Compression deformity of T8. IMPRESSION: Recommend MRI of the thoracic spine.",
)


@pytest.mark.parametrize(
    ("body_part", "status"),
    [
        ("LSPINE", "overdue"),  # a lumbar MRI is not the thoracic one asked for
        ("CSPINE", "overdue"),
        ("TSPINE", "done"),
        ("SPINE", "done"),  # a whole-spine study covers it
    ],
)
def test_overdue_matches_the_spine_segment_asked_for(
    cli: CliRun, tmp_path: Path, body_part: str, status: str
) -> None:
    later = ("F8", "P3", "2026-02-20", "MR", body_part, "FINDINGS: Normal. IMPRESSION: Normal.")
    db = _archive(tmp_path, [SPINE_REC, later])
    code, out, err = cli("followups", "--overdue", "--db", db, "--as-of", "2026-06-01", "--all")
    assert code == 0, err
    code, out, err = cli("followups", "overdue", "--db", db, "--as-of", "2026-06-01", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in rows] == ([status] if status == "overdue" else [])


def test_overdue_alias_takes_the_same_options_as_the_subcommand(
    cli: CliRun, tmp_path: Path
) -> None:
    db = _archive(tmp_path, [SPINE_REC])
    a = cli("followups", "--overdue", "--db", db, "--as-of", "2026-03-01", "--all", "--json")
    b = cli("followups", "overdue", "--db", db, "--as-of", "2026-03-01", "--all", "--json")
    assert a == b and a[0] == 0 and json.loads(a[1])["status"] == "pending"


def test_a_looping_model_reply_that_keeps_every_finding_is_still_rejected() -> None:
    """What gemma3-270m (llama-cpp.v1) really returned for this draft: the FINDINGS
    repeated under an invented heading and a region name as the IMPRESSION. Every finding
    reads back with its certainty, so the whole-report check alone accepted it."""
    from radpilot.workflow.draft import checked, draft_report

    template = draft_report(["cardiomegaly", "no pneumothorax"])
    body = template.report.split("FINDINGS:\n", 1)[1].split("IMPRESSION:", 1)[0]
    loop = body + "IMPRESSION:\nParenchyma.\nPlaque: " + body.split("Parenchyma: ", 1)[1]
    reply = "FINDINGS:\n" + body + "IMPRESSION:\nParenchyma.\n" + "Plaque: " + loop
    d = checked(reply, template, "llama-cpp.v1")
    assert d.backend == "template.v1" and d.rejected is not None
    assert "pneumothorax: added to the IMPRESSION" in d.rejected.reason
    assert d.rejected.differences == ()  # the whole-report read-back saw no difference
    assert "the EXAMINATION line differs" in d.rejected.reason


def test_ask_about_a_finding_answers_with_its_latest_status_too(
    cli: CliRun, history_db: Path
) -> None:
    """P1's pneumothorax (H1) resolved in H2: an answer that cites only H1 tells the
    radiologist it is there. A report that denies or resolves it answers the question too;
    sentences about other findings do not."""
    code, out, err = cli(
        "ask", "is there a pneumothorax?", "--db", str(history_db), "--patient", "P1", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    cited = [c for s in data["sentences"] for c in s["citations"]]
    assert "H1" in cited and "H2" in cited
    findings = {f["finding"] for s in data["sentences"] for f in s["findings"]}
    assert findings == {"pneumothorax"}
    # oldest first, so the answer reads as the course
    assert cited.index("H1") < cited.index("H2")


@pytest.mark.parametrize(
    ("prior", "now", "stated"),
    [
        # a finding that grew or shrank is not "unchanged"
        ("Small left pleural effusion.", "moderate left pleural effusion", "Increased moderate"),
        ("Large left pleural effusion.", "small left pleural effusion", "Decreased small"),
        ("Mild pulmonary edema.", "severe pulmonary edema", "Increased severe"),
        ("Small left pleural effusion.", "small left pleural effusion", "Unchanged small"),
        # no size before: nothing to compare the size with
        ("Left pleural effusion.", "small left pleural effusion", "Unchanged small"),
        # "possible" then certain is not the same statement: no change word is claimed
        ("Possible left lower lobe pneumonia.", "left lower lobe pneumonia", "Left lower lobe"),
    ],
)
def test_change_against_the_prior_follows_size_and_certainty(
    cli: CliRun, tmp_path: Path, prior: str, now: str, stated: str
) -> None:
    path = tmp_path / "prior.txt"
    path.write_text(f"FINDINGS: {prior}\n", encoding="utf-8")
    code, out, err = cli("draft", "-f", now, "--prior", str(path))
    assert code == 0, err
    impression = out.split("IMPRESSION:\n", 1)[1]
    assert impression.startswith(stated), impression


def test_every_workflow_data_file_is_registered_so_its_schema_is_checked() -> None:
    """drafting, prompts and worklist were loaded strictly but not registered: their
    schemas were never rewritten nor checked for staleness (a new key went unnoticed)."""
    from importlib import resources

    from radpilot.datafiles import packaged

    folder = Path(str(resources.files("radpilot.workflow").joinpath("data")))
    on_disk = {p.resolve() for p in folder.glob("*.schema.json")}
    registered = {spec.schema_on_disk().resolve() for spec in packaged()}
    assert on_disk <= registered, sorted(p.name for p in on_disk - registered)


def test_draft_image_without_a_model_says_it_was_not_used(cli: CliRun, tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    code, out, err = cli("draft", "-f", "cardiomegaly", "--image", str(image))
    assert code == 0 and "Cardiomegaly." in out
    assert "note: image not sent: no language model was asked (--llm, --llm-url)" in err


def test_a_prior_finding_on_the_other_side_is_noted_not_silently_dropped(
    cli: CliRun, tmp_path: Path
) -> None:
    """Prior: right effusion; now: left effusion. The left one is new, and the right one
    is neither said to be resolved (nobody said so) nor to be there: it is noted."""
    path = tmp_path / "prior.txt"
    path.write_text("FINDINGS: Small right pleural effusion.\n", encoding="utf-8")
    code, out, err = cli("draft", "-f", "small left pleural effusion", "--prior", str(path))
    assert code == 0, err
    assert "New small left pleural effusion." in out and "right" not in out
    assert (
        "note: prior finding not addressed in the current findings: pleural_effusion (right)" in err
    )


def test_an_answer_sentence_that_cites_no_report_is_dropped_even_without_a_finding() -> None:
    """What gemma3-270m really answered kept prompt echoes and stray tokens, and a model
    may say "The patient is improving." or "Discharge is advised.": no finding, so no
    finding check, yet a clinical statement nothing backs. Every sentence must cite."""
    from radpilot.workflow.cite import verify_answer

    reports = {"H1": "FINDINGS: Small left pleural effusion."}
    answer = "A small left effusion was seen [H1]. The patient is improving. に通訳"
    checked = verify_answer(answer, reports)
    assert [s.text for s in checked.kept] == ["A small left effusion was seen [H1]."]
    assert [f.why for f in checked.flagged] == ["cites no report", "cites no report"]


def test_timeline_does_not_count_an_image_the_model_never_read(cli: CliRun, tmp_path: Path) -> None:
    """A study whose only image the quality gate stopped is no analysed study: the patient
    has nothing on the timeline, said as for any patient without data."""
    analysis = [
        _image(
            "9.9",
            analysed=False,
            findings=[],
            urgency={"tier": "not_assessed", "score": 0.0, "reasons": ["noise"]},
            flags=[{"code": "noise_like", "message": "m", "blocking": True, "check": "quality"}],
            metadata={"patient_id": "PQ", "study_uid": "9.9", "study_date": "20261202"},
        )
    ]
    path = _write(tmp_path, analysis)
    db = str(tmp_path / "w.db")
    code, _, err = cli("worklist", "add", path, "--db", db, "--received", "2026-12-02T09:00:00Z")
    assert code == 0, err
    code, out, err = cli("timeline", "PQ", "--db", db)
    assert code == 2 and "no reports or analysed studies" in err, out


def test_overdue_table_marks_a_conditional_recommendation(cli: CliRun, tmp_path: Path) -> None:
    """ "If there is point tenderness, recommend MRI": overdue only if the condition held;
    the table must say so, not list it like an unconditional one."""
    rec = (
        "F4",
        "P3",
        "2026-02-02",
        "CR",
        "CHEST",
        "FINDINGS: T8 deformity. IMPRESSION: If there is point tenderness, recommend MRI of "
        "the thoracic spine.",
    )
    db = _archive(tmp_path, [rec])
    code, out, err = cli("followups", "overdue", "--db", db, "--as-of", "2026-06-01")
    assert code == 0, err
    row = next(line for line in out.splitlines() if "F4" in line)
    assert "imaging (if)" in row
    assert "overdue 1 (1 conditional)" in out
