"""The synthetic-faces protocol and the training recipes shared by the zoo, the leaderboard and the demo.

* :class:`Protocol` / :data:`SYNTHETIC_FACES`: the data (synthetic faces, their sizes, the subject split) and the
  training budget (epochs, batch) of every tag and leaderboard entry; ``neurova demo`` uses the same data;
* :data:`SENSORS` / :func:`sensor_options`: named simulated sensors (clean, v2e's noisy, dim, dark; and
  ``threshold_ON[_OFF]``, the clean pixel with other contrast thresholds);
  :data:`SYNTHETIC_FACES_NOISE`, the protocol whose training subjects are also seen by the noisy ones,
  :data:`SYNTHETIC_FACES_CAMERAS`, by the noisy ones and by sensors of other contrast thresholds, and
  :data:`DATA`, the protocol of each tag's data name;
* :class:`Recipe` / :data:`RECIPES` / :func:`recipe_for`: how each family of networks is trained (learning rate,
  weight decay, warm-up, flips, model arguments) and why.

Plain data, one definition each (only :meth:`Protocol.describe` reads the synthetic faces' render version):
:mod:`neurova.zoo` and :mod:`neurova.leaderboard` re-export them, :mod:`neurova.demo` takes its defaults from them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from neurova.contract import check_phases

__all__ = ["DATA", "RECIPES", "SENSORS", "SYNTHETIC_FACES", "SYNTHETIC_FACES_CAMERAS", "SYNTHETIC_FACES_NOISE",
           "Protocol", "Recipe", "data_name", "recipe_for", "sensor_options"]

SENSORS: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "clean": ("clean", ()),
    "noisy": ("noisy", ()),
    "dim": ("noisy", (("shot_noise_rate_hz", 20.0), ("leak_rate_hz", 0.5))),
    "dark": ("noisy", (("shot_noise_rate_hz", 50.0), ("leak_rate_hz", 1.0))),
    "davis346_dark": ("noisy", (("shot_noise_rate_hz", 28.0), ("leak_rate_hz", 0.15), ("pos_thres", 0.22),
                                ("neg_thres", 0.22))),
    "davis346_lit": ("noisy", (("shot_noise_rate_hz", 0.8), ("leak_rate_hz", 0.15), ("pos_thres", 0.22),
                               ("neg_thres", 0.22))),
}
"""Named simulated sensors: ``(simulator preset, pixel-model parameters over it)``. ``clean`` is the protocol's;
``noisy`` is v2e's noisy preset (threshold spread 0.05, cutoff 30 Hz, leak 0.1 Hz, shot noise 5 Hz at black);
``dim`` and ``dark`` add shot noise (20 and 50 Hz) and leak (0.5 and 1 Hz), as a sensor in dim light;
``davis346_dark`` and ``davis346_lit`` are fitted to a real DAVIS346 recording of a lit lab
(``benchmarks/bench_real_threshold.py``: its events against its own APS frames): thresholds 0.22, leak 0.15 Hz,
and shot noise of 28 Hz (what its still dark pixels fire) or 0.8 Hz (its still lit ones). The real camera's noise
falls far more steeply with brightness than v2e's model, which no single rate reproduces: the two bracket it.
:func:`sensor_options` also knows ``threshold_ON[_OFF]``: the ``clean`` pixel with other contrast thresholds."""

_THRESHOLD_SENSOR = re.compile(r"threshold_(\d+(?:\.\d+)?)(?:_(\d+(?:\.\d+)?))?")


def sensor_options(name: str) -> dict[str, Any]:
    """``{"preset": ..., "dvs_params": ...}`` of the sensor ``name`` (the synthetic datasets' keyword arguments).

    ``name`` is a :data:`SENSORS` key, or ``threshold_ON`` / ``threshold_ON_OFF``: the ``clean`` pixel with ON and
    OFF contrast thresholds ``ON`` and ``OFF`` (log units; the training data's are 0.2; real cameras are set from
    about 0.1 to 0.5 by their biases), e.g. ``threshold_0.1`` or ``threshold_0.3_0.15``.
    """
    if name in SENSORS:
        preset, params = SENSORS[name]
        return {"preset": preset, "dvs_params": dict(params) or None}
    match = _THRESHOLD_SENSOR.fullmatch(name)
    if match is None or float(match[1]) <= 0 or float(match[2] or match[1]) <= 0:
        raise ValueError(f"unknown sensor {name!r}; choose from {sorted(SENSORS)} or threshold_ON[_OFF] (contrast "
                         f"thresholds > 0 in log units, e.g. threshold_0.1)")
    return {"preset": "clean", "dvs_params": {"pos_thres": float(match[1]), "neg_thres": float(match[2] or match[1])}}


@dataclass(frozen=True)
class Protocol:
    """The data and budget every tag and leaderboard entry shares (defaults: the demo's synthetic faces, 10 epochs).

    Attributes:
        n_subjects, clips_per_subject, frames_per_clip, image_size, emotion_clips_per_emotion: the synthetic
            faces (:class:`neurova.datasets.SyntheticFacesConfig`), rendered and simulated once with ``data_seed``
            (the emotion clips are not used for training; they make the event cache the same as ``neurova demo``'s).
        clip_length: TBR frames per sample (the fusion and video models read all of them).
        stride: frames between the starts of two samples of a clip.
        val_fraction, test_fraction: shares of the subjects held out (split by subject, ``data_seed``).
        data_seed: seed of the faces, the events and the split.
        epochs: passes over the training set of every trained model (the fixed budget).
        batch_size: samples per optimiser step.
        train_sensors: further :data:`SENSORS` the training subjects are simulated under, each adding one more copy
            of the training split (the same faces and labels as another camera would record them); validation and
            test stay on the ``clean`` events. ``()``: the clean events only.
        train_phases_us: where the training samples' windows end, in µs before their frame. The events are
            simulated from 25 fps video, and windows that always end on its frames teach a model that frame clock,
            which a real camera does not have (``benchmarks/bench_detected_crops.py --phase-ms``). Each copy's
            samples take the phases in turn, each copy starting one phase later than the last, so every sample
            meets every phase across the sensors (:meth:`train_copies`); no extra samples. ``()``: every window on
            its frame. Validation and test stay on the frames.
        train_box_jitter: ``(shift, scale)`` of a face detector's box error (:class:`neurova.faces.BoxJitter`),
            applied to each training sample's face box before its events are cropped and encoded (exact: a
            detector's box at inference gives the same input). Each sample's error is drawn once, copy ``k``'s
            with ``jitter_seed=k`` (:class:`~neurova.datasets.cache.EventCacheDataset`), so every copy sees the
            face another way and training costs nothing more. None: the true boxes.
    """

    n_subjects: int = 240
    clips_per_subject: int = 1
    frames_per_clip: int = 40
    image_size: int = 64
    emotion_clips_per_emotion: int = 4
    clip_length: int = 4
    stride: int = 4
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    data_seed: int = 0
    epochs: int = 10
    batch_size: int = 32
    train_sensors: tuple[str, ...] = ()
    train_phases_us: tuple[int, ...] = ()
    train_box_jitter: tuple[float, float] | None = None
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("train_sensors", "train_phases_us", "train_box_jitter")
    """Fields added after results were first saved: unset, they are left out of job keys and comparisons
    (:func:`stored_spec`), so older results keep matching."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "train_sensors", tuple(self.train_sensors))
        for name in self.train_sensors:
            sensor_options(name)  # an unknown name raises here
        phases = tuple(self.train_phases_us)
        if phases:
            phases = check_phases(phases, "train_phases_us")
        object.__setattr__(self, "train_phases_us", phases)
        if self.train_box_jitter is not None:
            from neurova.faces import BoxJitter

            jitter = BoxJitter.of(self.train_box_jitter, "train_box_jitter")
            object.__setattr__(self, "train_box_jitter", (jitter.shift, jitter.scale))

    def train_copies(self) -> list[tuple[str, tuple[int, ...]]]:
        """``(sensor, phases_us)`` of each copy of the training split, in order: ``"clean"``, then
        :attr:`train_sensors`; copy ``k``'s samples take :attr:`train_phases_us` (``(0,)`` when there are none)
        rotated by ``k`` in turn (:class:`~neurova.datasets.cache.EventCacheDataset`'s ``phase_us``)."""
        phases = self.train_phases_us or (0,)
        return [(sensor, phases[k % len(phases):] + phases[:k % len(phases)])
                for k, sensor in enumerate(("clean", *self.train_sensors))]

    def describe(self) -> str:
        """One line for model cards and tables."""
        from neurova.datasets.synthetic import CACHE_VERSION

        return (f"neurova synthetic faces ({CACHE_VERSION}): {self.n_subjects} subjects x {self.clips_per_subject} "
                f"clip(s) of {self.frames_per_clip} frames at 25 fps, {self.image_size} x {self.image_size} px, "
                f"data seed {self.data_seed}; split by subject {1 - self.val_fraction - self.test_fraction:.0%} train / "
                f"{self.val_fraction:.0%} validation / {self.test_fraction:.0%} test; samples of {self.clip_length} "
                f"frames every {self.stride} frames"
                + (f"; training subjects also simulated by the {', '.join(self.train_sensors)} sensor(s) "
                   f"({1 + len(self.train_sensors)}x the training samples)" if self.train_sensors else "")
                + (f"; training windows ending {', '.join(f'{p / 1000:g}' for p in self.train_phases_us)} ms before "
                   f"their frame, the samples' in turn" if self.train_phases_us else "")
                + (f"; training face boxes moved by N(0, {self.train_box_jitter[0]:g}) sides and scaled by "
                   f"exp(N(0, {self.train_box_jitter[1]:g})) before the crop, one draw per sample and copy"
                   if self.train_box_jitter else ""))


SYNTHETIC_FACES = Protocol()
"""The protocol of the ``synthetic_faces`` tags and of the leaderboard (the one definition of its sizes)."""
SYNTHETIC_FACES_NOISE = Protocol(train_sensors=("noisy", "dim", "dark"))
"""The protocol of the ``synthetic_faces_noise`` tags: the same faces, the training subjects also seen by three
noisy sensors (``benchmarks/bench_sensor_noise.py``: robust to sensor noise, and better on clean events too)."""
SYNTHETIC_FACES_CAMERAS = Protocol(train_sensors=("noisy", "dim", "dark", "threshold_0.1", "threshold_0.15",
                                                  "threshold_0.3", "threshold_0.4", "davis346_lit", "davis346_dark"),
                                   train_phases_us=(0, 10_000, 20_000, 30_000), train_box_jitter=(0.04, 0.09))
"""The protocol of the ``synthetic_faces_cameras`` tags: the noise protocol's sensors and four clean sensors with
contrast thresholds of 0.1, 0.15, 0.3 and 0.4 (the others' are 0.2), as cameras set more or less sensitive by their
biases record the same faces (``benchmarks/bench_sensor_noise.py``: robust to both), and the two sensors fitted
to a real DAVIS346 (``davis346_lit``, ``davis346_dark``: ``benchmarks/bench_real_threshold.py``); the training
windows end 0, 10, 20 or 30 ms before their video frame, as a real camera's windows do not follow the video's frame clock
(``benchmarks/bench_detected_crops.py --phase-ms``); and the training face boxes carry a face detector's error
(shift sd 0.04 of a side, log-scale sd 0.09, one draw per sample and copy), as a real recording's crops come from
a detector, not from the renderer (``benchmarks/bench_detected_crops.py --detectors learned``)."""
DATA: dict[str, Protocol] = {"synthetic_faces": SYNTHETIC_FACES, "synthetic_faces_noise": SYNTHETIC_FACES_NOISE,
                             "synthetic_faces_cameras": SYNTHETIC_FACES_CAMERAS}
"""Data name of a tag (``<model>.<data>``) → its protocol."""


def stored_spec(spec: Mapping[str, Any], kind: type[Protocol] | type[Recipe]) -> dict[str, Any]:
    """``spec`` (a :class:`Protocol` or :class:`Recipe` as a dict, e.g. ``dataclasses.asdict`` or read back from a
    results JSON) without ``kind.LATER_FIELDS`` that are unset (empty or None): the form job keys hash and saved
    results are compared in, the same for results saved before those fields existed."""
    return {name: value for name, value in spec.items() if name not in kind.LATER_FIELDS or value}


def data_name(protocol: Protocol) -> str | None:
    """The :data:`DATA` name of ``protocol``'s data: the one with the same training sensors, phases and box error
    (``"synthetic_faces"`` for the clean events only, on the frames, with the true boxes). A protocol of other
    sizes or budget is a variant of that data, as ``neurova.zoo.build(tag, protocol=...)`` makes; None where no
    data name has its training data."""
    return next((name for name, known in DATA.items()
                 if (known.train_sensors, known.train_phases_us, known.train_box_jitter)
                 == (protocol.train_sensors, protocol.train_phases_us, protocol.train_box_jitter)), None)


@dataclass(frozen=True)
class Recipe:
    """How one family of networks is trained (on top of the protocol's budget).

    Every recipe uses AdamW and a cosine schedule to 0 stepped per batch, and keeps the model of the last epoch.

    Attributes:
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay (not on biases and normalisation weights).
        warmup_steps: linear warm-up steps.
        hflip: random horizontal flips of the training clips, probability 0.5
            (:class:`neurova.augment.RandomHorizontalFlip`).
        model_args: extra constructor arguments, as ``(name, value)`` pairs.
        why: the reason for these choices (shown in the docs and the model cards).
        box_jitter: ``(shift, scale)`` of :class:`neurova.augment.RandomBoxJitter` (crops moved and scaled as a
            face detector's error does), or None.

    Every field, ``why`` included, goes into the leaderboard's job key
    (:meth:`neurova.leaderboard.Entry.key`; ``box_jitter`` only when set): editing a recipe reruns its entries'
    saved results.
    """

    lr: float
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    hflip: bool = True
    model_args: tuple[tuple[str, Any], ...] = ()
    why: str = ""
    box_jitter: tuple[float, float] | None = None
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("box_jitter",)
    """Fields added after results were first saved (see :attr:`Protocol.LATER_FIELDS`)."""

    def describe(self) -> str:
        """One line: optimiser, schedule, augmentation, model arguments."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.model_args)
        augmentation = [*(["random horizontal flips (p = 0.5)"] if self.hflip else []),
                        *([f"face-box jitter (shift sd {self.box_jitter[0]:g}, log-scale sd {self.box_jitter[1]:g})"]
                          if self.box_jitter else [])]
        return (f"AdamW (lr {self.lr:g}, weight decay {self.weight_decay:g}, {self.warmup_steps} warm-up steps), "
                f"cosine schedule to 0 stepped per batch, "
                f"{' and '.join(augmentation) or 'no augmentation'}"
                f"{'; model arguments ' + args if args else ''}")


_CNN_WHY = ("AdamW with a cosine schedule to 0 and horizontal flips (a mirrored face has the same valence and "
            "arousal); the demo's learning rate for ResNet trunks")
RECIPES: dict[str, Recipe] = {
    "tiny_cnn": Recipe(lr=3e-3, why="a small net trains well at a larger learning rate; cosine schedule, flips"),
    "resnet": Recipe(lr=2e-3, why=_CNN_WHY),
    "vit": Recipe(lr=5e-4, weight_decay=0.05, warmup_steps=50, model_args=(("img_size", 64),),
                  why="transformers need warm-up, a lower learning rate and stronger weight decay; the position "
                      "grid is built for the 64 px input"),
    # the text of `why` is part of the leaderboard key too: this one predates the attention recipe, kept as it was
    "temporal": Recipe(lr=1e-3, why="ResNet-18 per frame plus a recurrent/attention model: a lower learning rate "
                                    "keeps the temporal model stable; cosine schedule, flips"),
    "attention": Recipe(lr=1e-3, warmup_steps=50,
                        why="ResNet-18 per frame plus a Transformer encoder: the recurrent heads' learning rate with "
                            "the warm-up transformers need (about one epoch); cosine schedule, flips"),
    "video3d": Recipe(lr=1e-3, why="3-D CNNs from scratch: the lower learning rate of video models; cosine, flips"),
    "default": Recipe(lr=1e-3, why="the library's defaults (no family recipe is known for this model)"),
}
"""Recipe of each model family (:func:`recipe_for` maps a registered name to its family)."""


def recipe_for(model: str) -> Recipe:
    """The :data:`RECIPES` entry of a registered model name (by family: tiny CNN, ViT, recurrent, attention, 3-D,
    ResNet)."""
    if model.startswith("tiny_cnn"):
        return RECIPES["tiny_cnn"]
    if model.startswith("vit"):
        return RECIPES["vit"]
    if model.endswith("_transformer"):
        return RECIPES["attention"]
    if model.endswith(("_lstm", "_gru")):
        return RECIPES["temporal"]
    if model.startswith(("r3d", "r2plus1d")):
        return RECIPES["video3d"]
    if model.startswith("resnet"):
        return RECIPES["resnet"]
    return RECIPES["default"]
