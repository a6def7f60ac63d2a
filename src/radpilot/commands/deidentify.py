"""`radpilot deidentify DICOM|REPORT... -o OUT`: de-identified copies for dataset export."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from radpilot.commands.common import ProblemLines, batch_exit, exit_with

app = typer.Typer()

SECRET_ENV = "RADPILOT_DEID_SECRET"
_TEXT_KEYS = ("text", "report", "report_text")


def _secret(path: Path | None, problems: ProblemLines) -> bytes:
    from radpilot.errors import InputError

    if path is not None:
        try:
            data = path.read_bytes().strip()
        except OSError as exc:
            raise InputError(f"{path}: cannot read the secret ({exc.strerror or exc})") from None
        if len(data) < 16:
            raise InputError(f"{path}: a secret needs at least 16 bytes")
        return data
    env = os.environ.get(SECRET_ENV, "").encode()
    if env:
        return env
    problems(
        f"note: no --secret-file or {SECRET_ENV}: dates shift and UIDs map consistently "
        "within this run only",
        "note",
    )
    return secrets.token_bytes(32)


def _pseudonym(secret: bytes, value: str, prefix: str) -> str:
    digest = hmac.new(secret, f"{prefix}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}{digest[:16]}"


def _inputs(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def _is_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(132)[128:132] == b"DICM"
    except OSError:
        return False


class _Run:
    def __init__(self, out: Path, secret: bytes, problems: ProblemLines) -> None:
        from radpilot.interop.deid import UidMap
        from radpilot.interop.deid_text import DateShifter

        self.out = out
        self.secret = secret
        self.uids = UidMap(secret)
        self.shifter = DateShifter(secret)
        self.problems = problems
        self.done = 0
        self.failed = 0

    def dicom(self, path: Path) -> None:
        import pydicom
        from pydicom.errors import InvalidDicomError

        from radpilot.imaging.dicomio import quiet_pydicom
        from radpilot.interop.deid import deidentify_dicom

        try:
            with quiet_pydicom():
                ds = pydicom.dcmread(path)
                result = deidentify_dicom(ds, uids=self.uids, shifter=self.shifter)
                target = self.out / f"{result.dataset.SOPInstanceUID}.dcm"
                result.dataset.save_as(target, enforce_file_format=True)
        except (InvalidDicomError, ValueError, TypeError, AttributeError, KeyError) as exc:
            self.fail(
                f"error: {path}: not de-identified: not a readable DICOM file ({type(exc).__name__})"
            )
            return
        for note in result.notes:
            self.problems(f"note: {path}: {note}", "note")
        self.done += 1

    def report(self, path: Path, patient: str | None) -> None:
        from radpilot.interop.deid_text import deidentify_text

        text = self._read(path)
        if text is None:
            return
        key = patient or path.stem
        clean = deidentify_text(text, patient_key=key, shifter=self.shifter, known=(key,))
        target = self.out / f"{_pseudonym(self.secret, path.stem, 'R')}.txt"
        target.write_text(clean.text, encoding="utf-8")
        self.done += 1

    def jsonl(self, path: Path) -> None:
        text = self._read(path)
        if text is None:
            return
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            row = self._row(path, lineno, line)
            if row is not None:
                rows.append(json.dumps(row, ensure_ascii=False))
        target = self.out / f"{_pseudonym(self.secret, path.stem, 'R')}.jsonl"
        target.write_text("\n".join(rows) + ("\n" if rows else ""), encoding="utf-8")

    def _row(self, path: Path, lineno: int, line: str) -> dict[str, Any] | None:
        from radpilot.interop.deid_text import deidentify_text

        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            self.fail(f"error: {path}: line {lineno}: not valid JSON; left out")
            return None
        key = next(
            (k for k in _TEXT_KEYS if isinstance(obj, dict) and isinstance(obj.get(k), str)), None
        )
        if key is None:
            self.fail(
                f"error: {path}: line {lineno}: no text field ({', '.join(_TEXT_KEYS)}); left out"
            )
            return None
        rid = str(obj.get("id") or lineno)
        patient = str(obj.get("patient_id") or rid)
        known = tuple(str(obj[k]) for k in ("id", "patient_id", "accession") if obj.get(k))
        clean = deidentify_text(obj[key], patient_key=patient, shifter=self.shifter, known=known)
        self.done += 1
        out: dict[str, Any] = {"id": _pseudonym(self.secret, rid, "R"), "text": clean.text}
        if obj.get("patient_id"):
            out["patient_id"] = _pseudonym(self.secret, patient, "P")
        return out

    def _read(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.fail(f"error: {path}: not UTF-8 text; not de-identified")
        except OSError as exc:
            self.fail(f"error: {path}: cannot read ({exc.strerror or exc})")
        return None

    def fail(self, line: str) -> None:
        self.problems(line)
        self.failed += 1


@app.command()
def deidentify(
    inputs: list[Path] = typer.Argument(
        ..., help="DICOM files, report .txt files, .jsonl reports (id, text, patient_id), folders."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created)."),
    secret_file: Path = typer.Option(
        None,
        "--secret-file",
        help=f"Key for UID remapping, pseudonyms and date shifts (else ${SECRET_ENV}, else random).",
    ),
    patient: str = typer.Option(
        None, "--patient", help="Patient key for .txt reports (date shift)."
    ),
) -> None:
    """Write de-identified copies: DICOM by the PS3.15 Basic Application Level
    Confidentiality Profile (named by their new SOP Instance UID), reports with names,
    identifiers and places replaced and dates shifted per patient (named by a keyed
    pseudonym). The same secret gives the same UIDs, pseudonyms and shifts. Exit status
    0 all done, 1 some, 2 none."""
    from radpilot.errors import InputError

    problems = ProblemLines()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create ({exc.strerror or exc})") from None
    run = _Run(out, _secret(secret_file, problems), problems)
    for path in _inputs(inputs):
        if not path.exists():
            run.fail(f"error: {path}: no such file")
        elif _is_dicom(path):
            run.dicom(path)
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            run.jsonl(path)
        else:
            run.report(path, patient)
    problems.close()
    typer.echo(f"de-identified {run.done} item(s) into {out}", err=True)
    exit_with(batch_exit(run.done, run.failed))
