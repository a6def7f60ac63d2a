"""`radpilot dicom listen|echo|send`: the Storage SCP standalone, and a thin SCU."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from radpilot.commands.common import ExitCode, batch_exit, exit_with

app = typer.Typer(
    name="dicom",
    help="DICOM networking: a Storage SCP that analyses what it receives, and a thin SCU.",
    no_args_is_help=True,
)

PACS_HELP = "Send each DICOM SR to this PACS: HOST:PORT[:AETITLE] (AE title default PACS)."


@app.command()
def listen(
    store: Path = typer.Option(
        ..., "--store", help="Folder for received instances, results and SRs."
    ),
    port: int = typer.Option(11112, "--port", min=0, max=65535, help="TCP port (0: any free)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    ae_title: str = typer.Option("RADPILOT", "--ae-title", help="Our AE title."),
    pacs: str = typer.Option(None, "--pacs", help=PACS_HELP),
    model: str = typer.Option(None, "--model", "-m", help="Image model name."),
    no_analyze: bool = typer.Option(False, "--no-analyze", help="Store only; no analysis, no SR."),
    db: Path = typer.Option(
        None, "--db", help="Studies store for the worklist (default: the archive's default file)."
    ),
    no_worklist: bool = typer.Option(
        False, "--no-worklist", help="Do not put received studies on the worklist."
    ),
) -> None:
    """Listen for C-ECHO and C-STORE (CR, DX, Secondary Capture) until Ctrl-C or SIGTERM.

    Each instance is on disk before success is answered, then analysed in the background
    (results under STORE/analysed, SRs under STORE/sr) and its study put on the worklist
    (`radpilot worklist --db DB`). A restart on the same --store analyses what was
    stored but not yet analysed.
    """
    from radpilot.server.dicom_scp import Peer, ScpConfig, start_scp
    from radpilot.server.dicom_worklist import WorklistSink

    config = ScpConfig(
        store_dir=store,
        host=host,
        port=port,
        ae_title=ae_title,
        analyze=not no_analyze,
        model=model,
        pacs=None if pacs is None else Peer.parse(pacs),
        sink=None if no_worklist else WorklistSink(db),
    )
    handle = start_scp(config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(f"listening on {host}:{handle.port} as {ae_title} (store: {store})", err=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        handle.stop()
    typer.echo(
        f"stopped: {handle.stored} stored, {handle.duplicates} duplicate(s), "
        f"{handle.refused} refused, {handle.analysed} analysed",
        err=True,
    )


@app.command()
def echo(
    peer: str = typer.Argument(..., help="HOST:PORT[:AETITLE] (AE title default PACS)."),
    ae_title: str = typer.Option("RADPILOT", "--ae-title", help="Our (calling) AE title."),
) -> None:
    """C-ECHO a DICOM node. Exit status 0 when it answers success, 2 otherwise."""
    from pynetdicom import AE

    from radpilot.server.dicom_scp import VERIFICATION, Peer

    target = Peer.parse(peer)
    ae = AE(ae_title=ae_title)
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate(target.host, target.port, ae_title=target.ae_title)
    if not assoc.is_established:
        typer.echo(f"error: {peer}: association refused or unreachable", err=True)
        exit_with(ExitCode.NOTHING_DONE)
    status = assoc.send_c_echo()
    assoc.release()
    code = int(status.Status) if "Status" in status else -1
    typer.echo(f"C-ECHO {peer}: status 0x{code & 0xFFFF:04X}")
    exit_with(ExitCode.DONE if code == 0 else ExitCode.NOTHING_DONE)


@app.command()
def send(
    peer: str = typer.Argument(..., help="HOST:PORT[:AETITLE] (AE title default PACS)."),
    files: list[Path] = typer.Argument(..., help="DICOM files to C-STORE."),
    ae_title: str = typer.Option("RADPILOT", "--ae-title", help="Our (calling) AE title."),
) -> None:
    """C-STORE DICOM files to a node on one association; one line per file not accepted.
    Exit status 0 all accepted, 1 some, 2 none."""
    from pydicom.errors import InvalidDicomError

    from radpilot.errors import InputError
    from radpilot.server.dicom_scp import Peer, send_instances

    target = Peer.parse(peer)
    for path in files:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    try:
        statuses = send_instances(target, list(files), calling=ae_title)
    except (InvalidDicomError, ValueError, AttributeError, OSError) as exc:
        raise InputError(f"cannot read the files to send: {type(exc).__name__}") from None
    for path, status in zip(files, statuses, strict=True):
        if status != 0:
            shown = "not sent (no accepted context)" if status < 0 else f"status 0x{status:04X}"
            typer.echo(f"error: {path}: {shown}", err=True)
    ok = sum(s == 0 for s in statuses)
    typer.echo(f"sent {ok} of {len(statuses)} to {peer}")
    exit_with(batch_exit(ok, len(statuses) - ok))
