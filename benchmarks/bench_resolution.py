"""Benchmark: does a model see the same input whether a face covers 64 pixels or 4x as many?

Trains a ResNetFusion on the synthetic head-and-shoulders faces (160 x 120 sensor, face boxes of
48 to 72 pixels, cropped and resized to 64 x 64 by :class:`neurova.transforms.ToModelInput`), then
renders the held-out test clips again on a sensor with 4x the linear resolution (640 x 480: the
same scene, faces of about 190 to 290 pixels), simulates them, and encodes them with the same
operator on their true face boxes (what :func:`neurova.predict` does with a face box). Prints, for
the model inputs of both versions, the fraction of non-zero pixels and the mean, the same
statistics for the old area resize of encoded frames (``InputContract(resize="area")``) applied to
the 4x version, and the CCC of the model on both versions.

Acceptance (issue 10): non-zero fraction and mean within 25 % of each other, and a CCC loss of at
most 0.05 on the 4x version.

    .venv/bin/python benchmarks/bench_resolution.py [--subjects 30] [--epochs 6] [--stride 4] [--test-clips 8]
                                                    [--scale 4] [--workers 2]

Training dominates the run time (10 minutes on 2 busy cores at the defaults). Measured (defaults, 8 test
clips): non-zero 0.103 vs 0.085 (0.82x), mean 0.027 vs 0.025 (0.92x); CCC valence 0.346 vs 0.467, arousal
0.719 vs 0.749 on the 4x version (no loss); the area resize gives 0.324 non-zero (3.2x) and arousal 0.615.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import tempfile
import time
from pathlib import Path

import torch

from neurova.datamodules import SyntheticFacesDataModule
from neurova.datasets.cache import ClipRecord, EventCache, EventCacheDataset
from neurova.datasets.synthetic import SyntheticFaces, _Job, _make_record
from neurova.metrics import VAMetrics

SCALE = 4


def _scaled_job(job: tuple[_Job, int]) -> ClipRecord:
    return _make_record(*job)


def input_stats(dataset: EventCacheDataset) -> tuple[float, float]:
    """Fraction of non-zero pixels and mean value over every frame of every sample."""
    nonzero = total = 0.0
    count = 0
    for i in range(len(dataset)):
        frames = dataset[i]["frames"]
        nonzero += float((frames > 0).sum())
        total += float(frames.sum())
        count += frames.numel()
    return nonzero / count, total / count


def ccc(model: torch.nn.Module, dataset: EventCacheDataset) -> dict[str, float]:
    """CCC of valence and arousal on the last frame of every sample."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=64)
    metrics = VAMetrics("")
    model.eval()
    with torch.inference_mode():
        for batch in loader:
            out = model(batch["frames"])
            out = out[:, -1] if out.ndim == 3 else out
            metrics.update(out.float(), batch["va"][:, -1])
    values = {k: float(v) for k, v in metrics.compute().items()}
    return {"valence": values["ccc_valence"], "arousal": values["ccc_arousal"]}


def main() -> None:
    import lightning as L

    from neurova.models import ResNetFusion

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--stride", type=int, default=4, help="frames between the samples of a clip")
    parser.add_argument("--test-clips", type=int, default=8, help="held-out clips rendered again at 4x")
    parser.add_argument("--workers", type=int, default=2, help="processes rendering and simulating clips")
    parser.add_argument("--scale", type=int, default=SCALE, help="linear resolution factor of the second version")
    parser.add_argument("--cache-dir", type=Path, default=None, help="keep the caches here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache_dir or Path(tmp)
        L.seed_everything(0, verbose=False)
        dm = SyntheticFacesDataModule(cache_dir=cache_dir, n_subjects=args.subjects, clips_per_subject=2,
                                      emotion_clips=False, clip_length=4, stride=args.stride, val_fraction=0.1,
                                      test_fraction=0.2, batch_size=32, build_workers=args.workers)
        start = time.perf_counter()
        dm.prepare_data()
        dm.setup()
        print(f"1x data: {len(dm.train_set)} train / {len(dm.test_set)} test samples "
              f"({time.perf_counter() - start:.0f} s)", flush=True)

        start = time.perf_counter()
        model = ResNetFusion(in_chans=dm.num_channels, backbone="resnet18", num_frames=4, lr=2e-3)
        trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", devices=1, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                            deterministic=True)
        trainer.fit(model, datamodule=dm)
        print(f"trained {args.epochs} epochs ({time.perf_counter() - start:.0f} s)", flush=True)

        test: SyntheticFaces = dm.test_set  # type: ignore[assignment]
        clip_ids = test.clip_ids[: args.test_clips]
        jobs, _ = dm.config.jobs()
        start = time.perf_counter()
        scale = args.scale
        big = EventCache(cache_dir, f"synthetic_faces_x{scale}", {"x": scale, **dm.config.cache_params()})
        todo = {c: (jobs[c], scale) for c in clip_ids}
        big.build(todo, _scaled_job, num_workers=args.workers if len(todo) > 1 else 0, progress=False)
        print(f"{scale}x data: {len(clip_ids)} clips on a {scale * dm.config.sensor_size[0]}x"
              f"{scale * dm.config.sensor_size[1]} sensor ({time.perf_counter() - start:.0f} s)", flush=True)

        contract = dm.input_contract
        small_set = EventCacheDataset(test.cache, clip_ids, contract, stride=2)
        big_set = EventCacheDataset(big, clip_ids, contract, stride=2)
        area_set = EventCacheDataset(big, clip_ids, dataclasses.replace(contract, resize="area"), stride=2)
        assert [s[:2] for s in small_set.index] == [s[:2] for s in big_set.index]  # the same samples
        big_name = f"{scale}x, resize='events' (predict path)"
        rows = {"64 px (training path)": small_set, big_name: big_set, f"{scale}x, resize='area' (old)": area_set}
        stats = {name: input_stats(ds) for name, ds in rows.items()}
        scores = {name: ccc(model, ds) for name, ds in rows.items()}
        print(f"\n{'input':38s} {'non-zero':>9s} {'mean':>8s} {'CCC V':>7s} {'CCC A':>7s}")
        for name in rows:
            nz, mean = stats[name]
            s = scores.get(name)
            tail = f" {s['valence']:7.3f} {s['arousal']:7.3f}" if s else ""
            print(f"{name:38s} {nz:9.4f} {mean:8.4f}{tail}")
        (nz1, m1), (nz4, m4) = stats["64 px (training path)"], stats[big_name]
        s1, s4 = scores["64 px (training path)"], scores[big_name]
        loss = max(s1[k] - s4[k] for k in ("valence", "arousal"))
        print(f"\nnon-zero ratio {scale}x/1x {nz4 / nz1:.2f}, mean ratio {m4 / m1:.2f} (target 0.75..1.33); "
              f"CCC loss {loss:.3f} (target <= 0.05)")


if __name__ == "__main__":
    multiprocessing.freeze_support()
    main()
