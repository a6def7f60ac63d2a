"""`radpilot serve`: the department service (FastAPI under uvicorn)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import typer

from radpilot.commands.users import DB_HELP

app = typer.Typer()


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="HTTP port."),
    dicom_port: int | None = typer.Option(
        None, "--dicom-port", min=1, max=65535, help="Also run the DICOM Storage SCP here."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    reports_dir: Path | None = typer.Option(
        None, "--reports-dir", help="Folder of HTML evaluation reports to serve."
    ),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark cookies Secure (behind an HTTPS proxy)."
    ),
    model: str | None = typer.Option(None, "--model", "-m", help="Image model for analyze."),
    dicom_store: Path | None = typer.Option(
        None,
        "--dicom-store",
        help="Folder for received DICOM (default: ARCHIVE.dicom/ beside an SQLite archive; "
        "required with a postgresql:// --db).",
    ),
) -> None:
    """Serve label, archive, search, analyze/compare, studies and evaluation reports over
    HTTP (OpenAPI at /docs). Add users first with `radpilot users add`; get a token with
    `POST /api/token`."""
    import uvicorn

    from radpilot.search.store import default_db_path
    from radpilot.server.app import create_app
    from radpilot.server.settings import Settings

    if reports_dir is not None and not reports_dir.is_dir():
        from radpilot.errors import InputError

        raise InputError(f"--reports-dir {reports_dir}: not a folder")
    settings = Settings(
        db=db or str(default_db_path()),
        reports_dir=reports_dir,
        secure_cookies=secure_cookies,
        image_model=model,
    )
    app = create_app(settings)
    sock = _listen(host, port)
    if dicom_port is not None:
        try:
            scp = start_dicom(dicom_port, settings, host=host, store_dir=dicom_store)
        except BaseException:
            sock.close()
            raise
        # uvicorn re-raises SIGTERM/SIGINT once it has shut down: stop the SCP in between.
        app.state.shutdown.append(scp.stop)
    where = f"http://{host}:{sock.getsockname()[1]}"
    typer.echo(f"serving on {where} (OpenAPI at {where}/docs); Ctrl-C stops", err=True)
    # Keep idle connections longer than clients do (httpx and browsers: 5 s or more): with
    # uvicorn's default of 5 s both ends close at once, and a request sent on a connection
    # the server is closing fails as a read error under load.
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=75)
    uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is one line (exit 2)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from radpilot.errors import InputError

        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


def start_dicom(port: int, settings: Any, *, host: str, store_dir: Path | None) -> Any:
    """The DICOM Storage SCP (``server.dicom_scp``) putting what it receives on the studies
    store of ``settings.db`` (``server.dicom_worklist``); instances under ``store_dir``
    (default: ``ARCHIVE.dicom/`` beside the archive file)."""
    from radpilot.server.dicom_scp import ScpConfig, start_scp
    from radpilot.server.dicom_worklist import WorklistSink
    from radpilot.server.store import backend_for

    backend, path = backend_for(settings.db)
    if backend == "sqlite":
        folder = store_dir or Path(path).with_name(Path(path).name + ".dicom")
    elif store_dir is None:  # a database URL names no folder to keep the instances beside
        from radpilot.errors import InputError

        raise InputError(
            "--dicom-port with a database URL needs --dicom-store FOLDER "
            "(where received instances are kept)"
        )
    else:
        folder = store_dir
    config = ScpConfig(
        store_dir=folder, host=host, port=port, model=settings.image_model, sink=WorklistSink(path)
    )
    return start_scp(config)
