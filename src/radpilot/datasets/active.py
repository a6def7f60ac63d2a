"""Which item an annotator sees next: registered ordering strategies.

``uncertainty.v1`` (the default) puts first the items where radpilot is least sure or its
rules disagree, so a reader's decisions go where they change the most labels. An item's
priority is the sum of

* 1.0 for each uncertain (-1.0) label and 0.5 for each label set by a hedged mention
  (the reader itself says it is not sure);
* 2.0 for each finding where the reader and the image model of a report+image pair
  disagree (one says present or uncertain, the other absent; rules disagree);
* for an image finding, 1 - |p - t| / max(t, 1 - t): 1.0 at the threshold, 0.0 at 0 or 1;
* 1.0 for each proposal of a rare label (proposed as present in under 5 % of the
  dataset's items): the reader has seen few like it, and each one counts for the class.

Ties keep the items' own order. ``random.v1`` is the baseline it is measured against
(``benchmarks/datasets_active.py``): a shuffled order, seeded, so runs repeat; ``order.v1``
is the order the items were added.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence

from radpilot import registry
from radpilot.datasets.models import Item

Strategy = Callable[[Sequence[Item]], list[Item]]
RARE_SHARE = 0.05
DEFAULT_STRATEGY = "uncertainty"


def priorities(items: Sequence[Item]) -> dict[int, float]:
    """item id -> how much an answer to it is wanted (higher: sooner)."""
    present = Counter(
        p.label for it in items for p in it.proposals if p.value in (1.0, -1.0) and p.label
    )
    rare = {lab for lab, n in present.items() if n < RARE_SHARE * len(items)}
    out: dict[int, float] = {}
    for it in items:
        score = 0.0
        reader = {p.label: p.value for p in it.proposals if p.source == "reader"}
        for p in it.proposals:
            if p.source == "image" and p.score is not None and p.threshold is not None:
                t = p.threshold
                score += 1.0 - abs(p.score - t) / max(t, 1.0 - t, 1e-9)
                said = reader.get(p.label)
                if said is not None and (said != 0.0) != (p.value == 1.0):
                    score += 2.0
            elif p.value == -1.0:
                score += 1.0
            elif p.hedged:
                score += 0.5
            if p.value in (1.0, -1.0) and p.label in rare:
                score += 1.0
        out[it.id] = score
    return out


def by_uncertainty(items: Sequence[Item]) -> list[Item]:
    prio = priorities(items)
    return sorted(items, key=lambda it: (-prio[it.id], it.position))


def in_order(items: Sequence[Item]) -> list[Item]:
    return sorted(items, key=lambda it: it.position)


def shuffled(items: Sequence[Item], seed: int = 0) -> list[Item]:
    out = in_order(items)
    random.Random(seed).shuffle(out)
    return out


def strategy(name: str) -> Strategy:
    """A registered strategy by name (``uncertainty``, ``random``, ``order``); an unknown
    name lists the valid ones."""
    found: Strategy = registry.dataset_strategies.get(name)
    return found


def strategy_names() -> list[str]:
    return registry.dataset_strategies.names()


def next_item(
    items: Sequence[Item], done: set[int], *, name: str = DEFAULT_STRATEGY
) -> Item | None:
    """The next item not in ``done`` by the strategy (priorities over all items, so the
    order does not shift as answers come in)."""
    for it in strategy(name)(items):
        if it.id not in done:
            return it
    return None
