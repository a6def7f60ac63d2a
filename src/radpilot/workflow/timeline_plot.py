"""The timeline as a PNG chart: one row per finding, one column per date; a filled dot
where a report or an image showed it, a hollow dot where a report hedged it, a cross
where a report said it was absent, the reader's change word beside the dot, and a bar
from first seen to last seen (to the resolving report when it resolved).

matplotlib's object API (``Figure``), no pyplot: no global backend state is touched.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from radpilot.errors import InputError
from radpilot.workflow.timeline import Timeline

_COLOURS = {"report": "#1f5fa8", "image": "#c2410c"}


def _day(iso: str) -> float:
    return float(date.fromisoformat(iso).toordinal())


def plot_timeline(timeline: Timeline, out: Path) -> Path:
    """Write the chart to ``out`` (PNG); ``InputError`` when it cannot be written."""
    from matplotlib.figure import Figure

    rows = list(timeline.findings)
    height = 1.2 + 0.45 * max(1, len(rows))
    fig = Figure(figsize=(9.0, height), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    for y, h in enumerate(rows):
        if h.first_seen is not None:
            end = h.resolved or h.last_seen or h.first_seen
            ax.plot(
                [_day(h.first_seen), _day(end)],
                [y, y],
                color="#9ca3af",
                lw=5,
                alpha=0.5,
                solid_capstyle="round",
                zorder=1,
            )
        for o in h.observations:
            x, colour = _day(o.date), _COLOURS[o.source]
            if o.status == "absent":
                ax.scatter([x], [y], marker="x", color=colour, s=40, zorder=3)
            elif o.status == "uncertain":
                ax.scatter([x], [y], facecolors="white", edgecolors=colour, s=50, zorder=3)
            else:
                marker = "s" if o.source == "image" else "o"
                ax.scatter([x], [y], marker=marker, color=colour, s=50, zorder=3)
            if o.change:
                ax.annotate(
                    o.change,
                    (x, y),
                    xytext=(4, 6),
                    textcoords="offset points",
                    fontsize=7,
                    color="#374151",
                )
    ax.set_yticks(range(len(rows)), [h.finding.replace("_", " ") for h in rows], fontsize=8)
    ticks = [_day(d) for d in timeline.dates]
    ax.set_xticks(ticks, list(timeline.dates), rotation=45, ha="right", fontsize=7)
    if ticks:
        pad = max(3.0, (ticks[-1] - ticks[0]) * 0.05)
        ax.set_xlim(ticks[0] - pad, ticks[-1] + pad)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.invert_yaxis()
    ax.grid(axis="x", color="#e5e7eb", lw=0.8)
    ax.set_title(
        f"patient {timeline.patient}: findings over time "
        "(o report, [] image, hollow: uncertain, x: absent)",
        fontsize=9,
    )
    fig.tight_layout()
    try:
        fig.savefig(out, format="png")
    except OSError as exc:
        raise InputError(f"{out}: cannot write the chart ({exc.strerror or exc})") from None
    return out
