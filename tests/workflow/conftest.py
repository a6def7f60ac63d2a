"""A fake OpenAI-compatible server on loopback: a real HTTP server in a thread whose
behaviour is chosen by the request's ``model`` field, from honest to lying."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest


def _report_in(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, list):
        content = next(p["text"] for p in content if p["type"] == "text")
    return content.split("\n\n", 1)[1] if "\n\n" in content else content


def _rewrite(model: str, report: str) -> str:
    if model.startswith("sub:"):  # "sub:A=>B": one edit, for a lie the others do not tell
        old, new = model[4:].split("=>")
        return report.replace(old, new.replace("\\n", "\n"))
    if model == "honest":  # rewords, keeps every finding as it was
        return report.replace("No pneumothorax.", "There is no pneumothorax.").replace(
            "Cardiomegaly.", "The heart is enlarged."
        )
    if model == "adds":
        return report + "Right lower lobe pneumonia.\n"
    if model == "drops":
        return re.sub(r"[^.\n]*pleural effusion\.", "", report)
    if model == "flips":
        return report.replace("left", "right")
    if model == "negates":
        return report.replace("Small left pleural effusion.", "No left pleural effusion.")
    if model == "cites":  # one claim its citation backs, one unknown id, one unbacked claim
        blocks = re.findall(r"^\[([^\]]+)\][^\n]*\n([^\n]*)", report, flags=re.M)
        backed = next(rid for rid, text in blocks if "left pleural effusion" in text)
        return (
            f"A small left pleural effusion was seen [{backed}]. "
            "A right pneumothorax was also seen [R999]. "
            f"Cardiomegaly was present [{blocks[0][0]}]."
        )
    return report


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        _Handler.requests.append({"path": self.path, "headers": dict(self.headers), **body})
        model = body.get("model", "")
        if self.path != "/v1/chat/completions" or model == "500":
            self._send(500, b'{"error": "boom"}')
            return
        if model == "slow":
            time.sleep(1.5)
        if model == "garbage":
            self._send(200, b"<html>not json</html>")
            return
        if model == "empty":
            text = ""
        else:
            text = _rewrite(model, _report_in(body))
        reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
        self._send(200, json.dumps(reply).encode())

    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[str]:
    """The base URL of the fake server (``http://127.0.0.1:PORT``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture()
def llm_requests() -> list[dict[str, Any]]:
    _Handler.requests.clear()
    return _Handler.requests


# -- a small real archive: one patient's course over three studies, and another patient --

HISTORY = [
    (
        "H1",
        "P1",
        "2024-01-05",
        "FINDINGS: Right chest tube. Small right pneumothorax.\nIMPRESSION: Small right pneumothorax.",
    ),
    (
        "H2",
        "P1",
        "2024-01-08",
        "FINDINGS: Right chest tube. No pneumothorax. Small left pleural effusion. The heart is enlarged.\nIMPRESSION: Resolved right pneumothorax. Small left pleural effusion.",
    ),
    (
        "H3",
        "P1",
        "2024-02-01",
        "FINDINGS: Interval removal of the right chest tube. Small left pleural effusion. Cardiomegaly.\nIMPRESSION: Unchanged small left pleural effusion.",
    ),
    (
        "H4",
        "P2",
        "2024-03-01",
        "FINDINGS: Right lower lobe pneumonia. No pleural effusion.\nIMPRESSION: Pneumonia.",
    ),
]


@pytest.fixture(scope="session")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from radpilot.interop.records import make_record
    from radpilot.search.ingest import ingest_records
    from radpilot.search.store import open_store

    path = tmp_path_factory.mktemp("history") / "h.db"
    store = open_store(path)
    try:
        records = [
            make_record(rid=r, patient_id=p, study_date=d, modality="CR", text=t)
            for r, p, d, t in HISTORY
        ]
        assert ingest_records(store, records, jobs=1).added == len(HISTORY)
    finally:
        store.close()
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``radpilot ARGS`` in-process through the real entry point: (code, stdout, stderr)."""
    from radpilot.commands.main import run

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        got = capsys.readouterr()
        return code, got.out, got.err

    return invoke
