"""A small builder for the self-contained HTML report (inline CSS, base64 PNG figures)."""

from __future__ import annotations

import html
import json
import logging
import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radpilot.errors import InputError

log = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d5dae3;padding-bottom:4px}
p.note{color:#5a6475;font-size:13px;margin:4px 0}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #d5dae3;padding:3px 7px;text-align:right;white-space:nowrap}th{background:#eef2f8}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;margin:6px 0}
.small{font-size:11px;color:#5a6475}
"""


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a table cell; None and NaN show as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def fmt_ci(value: Any, ci: Sequence[float] | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if not ci:
        return fmt(value, digits)
    return f"{fmt(value, digits)} ({ci[0]:.{digits}f}–{ci[1]:.{digits}f})"


WILSON_NOTE = (
    "An interval the bootstrap leaves at a single value (every resample agrees, e.g. all "
    "positives detected) is shown as the Wilson score interval instead, marked W."
)


def shown_ci(r: Any, key: str) -> tuple[list[float] | None, bool]:
    """The interval to display and whether it is the Wilson one (see WILSON_NOTE)."""
    ci = r.get(f"{key}_ci")
    wilson = r.get(f"{key}_wilson_ci")
    if ci and wilson and ci[0] == ci[1]:
        return wilson, True
    return ci, False


def fmt_shown(r: Any, key: str, digits: int = 3) -> str:
    ci, is_wilson = shown_ci(r, key)
    text = fmt_ci(r.get(key), ci, digits)
    return text + " W" if is_wilson else text


class Page:
    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []

    def h2(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def note(self, text: str) -> None:
        self.parts.append(f'<p class="note">{html.escape(text)}</p>')

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(fmt(c))}</td>" for c in row) + "</tr>"
            for row in rows
        )
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def image(self, png_base64: str, alt: str) -> None:
        self.parts.append(
            f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png_base64}">'
        )

    def render(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>"
            f'<p class="small">radpilot evaluate · {stamp} · radpilot assists radiologists; '
            "it does not diagnose. Every figure below is measured on the cases named.</p>"
            + "".join(self.parts)
            + "</body></html>"
        )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return _jsonable(obj.item())
    return obj


def check_output_folder(out: Path) -> None:
    """Refuse an output folder that cannot be made before any work is done: a file in its
    place or above it, or a parent that cannot be written."""
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise InputError(f"{out}: cannot create the output folder ({folder} is a file)")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise InputError(f"{out}: cannot write the output folder ({folder} is read-only)")
            return


def write_outputs(out: Path, metrics: dict[str, Any], page: Page | None) -> list[Path]:
    """``metrics.json`` (strict JSON: NaN written as null) and ``report.html`` under ``out``."""
    check_output_folder(out)
    written = [out / "metrics.json"]
    if page is not None:
        written.append(out / "report.html")
    try:
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(_jsonable(metrics), indent=2, allow_nan=False) + "\n"
        written[0].write_text(text, encoding="utf-8")
        if page is not None:
            written[1].write_text(page.render(), encoding="utf-8")
    except OSError as exc:
        where = exc.filename or out
        raise InputError(f"{where}: cannot write ({exc.strerror or type(exc).__name__})") from None
    log.info("wrote %s", ", ".join(str(p) for p in written))
    return written
