"""Demo step for the image side: analyse the bundled sample radiographs with the
embedded model (overlays, analysis.json, DICOM SR + Secondary Capture) and compare one
serial patient's current radiograph with the prior, all under ``out/imaging/``."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

ANALYSE = (
    "siim_monochrome2.dcm",
    "siim_true_monochrome1.dcm",
    "Fake_MONOHR1.dcm",
    "nih_cardiomegaly.png",
    "nih_normal.png",
)
CURRENT = "serial_p270_current_day-1.png"
PRIOR = "serial_p270_prior_day-23.png"


def run(out: Path, console: Console) -> None:
    from radpilot import samples
    from radpilot.commands.analyze import results_table
    from radpilot.commands.compare import comparison_table
    from radpilot.imaging.analyze import analyze, resolve_model, write_json
    from radpilot.imaging.compare import compare

    folder = out / "imaging"
    folder.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]Images: analysis of bundled chest radiographs")
    model = resolve_model(None)
    results = analyze(
        [samples.get(name) for name in ANALYSE],
        model=model,
        out=folder / "analysis",
        all_heatmaps=True,
    )
    write_json(results, folder / "analysis" / "analysis.json")
    console.print(results_table(results, compact=console.width < 110))
    written = sum(len(r.outputs) for r in results)
    console.print(
        f"Heatmap overlays, analysis.json and {written} DICOM objects (SR + Secondary "
        f"Capture) under {folder / 'analysis'}/. Model: {model.name} — a small "
        "demonstration model (28x28 input); its findings are illustrative only."
    )

    console.rule("[bold]Images: prior comparison (patient 270, day -23 -> day -1)")
    comparison = compare(
        samples.get(CURRENT), samples.get(PRIOR), model=model, out=folder / "compare"
    )
    (folder / "compare" / "comparison.json").write_text(
        json.dumps(comparison.to_dict(), indent=2) + "\n", "utf-8"
    )
    console.print(comparison_table(comparison))
    console.print(comparison.summary())
    for warning in comparison.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(f"Subtraction image and registered prior under {folder / 'compare'}/.")
