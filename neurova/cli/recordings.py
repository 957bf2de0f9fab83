"""``neurova predict`` and ``neurova check``: a trained model on one recording (the real-recording path).

``neurova predict`` runs :func:`neurova.predict` (through :func:`neurova.inference.predict_file`) over an event
file or video and writes one row per prediction; ``neurova predict-file`` is its former name, kept as a deprecated
alias. Lightning's predict loop over a datamodule is ``neurova predict-dataset``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from neurova.cli.arguments import (
    add_command,
    add_predict_options,
    existing_path,
    finite_positive_float,
    output_file,
    predict_options,
)
from neurova.cli.models import describe_contract

if TYPE_CHECKING:
    from neurova.inference import Prediction

__all__ = ["add_commands"]


def _cmd_predict(args: argparse.Namespace) -> int:
    from neurova.inference import predict_file
    from neurova.models import from_pretrained

    model = from_pretrained(args.model)
    prediction = predict_file(args.path, model, args.output, plot=args.plot, **predict_options(args))
    _report_filters(prediction)
    print(f"{len(prediction.timestamps_us)} predictions -> {args.output}")
    if args.plot:
        print(f"figure -> {args.plot}")
    return 0


def _cmd_predict_file(args: argparse.Namespace) -> int:
    warnings.warn("'neurova predict-file' is deprecated and will be removed; use 'neurova predict', which takes the "
                  "same arguments", FutureWarning, stacklevel=1)
    return _cmd_predict(args)


def _cmd_check(args: argparse.Namespace) -> int:
    import warnings

    import numpy as np

    from neurova.domain import DomainWarning, compare_stats
    from neurova.inference import predict
    from neurova.models import from_pretrained
    from neurova.plotting import plot_input_comparison, save_figure

    model = from_pretrained(args.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)  # the table below says it in full
        prediction = predict(model, args.path, **predict_options(args))
    _report_filters(prediction)
    stats, reference = prediction.input_stats, model.input_stats
    boxes, counts = np.unique(prediction.boxes, axis=0, return_counts=True)
    print(f"recording: {args.path} ({prediction.sensor_size.width}x{prediction.sensor_size.height} sensor, "
          f"{len(prediction)} model inputs; face box (x0, y0, w, h) {tuple(int(v) for v in boxes[counts.argmax()])}"
          f"{', the most used' if len(boxes) > 1 else ''})")
    print(f"model: {args.model} ({model.architecture}); {describe_contract(prediction.contract)}")
    comparison = table = None
    if reference is None:
        median = "n/a" if stats.nonzero_median is None else f"{stats.nonzero_median:.3g}"
        print(f"the model was saved without training input statistics, so there is nothing to compare; the "
              f"recording's inputs have {100 * stats.nonzero_fraction:.3g} % non-zero pixels, median non-zero value "
              f"{median}")
    else:
        comparison = compare_stats(stats, reference, args.tolerance)
        table = comparison.table()
        print(table)
    if args.plot:
        views = _box_views(prediction)
        figure = plot_input_comparison(stats.samples, None if reference is None else reference.samples, table=table,
                                       title=f"{Path(args.path).name}: {'face box and ' if views else ''}model inputs",
                                       views=views)
        print(f"figure -> {save_figure(figure, args.plot)}")
    return 0 if comparison is None or comparison.ok else 1


def _box_views(prediction: Prediction, n: int = 4) -> list[tuple[object, object, str]]:
    """Pictures of the sensor at ``n`` prediction times spread over an event file's recording, each with the face
    box of that prediction (the last ``detect_window_us`` of events: what a detection looks at); none for a video."""
    import numpy as np

    from neurova.io import read_windows, supported_suffixes
    from neurova.plotting import polarity_image

    if prediction.source is None or Path(prediction.source).suffix.lower() not in supported_suffixes():
        return []
    picked = np.unique(np.linspace(0, len(prediction) - 1, n).round().astype(int))
    ends = prediction.timestamps_us[picked]
    window = int(prediction.settings["detect_window_us"])
    events = read_windows(prediction.source, [(int(t) - window, int(t)) for t in ends])
    return [(polarity_image(chunk, prediction.sensor_size), prediction.boxes[i],
             f"{(int(t) - (prediction.start_us or 0)) / 1e6:.2f} s, last {window / 1000:g} ms")
            for i, t, chunk in zip(picked, ends, events)]


def _report_filters(prediction: Prediction) -> None:
    """Name the pixels ``--drop-hot-pixels`` dropped (at most 10), the flicker ``--deflicker`` combed out and the
    thresholds ``--raise-threshold`` emulated."""
    from neurova.inference import _describe_pixels

    settings = prediction.settings
    rate, hot = settings["drop_hot_pixels"], settings["hot_pixels"]
    if rate is not None:
        print(f"dropped the events of {len(hot)} hot pixel(s) firing above {rate:g} Hz on average"
              + (f": {_describe_pixels(hot, 10)}" if hot else ""))
    if settings["deflicker"] is not False:
        frequency = settings["flicker_hz"]
        print("no flickering light found" if frequency is None else
              f"combed out the flicker of a light at {frequency:.1f} Hz ({settings['flicker_fraction']:.1%} of the "
              f"events were flicker)")
    if settings["raise_threshold"] is not None:
        print(f"predicted on the events of contrast thresholds {settings['raise_threshold']}x the recording's")


def _tolerance(text: str) -> float:
    """An argparse type: a finite factor > 1 (``--tolerance``)."""
    value = finite_positive_float(text)
    if value <= 1:
        raise argparse.ArgumentTypeError(f"must be a factor > 1, got {text}")
    return value


def _add_predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=existing_path, help="event file or video")
    p.add_argument("--model", required=True, help="folder written by save_pretrained, a .ckpt, or a checkpoint name")
    p.add_argument("-o", "--output", type=output_file, required=True,
                   help="CSV of timestamps, valence, arousal, emotion")
    p.add_argument("--plot", type=output_file, default=None,
                   help="save valence and arousal over time (from the recording's start) as PNG")
    add_predict_options(p)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``predict``, ``check`` and the deprecated ``predict-file``."""
    _add_predict_arguments(add_command(subparsers, "predict", _cmd_predict,
                                       "Predict valence, arousal and emotion over an event recording or video"))

    p = add_command(subparsers, "check", _cmd_check,
                    "Compare a recording's model inputs with the model's training inputs (domain check)")
    p.add_argument("path", type=existing_path, help="event file or video")
    p.add_argument("--model", required=True, help="folder written by save_pretrained, a .ckpt, or a checkpoint name")
    p.add_argument("--plot", type=output_file, default="check.png",
                   help="figure of the recording's inputs above the training inputs (default check.png)")
    p.add_argument("--tolerance", type=_tolerance, default=2.0,
                   help="factor beyond which a statistic is out of range (default 2); the exit status is 1 when one is")
    add_predict_options(p)

    _add_predict_arguments(add_command(subparsers, "predict-file", _cmd_predict_file,
                                       "Deprecated name of 'neurova predict'"))
