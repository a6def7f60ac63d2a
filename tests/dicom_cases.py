"""Small real DICOM instances for the network and de-identification tests, generated with pydicom (no licence
needed): CR and DX radiographs of a smooth synthetic chest-like picture, uncompressed or
RLE-compressed, each with fresh UIDs."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

from radpilot import samples

CR = "1.2.840.10008.5.1.4.1.1.1"
DX = "1.2.840.10008.5.1.4.1.1.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"


@lru_cache(maxsize=1)
def _chest() -> np.ndarray:
    """The bundled SIIM sample's pixels (a real chest radiograph), as 12-bit values."""
    ds = pydicom.dcmread(samples.get("siim_monochrome2.dcm"))
    return ds.pixel_array.astype(np.uint16) * 16


def picture(size: int = 128, seed: int = 0) -> np.ndarray:
    """The sample radiograph at ``size`` pixels, with a little noise per ``seed`` so each
    instance's pixels differ."""
    chest = _chest()
    step = max(1, chest.shape[0] // size)
    img = chest[::step, ::step][:size, :size].astype(np.float64)
    img += np.random.default_rng(seed).normal(0, 8, img.shape)
    return np.clip(img, 0, 4095).astype(np.uint16)


def radiograph(
    *,
    sop_class: str = CR,
    study_uid: str | None = None,
    patient_id: str = "PAT001",
    patient_name: str = "Doe^Jane",
    size: int = 128,
    seed: int = 0,
    rle: bool = False,
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.PatientBirthDate = "19600101"
    ds.PatientSex = "F"
    ds.StudyDate = "20240302"
    ds.StudyTime = "101100"
    ds.AccessionNumber = "ACC12345"
    ds.StudyDescription = "XR CHEST PA"
    ds.Modality = "CR" if sop_class == CR else "DX"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.InstanceNumber = 1
    ds.SeriesNumber = 1
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.ImagerPixelSpacing = [0.5, 0.5]
    if sop_class == DX:
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PixelData = picture(size, seed).tobytes()
    if rle:
        ds.compress(RLELossless)
    return ds


def save(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def read(path: Path) -> Dataset:
    return pydicom.dcmread(path)
