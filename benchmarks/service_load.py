"""Load on loopback: N concurrent users searching and viewing reports through
`radpilot serve` for T seconds (both bounded), optionally while a stream of DICOM studies
arrives on `--dicom-port`; latency percentiles per route, errors, studies/s analysed.

    python benchmarks/service_load.py --users 50 --seconds 60 [--reports 3955] [--dicom 0.5] \
        [--db sqlite --db postgres]

The server runs as its own process (`radpilot serve`, one uvicorn worker) over a fresh
archive of the OpenI reports (the torchxrayvision wheel's), so the load generator (one
asyncio loop with httpx here) does not share its interpreter. Baselines in the same run:
`GET /api/health` under the same load (the HTTP and auth-free floor), and the same searches
called in-process on the library, one at a time, before the load starts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

QUERIES = [
    "pneumothorax",
    "effusion -pneumothorax",
    "cardiomegaly",
    "left pleural effusion",
    "atelectasis",
    "nodule",
    "pneumonia",
    "edema",
    "consolidation",
    "fracture",
    "right upper lobe opacity",
    "no acute",
    "granuloma",
    "scoliosis",
    "emphysema",
]
PASSWORD = "load-test-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _radpilot(*args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "radpilot.cli", *args],
        input=stdin,
        text=True,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _build_archive(db: Path | str, n_reports: int) -> None:
    from radpilot.reports.openi import default_tgz
    from radpilot.search.ingest import ingest_records
    from radpilot.search.sources import iter_file
    from radpilot.search.store import open_store

    store = open_store(db)
    try:
        items = [
            it for _, it in zip(range(n_reports), iter_file(default_tgz(), None), strict=False)
        ]
        ingest_records(store, items, jobs=1)
    finally:
        store.close()


def _direct_baseline(db: Path | str) -> list[float]:
    from radpilot.search.engine import search
    from radpilot.search.store import open_store

    times = []
    for q in QUERIES:
        store = open_store(db, readonly=True)
        t0 = time.perf_counter()
        search(store, q, limit=20, semantic=False)
        times.append(time.perf_counter() - t0)
        store.close()
    return times


async def _user(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    until: float,
    seed: int,
    lat: dict[str, list[float]],
    errors: dict[str, int],
) -> None:
    rng = random.Random(seed)

    async def call(route: str, url: str, **params: object) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = await client.get(url, params=params or None, headers=headers)
        except httpx.HTTPError as exc:
            errors[route] = errors.get(route, 0) + 1
            errors[f"kind: {type(exc).__name__}"] = errors.get(f"kind: {type(exc).__name__}", 0) + 1
            return None
        lat.setdefault(route, []).append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors[route] = errors.get(route, 0) + 1
            kind = f"kind: HTTP {r.status_code} {r.text[:80]!r}"  # the service's one line
            errors[kind] = errors.get(kind, 0) + 1
            return None
        return r

    while time.perf_counter() < until:
        r = await call("GET /api/search", "/api/search", q=rng.choice(QUERIES), semantic="false")
        hits = r.json()["hits"] if r is not None else []
        for hit in hits[: rng.randint(1, 3)]:
            await call("GET /api/archive/reports/{id}", f"/api/archive/reports/{hit['id']}")
        await call("GET /api/studies", "/api/studies", limit=50)
        await call("GET /api/health", "/api/health")


def _dicom_stream(port: int, rate: float, until: float, sent: list[float]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # dicom_cases
    from pydicom.uid import ExplicitVRLittleEndian
    from pynetdicom import AE

    from dicom_cases import DX, radiograph

    ae = AE(ae_title="LOADSCU")
    ae.add_requested_context(DX, [ExplicitVRLittleEndian])
    i = 0
    while time.perf_counter() < until:
        assoc = ae.associate("127.0.0.1", port, ae_title="RADPILOT")
        if assoc.is_established:
            if assoc.send_c_store(radiograph(sop_class=DX, seed=i)).Status == 0:
                sent.append(time.perf_counter())
            assoc.release()
        i += 1
        time.sleep(1 / rate)


def _analysed(base: str, sent: int, started: float) -> tuple[int, float | None]:
    """Studies analysed when the load ended, and seconds from the start of the load until
    every acknowledged one was (waiting at most 120 s more; None if not by then)."""
    with httpx.Client(base_url=base, timeout=60) as c:
        tok = c.post("/api/token", data={"username": "load", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {tok.json()['access_token']}"}

        def count() -> int:
            rows = c.get("/api/studies", params={"status": "analysed"}, headers=headers)
            return len(rows.json())

        at_end = count()
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            if count() >= sent:
                return at_end, time.perf_counter() - started
            time.sleep(0.5)
    return at_end, None


def _pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


async def _load(
    base: str, users: int, seconds: float, lat: dict[str, list[float]], errors: dict[str, int]
) -> None:
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        r = await client.post("/api/token", data={"username": "load", "password": PASSWORD})
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_user(client, headers, until, i, lat, errors) for i in range(users)))


def _start_postgres() -> tuple[object, str]:
    """A throwaway PostgreSQL cluster (tests/pgserver.py, with fsync and synchronous
    commit on, as a department's server) and a new database on it."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pgserver import start

    server = start(durable=True)
    if isinstance(server, str):
        raise SystemExit(f"no PostgreSQL server: {server}")
    return server, server.new_database("load")


def _serve_and_load(args: argparse.Namespace, db: str, tmp: Path) -> int:
    """Build the archive at ``db``, serve it, load it; print the tables; the error count."""
    t0 = time.perf_counter()
    _build_archive(db, args.reports)
    print(f"archive: {args.reports} reports in {time.perf_counter() - t0:.1f} s")
    _radpilot(
        "users", "add", "load", "--role", "radiologist", "--password-stdin", "--db", db,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    direct = _direct_baseline(db)
    port, dicom_port = _free_port(), _free_port()
    cmd = [sys.executable, "-m", "radpilot.cli", "serve", "--db", db, "--port", str(port)]
    if args.dicom > 0:
        cmd += ["--dicom-port", str(dicom_port), "--dicom-store", str(tmp / "dicom")]
    server = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        lat: dict[str, list[float]] = {}
        errors: dict[str, int] = {}
        sent: list[float] = []
        stream = None
        load_start = os.getloadavg()[0]
        if args.dicom > 0:
            until = time.perf_counter() + args.seconds
            stream = threading.Thread(
                target=_dicom_stream, args=(dicom_port, args.dicom, until, sent), daemon=True
            )
            stream.start()
        started = time.perf_counter()
        asyncio.run(_load(base, args.users, args.seconds, lat, errors))
        wall = time.perf_counter() - started
        if stream is not None:
            stream.join()
        analysed, drained = 0, None
        if args.dicom > 0:
            analysed, drained = _analysed(base, len(sent), started)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"load: {args.users} users for {args.seconds:.0f} s (wall {wall:.1f} s), load avg "
        f"{load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'route':34} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    )
    for route in sorted(lat):
        v = lat[route]
        print(
            f"{route:34} {len(v):9d} {errors.get(route, 0):7d} {len(v) / wall:7.1f} "
            f"{_pct(v, 50) * 1000:8.1f} {_pct(v, 95) * 1000:8.1f} {_pct(v, 99) * 1000:8.1f}"
        )
    print(
        f"baseline: in-process search (library, one at a time, no load): median "
        f"{statistics.median(direct) * 1000:.1f} ms over {len(direct)} queries"
    )
    if args.dicom > 0:
        done = "not all within 120 s" if drained is None else f"all {drained:.1f} s after the start"
        if not sent:
            raise SystemExit("no DICOM study was acknowledged: the stream failed")
        print(
            f"dicom: {len(sent)} studies acknowledged, {analysed} analysed when the load "
            f"ended ({analysed / wall:.2f} studies/s), {done}"
        )
    total_errors = sum(n for k, n in errors.items() if not k.startswith("kind: "))
    print(f"errors: {total_errors}")
    for kind in sorted(k for k in errors if k.startswith("kind: ")):
        print(f"  {errors[kind]} x {kind[6:]}")
    return total_errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--reports", type=int, default=3955)
    ap.add_argument("--dicom", type=float, default=0.0, help="DICOM studies sent per second")
    ap.add_argument(
        "--db",
        action="append",
        default=None,
        help="sqlite (a fresh temporary file, the default), postgres (a fresh database on a "
        "throwaway durable cluster), or an empty postgresql:// database's URL; repeat to run "
        "each in turn in the same run",
    )
    args = ap.parse_args()
    if not (1 <= args.users <= 500 and 1 <= args.seconds <= 600):
        ap.error("--users 1..500, --seconds 1..600")
    total = 0
    for choice in args.db or ["sqlite"]:
        with tempfile.TemporaryDirectory(prefix="radpilot-load-") as tmp:
            pg = None
            if choice == "sqlite":
                db = str(Path(tmp) / "archive.db")
            elif choice == "postgres":
                pg, db = _start_postgres()
            elif choice.startswith(("postgresql://", "postgres://")):
                db = choice
            else:
                ap.error(f"--db {choice!r}: sqlite, postgres or a postgresql:// URL")
            print(f"== backend: {'sqlite' if choice == 'sqlite' else 'postgres'}")
            try:
                total += _serve_and_load(args, db, Path(tmp))
            finally:
                if pg is not None:
                    pg.stop()  # type: ignore[attr-defined]
    raise SystemExit(1 if total else 0)


if __name__ == "__main__":
    main()
