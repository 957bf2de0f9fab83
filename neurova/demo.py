"""``neurova demo``: the whole method end to end on the embedded synthetic faces.

Synthetic face clips (several subjects, valence and arousal known per frame) →
DVS simulator → face crops through the inference operator → TBR frames (N = 8) → the
``tiny_cnn_fusion`` model of the registry (the leaderboard's best recipe: cosine schedule,
horizontal flips; see docs/leaderboard.md) trained for a few epochs → validation CCC / PCC / RMSE / SAGR on unseen
subjects → ``save_pretrained`` → figures → zero-shot emotion classification of
clips held at each Ekman emotion. Needs no data and no network.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurova.recipes import SYNTHETIC_FACES, recipe_for

__all__ = ["DemoConfig", "DemoResult", "run_demo"]


_DATA = SYNTHETIC_FACES
_RECIPE = recipe_for("tiny_cnn_fusion")


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and recipe of the demo; the defaults finish in under 2 minutes on 2 CPU cores with native bf16, in
    2.5-3.5 in float32 (docs/benchmarks.md, "Demo").

    The data sizes, epochs and batch are the zoo's protocol (:data:`neurova.recipes.SYNTHETIC_FACES`), and
    ``lr`` and ``hflip`` (probability of a left-right flip per training sample) with the cosine schedule are the
    recipe of ``tiny_cnn_fusion`` (:func:`neurova.recipes.recipe_for`, docs/leaderboard.md), so the demo trains
    the model of the ``tiny_cnn_fusion.synthetic_faces`` tag on the same event cache. Unlike the protocol, the
    demo holds out no test subjects (``test_fraction=0``): it reports validation on unseen subjects.
    ``model`` is a registered name (:func:`neurova.models.list_models`).
    """

    n_subjects: int = _DATA.n_subjects
    clips_per_subject: int = _DATA.clips_per_subject
    frames_per_clip: int = _DATA.frames_per_clip
    image_size: int = _DATA.image_size
    clip_length: int = _DATA.clip_length
    stride: int = _DATA.stride
    emotion_clips_per_emotion: int = _DATA.emotion_clips_per_emotion
    model: str = "tiny_cnn_fusion"
    epochs: int = _DATA.epochs
    batch_size: int = _DATA.batch_size
    lr: float = _RECIPE.lr
    hflip: float = 0.5 if _RECIPE.hflip else 0.0
    val_fraction: float = _DATA.val_fraction
    test_fraction: float = 0.0


@dataclass
class DemoResult:
    """What the demo produced: validation metrics, the zero-shot report and the written files."""

    metrics: dict[str, float]
    zero_shot: Any
    model_dir: Path
    figures: dict[str, Path]
    seconds: float


def _stage(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _collect_predictions(model: torch.nn.Module, loader: Any) -> dict[str, np.ndarray]:
    """Predictions of a frame model over a loader, with targets, clip ids and timestamps of the last frame."""
    preds, targets, clips, times = [], [], [], []
    model.eval()
    with torch.inference_mode():
        for batch in loader:
            preds.append(model(batch["frames"]).float().cpu().numpy())
            targets.append(batch["va"][:, -1].float().cpu().numpy())
            clips.extend(str(c) for c in batch["meta"]["clip_id"])
            times.append(batch["meta"]["timestamps_us"][:, -1].cpu().numpy())
    return {
        "pred": np.concatenate(preds),
        "true": np.concatenate(targets),
        "clip": np.asarray(clips),
        "t": np.concatenate(times),
    }


def _metrics_table(pred: np.ndarray, true: np.ndarray) -> tuple[dict[str, float], str]:
    from neurova.metrics import ccc, pcc, rmse, sagr

    metrics: dict[str, float] = {}
    rows = [f"{'':<10}{'CCC':>8}{'PCC':>8}{'RMSE':>8}{'SAGR':>8}"]
    values = {name: fn(pred, true) for name, fn in (("ccc", ccc), ("pcc", pcc), ("rmse", rmse), ("sagr", sagr))}
    for d, dim in enumerate(("valence", "arousal")):
        for name in values:
            metrics[f"val/{name}_{dim}"] = float(values[name][d])
        rows.append(f"{dim:<10}" + "".join(f"{float(values[n][d]):>8.3f}" for n in values))
    metrics["val/ccc_mean"] = float(np.mean(values["ccc"]))
    return metrics, "\n".join(rows)


def run_demo(
    out_dir: str | os.PathLike[str] = "runs/demo",
    *,
    epochs: int | None = None,
    accelerator: str = "cpu",
    precision: str = "auto",
    seed: int = 0,
    config: DemoConfig | None = None,
    progress: bool = True,
) -> DemoResult:
    """Run the demo and write the model and figures under ``out_dir``.

    Args:
        out_dir: output folder: ``model/`` (``save_pretrained``), figures, logs and the event cache.
        epochs: training epochs, at least 1 (default: ``config.epochs``).
        accelerator: Lightning accelerator (``"cpu"``, ``"gpu"``, ``"auto"``); checked before any data is built.
        precision: Lightning precision; ``"auto"`` trains under bfloat16 autocast where the device computes bf16
            natively (:func:`neurova.training.resolve_precision`; about 2x faster on such CPUs, same accuracy,
            docs/benchmarks.md) and in float32 elsewhere. Validation and the saved model are float32.
        seed: seed of the data, the simulator and the training.
        config: sizes of the run (:class:`DemoConfig`).
        progress: show progress bars.
    """
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    from neurova.datamodules import SyntheticFacesDataModule
    from neurova.datasets.synthetic import CACHE_VERSION
    from neurova.models import create_model
    from neurova.plotting import plot_confusion_matrix, plot_tbr_gallery, plot_va_over_time, plot_va_wheel, save_figure
    from neurova.training import check_accelerator, resolve_precision
    from neurova.zero_shot import ZeroShotEvaluator

    config = config or DemoConfig()
    epochs = config.epochs if epochs is None else epochs
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r} (Lightning would read -1 as 'no limit' "
                         "and 0 would save an untrained model)")
    accelerator = check_accelerator(accelerator)
    precision = resolve_precision(precision, accelerator)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    L.seed_everything(seed, verbose=False)

    _stage("1/5 synthetic faces -> DVS events (cached in " + str(out / "cache") + ")")
    datamodule = SyntheticFacesDataModule(
        cache_dir=out / "cache",
        n_subjects=config.n_subjects,
        clips_per_subject=config.clips_per_subject,
        frames_per_clip=config.frames_per_clip,
        image_size=config.image_size,
        emotion_clips_per_emotion=config.emotion_clips_per_emotion,
        clip_length=config.clip_length,
        stride=config.stride,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        batch_size=config.batch_size,
        hflip=config.hflip,
        cache_frames=True,
        seed=seed,
    )
    datamodule.prepare_data()
    datamodule.setup("fit")
    contract = datamodule.input_contract
    print(f"train samples: {len(datamodule.train_set)}, validation samples: {len(datamodule.val_set)} "
          f"(unseen subjects); TBR N={contract.n_bits}, Δt={contract.bin_us} µs, "
          f"{contract.clip_length} frames of {contract.image_size}x{contract.image_size}", flush=True)

    _stage(f"2/5 training {config.model} for {epochs} epochs on {accelerator} ({precision} precision)")
    model = create_model(
        config.model,
        in_chans=datamodule.num_channels,
        num_frames=config.clip_length,
        lr=config.lr,
    )
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator=accelerator,
        precision=precision,
        devices=1,
        logger=CSVLogger(out, name="logs"),
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=10,
        deterministic=True,
    )
    trainer.fit(model, datamodule=datamodule)  # the last epoch's model is reported: no selection on validation

    _stage("3/5 validation on unseen subjects")
    val = _collect_predictions(model, datamodule.val_dataloader())
    metrics, table = _metrics_table(val["pred"], val["true"])
    print(table)
    model_dir = model.save_pretrained(
        out / "model", metrics=metrics,
        data_description=f"neurova synthetic faces ({CACHE_VERSION}): {config.n_subjects} subjects, seed {seed}",
    )

    _stage("4/5 zero-shot emotion classification of emotion-labelled clips")
    report = ZeroShotEvaluator(model).evaluate(datamodule.emotion_dataloader())
    print(report)

    _stage("5/5 figures")
    first_clip = val["clip"][0]
    in_clip = np.flatnonzero(val["clip"] == first_clip)
    in_clip = in_clip[np.argsort(val["t"][in_clip])]
    sample = datamodule.val_set[0]
    figures = {
        "va_wheel": save_figure(
            plot_va_wheel(val["pred"][:, 0], val["pred"][:, 1], true=val["true"],
                          title="validation: predicted vs true"), out / "va_wheel.png"),
        "va_over_time": save_figure(
            plot_va_over_time(val["t"][in_clip], val["pred"][in_clip], true=val["true"][in_clip],
                              title=f"validation clip {first_clip}"), out / "va_over_time.png"),
        "tbr_gallery": save_figure(
            plot_tbr_gallery(sample["frames"].numpy(), suptitle="TBR frames (N=8) of one sample"),
            out / "tbr_gallery.png"),
        "confusion_matrix": save_figure(
            plot_confusion_matrix(report.confusion, report.class_names, title="zero-shot confusion matrix"),
            out / "confusion_matrix.png"),
    }
    seconds = time.perf_counter() - start
    print(f"\nDone in {seconds:.0f} s. Written:")
    print(f"  model    {model_dir}   (load: neurova.models.from_pretrained('{model_dir}'))")
    for name, path in figures.items():
        print(f"  figure   {path}   ({name.replace('_', ' ')})")
    print("\nNext:")
    print(f"  neurova predict RECORDING.raw --model {model_dir} -o predictions.csv --plot predictions.png")
    print("  python examples/finetune_own_events.py --help    # fine-tune on your own event files")
    print("  neurova fit --config configs/synthetic_resnet18_fusion.yaml   # train with the CLI")
    return DemoResult(metrics=metrics, zero_shot=report, model_dir=Path(model_dir), figures=figures, seconds=seconds)
