"""`radpilot serve`: the department service (FastAPI under uvicorn)."""

from __future__ import annotations

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
    scp = _start_dicom(dicom_port, settings) if dicom_port is not None else None
    try:
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="warning", access_log=False
        )
    finally:
        if scp is not None:
            scp.stop()


def _start_dicom(port: int, settings: Any) -> Any:
    """The DICOM Storage SCP of ``radpilot.server.dicom_scp`` (when this build has it)."""
    try:
        from radpilot.server import dicom_scp  # type: ignore[attr-defined]
    except ImportError:
        from radpilot.errors import InputError

        raise InputError(
            "--dicom-port: the DICOM Storage SCP is not available in this build"
        ) from None
    return dicom_scp.start_scp(port=port, settings=settings)
