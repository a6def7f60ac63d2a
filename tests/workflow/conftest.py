"""A fake OpenAI-compatible server on loopback: a real HTTP server in a thread whose
behaviour is chosen by the request's ``model`` field, from honest to lying."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


def _report_in(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, list):
        content = next(p["text"] for p in content if p["type"] == "text")
    return content.split("\n\n", 1)[1] if "\n\n" in content else content


def _rewrite(model: str, report: str) -> str:
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
    if model == "cites":  # an answer citing an id it was given, and one it was not
        ids = re.findall(r"^\[([^\]]+)\]", report, flags=re.M)
        return (
            f"The patient had a small left pleural effusion [{ids[0]}]. "
            "A right pneumothorax was also seen [R999]. "
            f"Cardiomegaly was present [{ids[0]}]."
        )
    return report


class _Handler(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
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
