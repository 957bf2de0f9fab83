"""Exception types raised by neurova.

Every error that concerns a file carries its path in ``.path`` and names it in
the message, so that a user reading a traceback knows which file is at fault.
"""

from __future__ import annotations

import os

__all__ = [
    "AnnotationError",
    "CheckpointError",
    "DatasetNotFoundError",
    "EventFormatError",
    "EventOrderError",
    "InputContractError",
    "MissingDependencyError",
    "NeurovaError",
    "VideoFormatError",
]


class NeurovaError(Exception):
    """Base class of every error raised on purpose by neurova."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


class EventFormatError(NeurovaError, ValueError):
    """Events, or an event file, are malformed (bad fields, ranges, order, or a corrupt file)."""


class EventOrderError(EventFormatError):
    """Events read or written batch by batch go back in time from one batch to the next (each batch may be sorted;
    reading the recording whole sorts it)."""


class VideoFormatError(NeurovaError, ValueError):
    """A video, frame folder or frame array cannot be used (unreadable, inconsistent sizes, bad timestamps)."""


class AnnotationError(NeurovaError, ValueError):
    """A dataset's annotation file (labels JSON or CSV) is malformed: missing keys or columns, bad or NaN labels."""


class DatasetNotFoundError(NeurovaError, FileNotFoundError):
    """A dataset root or one of its required files is missing."""


class CheckpointError(NeurovaError, ValueError):
    """A checkpoint is missing, unsafe, or does not match the architecture it is loaded into."""


class InputContractError(NeurovaError, ValueError):
    """Data does not match the input contract (encoding, channels, size) a model was trained with."""


class MissingDependencyError(NeurovaError, ImportError):
    """An optional dependency is needed but not installed."""
