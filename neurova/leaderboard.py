"""The model-zoo leaderboard: one fixed protocol on the synthetic faces, resumable runs, a table, a plot, tags.

Protocol (:class:`Protocol`, documented in ``docs/leaderboard.md``; it and the recipes are defined once, in
:mod:`neurova.zoo`, and shared with the tagged checkpoints): the synthetic faces of the demo
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
``checkpoints/<model>.synthetic_faces`` (``save_pretrained`` + model card); :func:`neurova.zoo.build`
(``neurova zoo build TAG``; :func:`build_tag` is its alias) reproduces one alone, bit for bit on CPU.
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

from neurova._atomic import atomic_path
from neurova.recipes import data_name, stored_spec
from neurova.zoo import (
    DIMS,
    METRICS,
    RECIPES,
    SYNTHETIC_FACES,
    Protocol,
    Recipe,
    SplitTensors,
    Tag,
    card_section,
    load_splits,
    predict,
    recipe_for,
    save_tagged,
    score,
    tag_name,
    train,
    weights_digest,
    write_card_section,
)

if TYPE_CHECKING:
    from neurova.contract import InputContract
    from neurova.models.base import VARegressionModule

__all__ = [
    "GRIDS",
    "RECIPES",
    "SEEDS",
    "Entry",
    "PlotPoint",
    "Protocol",
    "Recipe",
    "SplitTensors",
    "build_tag",
    "entries",
    "load_splits",
    "parse_shard",
    "plot_leaderboard",
    "predict",
    "profile_model",
    "recipe_for",
    "run_leaderboard",
    "score",
    "tags",
    "train_entry",
    "write_report",
]

PROTOCOL_VERSION = 1
"""Changes whenever the protocol's meaning changes; part of every result's key (older results are rerun)."""
SEEDS = (0, 1, 2)
CARD_FIGURE = "leaderboard.png"
"""The figure a tagged checkpoint's folder holds beside its card: the leaderboard with its entry marked."""
GRIDS = ("reduced", "full")
Grid = Literal["reduced", "full"]


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
        return self.tag_for(SYNTHETIC_FACES)

    def tag_for(self, protocol: Protocol) -> str | None:
        """``<model>.<data>`` of an architecture at the default encoding trained under ``protocol`` (``<data>``:
        :func:`neurova.recipes.data_name`); None for other entries and for training sensors no data name has."""
        data = data_name(protocol)
        if self.kind != "model" or self.model is None or (self.n_bits, self.bin_us) != (8, 5000) or data is None:
            return None
        return tag_name(self.model, data)

    def key(self, protocol: Protocol) -> str:
        """Hash of everything that determines this entry's results (older results with another key are rerun)."""
        from neurova.datasets.synthetic import CACHE_VERSION

        # fields added later count only when set: results saved before them keep their keys
        spec = {"version": PROTOCOL_VERSION, "entry": asdict(self),
                "protocol": stored_spec(asdict(protocol), Protocol), "data": CACHE_VERSION}
        spec["entry"].pop("skip_reason")
        if self.recipe is not None:
            spec["entry"]["recipe"] = stored_spec(spec["entry"]["recipe"], Recipe)
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


# -- training, scoring, profiling -----------------------------------------------------------------------------------


def train_entry(entry: Entry, protocol: Protocol, splits: Mapping[str, SplitTensors], contract: InputContract,
                seed: int, *, accelerator: str = "cpu", progress: bool = False) -> VARegressionModule:
    """Train ``entry``'s model with its recipe for ``protocol.epochs`` epochs (:func:`neurova.zoo.train`)."""
    if entry.kind != "model" or entry.model is None or entry.recipe is None:
        raise ValueError(f"entry {entry.name!r} is not a trained model")
    return train(entry.model, entry.recipe, protocol, splits, contract, seed, accelerator=accelerator,
                 progress=progress)


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
        val_pred, test_pred = predict(model, splits["val"].frames), predict(model, splits["test"].frames)
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
    tag = entry.tag_for(protocol)
    if model is not None and tag is not None and seed == SEEDS[0]:
        save_tagged(model, _zoo_tag(entry, protocol, seed), result["test"], out / "checkpoints" / tag)
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
    protocol = protocol or SYNTHETIC_FACES
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


def _zoo_tag(entry: Entry, protocol: Protocol, seed: int) -> Tag:
    name, data = entry.tag_for(protocol), data_name(protocol)
    assert name is not None and data is not None and entry.model is not None and entry.recipe is not None
    return Tag(name, entry.model, data, entry.recipe, protocol, entry.n_bits, entry.bin_us, seed)


def build_tag(tag: str, out: str | os.PathLike[str] | None = None, *, seed: int = SEEDS[0],
              protocol: Protocol | None = None, cache_dir: str | os.PathLike[str] | None = None,
              accelerator: str = "cpu", progress: bool = True) -> Path:
    """Reproduce the tagged checkpoint ``tag`` from its recipe: :func:`neurova.zoo.build` (``neurova zoo build``)."""
    from neurova import zoo

    return zoo.build(tag, out, seed=seed, protocol=protocol, cache_dir=cache_dir, accelerator=accelerator,
                     progress=progress)


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
    protocol = protocol or SYNTHETIC_FACES
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
    cards: list[tuple[_Row, dict[str, Any]]] = []
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
        if e.tag_for(protocol) is not None:
            cards.append((row, stats))
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
    points = [PlotPoint(row.entry, {d: stat for d in DIMS if (stat := row.stat("test", f"ccc_{d}")) is not None},
                        row.over_seeds("macs") or 0.0) for row in rows if row.results]
    plot_leaderboard(out / "leaderboard.png", points)
    for row, stats in cards:
        _update_card(out, row, protocol, stats, points)
    return out / "leaderboard.md"


def _update_card(out: Path, row: _Row, protocol: Protocol, stats: Mapping[str, Any],
                 points: Sequence[PlotPoint]) -> None:
    """The card of ``row``'s tagged checkpoint gets the row and, beside other entries, the figure with it marked."""
    from neurova.models.hub import CARD_NAME, read_config

    folder = out / "checkpoints" / str(row.entry.tag_for(protocol))
    seed0 = next((r for r in row.results if r["seed"] == SEEDS[0]), None)
    if seed0 is None or not (folder / CARD_NAME).is_file():
        return
    own = {k.removeprefix("test/"): v for k, v in (read_config(folder).get("metrics") or {}).items()}
    summary = {k: v for k, v in stats.items() if v is not None}
    figure = None
    if len(points) > 1 and plot_leaderboard(folder / CARD_FIGURE, points, highlight=row.entry.name) is not None:
        figure = CARD_FIGURE
    write_card_section(folder, card_section(_zoo_tag(row.entry, protocol, SEEDS[0]), own, summary,
                                            len(row.results), weights_digest(folder), figure=figure))


@dataclass(frozen=True)
class PlotPoint:
    """One entry of the leaderboard figure.

    Attributes:
        entry: the leaderboard entry (its name, model and TBR encoding place it in the figure).
        ccc: test CCC per dimension (``"valence"``, ``"arousal"``): ``(mean, sd)`` over seeds, sd None for one seed.
        macs: multiply-accumulates per prediction at batch 1 (0 for the training mean).
    """

    entry: Entry
    ccc: Mapping[str, tuple[float, float | None]]
    macs: float


def _spread_labels(labels: Sequence[tuple[str, float, float]], gap: float = 0.024,
                   decade: float = 1.5) -> list[tuple[str, float, float, float]]:
    """``(name, x, y, label_y)``: each label at its point's height, moved up just enough to keep ``gap`` (CCC)
    from the labels below it within ``decade`` decades of x, so that points of similar cost stay readable."""
    placed: list[tuple[str, float, float, float]] = []
    for name, x, y in sorted(labels, key=lambda label: label[2]):
        label_y = y
        for _, other_x, _, other_y in placed:
            if abs(math.log10(x) - math.log10(other_x)) < decade and label_y < other_y + gap:
                label_y = other_y + gap
        placed.append((name, x, y, label_y))
    return placed


def plot_leaderboard(path: str | os.PathLike[str], points: Sequence[PlotPoint], *,
                     highlight: str | None = None) -> Path | None:
    """Draw the leaderboard figure at ``path`` (atomic): test CCC against MACs, and the TBR variants.

    Left: every baseline and architecture at the default encoding (log MACs; o valence, s arousal, bars one sd);
    middle and right: the :data:`TBR_VARIANT_MODEL` variants over bit depth N (Δt = 5 ms) and bin Δt (N = 8).
    :func:`write_report` draws it from its results (and, with ``highlight``, for each tagged checkpoint's card);
    ``docs/make_leaderboard_figure.py`` from a documented table.

    Args:
        path: the image file (format from the suffix).
        points: the entries to draw.
        highlight: an entry name drawn larger, edged in black and labelled in bold (a model card's own entry).

    Returns:
        ``path``, or None without matplotlib (the ``plot`` extra).
    """
    from neurova._optional import require
    from neurova.errors import MissingDependencyError
    from neurova.plotting import save_figure

    try:
        mpl_figure = require("matplotlib.figure", "plot", "drawing the leaderboard figure")
    except MissingDependencyError:
        return None
    fig = mpl_figure.Figure(figsize=(16, 4.8), layout="constrained")
    ax_cost, ax_bits, ax_bins = fig.subplots(1, 3, width_ratios=(1.6, 1, 1))
    colours = {"valence": "tab:blue", "arousal": "tab:orange"}
    labels = []
    for point in points:
        if point.entry.kind == "model" and point.entry.tag is None:
            continue
        macs = max(point.macs, 1.0)
        own = {"markersize": 9, "markeredgecolor": "black", "zorder": 3} if point.entry.name == highlight else {}
        for dim, marker in zip(DIMS, ("o", "s"), strict=True):
            if dim in point.ccc:
                mean, sd = point.ccc[dim]
                ax_cost.errorbar(macs, mean, yerr=sd or 0.0, fmt=marker, color=colours[dim], capsize=2, **own)
        labels.append((point.entry.name, macs, max((point.ccc[d][0] for d in DIMS if d in point.ccc), default=0.0)))
    for name, macs, top, label_y in _spread_labels(labels):
        ax_cost.annotate(name, (macs, top), (macs * 1.3, label_y), fontsize=6, va="center",
                         fontweight="bold" if name == highlight else "normal",
                         arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"} if label_y != top else None)
    ax_cost.set(xscale="log", xlabel="MACs per prediction (batch 1)", ylabel="test CCC (o valence, s arousal)",
                title="architectures and baselines")
    variants = [p for p in points if p.entry.model == TBR_VARIANT_MODEL]
    for ax, axis, fixed, scale, label in ((ax_bits, "n_bits", ("bin_us", 5000), 1, "TBR bits N (Δt = 5 ms)"),
                                          (ax_bins, "bin_us", ("n_bits", 8), 1000, "TBR bin Δt in ms (N = 8)")):
        chosen = sorted((p for p in variants if getattr(p.entry, fixed[0]) == fixed[1]),
                        key=lambda p: getattr(p.entry, axis))
        xs = [getattr(p.entry, axis) / scale for p in chosen]
        for dim, style in zip(DIMS, ("-", "--"), strict=True):
            ys = [p.ccc.get(dim) for p in chosen]
            ax.errorbar(xs, [y[0] if y else math.nan for y in ys], yerr=[(y[1] or 0.0) if y else 0.0 for y in ys],
                        linestyle=style, marker="o", capsize=2, color=colours[dim], label=dim)
        ax.set(xscale="log", xlabel=label, ylabel="test CCC", title=f"TBR variants ({TBR_VARIANT_MODEL})")
        if xs:
            ax.set_xticks(xs, [f"{x:g}" for x in xs])
            ax.minorticks_off()
            ax.legend(fontsize=7)
    return save_figure(fig, path)

