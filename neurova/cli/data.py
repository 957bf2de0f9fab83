"""``neurova simulate``, ``neurova convert`` and ``neurova encode``: events from videos, event files from event
files, frames from events."""

from __future__ import annotations

import argparse
from pathlib import Path

from neurova.cli.arguments import (
    add_command,
    existing_path,
    finite_positive_float,
    int_in_range,
    non_negative_int,
    output_file,
    output_path,
    positive_int,
    sensor_size,
)

__all__ = ["add_commands"]


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


def _cmd_convert(args: argparse.Namespace) -> int:
    from neurova.io import convert_events

    done = convert_events(args.input, args.output, sensor_size=args.sensor_size)
    width, height = done.sensor_size
    print(f"wrote {done.n_events:,} events ({width}x{height})" + (f" and {done.n_frames} frames" if done.n_frames else "")
          + f" -> {done.path}" + (" (copied batch by batch)" if done.streamed else ""))
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


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate``, ``convert`` and ``encode``."""
    from neurova.encodings.tbr import MAX_BITS

    p = add_command(subparsers, "simulate", _cmd_simulate,
                    "Simulate DVS events from a video, a frame folder, or a folder of many")
    p.add_argument("input", type=existing_path, help="video file, folder of PNG/JPEG frames, or a folder of those")
    p.add_argument("-o", "--output", type=output_path, required=True, help="OUT.h5 for one clip, a folder for many")
    p.add_argument("--preset", choices=["clean", "noisy"], default="clean")
    p.add_argument("--fps", type=finite_positive_float, default=25.0,
                   help="frame rate of frame folders (default 25, AFEW-VA's)")
    p.add_argument("--size", type=sensor_size, default=None, help="resize frames to WIDTHxHEIGHT, e.g. 346x260")
    p.add_argument("--upsample", type=positive_int, default=None, help="temporal upsampling factor (>= 1)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--format", choices=["neurova", "v2e"], default="neurova", help="HDF5 layout")
    p.add_argument("--workers", type=positive_int, default=1, help="parallel worker processes (>= 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    events_help = "event file (.h5, .raw, .aedat4, .aedat, .dat, .npz, .npy, .txt, .csv)"
    p = add_command(subparsers, "convert", _cmd_convert,
                    "Convert an event file to .h5 or .npz (events, sensor size and frames, when it has them; "
                    "files without frames batch by batch, in bounded memory)")
    p.add_argument("input", type=existing_path, help=events_help)
    p.add_argument("-o", "--output", type=output_file, required=True, help="OUT.h5 (neurova layout) or OUT.npz")
    p.add_argument("--sensor-size", type=sensor_size, default=None, metavar="WxH",
                   help="the sensor, in place of what the file says or its events imply")

    p = add_command(subparsers, "encode", _cmd_encode, "Encode an event file as TBR frames (.npz)")
    p.add_argument("input", type=existing_path, help=events_help)
    p.add_argument("-o", "--output", type=output_file, required=True,
                   help="output .npz with a 'frames' array (T, C, H, W)")
    p.add_argument("--n-bits", type=int_in_range(1, MAX_BITS), default=8, help=f"bins per frame N (1..{MAX_BITS})")
    p.add_argument("--bin-us", type=positive_int, default=5000, help="duration of one bin in µs (>= 1)")
    p.add_argument("--polarity", choices=["merge", "split"], default="merge")
    p.add_argument("--plot", type=output_file, default=None, help="also save a PNG gallery of the frames")
