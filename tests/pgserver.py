"""A throwaway PostgreSQL server for the tests: one cluster per session from the
distribution's binaries (``/usr/lib/postgresql/*/bin``: ``initdb`` + ``pg_ctl`` in a
temporary folder, as the ``postgres`` user when the tests run as root), on a unix socket
and a free loopback port, or the server at ``$RADPILOT_TEST_POSTGRES_URL``. Each caller
gets a fresh database of its own."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ENV_URL = "RADPILOT_TEST_POSTGRES_URL"
PASSWORD_USER = "radpilot_pw"
PASSWORD = "s3cret-Pw"


def binaries() -> Path | None:
    """The newest PostgreSQL's bin folder with initdb and pg_ctl, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server: ``admin`` is a superuser's URL; ``tcp`` its loopback address."""

    admin: str
    host: str | None = None  # the socket folder of a cluster started here
    port: int | None = None
    data: Path | None = None
    bin: Path | None = None
    created: list[str] = field(default_factory=list)

    def url(self, dbname: str) -> str:
        if self.host is None:  # an outside server: the same URL, another database
            parts = urlsplit(self.admin)
            return urlunsplit(parts._replace(path=f"/{dbname}"))
        return f"postgresql://postgres@/{dbname}?host={self.host}&port={self.port}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its name."""
        import psycopg

        name = f"rp_{prefix}_{uuid.uuid4().hex[:10]}".lower()
        with psycopg.connect(self.admin, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return name

    def new_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        return self.url(self.create_database(prefix))

    def password_url(self, dbname: str, password: str) -> str:
        return f"postgresql://{PASSWORD_USER}:{password}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        if self.data is None or self.bin is None:  # an outside server: leave it clean
            import psycopg

            with psycopg.connect(self.admin, autocommit=True) as db:
                for name in self.created:
                    db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        _as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        shutil.rmtree(self.data.parent, ignore_errors=True)


def _as_owner(argv: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)


def start(*, durable: bool = False) -> Server | str:
    """A server, or why there is none (a skip reason). Tests run it without fsync;
    ``durable`` (benchmarks) keeps PostgreSQL's default fsync and synchronous commit."""
    if importlib.util.find_spec("psycopg") is None:
        return "psycopg is not installed (pip install 'radpilot[postgres]')"
    if os.environ.get(ENV_URL):
        return Server(admin=os.environ[ENV_URL])
    bindir = binaries()
    if bindir is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) on this machine"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: PostgreSQL refuses to run as root"
    root = Path(tempfile.mkdtemp(prefix="rp-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = _free_port()
    try:
        _as_owner(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        hba = data / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
            "host all postgres 127.0.0.1/32 trust\n"
        )
        fast = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            + ("" if durable else fast)
            + "-c shared_buffers=128MB -c max_connections=40"
        )
        _as_owner(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        detail = getattr(exc, "stderr", "") or str(exc)
        return f"cannot start a PostgreSQL cluster ({str(detail).strip().splitlines()[-1:]})"
    server = Server(
        admin=f"postgresql://postgres@/postgres?host={root}&port={port}",
        host=str(root),
        port=port,
        data=data,
        bin=bindir,
    )
    import psycopg

    with psycopg.connect(server.admin, autocommit=True) as db:
        db.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")
    return server
