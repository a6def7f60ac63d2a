"""A decoder that crashes, hangs or runs out of memory costs one file, never the batch:
real GDCM crashes (fixtures in data/, see its README) and faults injected into the
decoder process (decoder_faults.py). Each batch: one error line for the bad file, no
traceback, every other file (the same transfer syntax included) analysed, exit 1."""

from __future__ import annotations

import functools
import multiprocessing
import subprocess
import sys
import textwrap
from pathlib import Path

import decoder_faults
import pytest
from image_cli import check_contract, run_analyze

from radpilot import samples
from radpilot.imaging import analyze as analyze_module
from radpilot.imaging.decoder import PixelDecoder

DATA = Path(__file__).parent / "data"


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def _with_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        analyze_module,
        "PixelDecoder",
        functools.partial(PixelDecoder, setup=decoder_faults.install),
    )


@pytest.mark.parametrize(("name", "signal"), [("gdcm_abort.dcm", 6), ("gdcm_segfault.dcm", 11)])
def test_the_fixture_really_kills_a_process_that_decodes_it(name: str, signal: int) -> None:
    # Without isolation: pydicom's default plugin order (GDCM first) in a fresh process.
    code = f"import pydicom; pydicom.dcmread({str(DATA / name)!r}).pixel_array"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == -signal, (proc.returncode, proc.stderr[-300:])


def test_real_gdcm_crashes_cost_one_file_each(tmp_path: Path) -> None:
    rle = decoder_faults.rle_file(tmp_path / "siim_rle.dcm")
    paths = [
        DATA / "gdcm_abort.dcm",
        samples.get("siim_monochrome2.dcm"),  # JPEG baseline, GDCM again, in a new process
        DATA / "gdcm_segfault.dcm",
        rle,
        samples.get("nih_normal.png"),
    ]
    code, records, stderr = run_analyze(paths)
    check_contract(paths, code, records, stderr)
    assert code == 1
    assert [r["analysed"] for r in records] == [False, True, False, True, True]
    assert _error_lines(stderr) == [
        f"error: {paths[0]}: the pixel decoder crashed (signal 6, SIGABRT) on JPEG Baseline "
        "(Process 1) data; file skipped",
        f"error: {paths[2]}: the pixel decoder crashed (signal 11, SIGSEGV) on JPEG Baseline "
        "(Process 1) data; file skipped",
    ]
    assert multiprocessing.active_children() == []  # the decoder ended with the batch


@pytest.mark.parametrize(
    ("size", "timeout", "message"),
    [
        (decoder_faults.ABORT, "60", "the pixel decoder crashed (signal 6, SIGABRT) on RLE "
         "Lossless data; file skipped"),
        (decoder_faults.HANG, "2", "the pixel decoder did not finish within 2 s (RLE Lossless); "
         "stopped, file skipped (--decode-timeout)"),
        (decoder_faults.MEMORY, "60", "the pixel decoder ran out of memory (RLE Lossless); "
         "file skipped"),
    ],
    ids=["abort", "hang", "memory"],
)  # fmt: skip
def test_an_injected_fault_costs_one_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    timeout: str,
    message: str,
) -> None:
    _with_faults(monkeypatch)
    bad = decoder_faults.rle_file(tmp_path / "bad.dcm", size)
    paths = [
        samples.get("siim_monochrome2.dcm"),
        bad,
        decoder_faults.rle_file(tmp_path / "siim_rle.dcm"),  # the same syntax, after the fault
        samples.get("nih_normal.png"),
    ]
    code, records, stderr = run_analyze(paths, "--decode-timeout", timeout)
    check_contract(paths, code, records, stderr)
    assert code == 1
    assert [r["analysed"] for r in records] == [True, False, True, True]
    assert _error_lines(stderr) == [f"error: {bad}: {message}"]
    assert records[1]["error"] == f"{bad}: {message}"
    assert multiprocessing.active_children() == []


def test_the_decoder_process_is_started_once_per_batch_and_again_after_a_crash(
    tmp_path: Path,
) -> None:
    import pydicom

    from radpilot.errors import DicomError

    good = [samples.get("siim_monochrome2.dcm"), decoder_faults.rle_file(tmp_path / "r.dcm")]
    with PixelDecoder(setup=decoder_faults.install) as decoder:
        for path in good * 2:
            decoder.decode(pydicom.dcmread(path), path, timeout=60)
        assert decoder.starts == 1
        bad = decoder_faults.rle_file(tmp_path / "bad.dcm", decoder_faults.ABORT)
        with pytest.raises(DicomError, match="SIGABRT"):
            decoder.decode(pydicom.dcmread(bad), bad, timeout=60)
        arr = decoder.decode(pydicom.dcmread(good[0]), good[0], timeout=60)
        assert decoder.starts == 2 and arr.shape == (1024, 1024)
    assert multiprocessing.active_children() == []


def test_a_batch_without_compressed_pixels_starts_no_decoder_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian

    ds = pydicom.dcmread(samples.get("siim_monochrome2.dcm"))
    arr = ds.pixel_array
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = arr.tobytes()
    del ds.LossyImageCompression
    native = tmp_path / "native.dcm"
    ds.save_as(native, enforce_file_format=True)
    made: list[PixelDecoder] = []

    def recording() -> PixelDecoder:
        made.append(PixelDecoder())
        return made[-1]

    monkeypatch.setattr(analyze_module, "PixelDecoder", recording)
    paths = [native, samples.get("nih_normal.png")]
    code, records, stderr = run_analyze(paths)
    check_contract(paths, code, records, stderr)
    assert code == 0 and len(made) == 1 and made[0].starts == 0


def test_decoded_in_the_child_equals_decoded_in_process(tmp_path: Path) -> None:
    import numpy as np
    import pydicom
    from pydicom.uid import JPEG2000Lossless, JPEGLSLossless

    src = decoder_faults.rle_file(tmp_path / "rle.dcm")
    files = [samples.get("siim_monochrome2.dcm"), samples.get("siim_true_monochrome1.dcm"), src]
    for uid in (JPEGLSLossless, JPEG2000Lossless):
        ds = pydicom.dcmread(src)
        ds.decompress()
        ds.compress(uid)
        files.append(tmp_path / f"{uid.keyword}.dcm")
        ds.save_as(files[-1], enforce_file_format=True)
    with PixelDecoder() as decoder:
        for path in files:
            ds = pydicom.dcmread(path)
            got = decoder.decode(ds, path, timeout=60)
            want = ds.pixel_array
            assert got.dtype == want.dtype and np.array_equal(got, want), path
    assert decoder.starts == 1


def test_a_verbose_child_still_keeps_stdout_clean(tmp_path: Path) -> None:
    # The JSON on stdout must stay parseable even with --verbose (child stderr shown).
    script = textwrap.dedent(
        f"""
        import json, sys
        from radpilot.commands.main import run
        sys.exit(run(["--verbose", "analyze", {str(DATA / "gdcm_abort.dcm")!r},
                      {str(samples.get("siim_monochrome2.dcm"))!r}, "--json"]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-500:]
    import json

    records = json.loads(proc.stdout)
    assert [r["analysed"] for r in records] == [False, True]


def test_compare_refuses_a_file_whose_decoder_crashes_in_one_line() -> None:
    import contextlib
    import io

    from radpilot.commands.main import run

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = run(["compare", str(DATA / "gdcm_abort.dcm"), str(samples.get("nih_normal.png"))])
    assert code == 2
    assert err.getvalue().splitlines() == [
        f"error: {DATA / 'gdcm_abort.dcm'}: the pixel decoder crashed (signal 6, SIGABRT) on "
        "JPEG Baseline (Process 1) data; file skipped"
    ]
    assert multiprocessing.active_children() == []


def test_the_decode_time_limit_is_checked() -> None:
    from radpilot.imaging.pixels import ReadLimits

    with pytest.raises(ValueError, match="decode_seconds must be above 0"):
        ReadLimits(decode_seconds=0)
    code, _, stderr = run_analyze([samples.get("nih_normal.png")], "--decode-timeout", "0")
    assert code == 2 and "Traceback" not in stderr
