"""Domain exceptions. A user's mistake raises one of these; the CLI prints its
message on one line and never a traceback."""


class RadpilotError(Exception):
    """Base class for every error radpilot raises on purpose."""


class InputError(RadpilotError):
    """Bad user input: a file, row or field that cannot be used as given."""


class VocabularyError(RadpilotError):
    """A vocabulary or rules data file is malformed."""


class UserVocabularyError(VocabularyError, InputError):
    """A user's vocabulary file (``--vocab FILE``) is malformed: bad input, so an
    ``InputError`` too, where a packaged data file's fault is only a ``VocabularyError``."""


class RegistryError(RadpilotError):
    """An unknown or badly registered name in :mod:`radpilot.registry`."""


class ModelNotAvailableError(RadpilotError):
    """A model's weights are not installed locally (radpilot never downloads implicitly)."""


class DicomError(InputError):
    """A DICOM file that cannot be read or is not supported."""


class DownloadError(RadpilotError):
    """Fetching model weights failed: offline, HTTP error or an interrupted transfer."""


class ChecksumError(RadpilotError):
    """A weights file's SHA-256 differs from the pinned one (the file is deleted)."""
