"""The ``neurova`` command.

``neurova fit|validate|test|predict`` are Lightning's own subcommands through
:class:`NeurovaCLI` (a ``LightningCLI`` in subclass mode, so any registered
model and any DataModule can be named in a YAML config). The other
subcommands (``simulate``, ``encode``, ``zero-shot``, ``predict-file``, ``check``,
``models``, ``demo``, ``train-face-detector``) are plain argparse commands over the library's functions.

Arguments are checked when they are parsed (:func:`positive_int`, :func:`finite_positive_float`,
:func:`existing_path`, :func:`output_path`, ...), and every error a user can cause (a neurova error,
a file system error, a Lightning configuration error) ends the command with one line on stderr
and exit status 2; ``NEUROVA_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "build_parser",
    "existing_path",
    "finite_positive_float",
    "int_in_range",
    "main",
    "non_negative_int",
    "output_path",
    "positive_int",
]

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")


# -- argument types (argparse ``type=``): each returns the parsed value or raises ArgumentTypeError -------------------


def int_in_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type accepting integers in ``[low, high]`` (no upper bound when ``high`` is None)."""
    bounds = f"at least {low}" if high is None else f"an integer in {low}..{high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


positive_int = int_in_range(1)
"""An argparse type: an integer >= 1."""
non_negative_int = int_in_range(0)
"""An argparse type: an integer >= 0."""


def finite_positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (``nan``, ``inf``, 0 and negatives are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def existing_path(text: str) -> Path:
    """An argparse type: a file or folder that exists."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def output_path(text: str) -> Path:
    """An argparse type: a path that can be created: no existing file stands in the way of its folders."""
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{text}: {parent} is a file, so nothing can be created under it")
            break
    return path


def output_folder(text: str) -> Path:
    """An argparse type: a folder that exists or can be created (not an existing file)."""
    path = output_path(text.rstrip("/") or "/")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a file, expected a folder")
    return path


def output_file(text: str) -> Path:
    """An argparse type: a file to write (not an existing folder)."""
    path = output_path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder, expected a file name")
    return path


def _accelerator(text: str) -> str:
    key = text.strip().lower()
    if key in ("cpu", "auto"):
        return key
    from neurova.errors import NeurovaError
    from neurova.training import check_accelerator

    try:
        return check_accelerator(key)
    except NeurovaError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _box(text: str) -> tuple[float, float, float, float]:
    """An argparse type: ``X0,Y0,W,H`` in sensor pixels, finite, width and height > 0 (``--face-box``)."""
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
        raise argparse.ArgumentTypeError(f"expected X0,Y0,WIDTH,HEIGHT in sensor pixels (width, height > 0), "
                                         f"got {text!r}")
    return box  # type: ignore[return-value]


def _tolerance(text: str) -> float:
    """An argparse type: a finite factor > 1 (``--tolerance``)."""
    value = finite_positive_float(text)
    if value <= 1:
        raise argparse.ArgumentTypeError(f"must be a factor > 1, got {text}")
    return value


def _add_face_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--face-box", type=_box, default=None, metavar="X0,Y0,W,H",
                   help="the face on the sensor in pixels (default: the largest centred square); with --detect-face, "
                        "the box used until the first detection")
    p.add_argument("--detect-face", nargs="?", const="auto", default=None, choices=["auto", "learned", "haar"],
                   help="find and track the face with this detector (default auto); where none is found the "
                        "fallback box is used, with a warning")
    p.add_argument("--stream", action="store_true", help="read the event file in windows, with bounded memory")


def _size(value: str) -> tuple[int, int]:
    from neurova.events import SensorSize

    try:
        return tuple(SensorSize.of(value))  # type: ignore[return-value]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: ``neurova CMD: error: ... (see 'neurova CMD --help')``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# -- commands -------------------------------------------------------------------------------------------------------


def _lightning_cli(argv: Sequence[str] | None) -> int:
    """Run LightningCLI on ``argv``; ``None`` lets it read ``sys.argv`` itself (no 'args parameter' warning)."""
    from neurova.training import NeurovaCLI

    NeurovaCLI(args=None if argv is None else list(argv))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from neurova.simulator.batch import simulate_dataset

    written = simulate_dataset(
        Path(args.input),
        Path(args.output),
        preset=args.preset,
        fps=args.fps,
        size=args.size,
        upsample=args.upsample,
        seed=args.seed,
        layout=args.format,
        workers=args.workers,
        progress=not args.quiet,
    )
    print(f"wrote {len(written)} event file(s) under {args.output}")
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np

    from neurova._atomic import atomic_path
    from neurova.io import read_recording
    from neurova.transforms import ToTBR

    recording = read_recording(args.input)
    encoder = ToTBR(recording.sensor_size, n_bits=args.n_bits, bin_us=args.bin_us, polarity=args.polarity)
    frames = encoder(recording.events)
    with atomic_path(args.output) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, frames=frames, n_bits=args.n_bits, bin_us=args.bin_us)
    print(f"encoded {len(recording.events):,} events into {frames.shape[0]} TBR frames {tuple(frames.shape[1:])} "
          f"-> {args.output}")
    if args.plot:
        from neurova.plotting import plot_tbr_gallery, save_figure

        save_figure(plot_tbr_gallery(frames), args.plot)
        print(f"gallery -> {args.plot}")
    return 0


def _cmd_zero_shot(args: argparse.Namespace) -> int:
    from neurova.models import from_pretrained
    from neurova.zero_shot import run_zero_shot_report

    model = from_pretrained(args.model)
    contract = model.input_contract
    if contract is None:
        raise SystemExit(f"{args.model}: the model has no input contract, so its input cannot be rebuilt")
    encoding = {"clip_length": contract.clip_length, "n_bits": contract.n_bits, "bin_us": contract.bin_us,
                "image_size": contract.image_size}
    if args.data == "nefer":
        from neurova.datamodules import NEFERDataModule

        if args.root is None:
            raise SystemExit("neurova zero-shot --data nefer needs --root, the NEFER folder")
        datamodule = NEFERDataModule(root=args.root, raw_dir=args.raw_dir, label_set=args.label_set,
                                     batch_size=args.batch_size, frame_interval_us=contract.frame_interval_us,
                                     detect_face=args.detect_face or False, **encoding)
    else:
        from neurova.datamodules import SyntheticFacesDataModule

        if args.raw_dir is not None or args.detect_face is not None:
            raise SystemExit("neurova zero-shot: --raw-dir and --detect-face apply to --data nefer only")

        datamodule = SyntheticFacesDataModule(cache_dir=args.root, batch_size=args.batch_size, test_split="emotion",
                                              polarity=contract.polarity, **encoding)
    report = run_zero_shot_report(model, datamodule, label_set=args.label_set, plot_dir=args.plot_dir)
    print(report)
    print(f"report and figures (confusion matrix, VA wheel) -> {args.plot_dir}")
    return 0


def _face_options(args: argparse.Namespace) -> dict[str, object]:
    """``neurova.predict`` keyword arguments of the face and reading flags shared by predict-file and check."""
    return {"face_box": args.face_box, "detect_face": args.detect_face or False, "stream": args.stream}


def _cmd_predict_file(args: argparse.Namespace) -> int:
    from neurova.inference import predict_file
    from neurova.models import from_pretrained

    model = from_pretrained(args.model)
    prediction = predict_file(args.path, model, args.output, plot=args.plot, **_face_options(args))
    print(f"{len(prediction.timestamps_us)} predictions -> {args.output}")
    if args.plot:
        print(f"figure -> {args.plot}")
    return 0


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
        prediction = predict(model, args.path, **_face_options(args))
    stats, reference = prediction.input_stats, model.input_stats
    boxes, counts = np.unique(prediction.boxes, axis=0, return_counts=True)
    print(f"recording: {args.path} ({prediction.sensor_size.width}x{prediction.sensor_size.height} sensor, "
          f"{len(prediction)} model inputs; face box (x0, y0, w, h) {tuple(int(v) for v in boxes[counts.argmax()])}"
          f"{', the most used' if len(boxes) > 1 else ''})")
    print(f"model: {args.model} ({model.architecture}); {_describe_contract(prediction.contract)}")
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
        figure = plot_input_comparison(stats.samples, None if reference is None else reference.samples, table=table,
                                       title=f"{Path(args.path).name}: model inputs")
        print(f"figure -> {save_figure(figure, args.plot)}")
    return 0 if comparison is None or comparison.ok else 1


def _describe_contract(contract: object | None) -> str:
    """One line: the input recipe and the minimum recording length (:attr:`InputContract.history_us`)."""
    if contract is None:
        return "no input contract"
    return (f"input {contract.clip_length} {contract.encoding} frame(s) of {contract.n_bits} x {contract.bin_us} µs, "
            f"{contract.frame_interval_us} µs apart, {contract.image_size}x{contract.image_size} px; minimum "
            f"recording length {contract.history_us / 1000:g} ms")


def _describe_saved(path: Path) -> str:
    """One line about a saved model folder, from its config.json alone (nothing is built)."""
    from neurova.contract import InputContract
    from neurova.models.hub import read_config

    config = read_config(path)
    contract = config.get("input_contract")
    line = f"{config.get('architecture') or config['class']}: "
    line += _describe_contract(None if contract is None else InputContract.from_dict(contract))
    stats = config.get("input_stats")
    if stats:
        median = stats["nonzero_median"]
        line += (f"; training inputs {100 * stats['nonzero_fraction']:.3g} % non-zero, median non-zero value "
                 f"{'n/a' if median is None else f'{median:.3g}'}")
    return line


def _cmd_models(args: argparse.Namespace) -> int:
    from neurova.models import list_models, neurova_home

    if args.model is not None:
        print(f"{args.model}: {_describe_saved(args.model)}")
        return 0
    for name in list_models(args.pattern):
        print(name)
    root = neurova_home() / "models"
    saved = sorted(p.parent for p in root.glob("*/config.json"))
    if saved:
        print(f"\nsaved models in {root}:")
        for folder in saved:
            print(f"  {folder.name}: {_describe_saved(folder)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from neurova.demo import run_demo

    run_demo(out_dir=args.out, epochs=args.epochs, accelerator=args.accelerator, seed=args.seed)
    return 0


def _cmd_train_face_detector(args: argparse.Namespace) -> int:
    from neurova.face_detector_training import recipe_from_args, train_face_detector

    recipe = recipe_from_args(args.seed, args.clips, args.epochs)
    train_face_detector(args.out, recipe, cache_dir=args.cache, workers=args.workers)
    print(f"weights and settings -> {args.out}/event_face_detector.safetensors, .json")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from neurova import leaderboard

    if args.list:
        for entry in leaderboard.entries(args.grid):
            print(f"{entry.name:<34} {entry.tag or ''}")
        return 0
    if args.build:
        try:
            folder = leaderboard.build_tag(args.build, args.build_out, seed=args.seed, cache_dir=args.cache_dir,
                                           accelerator=args.accelerator)
        except ValueError as exc:
            raise SystemExit(f"neurova leaderboard: error: {exc}") from None
        print(f"{args.build} -> {folder}")
        return 0
    try:
        shard = leaderboard.parse_shard(args.shard)
    except ValueError as exc:
        raise SystemExit(f"neurova leaderboard: error: {exc}") from None
    report = leaderboard.run_leaderboard(args.out, grid=args.grid, shard=shard, cache_dir=args.cache_dir,
                                         accelerator=args.accelerator, only=args.only)
    print(f"table -> {report} (and .csv, .png); tagged checkpoints -> {Path(args.out) / 'checkpoints'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every non-Lightning subcommand."""
    from neurova.encodings.tbr import MAX_BITS

    parser = _Parser(
        prog="neurova",
        description="neurova: valence, arousal and emotion from event-camera recordings of faces.",
        epilog="'neurova COMMAND --help' describes each command; 'neurova demo' runs the whole method on synthetic faces.",
    )
    from neurova import __version__

    parser.add_argument("--version", action="version", version=f"neurova {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for name in LIGHTNING_SUBCOMMANDS:
        sub.add_parser(name, help=f"Lightning {name} (see 'neurova {name} --help')", add_help=False)

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = add("simulate", _cmd_simulate, "Simulate DVS events from a video, a frame folder, or a folder of many")
    p.add_argument("input", type=existing_path, help="video file, folder of PNG/JPEG frames, or a folder of those")
    p.add_argument("-o", "--output", type=output_path, required=True, help="OUT.h5 for one clip, a folder for many")
    p.add_argument("--preset", choices=["clean", "noisy"], default="clean")
    p.add_argument("--fps", type=finite_positive_float, default=25.0,
                   help="frame rate of frame folders (default 25, AFEW-VA's)")
    p.add_argument("--size", type=_size, default=None, help="resize frames to WIDTHxHEIGHT, e.g. 346x260")
    p.add_argument("--upsample", type=positive_int, default=None, help="temporal upsampling factor (>= 1)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--format", choices=["neurova", "v2e"], default="neurova", help="HDF5 layout")
    p.add_argument("--workers", type=positive_int, default=1, help="parallel worker processes (>= 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("encode", _cmd_encode, "Encode an event file as TBR frames (.npz)")
    p.add_argument("input", type=existing_path, help="event file (.h5, .raw, .aedat4, .dat, .npz, .npy)")
    p.add_argument("-o", "--output", type=output_file, required=True,
                   help="output .npz with a 'frames' array (T, C, H, W)")
    p.add_argument("--n-bits", type=int_in_range(1, MAX_BITS), default=8, help=f"bins per frame N (1..{MAX_BITS})")
    p.add_argument("--bin-us", type=positive_int, default=5000, help="duration of one bin in µs (>= 1)")
    p.add_argument("--polarity", choices=["merge", "split"], default="merge")
    p.add_argument("--plot", type=output_file, default=None, help="also save a PNG gallery of the frames")

    p = add("zero-shot", _cmd_zero_shot, "Zero-shot emotion classification with a valence-arousal model")
    p.add_argument("--model", required=True, help="folder written by save_pretrained, or a .ckpt")
    p.add_argument("--data", choices=["nefer", "synthetic"], default="nefer")
    p.add_argument("--root", type=output_folder, default=None, help="dataset root (NEFER) or cache folder (synthetic)")
    p.add_argument("--raw-dir", type=existing_path, default=None,
                   help="NEFER: folder of user_XX/<clip_id>.raw (or .dat, .aedat4, .h5, .npz) event recordings, "
                        "used for clips without PNG frames")
    p.add_argument("--detect-face", nargs="?", const="auto", default=None, choices=["auto", "learned", "haar"],
                   help="NEFER recordings: crop to the face found and tracked in the events, as predict-file does "
                        "(default auto), instead of the centred square; PNG frames cannot be re-cropped")
    p.add_argument("--label-set", choices=["expected", "reported"], default="expected")
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--plot-dir", type=output_folder, default="runs/zero_shot",
                   help="where the JSON report, confusion matrix and VA wheel go (default runs/zero_shot)")

    p = add("predict-file", _cmd_predict_file, "Predict valence, arousal and emotion over an event recording")
    p.add_argument("path", type=existing_path, help="event file or video")
    p.add_argument("--model", required=True, help="folder written by save_pretrained, a .ckpt, or a checkpoint name")
    p.add_argument("-o", "--output", type=output_file, required=True,
                   help="CSV of timestamps, valence, arousal, emotion")
    p.add_argument("--plot", type=output_file, default=None,
                   help="save valence and arousal over time (from the recording's start) as PNG")
    _add_face_options(p)

    p = add("check", _cmd_check, "Compare a recording's model inputs with the model's training inputs (domain check)")
    p.add_argument("path", type=existing_path, help="event file or video")
    p.add_argument("--model", required=True, help="folder written by save_pretrained, a .ckpt, or a checkpoint name")
    p.add_argument("--plot", type=output_file, default="check.png",
                   help="figure of the recording's inputs above the training inputs (default check.png)")
    p.add_argument("--tolerance", type=_tolerance, default=2.0,
                   help="factor beyond which a statistic is out of range (default 2); the exit status is 1 when one is")
    _add_face_options(p)

    p = add("models", _cmd_models, "List the registered models, and saved ones with the recording length they need")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'resnet*'")
    p.add_argument("--model", type=existing_path, default=None,
                   help="describe one saved model folder instead: its input, the minimum recording length, the "
                        "training inputs' statistics")

    p = add("demo", _cmd_demo, "Synthetic faces to events to TBR to a trained model, end to end")
    p.add_argument("--out", type=output_folder, default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--epochs", type=positive_int, default=None, help="training epochs, >= 1 (default: the demo's own)")
    p.add_argument("--accelerator", type=_accelerator, default="cpu", help="cpu, gpu, cuda, mps or auto")
    p.add_argument("--seed", type=non_negative_int, default=0)

    p = add("train-face-detector", _cmd_train_face_detector,
            "Train the event-face detector on simulated synthetic scenes (the recipe of the shipped weights)")
    p.add_argument("--out", type=output_folder, default="runs/face_detector",
                   help="output folder (default runs/face_detector; neurova/weights holds the shipped ones)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--clips", type=positive_int, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                   help="clips per split (default 700 60 40)")
    p.add_argument("--epochs", type=positive_int, default=None, help="training epochs (default 20)")
    p.add_argument("--cache", type=output_folder, default=None,
                   help="cache of the generated windows (default $NEUROVA_CACHE/face_detector)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="processes rendering clips (the result does not depend on it)")

    p = add("leaderboard", _cmd_leaderboard,
            "Train and score every registered model, the baselines and TBR variants on the synthetic faces "
            "(resumable); or rebuild one tagged checkpoint")
    p.add_argument("--grid", choices=["reduced", "full"], default="reduced",
                   help="reduced (under an hour on 2 CPU cores; default) or full (every entry)")
    p.add_argument("--out", type=output_folder, default="runs/leaderboard",
                   help="results, table, plot and tagged checkpoints (default runs/leaderboard)")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="run every N-th job starting at I (default: $RANK/$WORLD_SIZE, else all)")
    p.add_argument("--only", nargs="+", default=None, metavar="ENTRY", help="run only these entries (see --list)")
    p.add_argument("--cache-dir", type=output_folder, default=None,
                   help="event cache of the synthetic faces (default OUT/cache; with --build, $NEUROVA_CACHE)")
    p.add_argument("--accelerator", type=_accelerator, default="cpu", help="cpu, gpu, cuda, mps or auto")
    p.add_argument("--list", action="store_true", help="list the grid's entries and their tags, then exit")
    p.add_argument("--build", default=None, metavar="TAG",
                   help="only rebuild the tagged checkpoint TAG (e.g. tiny_cnn.synthetic_faces) from its recipe")
    p.add_argument("--build-out", type=output_folder, default=None,
                   help="folder of --build (default $NEUROVA_HOME/models/TAG)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="training seed of --build (default 0)")
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors a user causes (bad files, paths, configurations), reported in one line instead of a traceback."""
    from neurova.errors import NeurovaError

    expected: tuple[type[BaseException], ...] = (NeurovaError, OSError, MemoryError)
    if "lightning" in sys.modules:  # only the Lightning subcommands and the demo can raise it
        from lightning.fabric.utilities.exceptions import MisconfigurationException

        expected += (MisconfigurationException,)
    return expected


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        target = f" -> {exc.filename2}" if exc.filename2 else ""
        return f"{exc.filename}{target}: {exc.strerror}"
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neurova`` console script; returns the exit status (2 for errors, 130 if interrupted)."""
    words = list(sys.argv[1:] if argv is None else argv)
    command = words[0] if words else ""
    try:
        if command in LIGHTNING_SUBCOMMANDS:
            return _lightning_cli(None if argv is None else words)
        args = build_parser().parse_args(words)
        return args.func(args)
    except KeyboardInterrupt:
        print(f"neurova {command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("NEUROVA_DEBUG") or not isinstance(exc, _expected_errors()):
            raise
        print(f"neurova {command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
