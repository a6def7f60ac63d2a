"""The imaging step of `radpilot demo`: the sample radiographs through `radpilot analyze`
(overlays, analysis.json, DICOM SR + Secondary Capture), the quality gate stopping a
rotated and a blank copy, and one serial patient's current film against the prior
through `radpilot compare`, all as the CLI commands a user would type."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from radpilot.commands.common import ExitCode
from radpilot.commands.demo import Command, Context, Note

ANALYSE = (
    "siim_monochrome2.dcm",
    "siim_true_monochrome1.dcm",
    "Fake_MONOHR1.dcm",
    "nih_cardiomegaly.png",
    "nih_normal.png",
)
CURRENT = "serial_p270_current_day-1.png"
PRIOR = "serial_p270_prior_day-23.png"


def run(ctx: Context) -> Iterator[Command | Note]:
    from PIL import Image

    from radpilot import samples

    folder = ctx.folder("imaging")
    yield Note(
        "[bold]Images:[/] the bundled radiographs with the embedded model (a 28x28 "
        "demonstration model: its findings are illustrative only)."
    )
    yield Command(
        (
            "analyze",
            *(str(samples.get(n)) for n in ANALYSE),
            "--out",
            str(folder / "analysis"),
            "--all-heatmaps",
        ),
        ok=(ExitCode.DONE,),
    )
    # Bad inputs a model would happily score: the quality gate stops them before it.
    gate = ctx.folder("imaging/gate-inputs")
    normal = np.asarray(Image.open(samples.get("nih_normal.png")).convert("L"))
    Image.fromarray(np.rot90(normal, 2).copy()).save(gate / "upside_down.png")
    Image.fromarray(np.zeros_like(normal)).save(gate / "blank.png")
    yield Note(
        "The quality gate: an upside-down and a blank copy are not read (exit 1, partly done)."
    )
    yield Command(
        (
            "analyze",
            str(samples.get("nih_normal.png")),
            str(gate / "upside_down.png"),
            str(gate / "blank.png"),
        ),
        ok=(ExitCode.PARTLY_DONE,),
    )
    yield Note("[bold]Images:[/] prior comparison (patient 270, day -23 -> day -1).")
    yield Command(
        (
            "compare",
            str(samples.get(CURRENT)),
            str(samples.get(PRIOR)),
            "--out",
            str(folder / "compare"),
        ),
        ok=(ExitCode.DONE,),
    )
