"""HDF5 cache of simulated events, one file per (dataset, cache key), and the dataset that reads it.

Layout under ``cache_dir``::

    <cache_dir>/<dataset>/<key>/
        manifest.json           every parameter that changes the events, the format version
        events.h5               clips built by a single process
        events.part<r>-of-<W>.h5  clips built by rank r of W (sharded build), read together
        events.<part>.h5        clips of a partial build named ``part`` (e.g. one split), read together
        split-*.json            splits saved by the datasets, to reproduce results

``key`` is a short hash of the canonical JSON of the parameters (crop, size,
simulator preset and parameters, seed, upsampling, dataset version): changing
any of them builds a new cache instead of silently reusing a stale one.

Each HDF5 file holds a group ``clips/<clip_id>`` per clip: ``events`` (written
by :func:`neurova.io.write_events_to_group`), ``frame_timestamps_us`` ``(T,)``
int64, ``frame_indices`` ``(T,)`` int64, ``va`` ``(T, 2)`` float32, ``labels``
``(T,)`` int64, ``valid`` ``(T,)`` bool (frames that may end a sample),
optionally ``boxes`` ``(T, 4)`` float32 (crop boxes in the RGB source's pixels) and ``face_boxes``
``(T, 4)`` float32 (face boxes in the event sensor's pixels), and attributes ``clip_id``, ``subject``,
``sensor_size`` and ``complete``. ``complete=True`` is written last and the file
is flushed after each clip, so a killed build resumes by deleting incomplete
groups and skipping complete ones.

Encoding happens at load time (:class:`EventCacheDataset`), so ``n_bits`` and
``bin_us`` can be swept without re-simulating.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from neurova._atomic import atomic_path
from neurova._paths import cache_dir
from neurova.contract import Encoding, InputContract, as_contract, check_phases, resolve_contract
from neurova.errors import DatasetNotFoundError, NeurovaError
from neurova.events import EVENT_DTYPE, SensorSize, slice_time
from neurova.faces import BoxJitter
from neurova.simulator.batch import one_torch_thread

__all__ = [
    "CACHE_FORMAT_VERSION",
    "ClipMeta",
    "ClipRecord",
    "EventCache",
    "EventCacheDataset",
    "cache_key",
    "default_cache_dir",
    "event_contract",
    "open_cache_file",
]

CACHE_FORMAT_VERSION = 1
"""Bumped whenever the HDF5 layout changes; part of every cache key."""

PathLike = str | os.PathLike[str]


def default_cache_dir() -> Path:
    """``$NEUROVA_CACHE`` if set, else ``cache/`` in neurova's home directory (:func:`neurova._paths.cache_dir`)."""
    return cache_dir()


def event_contract(
    *,
    encoding: Encoding = "tbr",
    n_bits: int,
    bin_us: int,
    polarity: Literal["merge", "split"],
    image_size: int,
    mode: Literal["frame", "clip"],
    clip_length: int,
    frame_interval_us: int,
    face_crop: str | None,
) -> InputContract:
    """Deprecated: build an :class:`InputContract` directly (``channels`` follows the encoding by itself).

    The contract of samples made by :class:`EventCacheDataset` (``mode="frame"``: T = 1).
    """
    warnings.warn("neurova.datasets.cache.event_contract is deprecated; use neurova.contract.InputContract(...) "
                  "(channels follow the encoding)", DeprecationWarning, stacklevel=2)
    return resolve_contract(None, owner="event_contract", defaults={}, mode=mode, encoding=encoding, n_bits=n_bits,
                            bin_us=bin_us, polarity=polarity, image_size=image_size, clip_length=clip_length,
                            frame_interval_us=frame_interval_us, data={"face_crop": face_crop})


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def cache_key(params: Mapping[str, Any]) -> str:
    """12-hex-digit hash of the canonical JSON of ``params`` (key order and ``1`` vs ``1.0`` do not matter).

    The cache format and neurova's version are hashed too: a new release (whose simulator
    may differ) never reads events simulated by an older one.
    """
    from neurova import __version__

    text = json.dumps(_canonical({**params, "cache_format": CACHE_FORMAT_VERSION, "neurova": __version__}),
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class ClipRecord:
    """One simulated clip, as written to the cache.

    Attributes:
        clip_id: unique id (no ``/``).
        subject: who is in the clip (the unit of the subject-independent splits).
        events: event array of :data:`neurova.events.EVENT_DTYPE`, times in µs.
        sensor_size: ``(width, height)`` of the events.
        frame_timestamps_us: ``(T,)`` int64 time of each source frame in µs.
        va: ``(T, 2)`` float32 valence, arousal in [-1, 1] (NaN where unknown).
        labels: ``(T,)`` int64 emotion index per frame, -1 if none.
        frame_indices: ``(T,)`` int64 index of each frame in the original clip.
        valid: ``(T,)`` bool, frames that may end a sample (labelled frames); all by default.
        boxes: ``(T, 4)`` float32 crop boxes ``[x0, y0, w, h]`` in the RGB source's pixels, if cropped.
        face_boxes: ``(T, 4)`` float32 face boxes ``[x0, y0, w, h]`` per frame in the event sensor's pixels:
            the box the events are cropped to before encoding (None: the whole sensor).
    """

    clip_id: str
    subject: str
    events: np.ndarray
    sensor_size: SensorSize
    frame_timestamps_us: np.ndarray
    va: np.ndarray
    labels: np.ndarray
    frame_indices: np.ndarray
    valid: np.ndarray | None = None
    boxes: np.ndarray | None = None
    face_boxes: np.ndarray | None = None


@dataclass
class ClipMeta:
    """Everything about a cached clip except its events (small; held in memory by the datasets).

    ``face_boxes`` is the ``(T, 4)`` float32 ``[x0, y0, w, h]`` face box per frame in sensor pixels, or None.
    """

    clip_id: str
    subject: str
    file: Path
    sensor_size: SensorSize
    frame_timestamps_us: np.ndarray
    va: np.ndarray
    labels: np.ndarray
    frame_indices: np.ndarray
    valid: np.ndarray
    n_events: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)
    face_boxes: np.ndarray | None = None


def _io() -> Any:
    import neurova.io

    return neurova.io


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class EventCache:
    """The cache folder of one dataset under one parameter set.

    Args:
        cache_dir: root of all caches (None: :func:`default_cache_dir`).
        dataset: dataset name, e.g. ``"afew_va"``.
        params: every parameter that changes the events; hashed into :attr:`key`.
    """

    def __init__(self, cache_dir: PathLike | None, dataset: str, params: Mapping[str, Any]) -> None:
        self.params = _canonical(dict(params))
        self.dataset = dataset
        self.key = cache_key({"dataset": dataset, **self.params})
        self.root = Path(default_cache_dir() if cache_dir is None else cache_dir).expanduser() / dataset / self.key

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def part_path(self, rank: int = 0, world_size: int = 1, part: str | None = None) -> Path:
        """File written by ``rank`` of ``world_size`` (``events.h5`` for a single process).

        ``part`` names a build of some of the clips (e.g. one split): ``events.<part>.h5``
        (``events.<part>.part<r>-of-<W>.h5`` sharded), so that building the others never writes the file
        whose clips this process may be reading (HDF5 refuses to open a file for writing while it is open).
        """
        if part is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", part):
            raise ValueError(f"part must be letters, digits, '_' or '-', got {part!r}")
        stem = "events" if part is None else f"events.{part}"
        return self.root / (f"{stem}.h5" if world_size == 1 else f"{stem}.part{rank}-of-{world_size}.h5")

    def files(self) -> list[Path]:
        """Every HDF5 file of this cache, ``events.h5`` first."""
        return sorted(self.root.glob("events*.h5"), key=lambda p: (p.name != "events.h5", p.name))

    def split_path(self, name: str) -> Path:
        """Where a split called ``name`` is saved beside the cache."""
        return self.root / f"split-{name}.json"

    @property
    def index_path(self) -> Path:
        return self.root / "clips.json"

    def read_index(self) -> dict[str, str] | None:
        """``{clip_id: subject}`` of the full dataset as recorded by the last build, or None."""
        if not self.index_path.is_file():
            return None
        try:
            data = json.loads(self.index_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None

    def ensure(
        self,
        plan: Callable[[], tuple[Mapping[str, Any], Mapping[str, str]]],
        make_clip: Callable[[Any], ClipRecord],
        *,
        build: bool = True,
        num_workers: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        progress: bool = True,
    ) -> dict[str, str]:
        """``{clip_id: subject}`` of the whole dataset, building the missing clips first.

        ``plan()`` returns ``({clip_id: job}, {clip_id: subject})``; it is only called
        (it may scan a dataset folder) when the cache is not complete.

        Raises:
            DatasetNotFoundError: the cache is incomplete and ``build`` is False.
        """
        index = self.read_index()
        if index is not None and self.has(list(index)):
            return index
        if not build:
            raise DatasetNotFoundError("the event cache is not built; call prepare_data() first", self.root)
        jobs, subjects = plan()
        self.build(jobs, make_clip, num_workers=num_workers, rank=rank, world_size=world_size, progress=progress)
        with atomic_path(self.index_path) as tmp:
            tmp.write_text(json.dumps(dict(subjects), indent=0, sort_keys=True))
        return {str(k): str(v) for k, v in subjects.items()}

    # ---------------------------------------------------------------- reading
    def complete_clips(self, files: Sequence[Path] | None = None) -> dict[str, Path]:
        """``{clip_id: file}`` of every complete clip (the first file wins if a clip is in two)."""
        found: dict[str, Path] = {}
        for path in self.files() if files is None else files:
            with open_cache_file(path) as f:
                for name, group in f.get("clips", {}).items():  # (an unreadable group comes as None)
                    if _is_complete(group) and name not in found:
                        found[name] = path
        return found

    def has(self, clip_ids: Sequence[str]) -> bool:
        """Whether every clip in ``clip_ids`` is complete in the cache."""
        return set(clip_ids) <= set(self.complete_clips())

    def read_meta(self, clip_ids: Sequence[str] | None = None) -> dict[str, ClipMeta]:
        """Metadata of the complete clips (all, or ``clip_ids`` in that order).

        Raises:
            DatasetNotFoundError: a requested clip is not in the cache (run ``prepare_data`` first).
        """
        where = self.complete_clips()
        wanted = list(where) if clip_ids is None else list(clip_ids)
        missing = [c for c in wanted if c not in where]
        if missing:
            raise DatasetNotFoundError(
                f"{len(missing)} clips are not in the event cache (e.g. {missing[:3]}); build it with prepare_data()",
                self.root,
            )
        by_file: dict[Path, list[str]] = {}
        for clip_id in wanted:
            by_file.setdefault(where[clip_id], []).append(clip_id)
        metas: dict[str, ClipMeta] = {}
        for path, ids in by_file.items():
            with open_cache_file(path) as f:
                for clip_id in ids:
                    g = f["clips"][clip_id]
                    metas[clip_id] = ClipMeta(
                        clip_id=clip_id,
                        subject=str(g.attrs["subject"]),
                        file=path,
                        sensor_size=SensorSize(*(int(v) for v in g.attrs["sensor_size"])),
                        frame_timestamps_us=g["frame_timestamps_us"][()].astype(np.int64),
                        va=g["va"][()].astype(np.float32),
                        labels=g["labels"][()].astype(np.int64),
                        frame_indices=g["frame_indices"][()].astype(np.int64),
                        valid=g["valid"][()].astype(bool),
                        n_events=int(g.attrs.get("n_events", 0)),
                        face_boxes=g["face_boxes"][()].astype(np.float32) if "face_boxes" in g else None,
                    )
        return {c: metas[c] for c in wanted}

    # ---------------------------------------------------------------- writing
    def _write_manifest(self, world_size: int) -> None:
        manifest = {
            "dataset": self.dataset,
            "key": self.key,
            "format_version": CACHE_FORMAT_VERSION,
            "params": self.params,
            "world_size": world_size,
        }
        with atomic_path(self.manifest_path) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))

    @staticmethod
    def _write_clip(f: h5py.File, record: ClipRecord) -> None:
        if "/" in record.clip_id:
            raise ValueError(f"clip ids may not contain '/': {record.clip_id!r}")
        n = len(record.frame_timestamps_us)
        for name, arr, shape in (
            ("va", record.va, (n, 2)),
            ("labels", record.labels, (n,)),
            ("frame_indices", record.frame_indices, (n,)),
            *((("face_boxes", record.face_boxes, (n, 4)),) if record.face_boxes is not None else ()),
        ):
            if np.shape(arr) != shape:
                raise ValueError(f"clip {record.clip_id}: {name} has shape {np.shape(arr)}, expected {shape}")
        clips = f.require_group("clips")
        g = clips.create_group(record.clip_id)
        _io().write_events_to_group(g.create_group("events"), record.events, record.sensor_size)
        g.create_dataset("frame_timestamps_us", data=np.asarray(record.frame_timestamps_us, dtype=np.int64))
        g.create_dataset("frame_indices", data=np.asarray(record.frame_indices, dtype=np.int64))
        g.create_dataset("va", data=np.asarray(record.va, dtype=np.float32))
        g.create_dataset("labels", data=np.asarray(record.labels, dtype=np.int64))
        valid = np.ones(n, dtype=bool) if record.valid is None else np.asarray(record.valid, dtype=bool)
        g.create_dataset("valid", data=valid)
        if record.boxes is not None:
            g.create_dataset("boxes", data=np.asarray(record.boxes, dtype=np.float32))
        if record.face_boxes is not None:
            face_boxes = np.asarray(record.face_boxes, dtype=np.float32)
            if not (np.isfinite(face_boxes).all() and (face_boxes[:, 2:] > 0).all()):
                raise ValueError(f"clip {record.clip_id}: face_boxes must be finite with positive width and height")
            g.create_dataset("face_boxes", data=face_boxes)
        g.attrs["clip_id"] = record.clip_id
        g.attrs["subject"] = record.subject
        g.attrs["sensor_size"] = np.asarray(tuple(record.sensor_size), dtype=np.int64)
        g.attrs["n_events"] = len(record.events)
        g.attrs["complete"] = True
        f.flush()

    def build(
        self,
        jobs: Mapping[str, Any],
        make_clip: Callable[[Any], ClipRecord],
        *,
        num_workers: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        progress: bool = True,
        part: str | None = None,
    ) -> list[str]:
        """Simulate and write every clip of ``jobs`` that is not in the cache yet.

        Args:
            jobs: ``{clip_id: job}``; ``make_clip(job)`` returns that clip's :class:`ClipRecord`.
                With workers, ``make_clip`` and the jobs must be picklable (module-level functions).
            make_clip: renders/reads and simulates one clip.
            num_workers: worker processes that run ``make_clip`` (0: in this process). The calling
                process is the only writer.
            rank, world_size: shard the build: rank ``r`` makes ``sorted(jobs)[r::world_size]`` into its
                own part file; readers open all parts. Default: ``$RANK`` / ``$WORLD_SIZE``, else 0 / 1.
            progress: show a tqdm progress bar.
            part: write to the file of a partial build of that name (see :meth:`part_path`), not ``events.h5``.

        Returns:
            The clip ids written by this call.
        """
        rank = _env_int("RANK", 0) if rank is None else rank
        world_size = _env_int("WORLD_SIZE", 1) if world_size is None else world_size
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, {world_size}), got {rank}")
        self.root.mkdir(parents=True, exist_ok=True)
        self._write_manifest(world_size)
        mine = sorted(jobs)[rank::world_size]
        own = self.part_path(rank, world_size, part)
        # Parts of other shardings are finished builds (never written concurrently with this one): reuse them.
        concurrent = f"-of-{world_size}.h5"
        others = [p for p in self.files() if p != own and not (world_size > 1 and p.name.endswith(concurrent))]
        done = set(self.complete_clips(others))
        if set(mine) <= done | set(self.complete_clips([own] if own.exists() else [])):
            return []  # nothing to write: leave the files alone (a reader in this process may hold them open)
        if not own.exists():
            # HDF5 writes a new file's superblock only when it is flushed: created in place, a file killed before
            # its first clip is complete would be unreadable. Create it complete, then append to it.
            with atomic_path(own) as tmp, h5py.File(tmp, "w") as new:
                new.create_group("clips")
        _drop_incomplete_clips(own)
        with open_cache_file(own, "a") as f:
            clips = f.require_group("clips")
            done |= set(clips)
            todo = [c for c in mine if c not in done]
            if not todo:
                return []
            bar = tqdm(total=len(todo), desc=f"simulating {self.dataset}", unit="clip", disable=not progress)
            with bar:
                for record in self._produce([jobs[c] for c in todo], make_clip, num_workers):
                    self._write_clip(f, record)
                    bar.update(1)
        return todo

    @staticmethod
    def _produce(jobs: list[Any], make_clip: Callable[[Any], ClipRecord], num_workers: int) -> Iterator[ClipRecord]:
        if num_workers <= 0 or len(jobs) == 1:
            for job in jobs:
                yield make_clip(job)
            return
        # the platform's default start method, as torch's DataLoader workers (fork on Linux: no re-import)
        with multiprocessing.get_context().Pool(min(num_workers, len(jobs)), initializer=one_torch_thread) as pool:
            yield from pool.imap_unordered(make_clip, jobs)


def _drop_incomplete_clips(path: Path) -> None:
    """Remove from the cache file ``path`` the clips a killed build left incomplete; the complete ones stay.

    They are deleted in place where HDF5 can; a build killed while HDF5 was writing its metadata can leave a link
    that HDF5 can neither follow nor delete ("addr overflow"), and then the complete clips are copied into a fresh
    file that replaces ``path`` (atomically: a kill meanwhile leaves the old file as it was).
    """
    with open_cache_file(path, "a") as f:
        clips = f.require_group("clips")
        try:
            for name in list(clips):
                if not _is_complete(clips.get(name)):
                    del clips[name]
            return
        except (KeyError, OSError, RuntimeError, ValueError) as exc:  # what h5py raises for damaged metadata
            damage = exc
    warnings.warn(f"{path}: a killed build left metadata HDF5 cannot delete ({damage}); copying its complete clips "
                  "into a fresh file", RuntimeWarning, stacklevel=3)
    try:
        with open_cache_file(path) as old, atomic_path(path) as tmp, h5py.File(tmp, "w") as new:
            kept = new.create_group("clips")
            for name in old["clips"]:
                group = old["clips"].get(name)
                if _is_complete(group):
                    old.copy(group, kept, name=name)
    except (KeyError, OSError, RuntimeError, ValueError) as exc:
        raise NeurovaError(f"the event cache is damaged beyond what a resumed build repairs ({exc}); delete it to "
                           "rebuild", path) from exc


def _is_complete(group: h5py.Group | None) -> bool:
    """Whether a clip's group was written to the end (``None``: a group a killed build left unreadable)."""
    return group is not None and bool(group.attrs.get("complete", False))


def open_cache_file(path: Path, mode: str = "r") -> h5py.File:
    """``h5py.File(path, mode)`` of an event-cache file, with an error that says what to do.

    Raises:
        NeurovaError: the file is locked because another process is writing it (wait for that process, or give
            this one its own cache folder; nothing is wrong with the file), or it cannot be read at all (then
            it is damaged: delete it to rebuild).
    """
    try:
        return h5py.File(path, mode)
    except BlockingIOError as exc:  # HDF5's file lock: a writer holds it
        raise NeurovaError("the event cache is being written by another process (its file is locked); wait for "
                           "that process to finish, or give this one another cache folder (cache_dir / "
                           "--cache-dir)", path) from exc
    except OSError as exc:
        action = "read" if mode == "r" else "open for writing"
        raise NeurovaError(f"cannot {action} the event cache ({exc}); delete it to rebuild", path) from exc


class EventCacheDataset(Dataset):
    """Samples of encoded frames from an :class:`EventCache`, encoded at load time.

    A sample covers ``clip_length`` consecutive source frames of one clip (no gap in
    their frame numbers), all valid
    (labelled, and late enough that their window starts at or after the clip's first
    frame, before which there are no events). It is made by :class:`neurova.transforms.ToModelInput`, the
    operator :func:`neurova.predict` applies to recordings: the events of ``[t - history_us, t)``, ``t`` the
    last frame's timestamp, inside the clip's face box of that last frame (``face_boxes``, in sensor pixels;
    the whole sensor when the clip has none) are cropped, brought to ``image_size`` as ``contract.resize`` says
    and encoded as the contract says, one frame every ``frame_interval_us`` ending at ``t``. So a model never
    sees at inference a representation it did not see in training.

    With ``phase_us > 0`` every window ends that long before its frame instead (``t = timestamp - phase_us``; the
    labels stay the frame's); with several phases, sample ``i`` takes ``phase_us[i % len(phase_us)]``. Events
    simulated from video carry the video's frame clock (a burst of events at each frame), and windows that always
    end on it teach a model that clock; a real camera has none. Training samples at several phases (e.g. 0, 10, 20
    and 30 ms at 25 fps; :attr:`neurova.recipes.Protocol.train_phases_us`) remove it.

    The HDF5 files are opened lazily in each worker process (h5py handles are not
    fork-safe) and only the needed time window is read (binary search). With
    ``in_memory=True`` every event of the selected clips is loaded once per process; with
    ``cache_frames=True`` each sample's encoded frames are kept after their first use (samples are
    deterministic), so later epochs skip the crop, resize and encoding: ``T * C * S * S * 4`` bytes per
    sample (64 KiB at the demo's 4 x 1 x 64 x 64).

    With ``box_jitter=(shift, scale)`` each sample's face box is moved and scaled as a face detector's error does
    (:meth:`neurova.faces.BoxJitter.jitter_box`) before its events are cropped, resized and encoded: the
    input a detector's box gives at inference, exactly. With ``jitter_seed`` None every call draws a new error from
    ``torch``'s global generator (a new one each epoch; not with ``cache_frames``); with an int, sample ``i``'s
    error is fixed, drawn from a generator seeded by ``(jitter_seed, i)``.

    Sample dict: ``frames`` ``(T, C, H, W)`` float32, ``va`` ``(T, 2)``
    float32, ``label`` int64 ``()`` (the last frame's label), ``meta`` with
    ``clip_id``, ``subject``, ``frame_indices`` ``(T,)`` and ``timestamps_us`` ``(T,)`` (where each frame's window
    ends: its source frame's time minus ``phase_us``).

    Args:
        cache: the built cache.
        clip_ids: clips of this split.
        contract: encoding recipe (``clip_length`` is T), an :class:`~neurova.contract.InputContract` or its dict.
        stride: step between the first frames of consecutive samples of a clip.
        in_memory: load all events of ``clip_ids`` into RAM on first use.
        cache_frames: keep every sample's frames in RAM after their first use (per process).
        phase_us: µs between each sample's last frame and the end of its window (0: on the frame), or several,
            taken by the samples in turn.
        box_jitter: ``(shift, scale)`` of the face box's error (:class:`neurova.faces.BoxJitter`), or None.
        jitter_seed: None (a new error at every call) or the seed of each sample's fixed error.
    """

    def __init__(
        self,
        cache: EventCache,
        clip_ids: Sequence[str],
        contract: InputContract | Mapping[str, Any],
        *,
        stride: int = 1,
        in_memory: bool = False,
        cache_frames: bool = False,
        phase_us: int | Sequence[int] = 0,
        box_jitter: tuple[float, float] | None = None,
        jitter_seed: int | None = None,
    ) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.phases_us = check_phases(phase_us)
        self.box_jitter = None if box_jitter is None else BoxJitter.of(box_jitter)
        self.jitter_seed = jitter_seed
        if self.box_jitter is not None and jitter_seed is None and cache_frames:
            raise ValueError("box_jitter without a jitter_seed draws a new box at every call, so the frames cannot be "
                             "cached: pass cache_frames=False, or a jitter_seed for a fixed box per sample")
        self.cache = cache
        self.contract = contract = as_contract(contract)
        self.stride = stride
        self.in_memory = in_memory
        self.cache_frames = cache_frames
        self._frames: dict[int, np.ndarray] = {}
        self.clips = cache.read_meta(list(clip_ids))
        self.clip_ids = list(self.clips)
        sizes = {m.sensor_size for m in self.clips.values()}
        if len(sizes) > 1:
            raise NeurovaError(f"cached clips have different sensor sizes {sorted(sizes)}", cache.root)
        self.sensor_size = sizes.pop() if sizes else SensorSize(contract.image_size, contract.image_size)
        from neurova.transforms import ToModelInput

        self._to_model_input = ToModelInput
        self.window_us = contract.window_us
        self.history_us = contract.history_us
        self.index = self._make_index()
        self._pid: int | None = None
        self._handles: dict[Path, h5py.File] = {}
        self._groups: dict[str, h5py.Group] = {}
        self._events: dict[str, np.ndarray] = {}

    def _make_index(self) -> list[tuple[str, int]]:
        length = self.contract.clip_length
        index: list[tuple[str, int]] = []
        for clip_id, meta in self.clips.items():
            # a frame is usable when labelled and its whole window lies after the clip's first frame
            ts = meta.frame_timestamps_us
            valid = meta.valid & (ts - max(self.phases_us) - self.window_us >= ts[0]) if len(ts) else meta.valid
            if len(valid) < length:
                continue
            # a window is usable when all its frames are valid (sliding sum over the mask) and consecutive
            ok = np.convolve(valid.astype(np.int64), np.ones(length, dtype=np.int64), mode="valid") == length
            idx = meta.frame_indices
            ok &= idx[length - 1 :] - idx[: len(idx) - length + 1] == length - 1
            index.extend((clip_id, int(s)) for s in np.flatnonzero(ok)[:: self.stride])
        return index

    def __len__(self) -> int:
        return len(self.index)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handles"], state["_groups"], state["_events"], state["_pid"] = {}, {}, {}, None
        state["_frames"] = {}
        return state

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the HDF5 handles of this process."""
        self._groups = {}
        for handle in getattr(self, "_handles", {}).values():
            with contextlib.suppress(Exception):  # best effort, also at interpreter shutdown
                handle.close()
        self._handles = {}

    def _group(self, clip_id: str) -> h5py.Group:
        """The events group of ``clip_id``, opening its file on first use in this process."""
        if self._pid != os.getpid():  # a forked worker: never reuse the parent's handles
            self._handles, self._groups, self._events, self._pid = {}, {}, {}, os.getpid()
        group = self._groups.get(clip_id)
        if group is None:
            path = self.clips[clip_id].file
            handle = self._handles.get(path)
            if handle is None:
                handle = self._handles[path] = open_cache_file(path)
            group = self._groups[clip_id] = handle["clips"][clip_id]["events"]
        return group

    def clip_events(self, clip_id: str, start_us: int | None = None, end_us: int | None = None) -> np.ndarray:
        """Events of ``clip_id`` with ``start_us <= t < end_us`` (None leaves that side open)."""
        if self.in_memory:
            events = self._events.get(clip_id) if self._pid == os.getpid() else None
            if events is None:
                group = self._group(clip_id)
                events = self._events[clip_id] = _io().read_events_from_group(group, path=self.clips[clip_id].file)
            return slice_time(events, start_us, end_us)
        return _io().group_time_slice(self._group(clip_id), start_us, end_us)

    def face_box(self, i: int) -> tuple[float, float, float, float]:
        """The box ``(x0, y0, width, height)`` (sensor pixels) sample ``i`` is cropped to: its last frame's face box
        (the whole sensor for clips without one), with its drawn error when ``box_jitter`` is set."""
        clip_id, start = self.index[i]
        boxes = self.clips[clip_id].face_boxes
        box = (0, 0, *self.sensor_size) if boxes is None else boxes[start + self.contract.clip_length - 1]
        if self.box_jitter is None:
            return tuple(float(v) for v in box)  # type: ignore[return-value]
        generator = None
        if self.jitter_seed is not None:
            seed = np.random.SeedSequence([self.jitter_seed, i]).generate_state(1, dtype=np.uint64)[0]
            generator = torch.Generator().manual_seed(int(seed))
        return self.box_jitter.jitter_box(box, generator)

    def _encode(self, i: int, clip_id: str, meta: ClipMeta, t_end: int) -> np.ndarray:
        """The ``(T, C, S, S)`` float32 frames of sample ``i`` (of ``clip_id``), ending at ``t_end``."""
        events = self.clip_events(clip_id, t_end - self.history_us, t_end)
        if events.dtype != EVENT_DTYPE:
            raise NeurovaError(f"clip {clip_id}: cached events have dtype {events.dtype}", meta.file)
        frames = self._to_model_input(self.contract, self.face_box(i))(events, t_end)
        return np.ascontiguousarray(frames, dtype=np.float32)

    def __getitem__(self, i: int) -> dict[str, Any]:
        clip_id, start = self.index[i]
        meta = self.clips[clip_id]
        stop = start + self.contract.clip_length
        ends = meta.frame_timestamps_us[start:stop] - self.phases_us[i % len(self.phases_us)]
        frames = self._frames.get(i)
        if frames is None:
            frames = self._encode(i, clip_id, meta, int(ends[-1]))
            if self.cache_frames:
                self._frames[i] = frames
        return {
            "frames": torch.from_numpy(frames.copy() if self.cache_frames else frames),
            "va": torch.from_numpy(meta.va[start:stop].copy()),
            "label": torch.tensor(int(meta.labels[stop - 1]), dtype=torch.int64),
            "meta": {
                "clip_id": clip_id,
                "subject": meta.subject,
                "frame_indices": torch.from_numpy(meta.frame_indices[start:stop].copy()),
                "timestamps_us": torch.from_numpy(ends.copy()),
            },
        }

    @property
    def mode(self) -> Literal["frame", "clip"]:
        return "frame" if self.contract.clip_length == 1 else "clip"
