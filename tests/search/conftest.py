"""Small real archives for the search tests (the real report reader, no mocks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from radpilot.commands.main import run
from radpilot.interop.records import ReportRecord, make_record
from radpilot.search.ingest import ingest_records
from radpilot.search.store import ArchiveStore, open_store

# (id, patient, date, modality, text): negations, uncertainty, laterality and change.
REPORTS = [
    (
        "A1",
        "P1",
        "2024-03-02",
        "CR",
        "FINDINGS: New small left pneumothorax after central line placement.\nIMPRESSION: New left pneumothorax.",
    ),
    (
        "A2",
        "P2",
        "2024-05-10",
        "CR",
        "FINDINGS: No pneumothorax. No pleural effusion. Heart size normal.\nIMPRESSION: No acute cardiopulmonary abnormality.",
    ),
    (
        "A3",
        "P3",
        "2023-11-20",
        "DX",
        "FINDINGS: The heart is enlarged. Small right pleural effusion.\nIMPRESSION: Cardiomegaly with small right pleural effusion.",
    ),
    (
        "A4",
        "P4",
        "2024-07-01",
        "CR",
        "FINDINGS: Cardiomegaly. No pleural effusion or pneumothorax.\nIMPRESSION: Cardiomegaly without effusion.",
    ),
    (
        "A5",
        "P1",
        "2024-08-15",
        "CR",
        "FINDINGS: Left pneumothorax is smaller.\nIMPRESSION: Decreased left pneumothorax.",
    ),
    (
        "A6",
        "P5",
        "2022-01-05",
        "CT",
        "FINDINGS: Possible small right pneumothorax.\nIMPRESSION: Cannot exclude small right pneumothorax.",
    ),
    (
        "A7",
        "P6",
        "2024-02-02",
        "CR",
        "INDICATION: Rule out pneumothorax.\nFINDINGS: Lungs are clear. No pneumothorax.\nIMPRESSION: Normal chest.",
    ),
    (
        "A8",
        "P7",
        "2024-09-09",
        "CR",
        "FINDINGS: Right lower lobe consolidation, worse since prior, with a small right pleural effusion.\nIMPRESSION: Worsening right lower lobe pneumonia.",
    ),
    (
        "A9",
        "P8",
        "2021-06-30",
        "DX",
        "FINDINGS: Stable cardiomegaly. Calcified granuloma in the right upper lobe.\nIMPRESSION: Stable cardiomegaly.",
    ),
    (
        "A10",
        "P9",
        "2024-10-01",
        "CR",
        "FINDINGS: Moderate bilateral pleural effusions. Mild pulmonary edema.\nIMPRESSION: Pulmonary edema and bilateral effusions.",
    ),
]


def records() -> list[ReportRecord]:
    return [
        make_record(rid=i, patient_id=p, study_date=d, modality=m, text=t)
        for i, p, d, m, t in REPORTS
    ]


@pytest.fixture
def report_table() -> list[tuple[str, str, str, str, str]]:
    """``REPORTS``: (id, patient, date, modality, text)."""
    return list(REPORTS)


@pytest.fixture
def report_records() -> list[ReportRecord]:
    return records()


@pytest.fixture(scope="session")
def session_report_records() -> tuple[ReportRecord, ...]:
    """``records()`` for module-scoped archives (a tuple: nobody changes it)."""
    return tuple(records())


BACKENDS = ("sqlite", "postgres")
NewArchive = Callable[[str], str]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each archive test that goes through the store interface runs on both backends:
    the embedded SQLite file and a real PostgreSQL server (skipped, with the reason,
    where no PostgreSQL can be started)."""
    return str(request.param)


@pytest.fixture(scope="session")
def new_archive(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> NewArchive:
    """``new_archive(name)``: where a fresh, empty archive of the backend goes (an SQLite
    file in a new folder, or a new database on the session's PostgreSQL server)."""
    if backend == "postgres":
        server = request.getfixturevalue("pg_server")
        return lambda name: str(server.new_database(name))
    return lambda name: str(tmp_path_factory.mktemp(name) / f"{name}.db")


FilledArchive = Callable[[str, dict[str, str]], ArchiveStore]


@pytest.fixture(scope="session")
def filled_archive(new_archive: NewArchive) -> Iterator[FilledArchive]:
    """``filled_archive(name, {id: text})``: a new archive of the backend holding those
    reports, closed at the session's end."""
    opened: list[ArchiveStore] = []

    def fill(name: str, reports: dict[str, str]) -> ArchiveStore:
        store = open_store(new_archive(name))
        ingest_records(store, [make_record(rid=k, text=v) for k, v in reports.items()], jobs=1)
        opened.append(store)
        return store

    yield fill
    for store in opened:
        store.close()


@pytest.fixture(scope="session")
def small_archive(new_archive: NewArchive) -> Iterator[ArchiveStore]:
    store = open_store(new_archive("archive"))
    summary = ingest_records(store, records(), jobs=1)
    assert summary.added == len(REPORTS)
    yield store
    store.close()


@pytest.fixture(scope="session")
def small_archive_path(small_archive: ArchiveStore) -> str:
    """What ``--db`` takes: the SQLite file, or the PostgreSQL URL."""
    return small_archive.location


CliRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRun:
    """Run ``radpilot ARGS`` in-process through the real entry point (exit-code handling
    included): ``(exit code, stdout, stderr)``."""

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        got = capsys.readouterr()
        return code, got.out, got.err

    return invoke
