"""medspaCy's ConText with its bundled rules, on given target spans: the baseline of
``targets_accuracy.py``. Runs in its own virtual environment (medspaCy pins numpy < 2;
it is never a dependency of radpilot)::

    python3 -m venv /work/medspacy-venv && /work/medspacy-venv/bin/pip install medspacy
    /work/medspacy-venv/bin/python benchmarks/medspacy_context.py IN.jsonl OUT.jsonl

IN rows: ``{"text": str, "targets": [[start, end], ...]}``; OUT rows, in order:
``{"targets": [{"certainty", "historical", "hypothetical", "experiencer"}, ...]}``.
medspaCy's default pipeline (PyRuSH sentences, its ConText rules) is used as shipped; the
target spans are set as the document's entities (overlapping ones in further passes).
"""

import json
import sys


def main() -> None:
    from loguru import logger

    logger.remove()  # PyRuSH logs every sentence at DEBUG
    import medspacy

    nlp = medspacy.load()
    context = nlp.get_pipe("medspacy_context")
    before = [(n, p) for n, p in nlp.pipeline if n != "medspacy_context"]
    with (
        open(sys.argv[1], encoding="utf-8") as src,
        open(sys.argv[2], "w", encoding="utf-8") as out,
    ):
        for line in src:
            row = json.loads(line)
            targets = [tuple(t) for t in row["targets"]]
            results = [None] * len(targets)
            left = list(range(len(targets)))
            while left:
                doc = nlp.make_doc(row["text"])
                for _, proc in before:
                    doc = proc(doc)
                ents, taken, later = [], [], []
                for i in left:
                    s, e = targets[i]
                    span = doc.char_span(s, e, label="TARGET", alignment_mode="expand")
                    if span is None or any(span.start < b and a < span.end for a, b in taken):
                        later.append(i)
                        continue
                    taken.append((span.start, span.end))
                    ents.append((i, span))
                if not ents:  # a span no token covers: say present, as nothing is known
                    for i in later:
                        results[i] = {
                            "certainty": "present",
                            "historical": False,
                            "hypothetical": False,
                            "experiencer": "patient",
                        }
                    break
                doc.ents = [span for _, span in sorted(ents, key=lambda x: x[1].start)]
                doc = context(doc)
                by_start = {(e.start, e.end): e for e in doc.ents}
                for i, span in ents:
                    ent = by_start[(span.start, span.end)]
                    certainty = (
                        "absent"
                        if ent._.is_negated
                        else "uncertain"
                        if ent._.is_uncertain
                        else "present"
                    )
                    results[i] = {
                        "certainty": certainty,
                        "historical": bool(ent._.is_historical),
                        "hypothetical": bool(ent._.is_hypothetical),
                        "experiencer": "other" if ent._.is_family else "patient",
                    }
                left = later
            out.write(json.dumps({"targets": results}) + "\n")


if __name__ == "__main__":
    main()
