"""The model-zoo leaderboard: one fixed protocol on the synthetic faces, resumable runs, a table, a plot, tags.

Protocol (:class:`Protocol`, documented in ``docs/leaderboard.md``): the synthetic faces of the demo
(240 subjects, one 40-frame clip each, 64 x 64 pixels, data seed 0), split by subject into train /
validation / test (70 / 15 / 15 %); samples of ``clip_length = 4`` TBR frames every 4 frames. Every
trained entry gets the same budget (``epochs`` over the training subjects, batch 32, AdamW, cosine
schedule) and its family's recipe (:data:`RECIPES`); the model of the **last** epoch is scored on the
unseen **test** subjects (no selection on any held-out data); the validation subjects only served to
choose the recipes and the ridge penalty. Each entry runs with the seeds :data:`SEEDS`; the table
gives mean ± sd over them.

Entries (:func:`entries`): every registered architecture, the baselines (training mean, ridge on
pooled TBR activity) and TBR variants (bit depth N and bin Δt) on the tiny CNN. ``grid="reduced"``
keeps the entries that fit in an hour on 2 CPU cores and lists the others as skipped.

Each (entry, seed) writes ``results/<entry>/seed<k>.json`` atomically; reruns skip finished ones,
``shard=(i, n)`` spreads the jobs over machines (``RANK`` / ``WORLD_SIZE`` by default). The seed-0
run of every architecture at the default encoding is saved as the tagged checkpoint
``checkpoints/<model>.synthetic_faces`` (``save_pretrained`` + model card); :func:`build_tag`
reproduces one alone, bit for bit on CPU.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from neurova._atomic import atomic_path

if TYPE_CHECKING:
    from neurova.contract import InputContract
    from neurova.models.base import VARegressionModule

__all__ = [
    "GRIDS",
    "RECIPES",
    "SEEDS",
    "Entry",
    "Protocol",
    "Recipe",
    "SplitTensors",
    "build_tag",
    "entries",
    "load_splits",
    "parse_shard",
    "profile_model",
    "run_leaderboard",
    "score",
    "tags",
    "train_entry",
    "write_report",
]

PROTOCOL_VERSION = 1
"""Changes whenever the protocol's meaning changes; part of every result's key (older results are rerun)."""
SEEDS = (0, 1, 2)
GRIDS = ("reduced", "full")
TAG_SUFFIX = ".synthetic_faces"
DIMS = ("valence", "arousal")
METRICS = ("ccc", "pcc", "rmse", "sagr")
Grid = Literal["reduced", "full"]


@dataclass(frozen=True)
class Protocol:
    """The data and budget every entry shares (defaults: the demo's synthetic faces, 10 epochs).

    Attributes:
        n_subjects, clips_per_subject, frames_per_clip, image_size, emotion_clips_per_emotion: the synthetic
            faces (:class:`neurova.datasets.SyntheticFacesConfig`), rendered and simulated once with ``data_seed``
            (the emotion clips are not used here; they make the event cache the same as ``neurova demo``'s).
        clip_length: frames per sample (the fusion and video models read all of them).
        stride: frames between the starts of two samples of a clip.
        val_fraction, test_fraction: shares of the subjects held out (split by subject, ``data_seed``).
        data_seed: seed of the faces, the events and the split.
        epochs: passes over the training set of every trained entry (the fixed budget).
        batch_size: samples per optimiser step.
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

    def describe(self) -> str:
        """One line for model cards and tables."""
        return (f"neurova synthetic faces: {self.n_subjects} subjects x {self.clips_per_subject} clip(s) of "
                f"{self.frames_per_clip} frames at 25 fps, {self.image_size} x {self.image_size} px, data seed "
                f"{self.data_seed}; split by subject {1 - self.val_fraction - self.test_fraction:.0%} train / "
                f"{self.val_fraction:.0%} validation / {self.test_fraction:.0%} test; samples of {self.clip_length} "
                f"frames every {self.stride} frames")


@dataclass(frozen=True)
class Recipe:
    """How one family of networks is trained (on top of the protocol's budget).

    Attributes:
        lr: AdamW learning rate (cosine schedule to 0 over the budget).
        weight_decay: AdamW weight decay (not on biases and normalisation weights).
        warmup_steps: linear warm-up steps.
        hflip: random horizontal flips of the training clips (:class:`neurova.augment.RandomHorizontalFlip`).
        model_args: extra constructor arguments, as ``(name, value)`` pairs.
        why: the reason for these choices (shown in the docs and the model cards).
    """

    lr: float
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    hflip: bool = True
    model_args: tuple[tuple[str, Any], ...] = ()
    why: str = ""


_CNN_WHY = ("AdamW with a cosine schedule to 0 and horizontal flips (a mirrored face has the same valence and "
            "arousal); the demo's learning rate for ResNet trunks")
RECIPES: dict[str, Recipe] = {
    "tiny_cnn": Recipe(lr=3e-3, why="a small net trains well at a larger learning rate; cosine schedule, flips"),
    "resnet": Recipe(lr=2e-3, why=_CNN_WHY),
    "vit": Recipe(lr=5e-4, weight_decay=0.05, warmup_steps=50, model_args=(("img_size", 64),),
                  why="transformers need warm-up, a lower learning rate and stronger weight decay; the position "
                      "grid is built for the 64 px input"),
    "temporal": Recipe(lr=1e-3, why="ResNet-18 per frame plus a recurrent/attention model: a lower learning rate "
                                    "keeps the temporal model stable; cosine schedule, flips"),
    "video3d": Recipe(lr=1e-3, why="3-D CNNs from scratch: the lower learning rate of video models; cosine, flips"),
    "default": Recipe(lr=1e-3, why="the library's defaults (no family recipe is known for this model)"),
}
"""Recipe of each model family (:func:`recipe_for` maps a registered name to its family)."""


def recipe_for(model: str) -> Recipe:
    """The :data:`RECIPES` entry of a registered model name."""
    if model.startswith("tiny_cnn"):
        return RECIPES["tiny_cnn"]
    if model.startswith("vit"):
        return RECIPES["vit"]
    if model.endswith(("_lstm", "_gru", "_transformer")):
        return RECIPES["temporal"]
    if model.startswith(("r3d", "r2plus1d")):
        return RECIPES["video3d"]
    if model.startswith("resnet"):
        return RECIPES["resnet"]
    return RECIPES["default"]


@dataclass(frozen=True)
class Entry:
    """One row of the leaderboard.

    Attributes:
        name: unique, file-system safe id (``"tiny_cnn_fusion"``, ``"tiny_cnn_fusion-tbr_n4_dt5000"``, ``"ridge"``).
        kind: ``"model"`` (a registered network), ``"mean"`` or ``"ridge"`` (:mod:`neurova.baselines`).
        model: registered model name (model entries).
        recipe: training recipe (model entries).
        n_bits, bin_us: TBR bit depth N and bin Δt in µs of the inputs.
        skip_reason: why the reduced grid skips it (empty: part of the reduced grid).
    """

    name: str
    kind: Literal["model", "mean", "ridge"]
    model: str | None = None
    recipe: Recipe | None = None
    n_bits: int = 8
    bin_us: int = 5000
    skip_reason: str = ""

    @property
    def tag(self) -> str | None:
        """``<model>.synthetic_faces`` for an architecture at the default encoding, else None."""
        if self.kind != "model" or (self.n_bits, self.bin_us) != (8, 5000):
            return None
        return f"{self.model}{TAG_SUFFIX}"

    def key(self, protocol: Protocol) -> str:
        """Hash of everything that determines this entry's results (older results with another key are rerun)."""
        spec = {"version": PROTOCOL_VERSION, "entry": asdict(self), "protocol": asdict(protocol)}
        spec["entry"].pop("skip_reason")
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


_REDUCED_MODELS = ("tiny_cnn", "tiny_cnn_fusion")
_SLOW = "too slow for the reduced grid's hour on 2 CPU cores"
_FULL_ONLY_BINS = "bin-width variants run in the full grid only"
TBR_BITS = (1, 2, 4, 8, 16)
TBR_BINS_US = (2500, 5000, 10000)
RIDGE_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
TBR_VARIANT_MODEL = "tiny_cnn"
"""The TBR variants train the single-frame tiny CNN, so one frame holds exactly the N bins being compared."""


def entries(grid: Grid = "full") -> list[Entry]:
    """The entries of ``grid``: ``"full"`` lists every entry, ``"reduced"`` those without a ``skip_reason``.

    Full grid: the training mean, ridge regression, every registered architecture (at N = 8, Δt = 5 ms)
    and the tiny CNN with N in :data:`TBR_BITS` (Δt = 5 ms) and Δt in :data:`TBR_BINS_US` (N = 8). The
    reduced grid keeps the baselines, both tiny CNNs and the bit-depth variants.
    """
    from neurova.models import list_models

    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; expected one of {GRIDS}")
    rows = [Entry("mean", "mean"), Entry("ridge", "ridge")]
    for name in list_models():
        rows.append(Entry(name, "model", name, recipe_for(name), skip_reason="" if name in _REDUCED_MODELS else _SLOW))
    variants = [(n, 5000) for n in TBR_BITS] + [(8, dt) for dt in TBR_BINS_US]
    for n_bits, bin_us in dict.fromkeys(variants):
        if (n_bits, bin_us) != (8, 5000):
            rows.append(Entry(f"{TBR_VARIANT_MODEL}-tbr_n{n_bits}_dt{bin_us}", "model", TBR_VARIANT_MODEL,
                              recipe_for(TBR_VARIANT_MODEL), n_bits=n_bits, bin_us=bin_us,
                              skip_reason="" if bin_us == 5000 else _FULL_ONLY_BINS))
    return rows if grid == "full" else [e for e in rows if not e.skip_reason]


def tags() -> dict[str, Entry]:
    """``{tag: entry}`` of every taggable entry (``"tiny_cnn.synthetic_faces"``, ``"resnet18_fusion.synthetic_faces"``, ...)."""
    return {e.tag: e for e in entries("full") if e.tag is not None}


def parse_shard(value: str | None = None) -> tuple[int, int]:
    """``"i/n"`` → ``(i, n)`` with ``0 <= i < n``; None reads ``RANK`` / ``WORLD_SIZE`` (default ``(0, 1)``)."""
    if value is None:
        index, count = os.environ.get("RANK", "0"), os.environ.get("WORLD_SIZE", "1")
    else:
        index, _, count = value.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise ValueError(f"shard must be 'i/n' with integers 0 <= i < n, got {value!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"shard must be 'i/n' with integers 0 <= i < n, got {i}/{n}")
    return i, n


# -- data ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitTensors:
    """One split held in memory: ``frames`` ``(N, T, C, H, W)`` float32 and ``va`` ``(N, T, 2)`` float32."""

    frames: Tensor
    va: Tensor

    @property
    def target(self) -> Tensor:
        """``(N, 2)``: valence and arousal of each sample's last frame (what every entry is scored on)."""
        return self.va[:, -1]


class _SplitDataset(Dataset):
    """Dict samples (``frames`` ``(T, C, H, W)``, ``va`` ``(T, 2)``) over a :class:`SplitTensors`."""

    def __init__(self, split: SplitTensors) -> None:
        self.split = split

    def __len__(self) -> int:
        return int(self.split.frames.shape[0])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {"frames": self.split.frames[index], "va": self.split.va[index]}


def _datamodule(protocol: Protocol, n_bits: int, bin_us: int, cache_dir: str | os.PathLike[str] | None) -> Any:
    from neurova.datamodules import SyntheticFacesDataModule

    p = protocol
    return SyntheticFacesDataModule(
        cache_dir=cache_dir, n_subjects=p.n_subjects, clips_per_subject=p.clips_per_subject,
        frames_per_clip=p.frames_per_clip, image_size=p.image_size,
        emotion_clips=p.emotion_clips_per_emotion > 0, emotion_clips_per_emotion=p.emotion_clips_per_emotion,
        seed=p.data_seed,
        clip_length=p.clip_length, stride=p.stride, n_bits=n_bits, bin_us=bin_us, val_fraction=p.val_fraction,
        test_fraction=p.test_fraction, batch_size=p.batch_size,
    )


def load_splits(protocol: Protocol, n_bits: int = 8, bin_us: int = 5000, *,
                cache_dir: str | os.PathLike[str] | None = None) -> tuple[dict[str, SplitTensors], InputContract]:
    """Render/simulate the protocol's faces (cached), encode them once and return the three splits in memory.

    Returns:
        ``({"train": ..., "val": ..., "test": ...}, input_contract)``; splits are subject-disjoint.
    """
    datamodule = _datamodule(protocol, n_bits, bin_us, cache_dir)
    datamodule.prepare_data()
    datamodule.setup(None)
    splits = {}
    for name, dataset in (("train", datamodule.train_set), ("val", datamodule.val_set),
                          ("test", datamodule.test_set)):
        if len(dataset) == 0:
            raise ValueError(f"the {name} split of the protocol is empty; use more subjects or larger fractions")
        samples = [dataset[i] for i in range(len(dataset))]
        splits[name] = SplitTensors(torch.stack([s["frames"] for s in samples]).float(),
                                    torch.stack([s["va"] for s in samples]).float())
    return splits, datamodule.input_contract


# -- training, scoring, profiling -----------------------------------------------------------------------------------


def score(pred: Tensor | np.ndarray, true: Tensor | np.ndarray) -> dict[str, float | None]:
    """``{"ccc_valence", "ccc_arousal", "pcc_*", "rmse_*", "sagr_*"}`` of ``(N, 2)`` predictions (None: undefined)."""
    from neurova.metrics import ccc, pcc, rmse, sagr

    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    out: dict[str, float | None] = {}
    for metric, fn in zip(METRICS, (ccc, pcc, rmse, sagr), strict=True):
        values = fn(pred, true)
        for d, dim in enumerate(DIMS):
            value = float(values[d])
            out[f"{metric}_{dim}"] = value if math.isfinite(value) else None
    return out


@torch.inference_mode()
def _predict(model: VARegressionModule, frames: Tensor, batch_size: int = 64) -> Tensor:
    model.eval()
    outputs = []
    for start in range(0, frames.shape[0], batch_size):
        pred = model(frames[start:start + batch_size].to(model.device)).float().cpu()
        outputs.append(pred[:, -1] if pred.ndim == 3 else pred)  # video models: the last frame's prediction
    return torch.cat(outputs)


def train_entry(entry: Entry, protocol: Protocol, splits: Mapping[str, SplitTensors], contract: InputContract,
                seed: int, *, accelerator: str = "cpu", progress: bool = False) -> VARegressionModule:
    """Train ``entry``'s model with its recipe on the training split for ``protocol.epochs`` epochs (seeded).

    On CPU the result is bit-for-bit reproducible for a given seed (Lightning ``deterministic=True``, no
    dataloader workers); on GPUs, operations without a deterministic kernel only warn. Returns the model of
    the last epoch, in eval mode.
    """
    import lightning as L

    from neurova.augment import AugmentedDataset, RandomHorizontalFlip
    from neurova.models import create_model

    if entry.kind != "model" or entry.model is None or entry.recipe is None:
        raise ValueError(f"entry {entry.name!r} is not a trained model")
    recipe = entry.recipe
    L.seed_everything(seed, workers=True, verbose=False)
    model = create_model(entry.model, in_chans=contract.channels, input_contract=contract.to_dict(), lr=recipe.lr,
                         weight_decay=recipe.weight_decay, warmup_steps=recipe.warmup_steps, scheduler="cosine",
                         **dict(recipe.model_args))
    train: Dataset = _SplitDataset(splits["train"])
    if recipe.hflip:
        train = AugmentedDataset(train, RandomHorizontalFlip(0.5))
    loader = DataLoader(train, batch_size=protocol.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    trainer = L.Trainer(max_epochs=protocol.epochs, accelerator=accelerator, devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=progress, enable_model_summary=False,
                        deterministic=True if accelerator == "cpu" else "warn", num_sanity_val_steps=0,
                        limit_val_batches=0)
    trainer.fit(model, train_dataloaders=loader)
    return model.eval()


def _fit_baseline(entry: Entry, splits: Mapping[str, SplitTensors]) -> tuple[Any, dict[str, Any]]:
    from neurova.baselines import MeanBaseline, RidgeBaseline

    train, val = splits["train"], splits["val"]
    if entry.kind == "mean":
        return MeanBaseline().fit(train.frames, train.target), {}

    def val_ccc(alpha: float) -> float:
        metrics = score(RidgeBaseline(alpha).fit(train.frames, train.target).predict(val.frames), val.target)
        return float(np.mean([metrics[f"ccc_{dim}"] or 0.0 for dim in DIMS]))

    alpha = max(RIDGE_ALPHAS, key=val_ccc)  # the penalty is chosen on the validation subjects
    return RidgeBaseline(alpha).fit(train.frames, train.target), {"alpha": alpha}


def _latency_ms(fn: Any, x: Tensor, repeats: int = 30, warmup: int = 5) -> float:
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def profile_model(model: torch.nn.Module, sample: Tensor) -> dict[str, float]:
    """Parameters, multiply-accumulates and median CPU latency of one input at batch 1.

    Args:
        model: a network taking ``(1, T, C, H, W)`` (moved to CPU, eval mode).
        sample: one input ``(T, C, H, W)``.

    Returns:
        ``{"params", "macs", "latency_ms"}``. MACs are half the FLOPs counted by
        ``torch.utils.flop_counter`` (convolutions and matrix products; recurrent cells, normalisation
        and activations are not counted); latency is the median of 30 runs after 5 warm-up runs with
        ``torch.get_num_threads()`` threads.
    """
    from torch.utils.flop_counter import FlopCounterMode

    model = model.cpu().eval()
    x = sample.unsqueeze(0).cpu()
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x)
    return {"params": float(sum(p.numel() for p in model.parameters())), "macs": counter.get_total_flops() / 2,
            "latency_ms": _latency_ms(model, x)}


# -- running --------------------------------------------------------------------------------------------------------


def _result_path(out: Path, entry: Entry, seed: int) -> Path:
    return out / "results" / entry.name / f"seed{seed}.json"


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


class _SplitCache:
    """The encoded splits of the last encoding asked for (jobs run grouped by encoding; one is held at a time)."""

    def __init__(self, protocol: Protocol, cache_dir: str | os.PathLike[str] | None) -> None:
        self.protocol, self.cache_dir = protocol, cache_dir
        self._key: tuple[int, int] | None = None
        self._value: tuple[dict[str, SplitTensors], InputContract] | None = None

    def get(self, n_bits: int, bin_us: int) -> tuple[dict[str, SplitTensors], InputContract]:
        if self._key != (n_bits, bin_us) or self._value is None:
            self._value = None  # free the previous encoding first
            self._value = load_splits(self.protocol, n_bits, bin_us, cache_dir=self.cache_dir)
            self._key = (n_bits, bin_us)
        return self._value


def _run_job(entry: Entry, seed: int, protocol: Protocol, data: _SplitCache, out: Path, accelerator: str,
             progress: bool) -> dict[str, Any]:
    splits, contract = data.get(entry.n_bits, entry.bin_us)
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    model: VARegressionModule | None = None
    if entry.kind == "model":
        model = train_entry(entry, protocol, splits, contract, seed, accelerator=accelerator, progress=progress)
        val_pred, test_pred = _predict(model, splits["val"].frames), _predict(model, splits["test"].frames)
        profile = profile_model(model, splits["test"].frames[0])
    else:
        torch.manual_seed(seed)
        baseline, extra = _fit_baseline(entry, splits)
        val_pred, test_pred = baseline.predict(splits["val"].frames), baseline.predict(splits["test"].frames)
        n_features = 0 if entry.kind == "mean" else int(baseline.coef.shape[0])
        sample = splits["test"].frames[:1]
        profile = {"params": float(2 + 2 * n_features),
                   "macs": float(0 if entry.kind == "mean" else sample[0].numel() + 2 * n_features),
                   "latency_ms": _latency_ms(baseline.predict, sample)}
    result = {
        "entry": entry.name, "seed": seed, "key": entry.key(protocol), "kind": entry.kind, "model": entry.model,
        "n_bits": entry.n_bits, "bin_us": entry.bin_us, "recipe": None if entry.recipe is None else asdict(entry.recipe),
        "protocol": asdict(protocol), "val": score(val_pred, splits["val"].target),
        "test": score(test_pred, splits["test"].target), **profile, "seconds": time.perf_counter() - start,
        "accelerator": accelerator, "threads": torch.get_num_threads(), "torch": torch.__version__, **extra,
        "samples": {name: int(s.frames.shape[0]) for name, s in splits.items()},
    }
    if model is not None and entry.tag is not None and seed == SEEDS[0]:
        save_tagged(model, entry, protocol, seed, result["test"], out / "checkpoints" / entry.tag)
    return result


def run_leaderboard(out: str | os.PathLike[str] = "runs/leaderboard", *, grid: Grid = "reduced",
                    shard: tuple[int, int] | None = None, protocol: Protocol | None = None,
                    seeds: Sequence[int] = SEEDS, cache_dir: str | os.PathLike[str] | None = None,
                    accelerator: str = "cpu", progress: bool = True, only: Iterable[str] | None = None) -> Path:
    """Run the (entry, seed) jobs of ``grid`` that have no result yet, then write the report.

    Args:
        out: output folder: ``results/``, ``checkpoints/``, ``leaderboard.md``, ``.csv``, ``.png``.
        grid: ``"reduced"`` (under an hour on 2 CPU cores) or ``"full"`` (every entry).
        shard: ``(i, n)``: run jobs ``i, i + n, i + 2n, ...`` only (default from ``RANK`` / ``WORLD_SIZE``).
        protocol: the data and budget (default :class:`Protocol`; tests use a small one).
        seeds: training seeds of each entry.
        cache_dir: event cache of the synthetic faces (default ``<out>/cache``).
        accelerator: Lightning accelerator of the training runs.
        progress: print one line per job and show Lightning's progress bars.
        only: run only the entries with these names (a subset of ``grid``).

    Returns:
        the path of ``leaderboard.md``.
    """
    out = Path(out)
    protocol = protocol or Protocol()
    index, count = shard if shard is not None else parse_shard(None)
    selected = entries(grid)
    if only is not None:
        wanted = set(only)
        unknown = wanted - {e.name for e in selected}
        if unknown:
            raise ValueError(f"unknown entries for grid {grid!r}: {sorted(unknown)}")
        selected = [e for e in selected if e.name in wanted]
    jobs = [(e, s) for e in selected for s in seeds]
    # one encoding at a time, the default one (every architecture and the baselines) first
    jobs = sorted(jobs[index::count], key=lambda job: ((job[0].n_bits, job[0].bin_us) != (8, 5000),
                                                       job[0].n_bits, job[0].bin_us))
    data = _SplitCache(protocol, out / "cache" if cache_dir is None else cache_dir)
    for number, (entry, seed) in enumerate(jobs, 1):
        path = _result_path(out, entry, seed)
        done = _read_result(path)
        if done is not None and done.get("key") == entry.key(protocol):
            continue
        if progress:
            print(f"[{number}/{len(jobs)}] {entry.name} seed {seed}", flush=True)
        _write_json(path, _run_job(entry, seed, protocol, data, out, accelerator, progress))
    return write_report(out, grid=grid, protocol=protocol, seeds=seeds)


# -- tagged checkpoints -----------------------------------------------------------------------------------------------


_CARD_START, _CARD_END = "<!-- neurova-leaderboard -->", "<!-- /neurova-leaderboard -->"


def _card_section(entry: Entry, protocol: Protocol, seed: int, summary: str | None = None) -> str:
    assert entry.recipe is not None
    recipe = entry.recipe
    lines = [_CARD_START, "## Recipe", "",
             f"Tag `{entry.tag}`, leaderboard entry `{entry.name}`, training seed {seed}. "
             f"{protocol.epochs} epochs of batch {protocol.batch_size}, AdamW (lr {recipe.lr:g}, weight decay "
             f"{recipe.weight_decay:g}, {recipe.warmup_steps} warm-up steps), cosine schedule to 0, "
             f"{'random horizontal flips' if recipe.hflip else 'no augmentation'}"
             f"{', ' + ', '.join(f'{k}={v!r}' for k, v in recipe.model_args) if recipe.model_args else ''}; "
             f"the last epoch's model is kept (no selection). Why: {recipe.why}.", "",
             f"Reproduce: `neurova leaderboard --build {entry.tag} --seed {seed}` (bit for bit on CPU)." if protocol ==
             Protocol() else f"Reproduce (a non-default protocol): `neurova.leaderboard.build_tag({entry.tag!r}, "
             f"seed={seed}, protocol={protocol!r})` (bit for bit on CPU).", "",
             "## Leaderboard", "",
             " ".join(part for part in ("The metrics above (`test/...`) are this model's, on the unseen test subjects.",
                                        summary, "The whole table, with every architecture and baseline, is in "
                                                 "docs/leaderboard.md.") if part), ""]
    lines += ["## Intended use and limits", "",
              "A reference model of the neurova leaderboard and a starting point for fine-tuning. It was trained on "
              "neurova's procedural synthetic faces only (simulated events, no real camera, no real people), so "
              "its numbers say how architectures compare on that data, not how well it reads real faces: "
              "fine-tune on labelled recordings of your own (see docs/training.md) before any use on real "
              "event-camera data, and never use it to make decisions about people.", "", _CARD_END, ""]
    return "\n".join(lines)


def _write_card(folder: Path, section: str) -> None:
    from neurova.models.hub import CARD_NAME

    card = (folder / CARD_NAME).read_text()
    if _CARD_START in card:
        head, _, rest = card.partition(_CARD_START)
        card = head + rest.partition(_CARD_END)[2].lstrip("\n")
    head, marker, tail = card.partition("## Load")
    card = head + section + "\n" + marker + tail if marker else card + "\n" + section
    with atomic_path(folder / CARD_NAME) as tmp:
        tmp.write_text(card)


def save_tagged(model: VARegressionModule, entry: Entry, protocol: Protocol, seed: int,
                metrics: Mapping[str, Any], folder: str | os.PathLike[str]) -> Path:
    """``save_pretrained`` the model of a tagged entry with its recipe, test metrics, intended use and limits."""
    folder = Path(folder)
    flat = {f"test/{k}": v for k, v in metrics.items()}
    model.save_pretrained(folder, metrics=flat, data_description=protocol.describe())
    _write_card(folder, _card_section(entry, protocol, seed))
    return folder


def build_tag(tag: str, out: str | os.PathLike[str] | None = None, *, seed: int = SEEDS[0],
              protocol: Protocol | None = None, cache_dir: str | os.PathLike[str] | None = None,
              accelerator: str = "cpu", progress: bool = True) -> Path:
    """Reproduce the tagged checkpoint ``tag`` from its recipe (bit for bit on CPU for a given ``seed``).

    Args:
        tag: ``"<model>.synthetic_faces"`` (:func:`tags` lists them).
        out: folder to write (default ``$NEUROVA_HOME/models/<tag>``).
        seed: training seed (the published tags use seed 0).
        protocol: the data and budget (default :class:`Protocol`).
        cache_dir: event cache of the synthetic faces (default: neurova's cache folder).

    Returns:
        the folder written by ``save_pretrained``.
    """
    from neurova.models.hub import neurova_home

    known = tags()
    if tag not in known:
        raise ValueError(f"unknown tag {tag!r}; known tags: {', '.join(sorted(known))}")
    entry, protocol = known[tag], protocol or Protocol()
    splits, contract = load_splits(protocol, entry.n_bits, entry.bin_us, cache_dir=cache_dir)
    model = train_entry(entry, protocol, splits, contract, seed, accelerator=accelerator, progress=progress)
    metrics = score(_predict(model, splits["test"].frames), splits["test"].target)
    return save_tagged(model, entry, protocol, seed, metrics, neurova_home() / "models" / tag if out is None else out)


# -- report ---------------------------------------------------------------------------------------------------------


@dataclass
class _Row:
    entry: Entry
    results: list[dict[str, Any]] = field(default_factory=list)

    def values(self, split: str, name: str) -> list[float]:
        return [r[split][name] for r in self.results if r[split].get(name) is not None]

    def stat(self, split: str, name: str) -> tuple[float, float | None] | None:
        """Mean and sample standard deviation over seeds (sd None with one seed); None without values."""
        values = self.values(split, name)
        if not values:
            return None
        return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else None

    def over_seeds(self, key: str, reduce: Any = np.median) -> float | None:
        values = [float(r[key]) for r in self.results if r.get(key) is not None]
        return float(reduce(values)) if values else None


def _collect(out: Path, protocol: Protocol, seeds: Sequence[int]) -> list[_Row]:
    rows = []
    for entry in entries("full"):
        row = _Row(entry)
        key = entry.key(protocol)
        for seed in seeds:
            result = _read_result(_result_path(out, entry, seed))
            if result is not None and result.get("key") == key:
                row.results.append(result)
        rows.append(row)
    return rows


def _pm(stat: tuple[float, float | None] | None, digits: int = 3) -> str:
    if stat is None:
        return "–"
    return f"{stat[0]:.{digits}f}" + ("" if stat[1] is None else f" ± {stat[1]:.{digits}f}")


def _si(value: float | None) -> str:
    if value is None:
        return "–"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _encoding(entry: Entry) -> str:
    return f"N={entry.n_bits}, Δt={entry.bin_us / 1000:g} ms"


def write_report(out: str | os.PathLike[str], *, grid: Grid = "reduced", protocol: Protocol | None = None,
                 seeds: Sequence[int] = SEEDS) -> Path:
    """Write ``leaderboard.md``, ``leaderboard.csv`` and ``leaderboard.png`` from the results under ``out``.

    Rows are every entry of the full grid; entries without results say why (skipped by the reduced
    grid, or not run yet). The tagged checkpoints' model cards get their row (mean ± sd) too.
    """
    out = Path(out)
    protocol = protocol or Protocol()
    rows = _collect(out, protocol, seeds)
    in_grid = {e.name for e in entries(grid)}
    header = ["entry", "model", "encoding", "seeds"] + [f"{m}_{d}" for m in METRICS for d in DIMS] + [
        "params", "macs", "latency_ms", "status"]
    header.insert(-1, "train_seconds")
    table = ["| entry | encoding | seeds | CCC V | CCC A | PCC V | PCC A | RMSE V | RMSE A | SAGR V | SAGR A | "
             "params | MACs | CPU ms | train s |", "|" + "---|" * 15]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    missing: dict[str, list[str]] = {}
    for row in rows:
        e = row.entry
        n = len(row.results)
        status = "done" if n == len(seeds) else f"{n}/{len(seeds)} seeds"
        if n == 0:
            reason = "not run yet" if e.name in in_grid else f"skipped by the {grid} grid: {e.skip_reason}"
            missing.setdefault(reason, []).append(f"`{e.name}`")
            continue
        stats = {f"{m}_{d}": row.stat("test", f"{m}_{d}") for m in METRICS for d in DIMS}
        latency, seconds = row.over_seeds("latency_ms", min), row.over_seeds("seconds")  # min: the least disturbed
        table.append(f"| `{e.name}` | {_encoding(e)} | {n} | "
                     + " | ".join(_pm(stats[f"{m}_{d}"]) for m in METRICS for d in DIMS)
                     + f" | {_si(row.over_seeds('params'))} | {_si(row.over_seeds('macs'))} | {_ms(latency)} | "
                     f"{'–' if seconds is None else f'{seconds:.0f}'} |")
        writer.writerow([e.name, e.model or e.kind, _encoding(e), n]
                        + [_pm(stats[k], 4).replace(" ", "") if stats[k] else "" for k in header[4:12]]
                        + [row.over_seeds("params"), row.over_seeds("macs"), latency, seconds, status])
        if e.tag is not None:
            _update_card(out, row, protocol, stats)
    lines = [f"# Leaderboard ({grid} grid)", "", protocol.describe() + f"; {protocol.epochs} epochs per trained "
             f"entry; test metrics on unseen subjects, mean ± sd over seeds {', '.join(map(str, seeds))}.", "",
             *table, ""]
    lines += [f"Entries without results ({reason}): {', '.join(names)}." for reason, names in missing.items()]
    lines += ["", "CPU ms: latency of one prediction at batch 1 (each seed's run measures a median of 30; the table "
              "gives the lowest, the least disturbed by other work on the machine); train s: median seconds per seed "
              "(fit and evaluation). Both depend on the machine that ran the entry.", ""]
    (out).mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "leaderboard.md") as tmp:
        tmp.write_text("\n".join(lines))
    with atomic_path(out / "leaderboard.csv") as tmp:
        tmp.write_text(buffer.getvalue())
    _plot(out / "leaderboard.png", rows)
    return out / "leaderboard.md"


def _update_card(out: Path, row: _Row, protocol: Protocol, stats: Mapping[str, Any]) -> None:
    from neurova.models.hub import CARD_NAME

    folder = out / "checkpoints" / str(row.entry.tag)
    if not (folder / CARD_NAME).is_file():
        return
    seed0 = next((r for r in row.results if r["seed"] == SEEDS[0]), None)
    if seed0 is None:
        return
    summary = (f"Over {len(row.results)} training seed(s) the entry scores CCC valence {_pm(stats['ccc_valence'])} "
               f"and CCC arousal {_pm(stats['ccc_arousal'])} (mean ± sd).")
    _write_card(folder, _card_section(row.entry, protocol, SEEDS[0], summary))


def _plot(path: Path, rows: Sequence[_Row]) -> None:
    from neurova._optional import require
    from neurova.errors import MissingDependencyError
    from neurova.plotting import save_figure

    try:
        mpl_figure = require("matplotlib.figure", "plot", "drawing the leaderboard figure")
    except MissingDependencyError:
        return
    fig = mpl_figure.Figure(figsize=(14, 4.2), layout="constrained")
    ax_cost, ax_bits, ax_bins = fig.subplots(1, 3)
    colours = {"valence": "tab:blue", "arousal": "tab:orange"}
    for row in rows:
        e = row.entry
        if not row.results or (e.kind == "model" and e.tag is None):
            continue
        macs = max(row.over_seeds("macs") or 1.0, 1.0)
        for dim, marker in zip(DIMS, ("o", "s"), strict=True):
            stat = row.stat("test", f"ccc_{dim}")
            if stat is not None:
                ax_cost.errorbar(macs, stat[0], yerr=stat[1] or 0.0, fmt=marker, color=colours[dim], capsize=2)
        top = max((s[0] for d in DIMS if (s := row.stat("test", f"ccc_{d}")) is not None), default=0.0)
        ax_cost.annotate(e.name, (macs, top), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax_cost.set(xscale="log", xlabel="MACs per prediction (batch 1)", ylabel="test CCC (o valence, s arousal)",
                title="architectures and baselines")
    variants = [row for row in rows if row.results and row.entry.model == TBR_VARIANT_MODEL]
    for ax, axis, fixed, scale, label in ((ax_bits, "n_bits", ("bin_us", 5000), 1, "TBR bits N (Δt = 5 ms)"),
                                          (ax_bins, "bin_us", ("n_bits", 8), 1000, "TBR bin Δt in ms (N = 8)")):
        chosen = sorted((r for r in variants if getattr(r.entry, fixed[0]) == fixed[1]),
                        key=lambda r: getattr(r.entry, axis))
        xs = [getattr(r.entry, axis) / scale for r in chosen]
        for dim, style in zip(DIMS, ("-", "--"), strict=True):
            ys = [r.stat("test", f"ccc_{dim}") for r in chosen]
            ax.errorbar(xs, [y[0] if y else math.nan for y in ys], yerr=[(y[1] or 0.0) if y else 0.0 for y in ys],
                        linestyle=style, marker="o", capsize=2, color=colours[dim], label=dim)
        ax.set(xscale="log", xlabel=label, ylabel="test CCC", title=f"TBR variants ({TBR_VARIANT_MODEL})")
        if xs:
            ax.set_xticks(xs, [f"{x:g}" for x in xs])
            ax.minorticks_off()
            ax.legend(fontsize=7)
    save_figure(fig, path)

