"""What the radiologist's pages show, apart from FastAPI: the image as a PNG at a window
and level, the heatmap as a coloured transparent PNG of the same size, the search query a
set of facets makes, highlighted evidence, and the rows of the worklist per role.

Window and level work on the display pixels ``radpilot.imaging`` reads (float32 in
[0, 1], MONOCHROME1 already inverted, the modality and VOI transforms applied), in
percent of that range: level 50, width 100 shows the image as read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from radpilot.errors import InputError

# Presets in percent of the display range; "w"/"l" step through them on the study page.
WINDOW_PRESETS: tuple[tuple[str, float, float], ...] = (
    ("As read", 50.0, 100.0),
    ("Lung", 40.0, 60.0),
    ("Soft tissue", 60.0, 40.0),
    ("Bone", 75.0, 35.0),
)
CERTAINTIES = ("any", "present", "uncertain", "absent")
SIDES = ("", "left", "right", "bilateral")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_CODE = re.compile(r"^[A-Za-z]{1,16}$")
_FINDING = re.compile(r"^[A-Za-z][A-Za-z '\-]{0,60}$")
_ALPHA_FLOOR, _ALPHA_MAX = 0.2, 0.6  # as radpilot.imaging.overlay: cold areas stay clear


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG", compress_level=3)
    return out.getvalue()


def windowed(pixels: np.ndarray, level: float, width: float) -> np.ndarray:
    """uint8 grey of ``pixels`` (display values in [0, 1]) at ``level``/``width`` percent."""
    if not (0.0 <= level <= 100.0) or not (1.0 <= width <= 200.0):
        raise InputError("level: 0 to 100 and width: 1 to 200 (percent of the display range)")
    low = level / 100.0 - width / 200.0
    scaled = (np.asarray(pixels, dtype=np.float32) - low) / (width / 100.0)
    grey: np.ndarray = (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return grey


def heat_rgba(heat: np.ndarray) -> np.ndarray:
    """The heatmap as jet colours whose opacity grows with the heat (transparent when cold),
    to be drawn over the image at any window."""
    from radpilot.imaging.overlay import jet

    h = np.clip(np.nan_to_num(np.asarray(heat, dtype=np.float32)), 0.0, 1.0)
    rgb = (jet(h) * 255.0 + 0.5).astype(np.uint8)
    alpha = np.where(h < _ALPHA_FLOOR, 0.0, _ALPHA_MAX * h) * 255.0
    rgba: np.ndarray = np.dstack([rgb, alpha.astype(np.uint8)])
    return rgba


@dataclass(frozen=True)
class Facets:
    """The search page's form: each field checked, then turned into a query."""

    text: str = ""
    finding: str = ""
    certainty: str = "any"
    laterality: str = ""
    since: str = ""
    until: str = ""
    modality: str = ""

    def __post_init__(self) -> None:
        checks = (
            ("certainty", self.certainty in CERTAINTIES, ", ".join(CERTAINTIES)),
            ("laterality", self.laterality in SIDES, "left, right, bilateral"),
            ("since", not self.since or bool(_DATE.match(self.since)), "YYYY, YYYY-MM, YYYY-MM-DD"),
            ("until", not self.until or bool(_DATE.match(self.until)), "YYYY, YYYY-MM, YYYY-MM-DD"),
            ("modality", not self.modality or bool(_CODE.match(self.modality)), "a code: CR, DX"),
            ("finding", not self.finding or bool(_FINDING.match(self.finding)), "finding words"),
        )
        for name, ok, valid in checks:
            if not ok:
                raise InputError(f"search facet {name}: not valid; expected {valid}")

    def query(self) -> str:
        """The ``radpilot search`` query of these facets ("" when none is set)."""
        parts = [self.text.strip()] if self.text.strip() else []
        if self.finding:
            if self.laterality:
                parts.append(f"side:{self.laterality}")
            finding = f'"{self.finding}"' if " " in self.finding else self.finding
            prefix = "" if self.certainty == "any" else f"{self.certainty}:"
            parts.append(prefix + finding)
        parts += [f"since:{self.since}"] if self.since else []
        parts += [f"until:{self.until}"] if self.until else []
        parts += [f"modality:{self.modality.upper()}"] if self.modality else []
        return " ".join(parts)


def marked(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, highlighted) around the spans (offsets into ``text``;
    overlapping or out-of-range spans are merged or clipped)."""
    cuts = sorted((max(0, a), min(len(text), b)) for a, b in spans if b > a)
    out: list[tuple[str, bool]] = []
    at = 0
    for a, b in cuts:
        if b <= at:
            continue
        a = max(a, at)
        if a > at:
            out.append((text[at:a], False))
        out.append((text[a:b], True))
        at = b
    if at < len(text):
        out.append((text[at:], False))
    return out


def hit_evidence(hit: Mapping[str, Any], deidentified: bool) -> list[list[tuple[str, bool]]]:
    """Each finding of a search hit as its sentence with the finding's words marked; a
    de-identified view has only the span's words (its sentences' offsets are not valid)."""
    out = []
    for f in hit.get("findings") or ():
        span, sentence = f.get("span") or {}, f.get("sentence") or {}
        if deidentified or not sentence.get("text"):
            out.append([(str(span.get("text", "")), True)])
            continue
        base = int(sentence["start"])
        out.append(
            marked(str(sentence["text"]), [(int(span["start"]) - base, int(span["end"]) - base)])
        )
    for m in hit.get("text_matches") or ():
        out.append([(str(m.get("text", "")), True)])
    return out


def waiting(minutes: float) -> str:
    """A waiting time as a radiologist reads it: 45 min, 3 h 05 min, 2 d 4 h."""
    m = max(0, int(minutes))
    if m < 60:
        return f"{m} min"
    if m < 24 * 60:
        return f"{m // 60} h {m % 60:02d} min"
    return f"{m // 1440} d {(m % 1440) // 60} h"


def worklist_rows(entries: Sequence[Any], now: datetime) -> list[dict[str, Any]]:
    """The worklist entries (``radpilot.workflow.worklist``) as the page's rows."""
    rows = []
    for e in entries:
        d = e.to_dict()
        s = e.study
        d["exam"] = s.description or " ".join(x for x in (s.modality, s.body_part) if x) or "-"
        d["waiting"] = waiting(d["wait_minutes"])
        d["findings"] = [
            f"{f['name']} {f['probability']:.2f}" for f in positive_findings(s.analysis)
        ]
        rows.append(d)
    return rows


def positive_findings(analysis: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for image in analysis or ():
        for f in image.get("findings") or ():
            if isinstance(f, Mapping) and f.get("positive"):
                out.append(dict(f))
    return out


def image_view(analysis: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Per analysed image: its index, size and findings with boxes in source pixels, for
    the study page's canvas (no path and no identifier leaves the server)."""
    views = []
    for i, image in enumerate(analysis or ()):
        meta = image.get("metadata") or {}
        views.append(
            {
                "index": i,
                "rows": meta.get("rows"),
                "columns": meta.get("columns"),
                "view": meta.get("view_position"),
                "error": image.get("error"),
                "findings": [
                    {
                        "name": f.get("name"),
                        "probability": f.get("probability"),
                        "threshold": f.get("threshold"),
                        "positive": bool(f.get("positive")),
                        "box": f.get("box"),
                    }
                    for f in image.get("findings") or ()
                    if isinstance(f, Mapping)
                ],
            }
        )
    return views
