"""The queue simulation behind BENCHMARKS.md ("Worklist: queue simulation") on streams
small enough to work out by hand: each study read once, by the order asked for."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from radpilot.workflow.worklist import Case, default_rule

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "worklist_queue.py"


@pytest.fixture(scope="module")
def sim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_worklist_queue", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module


def test_hand_worked_stream(sim: ModuleType) -> None:
    # one reader, 10 min a study: r0 at 0, r1 at 1, a pneumothorax at 2
    stream = [
        sim.Arrival(Case("r0", 0.0, "routine", 0.1), False, 10.0),
        sim.Arrival(Case("r1", 1.0, "routine", 0.1), False, 10.0),
        sim.Arrival(Case("ptx", 2.0, "urgent", 0.9, {"Pneumothorax": 0.9}), True, 10.0),
    ]
    orders = sim.policies(default_rule())
    fifo = sim.simulate(stream, 1, orders["FIFO"])
    assert fifo == {"r0": 10.0, "r1": 19.0, "ptx": 28.0}
    ranked = sim.simulate(stream, 1, orders["radpilot"])
    assert ranked == {"r0": 10.0, "ptx": 18.0, "r1": 29.0}
    # two readers: nobody waits
    assert sim.simulate(stream, 2, orders["FIFO"])["ptx"] == 18.0


def test_every_study_is_read_once(sim: ModuleType) -> None:
    s = sim.Scenario(30.0, 2, 6.0, 3.0, 0.1, 0.9, 0.05, 0.2)
    stream = sim.arrivals(s, random.Random(3))
    keys = [a.case.key for a in stream]
    for policy in sim.policies(default_rule()).values():
        ttr = sim.simulate(stream, s.readers, policy)
        assert sorted(ttr) == sorted(keys)
        assert all(
            t >= a.reading - 1e-9 for a, t in zip(stream, (ttr[k] for k in keys), strict=True)
        )
