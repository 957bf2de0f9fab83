"""The ``neurova`` command.

``neurova fit|validate|test|predict`` are Lightning's own subcommands through
:class:`NeurovaCLI` (a ``LightningCLI`` in subclass mode, so any registered
model and any DataModule can be named in a YAML config). The other
subcommands (``simulate``, ``encode``, ``zero-shot``, ``predict-file``,
``models``, ``demo``) are plain argparse commands over the library's functions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")


def _lightning_cli(argv: Sequence[str]) -> int:
    from neurova.training import NeurovaCLI

    NeurovaCLI(args=list(argv))
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
        datamodule = NEFERDataModule(root=args.root, label_set=args.label_set, batch_size=args.batch_size,
                                     frame_interval_us=contract.frame_interval_us, **encoding)
    else:
        from neurova.datamodules import SyntheticFacesDataModule

        datamodule = SyntheticFacesDataModule(cache_dir=args.root, batch_size=args.batch_size, test_split="emotion",
                                              polarity=contract.polarity, **encoding)
    report = run_zero_shot_report(model, datamodule, label_set=args.label_set, plot_dir=args.plot_dir)
    print(report)
    print(f"report and figures (confusion matrix, VA wheel) -> {args.plot_dir}")
    return 0


def _cmd_predict_file(args: argparse.Namespace) -> int:
    from neurova.inference import predict_file
    from neurova.models import from_pretrained

    model = from_pretrained(args.model)
    prediction = predict_file(args.path, model, args.output, plot=args.plot)
    print(f"{len(prediction.timestamps_us)} predictions -> {args.output}")
    if args.plot:
        print(f"figure -> {args.plot}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from neurova.models import list_models

    for name in list_models(args.pattern):
        print(name)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from neurova.demo import run_demo

    run_demo(out_dir=args.out, epochs=args.epochs, accelerator=args.accelerator, seed=args.seed)
    return 0


def _size(value: str) -> tuple[int, int]:
    from neurova.events import SensorSize

    try:
        return tuple(SensorSize.of(value))  # type: ignore[return-value]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every non-Lightning subcommand."""
    parser = argparse.ArgumentParser(
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
    p.add_argument("input", help="video file, folder of PNG/JPEG frames, or a folder of those")
    p.add_argument("-o", "--output", required=True, help="OUT.h5 for one clip, a folder for many")
    p.add_argument("--preset", choices=["clean", "noisy"], default="clean")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of frame folders (default 25, AFEW-VA's)")
    p.add_argument("--size", type=_size, default=None, help="resize frames to WIDTHxHEIGHT, e.g. 346x260")
    p.add_argument("--upsample", type=int, default=None, help="temporal upsampling factor")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=["neurova", "v2e"], default="neurova", help="HDF5 layout")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("encode", _cmd_encode, "Encode an event file as TBR frames (.npz)")
    p.add_argument("input", help="event file (.h5, .raw, .aedat4, .dat, .npz, .npy)")
    p.add_argument("-o", "--output", required=True, help="output .npz with a 'frames' array (T, C, H, W)")
    p.add_argument("--n-bits", type=int, default=8)
    p.add_argument("--bin-us", type=int, default=5000)
    p.add_argument("--polarity", choices=["merge", "split"], default="merge")
    p.add_argument("--plot", default=None, help="also save a PNG gallery of the frames")

    p = add("zero-shot", _cmd_zero_shot, "Zero-shot emotion classification with a valence-arousal model")
    p.add_argument("--model", required=True, help="folder written by save_pretrained, or a .ckpt")
    p.add_argument("--data", choices=["nefer", "synthetic"], default="nefer")
    p.add_argument("--root", default=None, help="dataset root (NEFER) or cache folder (synthetic)")
    p.add_argument("--label-set", choices=["expected", "reported"], default="expected")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--plot-dir", default="runs/zero_shot",
                   help="where the JSON report, confusion matrix and VA wheel go (default runs/zero_shot)")

    p = add("predict-file", _cmd_predict_file, "Predict valence, arousal and emotion over an event recording")
    p.add_argument("path", help="event file or video")
    p.add_argument("--model", required=True)
    p.add_argument("-o", "--output", required=True, help="CSV of timestamps, valence, arousal, emotion")
    p.add_argument("--plot", default=None, help="save valence and arousal over time as PNG")

    p = add("models", _cmd_models, "List the registered models")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'resnet*'")

    p = add("demo", _cmd_demo, "Synthetic faces to events to TBR to a trained model, end to end")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the demo's own)")
    p.add_argument("--accelerator", default="cpu", help="cpu, gpu or auto")
    p.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neurova`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in LIGHTNING_SUBCOMMANDS:
        return _lightning_cli(argv)
    args = build_parser().parse_args(argv)
    from neurova.errors import NeurovaError

    try:
        return args.func(args)
    except NeurovaError as exc:
        print(f"neurova {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
