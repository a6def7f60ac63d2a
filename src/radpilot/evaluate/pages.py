"""The HTML report of each evaluation task, built from its metrics (and data, for plots)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from radpilot.evaluate import plots
from radpilot.evaluate.html import WILSON_NOTE, Page, fmt_ci, fmt_shown


def _problem_notes(page: Page, metrics: Mapping[str, Any]) -> None:
    """What was left out and why: the same lines the command printed on stderr."""
    for text in (*metrics.get("warnings", ()), *metrics.get("notes", ())):
        page.note(text)


def _intro(page: Page, metrics: Mapping[str, Any]) -> None:
    s, m = metrics["settings"], metrics["matching"]
    page.note(
        f"{m['n_matched']} cases matched by id ({m['n_gold']} gold, {m['n_pred']} predicted). "
        f"Uncertain gold: {s['uncertain']}; blank gold: {s['blank']}. "
        f"{int(s['ci_level'] * 100)}% intervals from {s['bootstrap_resamples']} {s['bootstrap']} "
        f"(seed {s['seed']})."
    )
    _problem_notes(page, metrics)


def _finding_tables(page: Page, findings: Mapping[str, Any], macro: Mapping[str, Any]) -> None:
    page.h2("Per finding")
    page.table(
        ["finding", "n", "pos", "AUROC", "AUPRC", "thr", "sensitivity", "specificity", "F1"],
        [
            [
                name,
                r["n"],
                r["n_positive"],
                fmt_ci(r.get("auroc"), r.get("auroc_ci")),
                fmt_ci(r.get("auprc"), r.get("auprc_ci")),
                r.get("threshold"),
                fmt_shown(r, "sensitivity"),
                fmt_shown(r, "specificity"),
                fmt_ci(r.get("f1"), r.get("f1_ci")),
            ]
            for name, r in findings.items()
        ],
    )
    page.table(
        ["finding", "prevalence", "PPV", "NPV", "Brier loss", "ECE loss", "excluded", "note"],
        [
            [
                name,
                r.get("prevalence"),
                fmt_shown(r, "ppv"),
                fmt_shown(r, "npv"),
                r.get("brier_loss"),
                r.get("ece_loss"),
                r.get("n_excluded_gold", 0) + r.get("n_missing_pred", 0),
                r.get("note", "hard labels: AUROC from one point" if r.get("hard_labels") else ""),
            ]
            for name, r in findings.items()
        ],
    )
    page.note(
        f"Macro average over {macro.get('n_findings', 0)} scored findings: "
        f"AUROC {fmt_ci(macro.get('auroc'), None)}, AUPRC {fmt_ci(macro.get('auprc'), None)}, "
        f"F1 {fmt_ci(macro.get('f1'), None)} (point estimates)."
    )
    page.note(WILSON_NOTE)


def _confusion_and_comparison(page: Page, findings: Mapping[str, Any]) -> None:
    page.h2("Confusion at the operating threshold")
    page.table(
        ["finding", "threshold", "TP", "FP", "TN", "FN"],
        [
            [n, r["threshold"], *(r["confusion"][k] for k in ("tp", "fp", "tn", "fn"))]
            for n, r in findings.items()
            if "confusion" in r
        ],
    )
    comps = {n: r["comparison"] for n, r in findings.items() if "comparison" in r}
    if not comps:
        return
    page.h2("Model A vs model B (DeLong's test, paired bootstrap)")
    page.table(
        ["finding", "AUROC A", "AUROC B", "A − B", "DeLong 95% CI", "p", "bootstrap CI"],
        [
            [
                n,
                c["auroc_a"],
                c["auroc_b"],
                c["difference"],
                fmt_ci(c["difference"], c["difference_ci"]),
                f"{c['p_value']:.3g}",
                fmt_ci(c["difference"], c.get("bootstrap_difference_ci")),
            ]
            for n, c in comps.items()
        ],
    )


def _curves(
    page: Page,
    findings: Mapping[str, Any],
    data: Mapping[str, Any],
    readers: Mapping[str, Sequence[tuple[str, float, float]]] | None,
) -> None:
    curves_ = {n: (fd.y, fd.score) for n, fd in data.items()}
    operating = {
        n: (1 - findings[n]["specificity"], findings[n]["sensitivity"])
        for n in data
        if findings[n].get("specificity") is not None
    }
    second = {n: (fd.y, fd.score_b) for n, fd in data.items() if fd.score_b is not None}
    page.h2("ROC curves")
    if readers:
        page.note("Triangles: individual readers' sensitivity and specificity.")
    page.image(
        plots.roc_grid(
            curves_,
            aurocs={n: findings[n].get("auroc") for n in data},
            readers=readers,
            operating=operating,
            second=second or None,
        ),
        "ROC curves",
    )
    page.h2("Precision-recall curves")
    page.image(
        plots.pr_grid(curves_, auprcs={n: findings[n].get("auprc") for n in data}), "PR curves"
    )


def classification_page(
    metrics: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    title: str = "Classification",
    readers: Mapping[str, Sequence[tuple[str, float, float]]] | None = None,
) -> Page:
    page = Page(title)
    _intro(page, metrics)
    findings = metrics["findings"]
    _finding_tables(page, findings, metrics.get("macro", {}))
    _operating_points(page, findings, "at_sensitivity", "sensitivity")
    _operating_points(page, findings, "at_specificity", "specificity")
    _confusion_and_comparison(page, findings)
    if data:
        _curves(page, findings, data, readers)
    rel = {n: r["reliability"] for n, r in findings.items() if "reliability" in r}
    if rel:
        page.h2("Calibration (reliability diagrams, 10 equal-width bins)")
        page.image(plots.calibration_grid(rel), "reliability diagrams")
    subgroups = metrics.get("subgroups")
    if subgroups:
        _subgroups(page, subgroups, findings)
    return page


def _operating_points(page: Page, findings: Mapping[str, Any], key: str, fixed: str) -> None:
    targets = sorted({t for r in findings.values() for t in r.get(key, {})})
    if not targets:
        return
    page.h2(f"At a chosen {fixed}")
    rows = []
    for name, r in findings.items():
        for t in targets:
            op = r.get(key, {}).get(t)
            if op is None:
                continue
            rows.append(
                [
                    name,
                    t,
                    op["threshold"],
                    fmt_ci(op["sensitivity"], op.get("sensitivity_ci")),
                    fmt_ci(op["specificity"], op.get("specificity_ci")),
                    fmt_ci(op["ppv"], op.get("ppv_ci")),
                    fmt_ci(op["npv"], op.get("npv_ci")),
                    fmt_ci(op["f1"], op.get("f1_ci")),
                ]
            )
    page.table(["finding", f"target {fixed}", "thr", "sens", "spec", "PPV", "NPV", "F1"], rows)


def _subgroups(page: Page, subgroups: Mapping[str, Any], overall: Mapping[str, Any]) -> None:
    page.h2("Subgroups")
    table_rows = []
    forest_rows: list[tuple[str, float, list[float] | None]] = []
    for col, by_value in subgroups.items():
        for value, by_finding in by_value.items():
            for finding, e in by_finding.items():
                table_rows.append(
                    [
                        finding,
                        f"{col}={value}",
                        e["n"],
                        e["n_positive"],
                        fmt_ci(e.get("auroc"), e.get("auroc_ci")),
                        fmt_ci(e.get("sensitivity"), e.get("sensitivity_ci")),
                        fmt_ci(e.get("specificity"), e.get("specificity_ci")),
                        e.get("note", ""),
                    ]
                )
                if e.get("auroc") is not None:
                    forest_rows.append(
                        (f"{finding} · {col}={value}", e["auroc"], e.get("auroc_ci"))
                    )
    table_rows.sort(key=lambda r: (r[0], r[1]))
    # Each finding's whole-population AUROC first, as the reference for its subgroups.
    for finding, r in overall.items():
        if r.get("auroc") is not None:
            forest_rows.append((f"{finding} · all", r["auroc"], r.get("auroc_ci")))
    forest_rows.sort(key=lambda r: (r[0].split(" · ")[0], not r[0].endswith(" · all"), r[0]))
    page.table(["finding", "subgroup", "n", "pos", "AUROC", "sens", "spec", "note"], table_rows)
    if forest_rows:
        page.image(plots.forest(forest_rows[:60], title="Subgroup AUROC (95% CI)"), "forest plot")


def labeler_page(
    metrics: Mapping[str, Any], *, title: str = "Report labeler", notes: Sequence[str] = ()
) -> Page:
    page = Page(title)
    for text in notes:
        page.note(text)
    s, m = metrics["settings"], metrics["matching"]
    page.note(
        f"{m['n_matched']} reports matched by {s['matched_by']}. Uncertain labels: "
        f"{s['uncertain']}. {int(s['ci_level'] * 100)}% intervals from "
        f"{s['bootstrap_resamples']} bootstrap resamples of reports (seed {s['seed']}). "
        f"Macro averages over findings with at least {s['min_support']} gold cases."
    )
    _problem_notes(page, metrics)
    classes = list(metrics["macro"])
    bar_values: dict[str, dict[str, float | None]] = {}
    for cls in classes:
        findings = metrics["findings"].values()
        if all(per[cls]["support"] == 0 for per in findings):
            predicted = sum(per[cls]["predicted"] for per in findings)
            page.note(
                f"The gold has no '{cls}' labels, so that class is not scored "
                f"(the labeler gave {predicted} of them)."
            )
            continue
        page.h2(f"Class: {cls}")
        rows = []
        for name, per in metrics["findings"].items():
            e = per.get(cls)
            if e is None:
                continue
            rows.append(
                [
                    name,
                    e["support"],
                    e["predicted"],
                    fmt_shown(e, "precision"),
                    fmt_shown(e, "recall"),
                    fmt_ci(e["f1"], e["f1_ci"]),
                ]
            )
            if e["support"] >= s["min_support"]:
                bar_values.setdefault(name, {})[cls] = e["f1"]
        page.table(["finding", "gold", "predicted", "precision", "recall", "F1"], rows)
        page.note(WILSON_NOTE)
        mac, mic = metrics["macro"][cls], metrics["micro"][cls]
        page.note(
            f"Macro F1 {fmt_ci(mac['f1'], mac['f1_ci'])} over {len(mac['findings'])} findings; "
            f"micro F1 {fmt_ci(mic['f1'], mic['f1_ci'])}."
        )
    if bar_values:
        page.h2("F1 by finding")
        page.image(plots.bars(bar_values, title="F1 per finding and class", ylabel="F1"), "F1 bars")
    return page


def _reader_section(page: Page, finding: str, e: Mapping[str, Any]) -> None:
    page.h2(f"{finding} (n={e['n']}, {e['n_positive']} positive)")
    if "readers" not in e:
        page.note(e.get("note", ""))
        return
    rows = [
        [
            name,
            fmt_ci(r["sensitivity"], r["sensitivity_ci"]),
            fmt_ci(r["specificity"], r["specificity_ci"]),
            fmt_ci(r["f1"], r["f1_ci"]),
            fmt_ci(r["kappa_vs_gold"], r.get("kappa_vs_gold_ci")),
        ]
        for name, r in e["readers"].items()
    ]
    a = e["average_reader"]
    rows.append(
        [
            "average reader",
            fmt_ci(a["sensitivity"], a["sensitivity_ci"]),
            fmt_ci(a["specificity"], a["specificity_ci"]),
            fmt_ci(a["f1"], a["f1_ci"]),
            None,
        ]
    )
    page.table(["reader", "sensitivity", "specificity", "F1", "kappa vs gold"], rows)
    cis = e.get("cohen_kappa_ci", {})
    kappas = "; ".join(
        f"{k}: {fmt_ci(v, cis.get(k))}" for k, v in e["cohen_kappa"].items() if v is not None
    )
    text = f"Cohen's kappa between readers: {kappas or '—'}."
    if e.get("fleiss_kappa") is not None:
        text += f" Fleiss' kappa over all readers: {fmt_ci(e['fleiss_kappa'], e.get('fleiss_kappa_ci'))}."
    page.note(text)
    mv = e.get("model_vs_average_reader")
    if mv:
        _model_vs_readers(page, e, mv)


def _model_vs_readers(page: Page, e: Mapping[str, Any], mv: Mapping[str, Any]) -> None:
    page.table(
        ["model vs average reader", "model", "difference (model − readers)"],
        [
            [
                "sensitivity at the readers' specificity",
                mv["model_sensitivity_at_reader_specificity"],
                fmt_ci(mv["sensitivity_difference"], mv["sensitivity_difference_ci"]),
            ],
            [
                "specificity at the readers' sensitivity",
                mv["model_specificity_at_reader_sensitivity"],
                fmt_ci(mv["specificity_difference"], mv["specificity_difference_ci"]),
            ],
            [
                f"F1 at threshold {e['model']['threshold']:g}",
                mv["model_f1"],
                fmt_ci(mv["f1_difference"], mv["f1_difference_ci"]),
            ],
            ["AUROC", fmt_ci(e["model"]["auroc"], e["model"]["auroc_ci"]), ""],
        ],
    )


def readers_page(
    metrics: Mapping[str, Any],
    data: Mapping[str, Any],
    points: Mapping[str, Sequence[tuple[str, float, float]]],
    *,
    title: str = "Readers and model",
) -> Page:
    page = Page(title)
    s, m = metrics["settings"], metrics["matching"]
    page.note(
        f"{m['n_matched']} cases present in the gold, every reader"
        f"{' and the model' if data else ''}. Readers: {', '.join(s['readers'])}. "
        f"Uncertain labels: {s['uncertain']}. {int(s['ci_level'] * 100)}% intervals from "
        f"{s['bootstrap_resamples']} resamples, {s['bootstrap']} (seed {s['seed']})."
    )
    _problem_notes(page, metrics)
    for finding, e in metrics["findings"].items():
        _reader_section(page, finding, e)
    if data:
        page.h2("ROC curves with the readers")
        page.image(
            plots.roc_grid(
                {n: (fd.y, fd.score) for n, fd in data.items()},
                aurocs={n: metrics["findings"][n]["model"]["auroc"] for n in data},
                readers=points,
            ),
            "ROC curves with reader points",
        )
    return page


_TEXT_ROWS = (
    ("bleu_1", "BLEU-1"),
    ("bleu_2", "BLEU-2"),
    ("bleu_3", "BLEU-3"),
    ("bleu_4", "BLEU-4"),
    ("rouge_l", "ROUGE-L (F)"),
    ("ce_micro_f1", "clinical F1, micro, 14 labels"),
    ("ce_macro_f1", "clinical F1, macro"),
    ("ce_micro_f1_5", "clinical F1, micro, 5 competition labels"),
    ("finding_precision", "finding precision"),
    ("finding_recall", "finding recall"),
    ("finding_f1", "finding F1 (finding, certainty, laterality)"),
)


def text_rows(metrics: Mapping[str, Any]) -> list[list[Any]]:
    m = metrics["metrics"]
    return [[label, fmt_ci(m[key], m.get(f"{key}_ci"))] for key, label in _TEXT_ROWS]


def reports_page(metrics: Mapping[str, Any], *, title: str = "Report text") -> Page:
    page = Page(title)
    s = metrics["settings"]
    page.note(
        f"{metrics['n']} report pairs matched by id. {int(s['ci_level'] * 100)}% intervals from "
        f"{s['bootstrap_resamples']} bootstrap resamples of reports (seed {s['seed']})."
    )
    _problem_notes(page, metrics)
    page.h2("Metrics")
    page.table(["metric", "value (95% CI)"], text_rows(metrics))
    page.h2("How each is computed")
    for key in ("tokenizer", "bleu", "rouge", "clinical_labels", "uncertain", "finding_f1"):
        page.note(f"{key}: {s[key]}")
    page.note(f"clinical macro F1 over: {', '.join(s['macro_f1_over']) or 'none'}")
    page.h2("Clinical labels (reference vs generated)")
    page.table(
        ["label", "TP", "FP", "FN", "F1"],
        [[k, v["tp"], v["fp"], v["fn"], v["f1"]] for k, v in metrics["clinical_labels"].items()],
    )
    f1s = {k: {"F1": v["f1"]} for k, v in metrics["clinical_labels"].items() if v["f1"] is not None}
    if f1s:
        page.image(plots.bars(f1s, title="Clinical label F1", ylabel="F1"), "clinical F1 bars")
    return page
