"""Figures: the valence-arousal wheel, VA over time, TBR and event-frame galleries, confusion matrices, input checks.

matplotlib (the ``plot`` extra) is imported when a function is called. Figures
are built with matplotlib's object-oriented API (:class:`matplotlib.figure.Figure`,
no ``pyplot``), so nothing needs a display or changes the global backend; each
function returns its Figure, which :func:`save_figure` writes atomically and
Jupyter shows inline.

Polarity colours follow the usual event-camera convention: ON events red, OFF
events blue, on white. Channel order of two-channel frames is neurova's
(channel 0 = OFF, channel 1 = ON, as in :func:`neurova.encodings.tbr.tbr`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurova._atomic import atomic_path
from neurova._optional import require
from neurova.emotions import resolve_table
from neurova.events import SensorSize, validate_events

__all__ = [
    "plot_confusion_matrix",
    "plot_event_frame",
    "plot_input_comparison",
    "plot_tbr_gallery",
    "plot_va_over_time",
    "plot_va_wheel",
    "polarity_image",
    "save_figure",
]

_PRED_COLOUR = "tab:blue"
_TRUE_COLOUR = "tab:orange"


def _figure(**kwargs: Any) -> Any:
    mpl_figure = require("matplotlib.figure", "plot", "drawing figures")
    return mpl_figure.Figure(**kwargs)


def _array(value: Any, dtype: Any = np.float64) -> np.ndarray:
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=dtype)


def save_figure(fig: Any, path: str | os.PathLike[str], *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix: ``.png``, ``.pdf``, ``.svg`` ...), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path


def plot_va_wheel(
    valence: Any,
    arousal: Any,
    *,
    true: Any | None = None,
    emotions: str | Mapping[str, tuple[float, float]] | None = "ekman7",
    ax: Any | None = None,
    title: str | None = None,
) -> Any:
    """The valence-arousal plane with the unit circle, emotion labels, and predicted (and true) points.

    Args:
        valence, arousal: predicted values, scalars or arrays of one shape (flattened).
        true: optional ``(N, 2)`` true ``(valence, arousal)`` per prediction, drawn as
            crosses joined to their prediction; rows with NaN are skipped.
        emotions: the emotion table whose points are labelled (``None``: no labels).
        ax: draw into this Axes instead of a new figure.
        title: axes title.

    Returns:
        The Figure.
    """
    v, a = (_array(x).reshape(-1) for x in (valence, arousal))
    if v.shape != a.shape:
        raise ValueError(f"valence ({v.size}) and arousal ({a.size}) differ in size")
    if ax is None:
        fig = _figure(figsize=(5.5, 5.5))
        ax = fig.add_subplot()
    theta = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(theta), np.sin(theta), color="0.6", lw=1)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    if emotions is not None:
        for name, (ev, ea) in resolve_table(emotions).items():
            ax.plot(ev, ea, "o", color="0.3", ms=4)
            ax.annotate(name, (ev, ea), textcoords="offset points", xytext=(4, 4), fontsize=8, color="0.2")
    if true is not None:
        t = _array(true).reshape(-1, 2)
        if len(t) != len(v):
            raise ValueError(f"true has {len(t)} points but there are {len(v)} predictions")
        ok = np.isfinite(t).all(axis=1)
        for (pv, pa), (tv, ta) in zip(np.stack([v, a], 1)[ok], t[ok]):
            ax.plot([pv, tv], [pa, ta], color="0.7", lw=0.6, zorder=1)
        ax.scatter(t[ok, 0], t[ok, 1], marker="x", color=_TRUE_COLOUR, label="true", zorder=3)
    ax.scatter(v, a, s=14, color=_PRED_COLOUR, alpha=0.8, label="predicted", zorder=2)
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    ax.set_aspect("equal")
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return ax.figure


def _frame_image(frame: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An image to show for one ``(C, H, W)`` (or ``(H, W)``) frame and its colour map."""
    if frame.ndim == 2:
        return frame, "gray"
    if frame.shape[0] == 1:
        return frame[0], "gray"
    if frame.shape[0] == 2:
        return _polarity_rgb(frame[1], frame[0]), None
    if frame.shape[0] == 3 and frame.ndim == 3:
        return np.moveaxis(frame, 0, -1), None
    return frame.mean(axis=0), "gray"


def _polarity_rgb(on: np.ndarray, off: np.ndarray) -> np.ndarray:
    """White background, ON red, OFF blue, both purple; inputs scaled to [0, 1] by their maximum."""
    scale = max(float(np.max(on, initial=0)), float(np.max(off, initial=0)), 1e-12)
    on, off = np.clip(on / scale, 0, 1), np.clip(off / scale, 0, 1)
    rgb = np.ones((*on.shape, 3))
    rgb[..., 0] -= off
    rgb[..., 1] -= np.maximum(on, off)
    rgb[..., 2] -= on
    return np.clip(rgb, 0, 1)


def polarity_image(events: np.ndarray, sensor_size: SensorSize | tuple[int, ...], *,
                   clip_percentile: float = 99.0) -> np.ndarray:
    """``(H, W, 3)`` float RGB image of events: ON red, OFF blue on white.

    Counts are clipped at the ``clip_percentile`` of the non-zero counts so a few
    hot pixels do not wash out the rest.
    """
    size = SensorSize.of(sensor_size)
    validate_events(events, sensor_size=size)
    index = events["y"].astype(np.int64) * size.width + events["x"].astype(np.int64)
    counts = [np.bincount(index[events["p"] == pol], minlength=size.width * size.height).reshape(size.shape)
              for pol in (True, False)]
    active = np.concatenate([c[c > 0] for c in counts])
    top = max(float(np.percentile(active, clip_percentile)), 1.0) if len(active) else 1.0
    on, off = (np.clip(c / top, 0, 1) for c in counts)
    return _polarity_rgb(on, off) if len(active) else np.ones((*size.shape, 3))


def plot_event_frame(
    events: np.ndarray,
    sensor_size: SensorSize | tuple[int, ...],
    *,
    ax: Any | None = None,
    title: str | None = None,
) -> Any:
    """Events accumulated into one image, ON red and OFF blue (:func:`polarity_image`). Returns the Figure."""
    image = polarity_image(events, sensor_size)
    if ax is None:
        size = SensorSize.of(sensor_size)
        fig = _figure(figsize=(5, 5 * size.height / size.width + 0.4))
        ax = fig.add_subplot()
    ax.imshow(image, interpolation="nearest")
    ax.set_axis_off()
    if len(events):
        span_ms = (int(events["t"][-1]) - int(events["t"][0])) / 1000
        ax.set_title(title or f"{len(events):,} events over {span_ms:.1f} ms", fontsize=9)
    else:
        ax.set_title(title or "no events", fontsize=9)
    return ax.figure


def plot_tbr_gallery(
    frames: Any,
    *,
    n_cols: int = 8,
    max_frames: int = 32,
    titles: Sequence[str] | None = None,
    suptitle: str | None = None,
) -> Any:
    """A grid of encoded frames ``(T, C, H, W)``: C=1 in grey, C=2 as OFF/ON (blue/red), C=3 as RGB, else the channel mean.

    At most ``max_frames`` frames are shown, evenly spaced over T. Returns the Figure.
    """
    array = _array(frames, np.float32)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise ValueError(f"frames must have shape (T, C, H, W) or (T, H, W), got {array.shape}")
    if len(array) == 0:
        raise ValueError("no frames to show")
    if titles is not None and len(titles) != len(array):
        raise ValueError(f"{len(titles)} titles for {len(array)} frames")
    shown = np.unique(np.linspace(0, len(array) - 1, min(len(array), max_frames)).round().astype(int))
    cols = min(n_cols, len(shown))
    rows = -(-len(shown) // cols)
    height, width = array.shape[-2:]
    fig = _figure(figsize=(1.8 * cols, 1.8 * rows * height / width + (0.4 if suptitle else 0.1)))
    axes = fig.subplots(rows, cols, squeeze=False)
    vmax = max(float(array.max()), 1e-12)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, k in zip(axes.flat, shown):
        image, cmap = _frame_image(array[k])
        ax.imshow(image, cmap=cmap, vmin=0, vmax=vmax if cmap else None, interpolation="nearest")
        ax.set_title(titles[k] if titles is not None else f"frame {k}", fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_va_over_time(
    timestamps: Any,
    pred: Any,
    true: Any | None = None,
    frames: Any | None = None,
    *,
    frame_timestamps: Any | None = None,
    n_frames_shown: int = 8,
    start_us: float | None = None,
    title: str | None = None,
) -> Any:
    """Valence and arousal over time, predicted against ground truth, with frames above.

    Args:
        timestamps: ``(T,)`` times in µs, plotted in seconds from ``start_us``.
        pred: ``(T, 2)`` predicted valence, arousal.
        true: optional ``(T, 2)`` ground truth (NaN where unknown).
        frames: optional ``(N, C, H, W)`` / ``(N, H, W)`` frames spread over the same time
            span; ``n_frames_shown`` of them, evenly spaced, are drawn in a row above.
        frame_timestamps: ``(N,)`` times of the frames in µs, written above them (default: the
            prediction times when there is one frame per prediction).
        start_us: time origin in µs, e.g. the recording's first event (default: the first timestamp);
            the axis then reads "time from the recording's start".
        title: figure title.

    Returns:
        The Figure.
    """
    t = _array(timestamps).reshape(-1)
    p = _array(pred).reshape(-1, 2)
    if len(p) != len(t):
        raise ValueError(f"{len(t)} timestamps but {len(p)} predictions")
    q = None if true is None else _array(true).reshape(-1, 2)
    if q is not None and len(q) != len(t):
        raise ValueError(f"{len(t)} timestamps but {len(q)} true values")
    origin = float(start_us) if start_us is not None else (t[0] if len(t) else 0.0)
    seconds = (t - origin) / 1e6
    frame_array = None if frames is None else _array(frames, np.float32)
    frame_seconds = None
    if frame_timestamps is not None:
        frame_seconds = (_array(frame_timestamps).reshape(-1) - origin) / 1e6
        if frame_array is None or len(frame_seconds) != len(frame_array):
            raise ValueError("frame_timestamps needs frames, one timestamp per frame")
    elif frame_array is not None and len(frame_array) == len(t):
        frame_seconds = seconds
    n_top = 0 if frame_array is None or len(frame_array) == 0 else min(n_frames_shown, len(frame_array))
    fig = _figure(figsize=(max(6.0, 1.2 * n_top), 4.5 + (1.4 if n_top else 0)))
    grid = fig.add_gridspec(3 if n_top else 2, max(n_top, 1), height_ratios=[1.0, 2, 2] if n_top else [1, 1])
    if n_top and frame_array is not None:
        picks = np.linspace(0, len(frame_array) - 1, n_top).round().astype(int)
        vmax = max(float(frame_array.max()), 1e-12)
        for col, k in enumerate(picks):
            ax = fig.add_subplot(grid[0, col])
            frame = frame_array[k] if frame_array.ndim == 4 else frame_array[k][None]
            image, cmap = _frame_image(frame)
            ax.imshow(image, cmap=cmap, vmin=0, vmax=vmax if cmap else None, interpolation="nearest")
            ax.set_axis_off()
            if frame_seconds is not None:
                ax.set_title(f"{frame_seconds[k]:.2f} s", fontsize=7)
    first = 1 if n_top else 0
    ax_v = fig.add_subplot(grid[first, :])
    ax_a = fig.add_subplot(grid[first + 1, :], sharex=ax_v)
    for ax, dim, name in ((ax_v, 0, "valence"), (ax_a, 1, "arousal")):
        ax.plot(seconds, p[:, dim], color=_PRED_COLOUR, label="predicted")
        if q is not None:
            ax.plot(seconds, q[:, dim], color=_TRUE_COLOUR, label="true")
        ax.set_ylim(-1.05, 1.05)
        ax.axhline(0, color="0.85", lw=0.8)
        ax.set_ylabel(name)
    ax_v.legend(loc="upper right", fontsize=8)
    ax_a.set_xlabel("time from the recording's start (s)" if start_us is not None else "time (s)")
    if title:
        fig.suptitle(title)
    return fig


def plot_input_comparison(
    recording: Any | None,
    training: Any | None,
    *,
    table: str | None = None,
    labels: tuple[str, str] = ("recording inputs", "training inputs"),
    title: str | None = None,
    views: Sequence[tuple[np.ndarray, Any, str]] | None = None,
) -> Any:
    """A recording's model inputs above the model's training inputs, on one colour scale.

    Args:
        recording, training: ``(n, C, S, S)`` (or ``(n, S, S)``) input frames, e.g.
            :attr:`neurova.domain.InputStats.samples`; ``None`` draws a note instead of a row.
        table: text drawn under the images in a fixed-width font (e.g.
            :meth:`neurova.domain.DomainComparison.table`).
        labels: the two rows' names.
        title: figure title.
        views: a first row, where the face box lies on the sensor: ``(image, box, caption)`` each, ``image`` an
            ``(H, W, 3)`` RGB picture of the sensor (:func:`polarity_image`), ``box`` ``(x0, y0, width, height)``
            in its pixels (``None``: none drawn).

    Both input rows share ``vmin=0`` and the largest value of either set as ``vmax``, so inputs fainter
    or denser than the training ones look fainter or denser. Returns the Figure.
    """
    rows = []
    for frames in (recording, training):
        if frames is None:
            rows.append(None)
            continue
        array = _array(frames, np.float32)
        if array.ndim == 3:
            array = array[:, None]
        if array.ndim != 4 or len(array) == 0:
            raise ValueError(f"input frames must have shape (n, C, S, S) or (n, S, S) with n >= 1, got {array.shape}")
        rows.append(np.abs(array))
    views = list(views or [])
    cols = max([len(r) for r in rows if r is not None] + [len(views)], default=1) or 1
    vmax = max([float(r.max()) for r in rows if r is not None] + [1e-12])
    table_lines = 0 if table is None else len(table.splitlines())
    heights = [1.0] * (bool(views) + 2) + ([0.1 * table_lines] if table else [])
    fig = _figure(figsize=(max(6.0, 1.8 * cols + 1.2), 2.1 * (bool(views) + 2) + 0.16 * table_lines))
    grid = fig.add_gridspec(len(heights), cols, height_ratios=heights)
    if views:
        _draw_views(fig, grid, views)
    image = None
    for r, (frames, label) in enumerate(zip(rows, labels), start=bool(views)):
        if frames is None:
            ax = fig.add_subplot(grid[r, :])
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"{label}: none stored", ha="center", va="center", fontsize=9, color="0.4")
            continue
        for c in range(cols):
            ax = fig.add_subplot(grid[r, c])
            ax.set_axis_off()
            if c >= len(frames):
                continue
            picture, cmap = _frame_image(frames[c])
            image = ax.imshow(picture, cmap=cmap, vmin=0, vmax=vmax if cmap else None, interpolation="nearest")
            if c == 0:
                ax.set_title(label, fontsize=9, loc="left")
    input_axes = fig.axes[len(views):]
    if image is not None and image.get_cmap() is not None and image.get_array().ndim == 2:
        fig.colorbar(image, ax=input_axes, fraction=0.02, pad=0.02, label="input value")
    if table:
        ax = fig.add_subplot(grid[-1, :])
        ax.set_axis_off()
        ax.text(0, 1, table, family="monospace", fontsize=7.5, va="top", ha="left", transform=ax.transAxes)
    if title:
        fig.suptitle(title)
    return fig


def _draw_views(fig: Any, grid: Any, views: Sequence[tuple[np.ndarray, Any, str]]) -> None:
    """The first row of :func:`plot_input_comparison`: sensor pictures with the face box drawn on each."""
    from matplotlib.patches import Rectangle

    for c, (picture, box, caption) in enumerate(views):
        ax = fig.add_subplot(grid[0, c])
        ax.imshow(picture, interpolation="nearest")
        if box is not None:
            x0, y0, w, h = (float(v) for v in box)
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), w, h, fill=False, edgecolor="tab:green", linewidth=1.5))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(caption, fontsize=8)
        if c == 0:
            ax.set_title("face box on the sensor", fontsize=9, loc="left")


def plot_confusion_matrix(
    cm: Any,
    class_names: Sequence[str],
    *,
    normalize: bool = False,
    ax: Any | None = None,
    title: str | None = None,
) -> Any:
    """A confusion matrix (rows true, columns predicted) with its counts written in the cells.

    With ``normalize`` each row is divided by its total (recall on the diagonal). Returns the Figure.
    """
    matrix = _array(cm)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(class_names):
        raise ValueError(f"cm must be ({len(class_names)}, {len(class_names)}) for the class names, got {matrix.shape}")
    shown = matrix
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        shown = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    if ax is None:
        side = 1.2 + 0.55 * len(class_names)
        fig = _figure(figsize=(side + 1, side))
        ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=list(class_names), rotation=45, ha="right", fontsize=8)
    ax.set_yticks(ticks, labels=list(class_names), fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = float(shown.max()) if shown.size else 0.0
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if top and shown[i, j] > top / 2 else "black")
    if title:
        ax.set_title(title)
    return ax.figure
