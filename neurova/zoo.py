"""The model zoo: tagged checkpoints, the recipe that makes each one, building them, the ones shipped in the package.

A tag is ``<registered model>.<data>`` (``"tiny_cnn_fusion.synthetic_faces"``): the model of that name trained on
that data with its family's :class:`Recipe` under the data's :class:`Protocol`, with training seed
:data:`DEFAULT_SEED`. The protocol's sizes and the recipes are defined once, in :mod:`neurova.recipes` (re-exported
here); the leaderboard (:mod:`neurova.leaderboard`) scores the same entries with them over several seeds, and
``neurova demo`` trains on the same data with the same recipe.

* :func:`tags` / :func:`get_tag`: every tag (one per :func:`neurova.models.list_models` name and data of
  :data:`~neurova.recipes.DATA`: ``synthetic_faces``, ``synthetic_faces_noise`` whose training subjects are also
  seen by three noisy sensors, and ``synthetic_faces_cameras``, by those, by four sensors of other contrast
  thresholds and by two fitted to a real DAVIS346) and its recipe;
* :func:`build`: reproduce a tagged checkpoint from its recipe, bit for bit on CPU for a given seed, into
  ``$NEUROVA_HOME/models/<tag>`` (the first place ``from_pretrained("<tag>")`` looks);
* :data:`SHIPPED_TAGS`: the small checkpoints inside the package (``neurova/weights/<tag>/``), which
  ``from_pretrained("<tag>")`` and ``create_model(name, pretrained=True)`` load with no build;
* :func:`status`: where a tag is available (built locally, shipped) and its test metrics;
* :func:`add_subcommand`: the ``neurova zoo list|build|push`` command.

Model cards (``README.md`` of each checkpoint) carry the data, the recipe and why, the test metrics (mean ± sd over
the leaderboard's seeds when its results are given), the input contract, the minimum recording length, intended use
and limits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurova._atomic import atomic_path
from neurova.recipes import (
    DATA,
    RECIPES,
    SYNTHETIC_FACES,
    Protocol,
    Recipe,
    recipe_for,
    sensor_options,
    stored_spec,
)

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor

    from neurova.contract import InputContract
    from neurova.models.base import VARegressionModule

__all__ = [
    "DEFAULT_SEED",
    "DIMS",
    "METRICS",
    "RECIPES",
    "SHIPPED_TAGS",
    "SYNTHETIC_FACES",
    "Protocol",
    "Recipe",
    "SplitTensors",
    "Tag",
    "TagStatus",
    "add_subcommand",
    "build",
    "card_section",
    "get_tag",
    "leaderboard_summary",
    "load_splits",
    "predict",
    "recipe_for",
    "save_tagged",
    "score",
    "status",
    "tag_name",
    "tags",
    "train",
    "weights_digest",
    "write_card_section",
]

DIMS = ("valence", "arousal")
METRICS = ("ccc", "pcc", "rmse", "sagr")
"""The scores of every tag and leaderboard entry, per dimension (:func:`score`)."""
DEFAULT_SEED = 0
"""Training seed of every published tag (the leaderboard also runs seeds 1 and 2)."""
SHIPPED_TAGS = ("tiny_cnn.synthetic_faces", "tiny_cnn_fusion.synthetic_faces",
                "tiny_cnn_fusion.synthetic_faces_noise", "tiny_cnn_fusion.synthetic_faces_cameras")
"""Tags whose checkpoints ship inside the package (``neurova/weights/<tag>/``, about 260 kB each); the ``_cameras``
one, trained on noisy sensors, sensors of other contrast thresholds and two fitted to a real DAVIS346, is the model
for real cameras (docs/zoo.md)."""


def tag_name(model: str, data: str | None = None) -> str:
    """``"<model>.<data>"``, e.g. ``tag_name("tiny_cnn") == "tiny_cnn.synthetic_faces"`` (the default data)."""
    if data is None:
        from neurova.models.hf_hub import DEFAULT_DATA as data
    return f"{model}.{data}"


@dataclass(frozen=True)
class Tag:
    """A tagged checkpoint: which model, trained on what, how.

    Attributes:
        name: ``"<model>.<data>"``.
        model: registered model name (:func:`neurova.models.list_models`).
        data: data name (``"synthetic_faces"``).
        recipe: the training recipe (:func:`recipe_for`).
        protocol: the data, split and budget (:data:`SYNTHETIC_FACES`).
        n_bits, bin_us: TBR bit depth N and bin Δt in µs of the inputs (the contract's encoding).
        seed: training seed.
    """

    name: str
    model: str
    data: str
    recipe: Recipe
    protocol: Protocol = SYNTHETIC_FACES
    n_bits: int = 8
    bin_us: int = 5000
    seed: int = DEFAULT_SEED

    def to_dict(self) -> dict[str, Any]:
        """The whole recipe as plain data (``neurova zoo list --json``)."""
        from dataclasses import asdict

        return asdict(self)


def tags() -> dict[str, Tag]:
    """``{tag: Tag}``, one per registered model and data (``"tiny_cnn.synthetic_faces"``,
    ``"tiny_cnn.synthetic_faces_noise"``, ...; :data:`~neurova.recipes.DATA`)."""
    from neurova.models import list_models

    return {tag_name(m, data): Tag(tag_name(m, data), m, data, recipe_for(m), protocol)
            for data, protocol in DATA.items() for m in list_models()}


def get_tag(name: str) -> Tag:
    """The :class:`Tag` called ``name``; ``ValueError`` listing the known tags otherwise."""
    known = tags()
    if name not in known:
        raise ValueError(f"unknown tag {name!r}; known tags: {', '.join(sorted(known))}")
    return known[name]


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


class _SplitDataset:
    """Dict samples (``frames`` ``(T, C, H, W)``, ``va`` ``(T, 2)``) over a :class:`SplitTensors` (map-style)."""

    def __init__(self, split: SplitTensors) -> None:
        self.split = split

    def __len__(self) -> int:
        return int(self.split.frames.shape[0])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {"frames": self.split.frames[index], "va": self.split.va[index]}


def _datamodule(protocol: Protocol, n_bits: int, bin_us: int, cache_dir: str | os.PathLike[str] | None,
                **data_options: Any) -> Any:
    from neurova.datamodules import SyntheticFacesDataModule

    p = protocol
    return SyntheticFacesDataModule(
        cache_dir=cache_dir, n_subjects=p.n_subjects, clips_per_subject=p.clips_per_subject,
        frames_per_clip=p.frames_per_clip, image_size=p.image_size,
        emotion_clips=p.emotion_clips_per_emotion > 0, emotion_clips_per_emotion=p.emotion_clips_per_emotion,
        seed=p.data_seed,
        clip_length=p.clip_length, stride=p.stride, n_bits=n_bits, bin_us=bin_us, val_fraction=p.val_fraction,
        test_fraction=p.test_fraction, batch_size=p.batch_size, **data_options,
    )


def load_splits(protocol: Protocol, n_bits: int = 8, bin_us: int = 5000, *,
                cache_dir: str | os.PathLike[str] | None = None, **data_options: Any
                ) -> tuple[dict[str, SplitTensors], InputContract]:
    """Render/simulate the protocol's faces (cached), encode them once and return the three splits in memory.

    ``data_options`` go to :class:`~neurova.datamodules.SyntheticFacesDataModule` over the protocol's data, e.g.
    ``preset="noisy", dvs_params={"shot_noise_rate_hz": 20.0}`` for the same faces seen by a noisier sensor
    (``benchmarks/bench_sensor_noise.py`` scores models on them). A protocol with ``train_sensors`` appends the
    training split as each of those sensors records it, in their order; with ``train_phases_us``, the training
    windows end at those phases before their frames (:meth:`~neurova.recipes.Protocol.train_copies`); with
    ``train_box_jitter``, each training sample's face box takes a drawn error before its crop (copy ``k``'s drawn
    with ``jitter_seed=k``).

    Returns:
        ``({"train": ..., "val": ..., "test": ...}, input_contract)``; splits are subject-disjoint.
    """
    import torch

    (_, first_phases), *more_copies = protocol.train_copies()
    splits, contract = _load_splits(protocol, n_bits, bin_us, cache_dir, data_options, train_phases_us=first_phases)
    for copy, (sensor, phases) in enumerate(more_copies, 1):  # the training subjects as another sensor records them
        options = {**data_options, **sensor_options(sensor), "build_splits": ["train"]}
        more, _ = _load_splits(protocol, n_bits, bin_us, cache_dir, options, ("train",), train_phases_us=phases,
                               copy=copy)
        splits["train"] = SplitTensors(torch.cat([splits["train"].frames, more["train"].frames]),
                                       torch.cat([splits["train"].va, more["train"].va]))
    return splits, contract


def _load_splits(protocol: Protocol, n_bits: int, bin_us: int, cache_dir: str | os.PathLike[str] | None,
                 data_options: Mapping[str, Any], names: Sequence[str] = ("train", "val", "test"), *,
                 train_phases_us: tuple[int, ...] = (0,), copy: int = 0
                 ) -> tuple[dict[str, SplitTensors], InputContract]:
    import torch

    datamodule = _datamodule(protocol, n_bits, bin_us, cache_dir, **data_options)
    datamodule.prepare_data()
    splits = {}
    jitter = {"box_jitter": protocol.train_box_jitter, "jitter_seed": copy} if protocol.train_box_jitter else {}
    for name in names:
        dataset = (datamodule.make_dataset(name, train_phases_us, **jitter) if name == "train"
                   else datamodule.make_dataset(name))
        if len(dataset) == 0:
            raise ValueError(f"the {name} split of the protocol is empty; use more subjects or larger fractions")
        samples = [dataset[i] for i in range(len(dataset))]
        splits[name] = SplitTensors(torch.stack([s["frames"] for s in samples]).float(),
                                    torch.stack([s["va"] for s in samples]).float())
    return splits, datamodule.input_contract


# -- training and scoring --------------------------------------------------------------------------------------------


def score(pred: Tensor | np.ndarray, true: Tensor | np.ndarray) -> dict[str, float | None]:
    """``{"ccc_valence", "ccc_arousal", "pcc_*", "rmse_*", "sagr_*"}`` of ``(N, 2)`` predictions (None: undefined)."""
    import numpy as np

    from neurova.metrics import ccc, pcc, rmse, sagr

    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    out: dict[str, float | None] = {}
    for metric, fn in zip(METRICS, (ccc, pcc, rmse, sagr), strict=True):
        values = fn(pred, true)
        for d, dim in enumerate(DIMS):
            value = float(values[d])
            out[f"{metric}_{dim}"] = value if math.isfinite(value) else None
    return out


def predict(model: VARegressionModule, frames: Tensor, batch_size: int = 64) -> Tensor:
    """``(N, 2)`` valence, arousal of ``frames`` ``(N, T, C, H, W)`` in eval mode (video models: the last frame's)."""
    import torch

    model.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, frames.shape[0], batch_size):
            pred = model(frames[start:start + batch_size].to(model.device)).float().cpu()
            outputs.append(pred[:, -1] if pred.ndim == 3 else pred)  # video models: the last frame's prediction
    return torch.cat(outputs)


def train(model_name: str, recipe: Recipe, protocol: Protocol, splits: Mapping[str, SplitTensors],
          contract: InputContract, seed: int, *, accelerator: str = "cpu", progress: bool = False
          ) -> VARegressionModule:
    """Train the registered model ``model_name`` with ``recipe`` on the training split for ``protocol.epochs`` epochs.

    Seeded by ``seed`` (initialisation, sample order, flips, box jitter). On CPU the result is bit-for-bit reproducible
    (Lightning ``deterministic=True``, no dataloader workers, float32, and the contiguous layout the shipped tags were
    trained in: :attr:`~neurova.models.VARegressionTask.fit_channels_last` is off); on GPUs, operations without a
    deterministic kernel only warn. Returns the model of the last epoch, in eval mode.
    """
    import lightning as L
    import torch
    from torch.utils.data import DataLoader

    from neurova.augment import augmented
    from neurova.models import create_model

    L.seed_everything(seed, workers=True, verbose=False)
    model = create_model(model_name, in_chans=contract.channels, input_contract=contract.to_dict(), lr=recipe.lr,
                         weight_decay=recipe.weight_decay, warmup_steps=recipe.warmup_steps, scheduler="cosine",
                         **dict(recipe.model_args))
    model.fit_channels_last = False  # the layout the shipped tags and the leaderboard were trained in: bit for bit
    train_set = augmented(_SplitDataset(splits["train"]), 0.5 if recipe.hflip else 0.0, recipe.box_jitter)
    loader = DataLoader(train_set, batch_size=protocol.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    trainer = L.Trainer(max_epochs=protocol.epochs, accelerator=accelerator, devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=progress, enable_model_summary=False,
                        deterministic=True if accelerator == "cpu" else "warn", num_sanity_val_steps=0,
                        limit_val_batches=0)
    trainer.fit(model, train_dataloaders=loader)
    return model.eval()


# -- where tags are ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagStatus:
    """Where a tag is available and what it scores.

    Attributes:
        tag: the tag.
        local: ``$NEUROVA_HOME/models/<tag>`` when it holds a checkpoint, else None.
        shipped: ``neurova/weights/<tag>`` when the package ships it, else None.
        metrics: the ``test/...`` metrics recorded in the checkpoint that ``from_pretrained`` would load
            (local first), empty when neither exists.
    """

    tag: Tag
    local: Path | None
    shipped: Path | None
    metrics: dict[str, float | None]


def _checkpoint(folder: Path) -> Path | None:
    from neurova.models.hub import CONFIG_NAME, WEIGHTS_NAME

    return folder if (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file() else None


def status(name: str) -> TagStatus:
    """Where ``name`` is built (``$NEUROVA_HOME``) or shipped, and the test metrics of the one that would load."""
    from neurova.models.hf_hub import PACKAGED_DIR
    from neurova.models.hub import read_config

    tag = get_tag(name)
    local, shipped = _checkpoint(_home_models() / name), _checkpoint(PACKAGED_DIR / name)
    metrics: dict[str, float | None] = {}
    source = local or shipped
    if source is not None:
        recorded = read_config(source).get("metrics") or {}
        metrics = {k: v for k, v in recorded.items() if k.startswith("test/")}
    return TagStatus(tag, local, shipped, metrics)


def _home_models() -> Path:
    from neurova._paths import models_dir

    return models_dir()


def weights_digest(folder: str | os.PathLike[str]) -> str:
    """SHA-256 of the tensors in ``folder/model.safetensors`` (names, dtypes, shapes, bytes), ignoring the metadata.

    Two builds of a tag with the same seed on CPU give the same digest; the file's own hash also covers the
    metadata, which holds the id of each save.
    """
    import torch
    from safetensors import safe_open

    from neurova.models.hub import WEIGHTS_NAME

    digest = hashlib.sha256()
    with safe_open(str(Path(folder) / WEIGHTS_NAME), framework="pt") as fh:
        for key in sorted(fh.keys()):
            tensor = fh.get_tensor(key).contiguous()
            digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())  # any dtype, bfloat16 too
    return digest.hexdigest()


# -- model cards ------------------------------------------------------------------------------------------------------


_CARD_START, _CARD_END = "<!-- neurova-zoo -->", "<!-- /neurova-zoo -->"
_OLD_MARKERS = ("<!-- neurova-leaderboard -->", "<!-- /neurova-leaderboard -->")
Summary = Mapping[str, tuple[float, float | None]]
"""Leaderboard statistics of an entry: ``{"ccc_valence": (mean, sd or None), ...}`` over its seeds."""


def leaderboard_summary(out: str | os.PathLike[str], tag: Tag) -> tuple[dict[str, tuple[float, float | None]] | None,
                                                                        int]:
    """The leaderboard's test metrics of ``tag``'s entry under ``out``: ``({"ccc_valence": (mean, sd), ...}, n)``.

    Reads ``out/results/<model>/seed*.json`` (written by ``neurova leaderboard``) and keeps the seeds trained with
    the tag's recipe, protocol and encoding; sd is the sample standard deviation (None with one seed).
    ``(None, 0)`` when there are none.
    """
    from dataclasses import asdict

    def as_stored(spec: Any, kind: type[Protocol] | type[Recipe]) -> Any:  # as the results' JSON holds it
        return stored_spec(json.loads(json.dumps(spec)), kind) if isinstance(spec, dict) else None

    recipe, protocol = as_stored(asdict(tag.recipe), Recipe), as_stored(asdict(tag.protocol), Protocol)
    results = []
    for path in sorted((Path(out) / "results" / tag.model).glob("seed*.json")):
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (isinstance(result, dict) and as_stored(result.get("recipe"), Recipe) == recipe
                and as_stored(result.get("protocol"), Protocol) == protocol
                and (result.get("n_bits"), result.get("bin_us")) == (tag.n_bits, tag.bin_us)):
            results.append(result["test"])
    if not results:
        return None, 0
    summary: dict[str, tuple[float, float | None]] = {}
    for key in (f"{m}_{d}" for m in METRICS for d in DIMS):
        values = [float(r[key]) for r in results if r.get(key) is not None]
        if values:
            summary[key] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None)
    return summary, len(results)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def card_section(tag: Tag, metrics: Mapping[str, float | None], summary: Summary | None = None,
                 n_seeds: int = 0, digest: str | None = None, figure: str | None = None) -> str:
    """The zoo's part of a model card (Markdown): tag, recipe and why, metrics, how to load and rebuild, limits.

    Args:
        tag: the tag (its recipe, protocol and seed are described).
        metrics: this checkpoint's test metrics (``"ccc_valence"`` ... or ``"test/ccc_valence"`` ...).
        summary: the leaderboard's mean ± sd over ``n_seeds`` training seeds, when known.
        digest: :func:`weights_digest` of the checkpoint, to compare a rebuild with.
        figure: an image in the checkpoint's folder showing where it stands on the leaderboard (its file name).
    """
    recipe, protocol = tag.recipe, tag.protocol
    rebuild = f"neurova zoo build {tag.name}" + ("" if tag.seed == DEFAULT_SEED else f" --seed {tag.seed}")
    if protocol != tags().get(tag.name, tag).protocol:  # not the tag's own data: the call that gives it
        rebuild = f"neurova.zoo.build({tag.name!r}, seed={tag.seed}, protocol={protocol!r})"
    lines = [_CARD_START, "## Recipe", "",
             f"Tag `{tag.name}`: the registered model `{tag.model}` trained on `{tag.data}`, training seed {tag.seed}.",
             "", "| | |", "|---|---|",
             f"| data and split | {protocol.describe()} |",
             f"| input | TBR N = {tag.n_bits}, Δt = {tag.bin_us / 1000:g} ms (see Input above) |",
             f"| budget | {protocol.epochs} epochs, batch {protocol.batch_size}; the last epoch's model is kept "
             "(no selection on held-out data) |",
             f"| optimisation | {recipe.describe()} |",
             f"| why | {recipe.why} |", "",
             f"Rebuild: `{rebuild}` (bit for bit on CPU for the same seed and software versions)"
             + (f"; weights digest `{digest}` (`neurova.zoo.weights_digest`)." if digest else "."), "",
             "## Test metrics", "",
             "On the unseen test subjects, for each sample's last frame."
             + (f" Leaderboard: mean ± sd over {n_seeds} training seed(s) of this recipe (docs/leaderboard.md)."
                if summary else ""), "",
             "| metric | this checkpoint | leaderboard |" if summary else "| metric | this checkpoint |",
             "|---|---|---|" if summary else "|---|---|"]
    for metric in METRICS:
        for dim in DIMS:
            key = f"{metric}_{dim}"
            own = metrics.get(key, metrics.get(f"test/{key}"))
            row = f"| {metric.upper()} {dim} | {_fmt(own)} |"
            if summary:
                stat = summary.get(key)
                row += " – |" if stat is None else (f" {stat[0]:.3f}" + ("" if stat[1] is None else
                                                                          f" ± {stat[1]:.3f}") + " |")
            lines.append(row)
    if figure:
        lines += ["", f"![the leaderboard: test CCC against MACs per prediction, this entry in bold]({figure})", "",
                  "The leaderboard's entries on the same protocol: test CCC (o valence, s arousal, bars one sd over "
                  "seeds) against multiply-accumulates per prediction; this entry is marked."]
    lines += ["", "## Use", "", "```python", "from neurova.models import create_model, from_pretrained", "",
              f'model = from_pretrained("{tag.name}")  # eval mode, on CPU',
              f'model = create_model("{tag.model}", pretrained="{tag.name}")  # the same, through the registry',
              "```", "",
              "## Intended use and limits", "",
              "A reference model of the neurova leaderboard and a starting point for fine-tuning. It was trained on "
              "neurova's procedural synthetic faces only (simulated events, no real camera, no real people), so "
              "its numbers say how architectures compare on that data, not how well it reads real faces: "
              "fine-tune on labelled recordings of your own (see docs/training.md) before any use on real "
              "event-camera data, and never use it to make decisions about people.", "", _CARD_END, ""]
    return "\n".join(lines)


def _strip_section(card: str, start: str, end: str) -> str:
    if start not in card:
        return card
    head, _, rest = card.partition(start)
    return head + rest.partition(end)[2].lstrip("\n")


def write_card_section(folder: str | os.PathLike[str], section: str) -> None:
    """Put ``section`` (:func:`card_section`) into ``folder/README.md`` before its ``## Load`` part, replacing an
    earlier one (the file is rewritten atomically)."""
    from neurova.models.hub import CARD_NAME

    path = Path(folder) / CARD_NAME
    card = _strip_section(_strip_section(path.read_text(), _CARD_START, _CARD_END), *_OLD_MARKERS)
    head, marker, tail = card.partition("## Load")
    card = head + section + "\n" + marker + tail if marker else card.rstrip("\n") + "\n\n" + section
    with atomic_path(path) as tmp:
        tmp.write_text(card)


def save_tagged(model: VARegressionModule, tag: Tag, metrics: Mapping[str, float | None],
                folder: str | os.PathLike[str], summary: Summary | None = None, n_seeds: int = 0) -> Path:
    """``save_pretrained`` the model of ``tag`` with its test ``metrics`` and a model card with its recipe."""
    folder = Path(folder)
    model.save_pretrained(folder, metrics={f"test/{k}": v for k, v in metrics.items()},
                          data_description=tag.protocol.describe())
    write_card_section(folder, card_section(tag, metrics, summary, n_seeds, weights_digest(folder)))
    return folder


# -- building ---------------------------------------------------------------------------------------------------------


def build(name: str, out: str | os.PathLike[str] | None = None, *, seed: int | None = None,
          protocol: Protocol | None = None, recipe: Recipe | None = None,
          cache_dir: str | os.PathLike[str] | None = None, accelerator: str = "cpu",
          leaderboard: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """Reproduce the tagged checkpoint ``name`` from its recipe (bit for bit on CPU for a given ``seed``).

    Renders and simulates the protocol's synthetic faces (cached in ``cache_dir``), trains the tag's model with its
    recipe (:func:`neurova.leaderboard.train_entry`), scores it on the test subjects and saves it with its model card.

    Args:
        name: a tag (:func:`tags`).
        out: folder to write (default ``$NEUROVA_HOME/models/<name>``, where ``from_pretrained(name)`` looks first).
        seed: training seed (default the tag's, 0).
        protocol: the data and budget (default the tag's; a smaller one gives a quick, different checkpoint).
        recipe: the training recipe (default the tag's).
        cache_dir: event cache of the synthetic faces (default ``$NEUROVA_CACHE``, else ``$NEUROVA_HOME/cache``).
        accelerator: Lightning accelerator; only ``"cpu"`` is bit-for-bit reproducible.
        leaderboard: a leaderboard output folder (``neurova leaderboard --out``); the card then also shows the
            entry's mean ± sd over its seeds, when the folder holds results of the same recipe and protocol.
        progress: show Lightning's progress bar.

    Returns:
        the folder written.
    """
    tag = get_tag(name)
    tag = replace(tag, seed=tag.seed if seed is None else seed, protocol=protocol or tag.protocol,
                  recipe=recipe or tag.recipe)
    splits, contract = load_splits(tag.protocol, tag.n_bits, tag.bin_us, cache_dir=cache_dir)
    model = train(tag.model, tag.recipe, tag.protocol, splits, contract, tag.seed, accelerator=accelerator,
                  progress=progress)
    metrics = score(predict(model, splits["test"].frames), splits["test"].target)
    summary, n_seeds = (None, 0) if leaderboard is None else leaderboard_summary(leaderboard, tag)
    return save_tagged(model, tag, metrics, _home_models() / name if out is None else out, summary, n_seeds)


# -- the command ------------------------------------------------------------------------------------------------------


def _metric(metrics: Mapping[str, float | None], key: str) -> str:
    value = metrics.get(f"test/{key}")
    return "–" if value is None else f"{value:.3f}"


def _cmd_list(args: argparse.Namespace) -> int:
    rows = [status(name) for name in sorted(tags())]
    if args.json:
        print(json.dumps([{**s.tag.to_dict(), "local": None if s.local is None else str(s.local),
                           "shipped": None if s.shipped is None else str(s.shipped), "metrics": s.metrics}
                          for s in rows], indent=2))
        return 0
    width = max(len("tag"), *(len(s.tag.name) for s in rows))
    print(f"{'tag':<{width}} {'built':<6} {'shipped':<8} {'CCC V':>6} {'CCC A':>6}  recipe")
    for s in rows:
        r, sensors = s.tag.recipe, s.tag.protocol.train_sensors
        print(f"{s.tag.name:<{width}} {'yes' if s.local else '-':<6} {'yes' if s.shipped else '-':<8} "
              f"{_metric(s.metrics, 'ccc_valence'):>6} {_metric(s.metrics, 'ccc_arousal'):>6}  "
              f"lr {r.lr:g}, wd {r.weight_decay:g}, {s.tag.protocol.epochs} epochs"
              + (f", also trained as the {'/'.join(sensors)} sensors record the faces" if sensors else "")
              + (", windows off the frame clock" if s.tag.protocol.train_phases_us else "")
              + (", jittered face boxes" if s.tag.protocol.train_box_jitter else ""))
    print(f"\nbuilt: in {_home_models()} (neurova zoo build TAG); shipped: in the package; CCC: test subjects")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    if args.shipped == (args.tag is not None):
        raise SystemExit("neurova zoo build: error: give one TAG or --shipped")
    if args.shipped and args.out is not None:
        raise SystemExit("neurova zoo build: error: --shipped writes into the package; --out does not apply")
    from neurova.models.hf_hub import PACKAGED_DIR

    names = list(SHIPPED_TAGS) if args.shipped else [args.tag]
    for name in names:
        try:
            get_tag(name)
        except ValueError as exc:
            raise SystemExit(f"neurova zoo build: error: {exc}") from None
    for name in names:
        out = PACKAGED_DIR / name if args.shipped else args.out
        folder = build(name, out, seed=args.seed, cache_dir=args.cache_dir, accelerator=args.accelerator,
                       leaderboard=args.leaderboard)
        print(f"{name} -> {folder}")
    return 0


def _cmd_push(args: argparse.Namespace) -> int:
    from neurova.models.hf_hub import push_to_hub

    source = Path(args.source)
    if not source.is_dir():
        found = status(args.source) if args.source in tags() else None
        if found is None or (found.local or found.shipped) is None:
            raise SystemExit(f"neurova zoo push: error: {args.source!r} is neither a model folder nor a built or "
                             "shipped tag")
        source = found.local or found.shipped  # type: ignore[assignment]
    url = push_to_hub(source, args.repo_id, private=args.private, commit_message=args.message)
    print(f"{source} -> {url}")
    return 0


def add_subcommand(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``neurova zoo {list,build,push}`` to an argparse ``subparsers`` object; returns the ``zoo`` parser."""
    zoo = subparsers.add_parser("zoo", help="Tagged pretrained checkpoints: list, build from their recipe, publish",
                                description="Tagged pretrained checkpoints (docs/zoo.md).")
    actions = zoo.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    p = actions.add_parser("list", help="every tag, whether it is built or shipped, its test CCC and recipe")
    p.add_argument("--json", action="store_true", help="the full recipes and locations as JSON")
    p.set_defaults(func=_cmd_list)
    p = actions.add_parser("build", help="reproduce a tagged checkpoint from its recipe (bit for bit on CPU)")
    p.add_argument("tag", nargs="?", default=None, help="e.g. tiny_cnn_fusion.synthetic_faces ('neurova zoo list')")
    p.add_argument("--out", default=None, help="output folder (default $NEUROVA_HOME/models/TAG)")
    p.add_argument("--shipped", action="store_true",
                   help=f"rebuild the checkpoints shipped in the package ({', '.join(SHIPPED_TAGS)}) in place")
    p.add_argument("--seed", type=int, default=None, help=f"training seed (default {DEFAULT_SEED})")
    p.add_argument("--accelerator", default="cpu", help="Lightning accelerator (only cpu is bit-for-bit; default)")
    p.add_argument("--cache-dir", default=None,
                   help="event cache of the synthetic faces (default $NEUROVA_CACHE, else $NEUROVA_HOME/cache)")
    p.add_argument("--leaderboard", default=None, metavar="DIR",
                   help="a leaderboard output folder: its mean ± sd over seeds goes into the model card")
    p.set_defaults(func=_cmd_build)
    p = actions.add_parser("push", help="publish a model folder or a built tag to the Hugging Face Hub")
    p.add_argument("source", help="a model folder (save_pretrained) or a built or shipped tag")
    p.add_argument("repo_id", help="Hub repository, user/name (created if missing)")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--message", default=None, help="commit message")
    p.set_defaults(func=_cmd_push)
    return zoo
