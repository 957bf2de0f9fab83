"""Figures of docs/inference.md: the real-recording path on a simulated 320x240 head-and-shoulders recording.

Renders a scene unseen in training (its own seed) on a DVXplorer-sized sensor, simulates it with the
``noisy`` preset, writes it as an event file, runs ``neurova.predict(..., detect_face="auto")`` with a
saved model, and draws

* ``inference_detection.png``: event images of four prediction times with the tracked face box the model
  was fed (green) and the true face box of the scene (black, dashed);
* ``inference_check.png``: the recording's model inputs beside the model's training inputs, with the
  statistics table (what ``neurova check`` saves).

Usage::

    .venv/bin/python docs/make_inference_figures.py --model runs/demo/model --out docs/images
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np


def simulated_recording(path: Path, *, seed: int, seconds: float, sensor: tuple[int, int]) -> np.ndarray:
    """Write the recording to ``path``; return the true face boxes ``(T, 4)`` of its 25 fps frames."""
    from neurova.datasets.render import sample_identity, sample_va_trajectory
    from neurova.datasets.scenes import render_scene_clip, sample_scene_layout
    from neurova.io import write_events
    from neurova.simulator import simulate

    rng = np.random.default_rng(seed)
    n = round(seconds * 25)
    identity = sample_identity(rng)
    layout = sample_scene_layout(rng, sensor, face_fraction=(0.35, 0.5))
    va = sample_va_trajectory(n, rng, fps=25.0)
    frames, boxes = render_scene_clip(identity, layout, va, fps=25.0, rng=rng)
    timestamps = np.arange(n, dtype=np.int64) * 40_000
    events = simulate(np.rint(frames * 255).astype(np.uint8), timestamps, preset="noisy", seed=seed)
    write_events(path, events, sensor)
    return boxes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a saved model folder (e.g. runs/demo/model)")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    import matplotlib.pyplot as plt

    from neurova.domain import DomainWarning, compare_stats
    from neurova.events import slice_time
    from neurova.inference import predict
    from neurova.io import read_events
    from neurova.models import from_pretrained
    from neurova.plotting import plot_input_comparison, polarity_image, save_figure

    sensor = (320, 240)
    model = from_pretrained(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "recording.h5"
        true_boxes = simulated_recording(recording, seed=args.seed, seconds=3.0, sensor=sensor)
        events = read_events(recording)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DomainWarning)
            prediction = predict(model, recording, detect_face="auto")

    picks = np.linspace(0, len(prediction) - 1, 4).round().astype(int)
    fig, axes = plt.subplots(1, 4, figsize=(12, 2.6), constrained_layout=True)
    for ax, i in zip(axes, picks):
        t = int(prediction.timestamps_us[i])
        ax.imshow(polarity_image(slice_time(events, t - 40_000, t), sensor))
        x0, y0, w, h = prediction.boxes[i]
        ax.add_patch(plt.Rectangle((x0, y0), w, h, fill=False, color="lime", lw=1.5))
        tx, ty, tw, th = true_boxes[min(t // 40_000, len(true_boxes) - 1)]
        ax.add_patch(plt.Rectangle((tx, ty), tw, th, fill=False, color="black", lw=1, ls="--"))
        ax.set_title(f"t = {t / 1000:.0f} ms: {prediction.emotion[i]}", fontsize=9)
        ax.axis("off")
    save_figure(fig, args.out / "inference_detection.png", dpi=90)

    table = compare_stats(prediction.input_stats, model.input_stats).table() if model.input_stats else None
    figure = plot_input_comparison(prediction.input_stats.samples,
                                   None if model.input_stats is None else model.input_stats.samples,
                                   table=table, title="simulated 320x240 recording: model inputs")
    save_figure(figure, args.out / "inference_check.png", dpi=90)
    print(table)
    print(f"figures -> {args.out / 'inference_detection.png'}, {args.out / 'inference_check.png'}")


if __name__ == "__main__":
    main()
