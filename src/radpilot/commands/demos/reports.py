"""The reports step of `radpilot demo`: label every OpenI report with `radpilot label`.

Writes under ``out/reports/``: ``openi_chexpert.csv`` and ``openi_chestxray14.csv`` (the
CheXpert labeler's output convention, rows in OpenI id order), ``openi_mentions.jsonl``
(every mention with its evidence, one line per report with its id) and, when the
development data is beside the project, ``openi_dev_scores.json``: per-class P/R/F1 on the
DEV split against the MeSH gold, scored by ``../shared/data/openi/openi_gold.py`` from the
JSONL the command wrote (held-out labels are never read). Then a user vocabulary
(``--vocab``, bundled samples) and targets mode (``clinical_targets.jsonl``: made-up
sentences with concept spans; ``clinical_targets_out.jsonl``: one assertion per target).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from radpilot.commands.common import ExitCode
from radpilot.commands.demo import Command, Context, Note
from radpilot.devdata import OPENI_GOLD_SCRIPT, load_script

# The OpenI archive has 28 reports with neither FINDINGS nor IMPRESSION: each is an error
# row (named on stderr, left unlabelled), so every run is "partly done".
OPENI_OK = (ExitCode.PARTLY_DONE,)


def run(ctx: Context) -> Iterator[Command | Note]:
    from radpilot.reports.openi import default_tgz

    folder = ctx.folder("reports")
    tgz = str(default_tgz())
    yield Note(
        "Label all 3,955 OpenI reports (NLMCXR_reports.tgz from the torchxrayvision wheel): "
        "CheXpert's 14 labels, ChestX-ray14's, and every mention with its evidence."
    )
    capped = ("--max-errors", "3")
    yield Command(("label", tgz, "-o", str(folder / "openi_chexpert.csv"), *capped), ok=OPENI_OK)
    cxr14 = folder / "openi_chestxray14.csv"
    yield Command(
        ("label", tgz, "--labels", "chestxray14", "-o", str(cxr14), *capped, "-q"), ok=OPENI_OK
    )
    mentions = folder / "openi_mentions.jsonl"
    yield Command(
        ("label", tgz, "--format", "jsonl", "-o", str(mentions), *capped, "-q"), ok=OPENI_OK
    )
    yield _dev_scores(ctx, folder, mentions)
    yield from _vocab_and_targets(folder)


# Made-up clinical sentences with the spans of concepts a pipeline found elsewhere.
_NOTES = (
    (
        "N1",
        "Denies chest pain or palpitations. Mother has diabetes.",
        ("chest pain", "palpitations", "diabetes"),
    ),
    (
        "N2",
        "History of asthma, now with wheezing. Return if fever develops.",
        ("asthma", "wheezing", "fever"),
    ),
    (
        "N3",
        "CT to rule out pulmonary embolism. No increase in dyspnea.",
        ("pulmonary embolism", "dyspnea"),
    ),
)


def _vocab_and_targets(folder: Path) -> Iterator[Command | Note]:
    from radpilot import samples

    yield Note(
        "A user's vocabulary (--vocab: a finding radpilot does not know, an override), and "
        'concepts found elsewhere: a JSONL row\'s "targets" spans, asserted in any clinical text.'
    )
    yield Command(
        (
            "label",
            str(samples.get("notes.jsonl")),
            "--vocab",
            str(samples.get("my_findings.yaml")),
            "--format",
            "jsonl",
            "-o",
            str(folder / "notes_with_vocab.jsonl"),
            "-q",
        ),
        ok=(ExitCode.DONE,),
    )
    rows = folder / "clinical_targets.jsonl"
    with rows.open("w", encoding="utf-8") as fh:
        for rid, text, concepts in _NOTES:
            targets = [{"start": text.index(c), "end": text.index(c) + len(c)} for c in concepts]
            fh.write(json.dumps({"id": rid, "text": text, "targets": targets}) + "\n")
    yield Command(
        (
            "label",
            str(rows),
            "--format",
            "jsonl",
            "-o",
            str(folder / "clinical_targets_out.jsonl"),
            "-q",
        ),
        ok=(ExitCode.DONE,),
    )


def _dev_scores(ctx: Context, folder: Path, mentions: Path) -> Note:
    script = ctx.shared / OPENI_GOLD_SCRIPT if ctx.shared is not None else None
    if script is None or not script.is_file():
        return Note(
            "[dim]No development data beside the project (set RADPILOT_SHARED): "
            "skipping the dev-split scores.[/]"
        )
    result = score_dev(load_script(script, "radpilot_openi_gold"), read_labels(mentions))
    (folder / "openi_dev_scores.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"OpenI DEV split ({result['n_reports']:,} reports) vs MeSH gold, from {mentions.name}:"
    ]
    lines.append(f"  {'class':18s} {'support':>7s} {'P':>6s} {'R':>6s} {'F1':>6s}")
    for name, x in result.items():
        if isinstance(x, dict):
            lines.append(
                f"  {name:18s} {x['support']:7d} {x['precision']:6.3f} {x['recall']:6.3f} "
                f"{x['f1']:6.3f}"
            )
    lines.append(
        f"  macro-F1 {result['macro_f1']:.3f} · micro-F1 {result['micro_f1']:.3f} (classes with "
        f"support >= 5; uncertain counted as positive) -> {folder.name}/openi_dev_scores.json"
    )
    return Note("\n".join(lines))


def read_labels(path: Path) -> dict[str, dict[str, float | None]]:
    """Report id -> its labels, from the JSONL that `radpilot label --format jsonl` wrote."""
    out: dict[str, dict[str, float | None]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            out[str(obj["id"])] = obj["labels"] if obj["labelled"] else {}
    return out


def score_dev(gold_module: Any, labels: dict[str, dict[str, float | None]]) -> dict[str, Any]:
    """Per-class P/R/F1 and macro-F1 on the DEV split only (held-out labels never read)."""
    dev = [r for r in gold_module.load() if r["split"] == "dev"]
    gold = {r["id"]: set(r["positive"]) for r in dev}
    pred = {rid: labels.get(rid, {}) for rid in gold}
    result: dict[str, Any] = gold_module.score(gold, pred)
    result["n_reports"] = len(dev)
    return result
