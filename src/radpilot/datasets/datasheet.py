"""A dataset's datasheet (Gebru et al., "Datasheets for Datasets"): what is in it (counts
per label), who annotated it and how fast, how well they agree (kappa), where it came from
and under what licence. ``datasets stats`` prints the same summary."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radpilot import __version__
from radpilot.datasets.agreement import kappa_table
from radpilot.datasets.bundle import Bundle

_NAMES = {1.0: "present", 0.0: "absent", -1.0: "uncertain", None: "blank"}


@dataclass(frozen=True, slots=True)
class AnnotatorStats:
    name: str
    role: str
    assigned: int
    answered: int
    median_seconds: float | None
    corrections: int  # decisions that changed radpilot's proposal


def counts(b: Bundle) -> dict[str, dict[str, int]]:
    """label -> present / absent / uncertain / blank counts over the final labels."""
    out: dict[str, dict[str, int]] = {}
    for name in b.dataset.labels:
        c = Counter(_NAMES[b.labels(it)[name]] for it in b.items)
        out[name] = {k: c.get(k, 0) for k in ("present", "absent", "uncertain", "blank")}
    return out


def annotator_stats(b: Bundle, assignments: dict[str, Any]) -> list[AnnotatorStats]:
    by_item = {it.id: it for it in b.items}
    out: list[AnnotatorStats] = []
    for who, (role, ids) in assignments.items():
        mine = [a for a in b.annotations if a.annotator == who]
        secs = [a.seconds for a in mine]
        changed = 0
        for a in mine:
            ours = by_item[a.item_id].radpilot_labels()
            changed += sum(1 for d in a.decisions if ours.get(d.label, None) != d.value)
        median = statistics.median(secs) if secs else None
        out.append(AnnotatorStats(who, role.value, len(ids), len(mine), median, changed))
    return out


def summary(b: Bundle, assignments: dict[str, Any], licence: str | None = None) -> dict[str, Any]:
    ds = b.dataset
    kinds = Counter(it.kind.value for it in b.items)
    return {
        "name": ds.name,
        "task": ds.task.value,
        "label_set": ds.label_set,
        "items": len(b.items),
        "item_kinds": dict(kinds),
        "counts": counts(b),
        "resolution": dict(Counter(b.resolution.how.values())),
        "awaiting_adjudication": len(b.resolution.disputed),
        "annotators": [
            {
                "name": s.name,
                "role": s.role,
                "assigned": s.assigned,
                "answered": s.answered,
                "median_seconds": s.median_seconds,
                "corrections": s.corrections,
            }
            for s in annotator_stats(b, assignments)
        ],
        "agreement": [k.to_dict() for k in kappa_table(ds, b.items, b.annotations)],
        "provenance": {
            "source": ds.source,
            "created_at": ds.created_at,
            "proposals": f"radpilot {__version__} ({'image model' if ds.task.on_images else 'report reader'})",
            "uncertainty_policy": "radpilot (default)" if not ds.task.on_images else None,
            "deidentified": b.deid is not None,
        },
        "licence": licence or ds.licence,
    }


def _kappa(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def markdown(s: dict[str, Any]) -> str:
    lines = []
    licence = s["licence"]
    if " " not in licence:  # an SPDX-like id: the Hugging Face card's front matter takes it
        lines += ["---", f"license: {licence.lower()}", "---", ""]
    lines += [
        f"# Datasheet: {s['name']}",
        "",
        f"- Task: {s['task']} · labels: {s['label_set']} · items: {s['items']} "
        + "("
        + ", ".join(f"{k} {v}" for k, v in s["item_kinds"].items())
        + ")",
        f"- Source: {s['provenance']['source']}",
        f"- Created: {s['provenance']['created_at']} · proposals by {s['provenance']['proposals']}",
        f"- De-identified: {'yes' if s['provenance']['deidentified'] else 'no'}",
        f"- Licence: {licence}",
        "- Final labels: "
        + ", ".join(f"{k} {v}" for k, v in sorted(s["resolution"].items()))
        + f"; awaiting adjudication {s['awaiting_adjudication']}",
        "",
        "## Counts per label",
        "",
        "| label | present | absent | uncertain | blank |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, c in s["counts"].items():
        lines.append(
            f"| {name} | {c['present']} | {c['absent']} | {c['uncertain']} | {c['blank']} |"
        )
    lines += [
        "",
        "## Annotators",
        "",
        "| annotator | role | assigned | answered | median s | corrections |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for a in s["annotators"]:
        med = "" if a["median_seconds"] is None else f"{a['median_seconds']:.1f}"
        lines.append(
            f"| {a['name']} | {a['role']} | {a['assigned']} | {a['answered']} | {med} | {a['corrections']} |"
        )
    lines += [
        "",
        "## Agreement (kappa)",
        "",
        "| label | raters | kind | items | kappa |",
        "|---|---|---|---:|---:|",
    ]
    for k in s["agreement"]:
        lines.append(
            f"| {k['label']} | {' / '.join(k['raters'])} | {k['kind']} | {k['items']} | {_kappa(k['kappa'])} |"
        )
    if not s["agreement"]:
        lines.append("| (no answers yet) | | | | |")
    return "\n".join(lines) + "\n"


def write_datasheet(
    b: Bundle, fmt: Any, out: Path, *, licence: str | None = None
) -> tuple[Path, ...]:
    s = summary(b, b.assignments, licence)
    s["format"] = fmt.value
    if fmt.folder:
        md, js = out / "README.md", out / "datasheet.json"
    else:
        md, js = Path(f"{out}.datasheet.md"), Path(f"{out}.datasheet.json")
    md.write_text(markdown(s), encoding="utf-8")
    js.write_text(json.dumps(s, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return md, js
