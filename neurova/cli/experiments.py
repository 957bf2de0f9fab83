"""``neurova zero-shot``, ``demo``, ``leaderboard`` and ``train-face-detector``: whole experiments on datasets."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from neurova.cli.arguments import (
    accelerator,
    add_command,
    existing_path,
    finite_positive_float,
    non_negative_int,
    output_folder,
    positive_int,
    sensor_name,
)
from neurova.recipes import DATA

__all__ = ["add_commands"]


def _cmd_zero_shot(args: argparse.Namespace) -> int:
    from neurova.models import from_pretrained
    from neurova.zero_shot import run_zero_shot_report

    model = from_pretrained(args.model)
    contract = model.input_contract
    if contract is None:
        raise SystemExit(f"{args.model}: the model has no input contract, so its input cannot be rebuilt")
    if args.data == "nefer":
        from neurova.datamodules import NEFERDataModule

        if args.root is None:
            raise SystemExit("neurova zero-shot --data nefer needs --root, the NEFER folder")
        datamodule = NEFERDataModule(root=args.root, raw_dir=args.raw_dir, label_set=args.label_set,
                                     batch_size=args.batch_size, detect_face=args.detect_face or False,
                                     raise_threshold=args.raise_threshold, contract=contract)
    else:
        from neurova.datamodules import SyntheticFacesDataModule

        if args.raw_dir is not None or args.detect_face is not None or args.raise_threshold is not None:
            raise SystemExit("neurova zero-shot: --raw-dir, --detect-face and --raise-threshold apply to --data nefer "
                             "only")

        # only the emotion clips are scored: render and simulate only them (the training clips stay unbuilt)
        datamodule = SyntheticFacesDataModule(cache_dir=args.root, batch_size=args.batch_size, test_split="emotion",
                                              build_splits=["emotion"], contract=contract)
    report = run_zero_shot_report(model, datamodule, label_set=args.label_set, plot_dir=args.plot_dir)
    print(report)
    print(f"report and figures (confusion matrix, VA wheel) -> {args.plot_dir}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from neurova.demo import run_demo

    run_demo(out_dir=args.out, epochs=args.epochs, accelerator=args.accelerator, precision=args.precision,
             seed=args.seed)
    return 0


def _cmd_train_face_detector(args: argparse.Namespace) -> int:
    from neurova.face_detector_training import recipe_from_args, train_face_detector

    recipe = recipe_from_args(args.seed, args.clips, args.epochs, args.noisy_sensors, args.noise_floor_sd)
    train_face_detector(args.out, recipe, cache_dir=args.cache, workers=args.workers)
    print(f"weights and settings -> {args.out}/event_face_detector.safetensors, .json")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from neurova import leaderboard

    if args.list:
        for entry in leaderboard.entries(args.grid):
            print(f"{entry.name:<34} {entry.tag_for(DATA[args.data]) or ''}")
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
    protocol = DATA[args.data] if args.epochs is None else replace(DATA[args.data], epochs=args.epochs)
    report = leaderboard.run_leaderboard(args.out, grid=args.grid, shard=shard, protocol=protocol,
                                         cache_dir=args.cache_dir, accelerator=args.accelerator, only=args.only)
    print(f"table -> {report} (and .csv, .png); tagged checkpoints -> {Path(args.out) / 'checkpoints'}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``zero-shot``, ``demo``, ``train-face-detector`` and ``leaderboard``."""
    p = add_command(subparsers, "zero-shot", _cmd_zero_shot,
                    "Zero-shot emotion classification with a valence-arousal model")
    p.add_argument("--model", required=True, help="folder written by save_pretrained, or a .ckpt")
    p.add_argument("--data", choices=["nefer", "synthetic"], default="nefer")
    p.add_argument("--root", type=output_folder, default=None, help="dataset root (NEFER) or cache folder (synthetic)")
    p.add_argument("--raw-dir", type=existing_path, default=None,
                   help="NEFER: folder of user_XX/<clip_id>.raw (or .dat, .aedat4, .h5, .npz) event recordings, "
                        "used for clips without PNG frames")
    p.add_argument("--detect-face", nargs="?", const="auto", default=None, choices=["auto", "learned", "haar"],
                   help="NEFER recordings: crop to the face found and tracked in the events, as predict does "
                        "(default auto), instead of the centred square; PNG frames cannot be re-cropped")
    p.add_argument("--raise-threshold", type=positive_int, default=None, metavar="K",
                   help="NEFER recordings: read them at contrast thresholds K times their camera's, as predict "
                        "--raise-threshold does (a camera K times as sensitive as the model's training sensor)")
    p.add_argument("--label-set", choices=["expected", "reported"], default="expected")
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--plot-dir", type=output_folder, default="runs/zero_shot",
                   help="where the JSON report, confusion matrix and VA wheel go (default runs/zero_shot)")

    p = add_command(subparsers, "demo", _cmd_demo, "Synthetic faces to events to TBR to a trained model, end to end")
    p.add_argument("--out", type=output_folder, default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--epochs", type=positive_int, default=None, help="training epochs, >= 1 (default: the demo's own)")
    p.add_argument("--accelerator", type=accelerator, default="cpu", help="cpu, gpu, cuda, mps or auto")
    p.add_argument("--precision", choices=("auto", "32-true", "bf16-mixed", "16-mixed"), default="auto",
                   help="Lightning precision (default auto: bf16-mixed where the device computes bfloat16 natively, "
                        "else 32-true)")
    p.add_argument("--seed", type=non_negative_int, default=0)

    p = add_command(subparsers, "train-face-detector", _cmd_train_face_detector,
            "Train the event-face detector on simulated synthetic scenes (the recipe of the shipped weights)")
    p.add_argument("--out", type=output_folder, default="runs/face_detector",
                   help="output folder (default runs/face_detector; neurova/weights holds the shipped ones)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--clips", type=positive_int, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                   help="clips per split (default 700 60 40)")
    p.add_argument("--epochs", type=positive_int, default=None, help="training epochs (default 20)")
    p.add_argument("--noisy-sensors", nargs="+", type=sensor_name, default=None, metavar="SENSOR",
                   help="sensors of the noisy clips, one drawn per clip (default: v2e's noisy preset); e.g. noisy "
                        "dim dark davis346_dark for a camera's dark-pixel noise (neurova.recipes.SENSORS)")
    p.add_argument("--noise-floor-sd", type=finite_positive_float, default=None, metavar="SD",
                   help="remove each training window's noise floor as the learned detector does when it detects "
                        "(neurova.faces.remove_noise_floor; default: the counts as they are); the weights' settings "
                        "keep SD and LearnedFaceDetector detects with it")
    p.add_argument("--cache", type=output_folder, default=None,
                   help="cache of the generated windows (default $NEUROVA_CACHE/face_detector)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="processes rendering clips (the result does not depend on it)")

    p = add_command(subparsers, "leaderboard", _cmd_leaderboard,
            "Train and score every registered model, the baselines and TBR variants on the synthetic faces "
            "(resumable); or rebuild one tagged checkpoint")
    p.add_argument("--grid", choices=["reduced", "full"], default="reduced",
                   help="reduced (under an hour on 2 CPU cores; default) or full (every entry)")
    p.add_argument("--out", type=output_folder, default="runs/leaderboard",
                   help="results, table, plot and tagged checkpoints (default runs/leaderboard)")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="run every N-th job starting at I (default: $RANK/$WORLD_SIZE, else all)")
    p.add_argument("--only", nargs="+", default=None, metavar="ENTRY", help="run only these entries (see --list)")
    p.add_argument("--data", choices=sorted(DATA), default="synthetic_faces",
                   help="the protocol's data (default synthetic_faces; synthetic_faces_noise adds the training "
                        "subjects as three noisy sensors record them, synthetic_faces_cameras also as four sensors of "
                        "other contrast thresholds and two fitted to a real DAVIS346); its tags are saved under "
                        "OUT/checkpoints")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="another training budget than the protocol's (a control run: use another --out; its "
                        "checkpoints' cards record the budget)")
    p.add_argument("--cache-dir", type=output_folder, default=None,
                   help="event cache of the synthetic faces (default OUT/cache; with --build, $NEUROVA_CACHE)")
    p.add_argument("--accelerator", type=accelerator, default="cpu", help="cpu, gpu, cuda, mps or auto")
    p.add_argument("--list", action="store_true", help="list the grid's entries and their tags, then exit")
    p.add_argument("--build", default=None, metavar="TAG",
                   help="only rebuild the tagged checkpoint TAG (e.g. tiny_cnn.synthetic_faces) from its recipe")
    p.add_argument("--build-out", type=output_folder, default=None,
                   help="folder of --build (default $NEUROVA_HOME/models/TAG)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="training seed of --build (default 0)")
