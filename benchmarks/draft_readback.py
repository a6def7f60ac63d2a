"""How often drafts read back exactly to what they were to state, per backend, and the
clinical-efficacy F1 of drafts against the reports they were drafted from.

Three inputs: (1) the findings the report reader reads in each OpenI development report
(``../shared/data/openi/dev_ids.txt``; FINDINGS + IMPRESSION), drafted as a template
report with the product's defaults (pertinent negatives on); (2) random ``--findings``
phrase sets over the whole vocabulary (certainty, side, severity, change; seeded), some
with a random prior; (3) the same dev drafts polished by a language model: an honest
OpenAI-compatible fake on loopback (rewords, keeps every finding) and, on a small sample,
the real bundled GGUF (gemma3-270m) through llama-cpp.

"Read back exactly": the report reader reads the draft back with every planned finding,
certainty, laterality and change, and nothing else (``verify.differences`` empty). For a
language model, the share of its drafts accepted. Clinical-efficacy F1 is
``radpilot evaluate reports`` (``evaluate.text_metrics.evaluate_reports``) of the drafts
(hyp) against the source reports (ref).

Usage: ``python benchmarks/draft_readback.py [--shared DIR] [--limit N] [--phrases N]
[--honest N] [--gguf N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from radpilot.errors import InputError
from radpilot.reports import read
from radpilot.reports.openi import OpenIReport, iter_reports
from radpilot.reports.vocabulary import findings as vocab_findings
from radpilot.reports.vocabulary import load_vocabulary
from radpilot.workflow.draft import draft_report, polish
from radpilot.workflow.inputs import statement_of, with_position
from radpilot.workflow.llm import LLMConfig
from radpilot.workflow.models import Draft, Source, Statement

CONTEXT = {"indication", "history", "comparison", "technique", "examination"}


def shared_dir(arg: str | None) -> Path:
    path = Path(arg or os.environ.get("RADPILOT_SHARED") or Path.cwd().parent / "shared")
    if not (path / "data" / "openi" / "dev_ids.txt").is_file():
        sys.exit(
            f"{path}: no data/openi/dev_ids.txt here; pass --shared DIR (the ../shared folder)"
        )
    return path


def dev_reports(shared: Path, limit: int | None) -> list[OpenIReport]:
    ids = set((shared / "data" / "openi" / "dev_ids.txt").read_text().split())
    out = [r for r in iter_reports() if r.id in ids and r.text]
    out.sort(key=lambda r: int(r.id) if r.id.isdigit() else 0)
    return out[:limit] if limit else out


def own_statements(text: str) -> list[Statement]:
    """The findings the reader reads in a report, one statement per distinct reading."""
    vocab = load_vocabulary()
    seen: set[tuple[Any, ...]] = set()
    out = []
    mentions = read(text).mentions
    for m in mentions:
        if m.section in CONTEXT or m.hypothetical or m.historical or m.region is not None:
            continue
        key = (m.finding, m.certainty, m.laterality, m.change)
        if key not in seen:
            seen.add(key)
            # a device keeps its position ("tip 4 cm above the carina"), as `--findings` does
            out.append(with_position(statement_of(m, vocab, Source.FINDINGS), m, mentions, vocab))
    return out


# -- an honest OpenAI-compatible endpoint: rewords negatives, keeps every finding -------


class _Honest(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        report = body["messages"][-1]["content"].split("\n\n", 1)[1]
        text = re.sub(r"(?<=: )No |(?<=\. )No ", "There is no ", report)
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]})
        raw = data.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@contextmanager
def honest_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Honest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- the runs ---------------------------------------------------------------------------


def template_drafts(
    reports: Sequence[OpenIReport], *, negatives: bool = True
) -> tuple[dict[str, Draft], int]:
    drafts: dict[str, Draft] = {}
    empty = 0
    for r in reports:
        statements = own_statements(r.text)
        if not statements:
            empty += 1  # nothing the reader reads as a finding: nothing to draft from
            continue
        drafts[r.id] = draft_report(statements=statements, pertinent_negatives=negatives)
    return drafts, empty


_CERT = ["", "no ", "possible ", "likely "]
_SIDE = ["", "left ", "right ", "bilateral "]
_SEV = ["", "small ", "moderate ", "large ", "mild "]
_CHANGE = ["", "new ", "unchanged ", "increased ", "decreased "]


def random_phrase(rng: random.Random, names: Sequence[str]) -> str:
    cert = rng.choice(_CERT)
    body = rng.choice(_SEV) + rng.choice(_SIDE) + rng.choice(names)
    return cert + body if cert == "no " else cert + rng.choice(_CHANGE) + body


def phrase_sets(n: int, seed: int) -> tuple[int, int, int, Counter[str]]:
    rng = random.Random(seed)
    names = sorted(f.name for f in vocab_findings())
    verified = tried = skipped = 0
    kinds: Counter[str] = Counter()
    while tried < n:
        phrases = [random_phrase(rng, names) for _ in range(rng.randint(1, 5))]
        prior = None
        if rng.random() < 0.5:
            prior = "FINDINGS: " + " ".join(
                random_phrase(rng, names).capitalize() + "." for _ in range(rng.randint(1, 3))
            )
        try:
            d = draft_report(phrases, prior=prior)
        except InputError:
            skipped += 1  # a phrase the reader reads as no finding
            continue
        tried += 1
        verified += d.verified
        kinds.update(x.kind.value for x in d.differences)
    return verified, tried, skipped, kinds


def polished(
    drafts: dict[str, Draft], config: LLMConfig
) -> tuple[dict[str, Draft], Counter[str], float]:
    out: dict[str, Draft] = {}
    reasons: Counter[str] = Counter()
    t0 = time.perf_counter()
    for rid, d in drafts.items():
        p = polish(d, config)
        out[rid] = p
        if p.rejected is not None:
            kinds = {x.kind.value for x in p.rejected.differences}
            if not kinds:  # a section, header or invented fact (verify.rewording_problems)
                read_back = p.rejected.reason.startswith("its draft reads back differently")
                kinds = {"rewording" if read_back else "no usable reply"}
            reasons.update(kinds)
    return out, reasons, time.perf_counter() - t0


def ce_f1(reports: Sequence[OpenIReport], drafts: dict[str, Draft]) -> dict[str, Any]:
    from radpilot.evaluate.text_metrics import evaluate_reports

    ids = [r.id for r in reports if r.id in drafts]
    ref = {"id": ids, "text": [r.text for r in reports if r.id in drafts]}
    hyp = {"id": ids, "text": [drafts[i].report for i in ids]}
    result = evaluate_reports(ref, hyp, n_resamples=200, seed=0)
    return dict(result.metrics["metrics"])


def normal_drafts(reports: Sequence[OpenIReport], ids: set[str]) -> dict[str, Draft]:
    """The baseline: the template's normal report (pertinent negatives only) for every
    report, whatever it says."""
    from radpilot.workflow import compose
    from radpilot.workflow.draft import template_draft
    from radpilot.workflow.rules import drafting

    template = drafting().template_for(None)
    negatives = compose.negatives(template, [], [], load_vocabulary())
    plan = compose.Plan(template, template.default_exam, "None.", tuple(negatives))
    normal = template_draft(plan)
    return {r.id: normal for r in reports if r.id in ids}


def _row(name: str, ok: int, n: int, extra: str = "") -> str:
    pct = 100.0 * ok / n if n else float("nan")
    return f"| {name:<44} | {ok:>5} / {n:<5} | {pct:6.2f}% | {extra} |"


def honest_row(drafts: dict[str, Draft], n: int) -> None:
    with honest_server() as url:
        honest, reasons, t_h = polished(
            dict(list(drafts.items())[:n]),
            LLMConfig(backend="openai-compatible", base_url=url, model="honest"),
        )
    acc = sum(d.backend != "template.v1" for d in honest.values())
    notes = f"rejections {dict(reasons) or 'none'}; {t_h:.1f} s"
    print(_row("dev drafts -> honest fake openai-compatible.v1", acc, len(honest), notes))


def gguf_row(drafts: dict[str, Draft], n: int) -> None:
    cfg = LLMConfig(backend="llama-cpp", n_ctx=2048, threads=2, max_tokens=256)
    gg, reasons, t_g = polished(dict(list(drafts.items())[:n]), cfg)
    acc = sum(d.backend != "template.v1" for d in gg.values())
    notes = f"rejections {dict(reasons) or 'none'}; {t_g:.1f} s"
    print(_row("dev drafts -> llama-cpp.v1 (gemma3-270m GGUF)", acc, len(gg), notes))


def ce_table(reports: Sequence[OpenIReport], drafts: dict[str, Draft]) -> None:
    print()
    print(f"radpilot evaluate reports vs the source reports (ref), n={len(drafts)}:")
    print("| hyp | ce_micro_f1 | ce_macro_f1 | finding_f1 |")
    print("|---|---|---|---|")
    for name, hyp in (
        ("template drafts of each report's findings", drafts),
        ("the same without pertinent negatives", template_drafts(reports, negatives=False)[0]),
        (
            "baseline: the template's normal report for every one",
            normal_drafts(reports, set(drafts)),
        ),
    ):
        m = ce_f1(reports, hyp)
        cells = [
            f"{m[k]:.4f} [{m[k + '_ci'][0]:.3f}, {m[k + '_ci'][1]:.3f}]"
            for k in ("ce_micro_f1", "ce_macro_f1", "finding_f1")
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared")
    ap.add_argument("--limit", type=int, default=None, help="First N dev reports (default all).")
    ap.add_argument("--phrases", type=int, default=500, help="Random phrase sets (0: none).")
    ap.add_argument("--honest", type=int, default=300, help="Drafts to the honest fake (0: none).")
    ap.add_argument("--gguf", type=int, default=3, help="Drafts polished by the GGUF (0: none).")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    reports = dev_reports(shared_dir(args.shared), args.limit)

    t0 = time.perf_counter()
    drafts, empty = template_drafts(reports)
    t_template = time.perf_counter() - t0
    n_ok = sum(d.verified for d in drafts.values())
    kinds = Counter(x.kind.value for d in drafts.values() for x in d.differences)
    print("| input -> backend | read back exactly | % | notes |")
    print("|---|---|---|---|")
    notes = (
        f"{empty} reports with no finding skipped; differences {dict(kinds) or 'none'}; "
        f"{t_template:.1f} s"
    )
    print(_row("OpenI dev reports' own findings -> template.v1", n_ok, len(drafts), notes))
    if args.phrases:
        v, n, skipped, pkinds = phrase_sets(args.phrases, args.seed)
        notes = (
            f"{skipped} sets with an unread phrase redrawn; differences {dict(pkinds) or 'none'}"
        )
        print(_row("random --findings sets (+prior half) -> template", v, n, notes))
    if args.honest:
        honest_row(drafts, args.honest)
    if args.gguf:
        gguf_row(drafts, args.gguf)
    ce_table(reports, drafts)


if __name__ == "__main__":
    main()
