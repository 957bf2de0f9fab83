"""Your own event recordings with valence/arousal labels, for fine-tuning.

A folder of event files (any format :func:`neurova.io.read_events` reads) and a CSV
of labels with a header row::

    file,t_us,valence,arousal
    alice_01.h5,1200000,0.4,-0.2
    alice_01.h5,1240000,0.45,-0.1
    bob_03.raw,800000,-0.6,0.7

Each row is one sample: the frames ending at ``t_us`` (µs, on the recording's own clock:
for an ``.aedat4`` file that is µs since 1970, so add the recording's first timestamp to times
counted from its start) encoded as a model's :class:`~neurova.contract.InputContract` says, labelled with
``valence`` and ``arousal`` in [-1, 1]. Optional columns ``x0, y0, width, height`` give
the face box in sensor pixels; without them the largest centred square is used
(:func:`neurova.faces.centre_square`). An optional ``subject`` column names who is recorded
(default: the file name), for subject-independent splits.

``file`` names must stay inside the root folder (no ``..``, no absolute paths), and a label
whose frames would all lie before the first or after the last event of its recording is
refused with the recording's time span, since it would train on empty frames.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from neurova._paths import join_inside
from neurova.contract import InputContract
from neurova.errors import AnnotationError, DatasetNotFoundError
from neurova.events import SensorSize
from neurova.faces import BoxJitter, centre_square
from neurova.io import get_sensor_size, get_time_span, read_recording, read_window, supported_suffixes
from neurova.transforms import ToModelInput

__all__ = ["LabelledEventFiles", "LabelledTime", "read_label_csv"]

_REQUIRED = ("file", "t_us", "valence", "arousal")
_BOX = ("x0", "y0", "width", "height")


@dataclass(frozen=True)
class LabelledTime:
    """One row of the label CSV."""

    file: str
    t_us: int
    valence: float
    arousal: float
    subject: str
    box: tuple[int, int, int, int] | None
    line: int | None = None
    """Line of the label CSV the row was read from (``None`` for rows built in code)."""


def _number(row: dict[str, str], key: str, line: int, path: Path) -> float:
    try:
        value = float(row[key])
    except (TypeError, ValueError):
        raise AnnotationError(f"line {line}: column {key!r} is not a number: {row[key]!r}", path) from None
    if not math.isfinite(value):
        raise AnnotationError(f"line {line}: column {key!r} is {value}", path)
    return value


def read_label_csv(path: str | os.PathLike[str]) -> list[LabelledTime]:
    """Parse a label CSV (see the module docstring); errors name the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError("label CSV not found", path)
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in _REQUIRED if c not in columns]
        if missing:
            raise AnnotationError(f"missing columns {missing}; the header must include {list(_REQUIRED)}", path)
        has_box = all(c in columns for c in _BOX)
        rows = []
        for line, row in enumerate(reader, start=2):
            va = [_number(row, key, line, path) for key in ("valence", "arousal")]
            if any(abs(v) > 1 for v in va):
                raise AnnotationError(f"line {line}: valence and arousal must lie in [-1, 1], got {va}", path)
            box = tuple(int(_number(row, key, line, path)) for key in _BOX) if has_box else None
            rows.append(LabelledTime(
                file=row["file"], t_us=int(_number(row, "t_us", line, path)), valence=va[0], arousal=va[1],
                subject=row.get("subject") or Path(row["file"]).stem, box=box, line=line,
            ))
    if not rows:
        raise AnnotationError("the label CSV has no rows", path)
    return rows


class LabelledEventFiles(Dataset):
    """Samples of labelled times in event recordings, encoded for a model.

    Args:
        root: folder the CSV's ``file`` column is relative to.
        labels: the label CSV, or already parsed rows.
        contract: the model's input contract (``model.input_contract``).
        num_frames: frames per sample (default ``contract.clip_length``).
        box_jitter: ``(shift, scale)`` of a face detector's box error (:class:`neurova.faces.BoxJitter`): each
            sample's box (the row's, else the centred square) moved and scaled by a new drawn error at every call
            before its events are cropped and encoded, for fine-tuning a model that will run on detected faces;
            None (the default): the box as given.

    Samples follow neurova's contract: ``frames`` ``(K, C, S, S)`` float32; ``va`` ``(K, 2)``, the
    label on the last frame and NaN before it; ``label`` -1; ``meta`` with ``clip_id`` (the file),
    ``subject``, ``frame_indices`` and ``timestamps_us`` (the frames' end times).
    HDF5 recordings (``.h5``, ``.hdf5``) are read window by window (:func:`neurova.io.read_window`: a binary
    search on ``t``), so they may be of any length; other formats are read once and kept in memory, so convert
    long ones to ``.h5`` first (``neurova convert REC -o REC.h5``, in bounded memory).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        labels: str | os.PathLike[str] | list[LabelledTime],
        contract: InputContract,
        *,
        num_frames: int | None = None,
        box_jitter: tuple[float, float] | None = None,
    ) -> None:
        self.root = Path(root)
        self.box_jitter = None if box_jitter is None else BoxJitter.of(box_jitter)
        self.labels_path = Path(labels) if isinstance(labels, str | os.PathLike) else None
        self.rows = read_label_csv(labels) if self.labels_path is not None else list(labels)
        self.contract = contract
        self.num_frames = num_frames or contract.clip_length
        self._recordings: dict[str, tuple[np.ndarray, SensorSize]] = {}
        self._paths: dict[str, Path] = {}
        for name in sorted({row.file for row in self.rows}):
            path = join_inside(self.root, name, what="file", source=self.labels_path)
            if not path.is_file():
                raise DatasetNotFoundError(f"event file named in the label CSV not found under {self.root}", path)
            self._paths[name] = path

    def _recording(self, name: str) -> tuple[np.ndarray | None, SensorSize]:
        """The recording's events kept in memory (None for an HDF5 file, read window by window) and its sensor;
        its label times are checked on first use."""
        if name not in self._recordings:
            path = self._paths[name]
            if path.suffix.lower() in supported_suffixes(window=True):
                events, size, span = None, get_sensor_size(path), get_time_span(path)
            else:
                recording = read_recording(path)
                events, size = recording.events, recording.sensor_size
                span = (int(events["t"][0]), int(events["t"][-1])) if len(events) else None
            self._check_times(name, span)
            self._recordings[name] = (events, size)
        return self._recordings[name]

    def _check_times(self, name: str, span: tuple[int, int] | None) -> None:
        """Refuse labels whose frames all miss the recording: the likely sign of times on another clock."""
        if span is None:
            raise AnnotationError(f"{name} holds no events to label", self._paths[name])
        first, last = span
        reach = (self.num_frames - 1) * self.contract.frame_interval_us + self.contract.n_bits * self.contract.bin_us
        outside = [row for row in self.rows if row.file == name and (row.t_us <= first or row.t_us - reach > last)]
        if outside:
            row = outside[0]
            where = f"line {row.line}: " if row.line is not None else ""
            raise AnnotationError(
                f"{where}{len(outside)} label time(s) of {name} (e.g. t_us={row.t_us}) leave every frame empty: "
                f"the recording's events lie in [{first}, {last}] µs on its own clock. Times counted from the "
                f"recording's start need the offset {first} µs added (an .aedat4 clock counts µs since 1970); "
                "times in seconds need scaling to µs",
                self.labels_path or self._paths[name],
            )

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[index]
        events, sensor_size = self._recording(row.file)
        box = row.box or centre_square(sensor_size)
        if self.box_jitter is not None:
            box = self.box_jitter.jitter_box(box)
        encode = ToModelInput(self.contract, box, num_frames=self.num_frames)
        if events is None:  # an HDF5 recording: only the sample's window is read
            events = read_window(self._paths[row.file], row.t_us - encode.history_us, row.t_us)
        frames = encode(events, row.t_us)
        va = torch.full((self.num_frames, 2), float("nan"))
        va[-1] = torch.tensor([row.valence, row.arousal])
        return {
            "frames": torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)),
            "va": va,
            "label": torch.tensor(-1, dtype=torch.int64),
            "meta": {
                "clip_id": row.file,
                "subject": row.subject,
                "frame_indices": torch.arange(self.num_frames, dtype=torch.int64),
                "timestamps_us": torch.from_numpy(encode.ends_us(row.t_us)),
            },
        }
