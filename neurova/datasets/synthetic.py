"""Synthetic faces with known valence and arousal: the embedded default dataset.

Real AFEW-VA and NEFER are distributed only by their authors; this dataset lets
the whole pipeline run with no download. Each subject is a procedurally drawn
identity (:func:`neurova.datasets.render.sample_identity`); each clip is a
head-and-shoulders scene on a whole sensor (:func:`neurova.datasets.scenes.render_scene_clip`:
clothing, hands, a textured and sometimes moving background, the face at a
realistic size in the frame) whose face follows a smooth random valence-arousal
trajectory. It is simulated to events once at the sensor's resolution and cached
like AFEW-VA (:mod:`neurova.datasets.cache`) with the true face box of every frame
(:func:`neurova.datasets.scenes.face_box`); at load time every sample is cropped to
its face box and encoded by the operator :func:`neurova.predict` uses on real
recordings. Everything is deterministic from ``seed``.

Splits:

* ``"train"``, ``"val"``, ``"test"``: the regular clips, split by subject;
* ``"emotion"``: clips of further subjects held at the valence-arousal point of
  each emotion of :data:`neurova.emotions.EKMAN7`, labelled with its index, for
  zero-shot tests (no subject of these clips is in any other split);
* ``"all"``: every clip.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurova.contract import FACE_CLIP_RECIPE, Encoding, InputContract, resolve_contract
from neurova.datasets.cache import ClipRecord, EventCache, EventCacheDataset
from neurova.datasets.splits import load_split, save_split, subject_holdout
from neurova.emotions import EKMAN7, EKMAN7_NAMES
from neurova.errors import DatasetNotFoundError
from neurova.events import SensorSize

__all__ = [
    "SYNTHETIC_SPLITS",
    "SyntheticFaces",
    "SyntheticFacesConfig",
    "check_splits",
    "prepare_synthetic_faces",
    "synthetic_cache",
    "synthetic_contract",
    "synthetic_splits",
]

FPS = 25.0
FRAME_INTERVAL_US = 40_000
CACHE_VERSION = "synthetic_faces-3"
"""Changes whenever rendering or simulation of the synthetic clips changes; part of the cache key, of the leaderboard's
job keys and of the data line of every model card. ``tests/datasets/test_synthetic.py`` pins the events of
one clip per version, so a change to the renderer, the scenes or the simulator that moves them fails until this is
bumped (then rebuild the shipped tags and rerun the leaderboard). 3: the version-2 caches of the 28 November
leaderboard had been built by an intermediate state of the textured renderer that no commit reproduces."""

SYNTHETIC_SPLITS = ("train", "val", "test", "emotion", "all")

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class SyntheticFacesConfig:
    """Everything that changes the synthetic clips and their events (hashed into the cache key).

    The defaults make 12 x 4 clips of 2 s plus 7 x 2 emotion clips on a 160 x 120 sensor
    (a DVXplorer's 320 x 240 at half resolution) with face boxes of 48 to 72 pixels, which
    render and simulate in well under a minute on 2 CPU cores.

    Attributes:
        n_subjects: identities of the regular clips.
        clips_per_subject: regular clips per identity, each with its own VA trajectory.
        frames_per_clip: frames per clip at 25 fps.
        image_size: the model input side S: samples are face crops resized to S x S at load time
            (does not change the events, so it is not part of the cache key).
        sensor_size: ``(W, H)`` of the rendered scene and of the simulated events, pixels.
        face_fraction: range of the face box side over the sensor height (:func:`~neurova.datasets.scenes.face_box`).
        supersample: supersampling factor of the renderer per direction.
        emotion_clips_per_emotion: clips per emotion of :data:`~neurova.emotions.EKMAN7` (0: none),
            each of another held-out identity.
        emotion_jitter: standard deviation of the VA wander around an emotion's point.
        smoothness_s: time scale of the regular VA trajectories in seconds.
        seed: seed of identities, trajectories, motion and simulator noise.
        preset: simulator preset (``"clean"``, ``"noisy"``; :data:`neurova.simulator.PRESETS`).
        dvs_params: pixel-model parameters over the preset (:class:`neurova.simulator.DVSParams` fields, e.g.
            ``{"shot_noise_rate_hz": 20.0}`` for a camera noisier than ``"noisy"``); None or empty: the preset's.
        upsample: temporal upsampling factor passed to the simulator (None: the simulator decides).
        max_step_px: largest motion between interpolated frames, in pixels (ignored when ``upsample``
            is given; None with ``upsample=None``: no upsampling).
        light_flicker: ``(frequency_hz, depth)`` of a flickering lamp lighting the scene
            (:func:`neurova.simulator.flickering_light`: the clip is upsampled to 20 frames per flicker period,
            replacing ``upsample`` / ``max_step_px``); None: steady light. Part of the cache key only when set.
    """

    n_subjects: int = 12
    clips_per_subject: int = 4
    frames_per_clip: int = 50
    image_size: int = 64
    sensor_size: tuple[int, int] = (160, 120)
    face_fraction: tuple[float, float] = (0.4, 0.6)
    supersample: int = 1
    emotion_clips_per_emotion: int = 2
    emotion_jitter: float = 0.05
    smoothness_s: float = 2.0
    seed: int = 0
    preset: str = "clean"
    dvs_params: Mapping[str, float] | None = None
    upsample: int | None = None
    max_step_px: float | None = 1.0
    light_flicker: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        from neurova.simulator import check_lamp, checked_overrides

        object.__setattr__(self, "dvs_params", checked_overrides(self.preset, self.dvs_params))
        if self.n_subjects < 3:
            raise ValueError(f"n_subjects must be at least 3 (train, val and test subjects), got {self.n_subjects}")
        for name in ("clips_per_subject", "frames_per_clip", "image_size", "supersample"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        object.__setattr__(self, "sensor_size", tuple(int(v) for v in self.sensor_size))
        object.__setattr__(self, "face_fraction", tuple(float(v) for v in self.face_fraction))
        if len(self.sensor_size) != 2 or min(self.sensor_size) < 8:
            raise ValueError(f"sensor_size must be (width, height), each at least 8 pixels, got {self.sensor_size}")
        low, high = self.face_fraction
        if not 0 < low <= high <= 1:
            raise ValueError(f"face_fraction must satisfy 0 < low <= high <= 1, got {self.face_fraction}")
        if self.emotion_clips_per_emotion < 0:
            raise ValueError(f"emotion_clips_per_emotion must be >= 0, got {self.emotion_clips_per_emotion}")
        if self.light_flicker is not None:
            try:
                object.__setattr__(self, "light_flicker", check_lamp(*self.light_flicker))
            except ValueError as exc:
                raise ValueError(f"light_flicker must be (frequency_hz, depth): {exc}") from None

    def cache_params(self) -> dict[str, Any]:
        """Every parameter that changes the events (``image_size`` does not: it is applied at load time)."""
        from neurova.simulator import simulation_key

        params = asdict(self)
        for name in ("image_size", "preset", "dvs_params"):
            del params[name]
        if self.light_flicker is None:
            del params["light_flicker"]  # steady light: the key of the caches from before the field
        return {"version": CACHE_VERSION, **params, **simulation_key(self.preset, self.dvs_params)}

    def jobs(self) -> tuple[dict[str, _Job], dict[str, str]]:
        """``({clip_id: job}, {clip_id: subject})`` of every clip."""
        jobs: dict[str, _Job] = {}
        for s in range(self.n_subjects):
            for c in range(self.clips_per_subject):
                clip_id = f"s{s:03d}-c{c:02d}"
                jobs[clip_id] = _Job(self, clip_id, f"s{s:03d}", ("subject", s), c, -1)
        for k in range(self.emotion_clips_per_emotion):
            for e, name in enumerate(EKMAN7_NAMES):
                clip_id = f"e{k:02d}-{name.lower()}"
                jobs[clip_id] = _Job(self, clip_id, f"e{k:02d}", ("emotion", k), e, e)
        return jobs, {clip_id: job.subject for clip_id, job in jobs.items()}


@dataclass(frozen=True)
class _Job:
    config: SyntheticFacesConfig
    clip_id: str
    subject: str
    identity_key: tuple[str, int]
    clip_index: int
    emotion: int

    def rng(self, stream: int) -> np.random.Generator:
        kind = zlib.crc32(self.identity_key[0].encode())
        return np.random.default_rng([self.config.seed, stream, kind, self.identity_key[1], self.clip_index])


def _make_record(job: _Job, scale: int = 1) -> ClipRecord:
    """Render and simulate the clip of ``job``.

    ``scale > 1`` renders the same scene on a sensor ``scale`` times larger in each direction (layout
    positions and sizes are fractions of the sensor; the background's texture grain is scaled too), as
    a camera with ``scale**2`` times the pixels would see it: used to check resolution consistency.
    """
    from neurova.datasets.render import emotion_trajectory, sample_identity, sample_va_trajectory
    from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
    from neurova.simulator import flickering_light, simulate

    cfg = job.config
    kind = zlib.crc32(job.identity_key[0].encode())
    identity = sample_identity(np.random.default_rng([cfg.seed, 0, kind, job.identity_key[1]]))
    n = cfg.frames_per_clip
    if job.emotion >= 0:
        valence, arousal = EKMAN7[EKMAN7_NAMES[job.emotion]]
        va = emotion_trajectory(valence, arousal, n, job.rng(1), jitter=cfg.emotion_jitter, fps=FPS)
    else:
        va = sample_va_trajectory(n, job.rng(1), fps=FPS, smoothness_s=cfg.smoothness_s)
    sensor = SensorSize(cfg.sensor_size[0] * scale, cfg.sensor_size[1] * scale)
    layout = sample_scene_layout(job.rng(4), sensor, face_fraction=cfg.face_fraction)
    if scale != 1:
        layout = dataclasses.replace(layout, background_cell=layout.background_cell * scale)
    frames, face_boxes = render_scene_clip(identity, layout, va, fps=FPS, rng=job.rng(2), supersample=cfg.supersample)
    timestamps = np.arange(n, dtype=np.int64) * FRAME_INTERVAL_US
    seed = int(job.rng(3).integers(2**31))
    # 8-bit frames, as a camera delivers them (and the simulator's fast lin-log table lookup takes them).
    frames8 = np.rint(frames * 255.0).astype(np.uint8)
    if cfg.light_flicker is None:
        events = simulate(frames8, timestamps, preset=cfg.preset, upsample=cfg.upsample,
                          max_step_px=None if cfg.upsample is not None else cfg.max_step_px, seed=seed,
                          **(cfg.dvs_params or {}))
    else:
        lit, lit_timestamps = flickering_light(frames8, timestamps, *cfg.light_flicker)
        events = simulate(lit, lit_timestamps, preset=cfg.preset, seed=seed, **(cfg.dvs_params or {}))
    return ClipRecord(
        clip_id=job.clip_id,
        subject=job.subject,
        events=events,
        sensor_size=sensor,
        frame_timestamps_us=timestamps,
        va=np.asarray(va, dtype=np.float32),
        labels=np.full(n, job.emotion, dtype=np.int64),
        frame_indices=np.arange(n, dtype=np.int64),
        face_boxes=face_boxes.astype(np.float32),
    )


def synthetic_cache(cache_dir: PathLike | None, config: SyntheticFacesConfig) -> EventCache:
    """The :class:`EventCache` of the synthetic faces under ``config``."""
    return EventCache(cache_dir, "synthetic_faces", config.cache_params())


def check_splits(splits: str | Collection[str] | None, name: str = "splits") -> list[str] | None:
    """``splits`` as a list (a string is one split; None stays None), every name one of :data:`SYNTHETIC_SPLITS`.

    Raises:
        ValueError: naming ``name`` and the unknown splits.
    """
    if splits is None:
        return None
    splits = [splits] if isinstance(splits, str) else list(splits)
    unknown = sorted(set(splits) - set(SYNTHETIC_SPLITS))
    if unknown:
        raise ValueError(f"{name}: unknown splits {unknown}; choose from {SYNTHETIC_SPLITS}")
    return splits


def prepare_synthetic_faces(
    cache_dir: PathLike | None = None,
    config: SyntheticFacesConfig | None = None,
    *,
    splits: Collection[str] | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    num_workers: int = 0,
    rank: int | None = None,
    world_size: int | None = None,
    progress: bool = True,
) -> dict[str, str]:
    """Render and simulate the synthetic clips into the cache (resumable). Returns ``{clip_id: subject}`` of them.

    Every clip is seeded by itself (``seed``, its identity and its index), so its events are the same whether
    it is built alone, with its split or with every clip, and one cache holds them all: building more splits
    later renders and simulates only the clips still missing.

    Args:
        cache_dir: cache folder (default :func:`neurova.datasets.cache.default_cache_dir`).
        config: the clips (default :class:`SyntheticFacesConfig`).
        splits: build only the clips of these splits (:data:`SYNTHETIC_SPLITS`; a string is one split), e.g.
            ``["emotion"]`` for a zero-shot test: 14 of the default 62 clips. None (or one of them ``"all"``):
            every clip.
        val_fraction, test_fraction: the subject hold-out that makes ``"train"``, ``"val"`` and ``"test"``
            (as :class:`SyntheticFaces`); saved beside the cache.
        num_workers: processes that render and simulate (0: this one).
        rank, world_size: shard the build (see :meth:`~neurova.datasets.cache.EventCache.build`).
        progress: show a progress bar.

    Raises:
        ValueError: an unknown split.
    """
    config = config or SyntheticFacesConfig()
    cache = synthetic_cache(cache_dir, config)
    splits = check_splits(splits)
    if splits is None or "all" in splits:
        return cache.ensure(config.jobs, _make_record, num_workers=num_workers, rank=rank, world_size=world_size,
                            progress=progress)
    jobs, subjects = config.jobs()
    _, held_out = synthetic_splits(cache, subjects, val_fraction=val_fraction, test_fraction=test_fraction,
                                   seed=config.seed)
    wanted = sorted({c for split in splits for c in held_out[split]})
    if not cache.has(wanted):
        # a file of their own: building the other splits later never writes a file this process may be reading
        cache.build({c: jobs[c] for c in wanted}, _make_record, num_workers=num_workers, rank=rank,
                    world_size=world_size, progress=progress, part="-".join(sorted(set(splits))))
    return {c: subjects[c] for c in wanted}


def synthetic_splits(
    cache: EventCache, subjects: dict[str, str], *, val_fraction: float, test_fraction: float, seed: int
) -> tuple[Path, dict[str, list[str]]]:
    """Subject hold-out of the regular clips plus the ``"emotion"`` clips, saved beside the cache."""
    path = cache.split_path(f"holdout-val{val_fraction:g}-test{test_fraction:g}-seed{seed}")
    if path.is_file():
        return path, load_split(path)
    regular = sorted(c for c, s in subjects.items() if s.startswith("s"))
    split = subject_holdout(regular, [subjects[c] for c in regular], val_fraction=val_fraction,
                            test_fraction=test_fraction, seed=seed)
    split["emotion"] = sorted(c for c, s in subjects.items() if s.startswith("e"))
    save_split(path, split, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, by="subject")
    return path, split


class SyntheticFaces(EventCacheDataset):
    """Procedural face clips with known valence and arousal, simulated to events and encoded at load time.

    Builds the clips of its split on first use (``build=True``; the other splits' clips are built when they
    are asked for, into the same cache, with the same events). Samples follow
    :class:`~neurova.datasets.cache.EventCacheDataset`: ``frames`` ``(T, C, S, S)`` float32 (the events
    in the face box of the sample's last frame, brought to ``S = contract.image_size`` and encoded as the
    contract says), ``va`` ``(T, 2)``, ``label`` (the emotion index for the ``"emotion"`` split, else -1).

    The clips are given either as ``config`` or as its keyword arguments, the input recipe either as
    ``contract`` or as its keyword arguments (``mode``, ``clip_length``, ``image_size``, ``encoding``,
    ``n_bits``, ``bin_us``, ``polarity``; None: the default), never both.

    Args:
        root: cache folder (default :func:`neurova.datasets.cache.default_cache_dir`).
        split: one of ``"train"``, ``"val"``, ``"test"``, ``"emotion"``, ``"all"``.
        config: the clips (:class:`SyntheticFacesConfig`); its ``image_size`` is the contract's.
        contract: the input recipe (:class:`~neurova.contract.InputContract` or its dict, e.g. a model's
            ``model.input_contract``); its ``frame_interval_us`` must be the clips' 40,000 µs.
        n_subjects, clips_per_subject, frames_per_clip, sensor_size, face_fraction, supersample,
            emotion_clips, emotion_clips_per_emotion, seed, preset, dvs_params, upsample, max_step_px:
            see :class:`SyntheticFacesConfig` (``emotion_clips=False`` sets ``emotion_clips_per_emotion`` to 0).
        mode: ``"frame"`` (one frame per sample) or ``"clip"`` (``clip_length`` frames; the default).
        clip_length: T in clip mode (default 4).
        image_size: side S of the model input (default 64, or ``config.image_size``).
        encoding: ``"tbr"`` (default) or another encoding of :func:`neurova.transforms.encoder_from_contract`.
        n_bits, bin_us, polarity: TBR settings (default 8, 5000 µs, ``"merge"``; a frame spans ``n_bits * bin_us``).
        stride: step between the first frames of consecutive samples of a clip.
        val_fraction, test_fraction: share of the subjects held out for validation and test.
        build: render and simulate the split's missing clips now (False: they must be in the cache).
        num_workers: processes used while building.
        progress: show a progress bar while building.
        in_memory: keep all events of the split in RAM (a few MB at the defaults).
        cache_frames: keep every sample's encoded frames in RAM after their first use (see
            :class:`~neurova.datasets.cache.EventCacheDataset`).
        phase_us: µs between each sample's last frame and the end of its window (0: on the frame), or several
            taken by the samples in turn (see :class:`~neurova.datasets.cache.EventCacheDataset`).
        box_jitter, jitter_seed: the face box's error, a new one at every call or fixed per sample (see
            :class:`~neurova.datasets.cache.EventCacheDataset`).

    Raises:
        ValueError: an unknown split, or ``config`` with clip keyword arguments.
        InputContractError: ``contract`` with recipe keyword arguments, or a bad recipe.
    """

    def __init__(
        self,
        root: PathLike | None = None,
        split: Literal["train", "val", "test", "emotion", "all"] = "train",
        *,
        config: SyntheticFacesConfig | None = None,
        contract: InputContract | Mapping[str, Any] | None = None,
        n_subjects: int = 12,
        clips_per_subject: int = 4,
        frames_per_clip: int = 50,
        sensor_size: tuple[int, int] = (160, 120),
        face_fraction: tuple[float, float] = (0.4, 0.6),
        supersample: int = 1,
        emotion_clips: bool = True,
        emotion_clips_per_emotion: int = 2,
        seed: int = 0,
        preset: str = "clean",
        dvs_params: dict[str, float] | None = None,
        upsample: int | None = None,
        max_step_px: float | None = 1.0,
        mode: Literal["frame", "clip"] | None = None,
        clip_length: int | None = None,
        image_size: int | None = None,
        encoding: Encoding | None = None,
        n_bits: int | None = None,
        bin_us: int | None = None,
        polarity: Literal["merge", "split"] | None = None,
        stride: int = 1,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        build: bool = True,
        num_workers: int = 0,
        progress: bool = True,
        in_memory: bool = False,
        cache_frames: bool = False,
        phase_us: int | Sequence[int] = 0,
        box_jitter: tuple[float, float] | None = None,
        jitter_seed: int | None = None,
    ) -> None:
        if split not in SYNTHETIC_SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SYNTHETIC_SPLITS}")
        clips = _clip_config(config, n_subjects=n_subjects, clips_per_subject=clips_per_subject,
                             frames_per_clip=frames_per_clip, sensor_size=sensor_size, face_fraction=face_fraction,
                             supersample=supersample, emotion_clips_per_emotion=emotion_clips_per_emotion
                             if emotion_clips else 0, seed=seed, preset=preset, dvs_params=dvs_params,
                             upsample=upsample, max_step_px=max_step_px)
        contract = synthetic_contract(contract, default_image_size=clips.image_size, image_size=image_size, mode=mode,
                                      clip_length=clip_length, encoding=encoding, n_bits=n_bits, bin_us=bin_us,
                                      polarity=polarity)
        self.config = dataclasses.replace(clips, image_size=contract.image_size)
        cache = synthetic_cache(root, self.config)
        if build:
            prepare_synthetic_faces(root, self.config, splits=[split], val_fraction=val_fraction,
                                    test_fraction=test_fraction, num_workers=num_workers, rank=0, world_size=1,
                                    progress=progress)
        elif not cache.root.is_dir():
            raise DatasetNotFoundError("the event cache is not built; call prepare_data() first", cache.root)
        _, subjects = self.config.jobs()
        self.split_path, splits = synthetic_splits(cache, subjects, val_fraction=val_fraction,
                                                   test_fraction=test_fraction, seed=self.config.seed)
        clip_ids = sorted(subjects) if split == "all" else splits[split]
        super().__init__(cache, clip_ids, contract, stride=stride, in_memory=in_memory,
                         cache_frames=cache_frames, phase_us=phase_us, box_jitter=box_jitter,
                         jitter_seed=jitter_seed)
        self.split = split


def synthetic_contract(contract: InputContract | Mapping[str, Any] | None = None, *,
                       owner: str = "SyntheticFaces", default_image_size: int = SyntheticFacesConfig.image_size,
                       mode: Literal["frame", "clip"] | None = None, **options: Any) -> InputContract:
    """The input contract of synthetic-face samples: ``contract``, or the keyword ``options`` (None: not given)
    over the defaults (TBR, N = 8, Δt = 5 ms, merged polarity, 4 frames of ``default_image_size``), 40 ms apart,
    cropped to the true face box (``face_crop="box"``). See :func:`neurova.contract.resolve_contract`."""
    defaults = {**FACE_CLIP_RECIPE, "image_size": default_image_size}
    return resolve_contract(contract, owner=owner, defaults=defaults, mode=mode,
                            fixed={"frame_interval_us": FRAME_INTERVAL_US}, data={"face_crop": "box"}, **options)


def _clip_config(config: SyntheticFacesConfig | None, **options: Any) -> SyntheticFacesConfig:
    """``config``, or the clips of the keyword ``options``; both (an option off its default) is refused."""
    built = SyntheticFacesConfig(**options)
    if config is None:
        return built
    default = SyntheticFacesConfig()
    changed = sorted(k for k in options if getattr(built, k) != getattr(default, k))
    if changed:
        raise ValueError(f"SyntheticFaces: give the clips either as config=... or as keyword arguments, not both "
                         f"(got config and {', '.join(changed)})")
    return config
