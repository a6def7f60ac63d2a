"""Rich tables for search results: the evidence sentence with the finding highlighted."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from radpilot.search.engine import Hit, SearchResult
from radpilot.search.models import StoreStats
from radpilot.search.vocab import name

_STYLE = {"present": "bold red", "uncertain": "bold yellow", "absent": "bold green"}
_MAX_EVIDENCE = 160


def evidence(hit: Hit) -> Text:
    """The first evidence sentence (or text match) with the matched words highlighted."""
    text = hit.report.text
    if hit.mentions:
        m = hit.mentions[0]
        s0, s1 = m.sentence
        out = Text(text[s0:s1].strip())
        lead = len(text[s0:s1]) - len(text[s0:s1].lstrip())
        for other in hit.mentions:
            if other.sentence == m.sentence:
                a, b = other.span[0] - s0 - lead, other.span[1] - s0 - lead
                out.stylize(_STYLE.get(other.status, "bold"), max(a, 0), max(b, 0))
        more = len({x.sentence for x in hit.mentions}) - 1
        if more > 0:
            out.append(f"  (+{more} more)", style="dim")
        out.truncate(_MAX_EVIDENCE, overflow="ellipsis")
        return out
    if hit.text_spans:
        a, b = hit.text_spans[0]
        start = max(0, text.rfind(".", 0, a) + 1)
        end = text.find(".", b)
        end = len(text) if end < 0 else end + 1
        out = Text(text[start:end].strip())
        off = len(text[start:end]) - len(text[start:end].lstrip())
        for x, y in hit.text_spans:
            if start <= x and y <= end:
                out.stylize("bold cyan", x - start - off, y - start - off)
        out.truncate(_MAX_EVIDENCE, overflow="ellipsis")
        return out
    return Text(text[:_MAX_EVIDENCE].replace("\n", " "), style="dim")


def findings_cell(hit: Hit) -> Text:
    out = Text()
    if hit.words_only:
        return Text("words only (reader: not read)", style="dim")
    seen: set[tuple[str, str]] = set()
    for m in hit.mentions:
        key = (m.finding, m.status)
        if key in seen:
            continue
        seen.add(key)
        if out:
            out.append(", ")
        attrs = " ".join(x for x in (m.change, m.laterality) if x)
        label = f"{attrs} {name(m.finding)}".strip()
        suffix = "?" if m.status == "uncertain" else (" (absent)" if m.status == "absent" else "")
        out.append(label + suffix, style=_STYLE.get(m.status, ""))
    return out


def results_table(result: SearchResult, title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("id", style="bold")
    table.add_column("score", justify="right")
    table.add_column("date")
    table.add_column("patient")
    table.add_column("findings")
    table.add_column("evidence", overflow="fold", max_width=70)
    for i, hit in enumerate(result.hits, 1):
        r = hit.report
        table.add_row(
            str(i),
            r.id,
            f"{hit.score:.3f}" + (" ?" if hit.uncertain else ""),
            r.study_date or "",
            r.patient_id or "",
            findings_cell(hit),
            evidence(hit),
        )
    return table


def stats_table(stats: StoreStats, location: str, *, removed: int = 0) -> Table:
    t = Table(title=f"archive {location}", show_header=False)
    t.add_column("what", style="bold")
    t.add_column("value")
    t.add_row("reports", f"{stats.reports:,}")
    t.add_row("earlier versions", f"{stats.versions:,}")
    if removed:
        t.add_row("removed (audited)", f"{removed:,}")
    t.add_row("patients", f"{stats.patients:,}")
    t.add_row("mentions", f"{stats.mentions:,}")
    lo, hi = stats.date_range
    t.add_row("study dates", f"{lo} .. {hi}" if lo else "none recorded")
    emb = ", ".join(f"{k}: {v:,}" for k, v in stats.embeddings.items()) or "none (archive embed)"
    t.add_row("embeddings", emb)
    t.add_row("size", f"{stats.size_bytes / 2**20:.1f} MiB")
    top = ", ".join(f"{name(k)} {v:,}" for k, v in list(stats.findings_present.items())[:8])
    t.add_row("top findings (present)", top or "none")
    return t
