"""Argument types and parser conventions shared by the commands of ``neurova``.

Each type (argparse ``type=``) returns the parsed value or raises ``argparse.ArgumentTypeError``, so a bad value
is refused when it is parsed, in one line that names the option. Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from neurova.faces import DETECT_EVERY_US

__all__ = [
    "Parser",
    "accelerator",
    "add_command",
    "add_predict_options",
    "existing_path",
    "finite_positive_float",
    "int_in_range",
    "non_negative_int",
    "output_file",
    "output_folder",
    "output_path",
    "positive_int",
    "predict_options",
    "sensor_name",
    "sensor_size",
]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line: ``neurova CMD: error: ... (see 'neurova CMD --help')``,
    and whose options with an optional value leave a path they cannot take to the positional arguments.

    argparse gives an option with an optional value (``--detect-face [DETECTOR]``, ``--deflicker [HZ]``) the word
    after it whatever it is, so ``neurova predict --model M -o OUT --detect-face recording.raw`` failed with
    "invalid choice: 'recording.raw'". Here such an option followed by an existing file or folder that is not one
    of its values is read as given without a value, and the path as the positional argument it is; a word that
    names no file is still refused with argparse's error.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if args is not None:
            args = self._valueless_before_paths(list(args))
        return super().parse_known_args(args, namespace)

    def _valueless_before_paths(self, words: list[str]) -> list[str]:
        """``words`` with each optional-value option that is followed by a path it cannot take moved after the
        other words (before a ``--``), where argparse gives it no value."""
        optional = {name: action for action in self._actions if action.nargs == argparse.OPTIONAL
                    for name in action.option_strings}
        end = words.index("--") if "--" in words else len(words)
        kept: list[str] = []  # from the last word back: the word after each one is the next one kept
        moved: list[str] = []
        for word in reversed(words[:end]):
            action = optional.get(word)
            if action is not None and kept and _is_path_not_value(action, kept[-1]):
                moved.insert(0, word)
            else:
                kept.append(word)
        return kept[::-1] + moved + words[end:]


def _is_path_not_value(action: argparse.Action, word: str) -> bool:
    """Whether ``word`` names an existing file or folder and is no value of the option ``action``."""
    if word.startswith("-") or not Path(word).exists():
        return False
    if action.choices is not None:
        return word not in action.choices
    if action.type is None:
        return False
    try:
        action.type(word)  # type: ignore[operator]
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return True
    return False


def add_command(subparsers: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int],
                help: str) -> argparse.ArgumentParser:
    """Add ``neurova NAME``, run by ``func(args)`` (its exit status); ``help`` is its line in ``neurova --help``."""
    p = subparsers.add_parser(name, help=help, description=help)
    p.set_defaults(func=func)
    return p


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


def accelerator(text: str) -> str:
    """An argparse type: a Lightning accelerator this machine has (``cpu``, ``auto``, ``gpu``, ``cuda``, ``mps``)."""
    key = text.strip().lower()
    if key in ("cpu", "auto"):
        return key
    from neurova.errors import NeurovaError
    from neurova.training import check_accelerator

    try:
        return check_accelerator(key)
    except NeurovaError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def sensor_name(text: str) -> str:
    """An argparse type: a simulated sensor's name that :func:`neurova.recipes.sensor_options` knows
    (:data:`neurova.recipes.SENSORS`, or ``threshold_ON[_OFF]``)."""
    from neurova.recipes import sensor_options

    try:
        sensor_options(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def sensor_size(text: str) -> tuple[int, int]:
    """An argparse type: ``WIDTHxHEIGHT`` in pixels (anything :meth:`neurova.events.SensorSize.of` reads)."""
    from neurova.events import SensorSize

    try:
        return tuple(SensorSize.of(text))  # type: ignore[return-value]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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


def add_predict_options(p: argparse.ArgumentParser) -> None:
    """``--face-box``, ``--detect-face``, ``--detect-every``, ``--stream``, ``--drop-hot-pixels``, ``--deflicker``,
    ``--denoise``, ``--raise-threshold`` and ``--threads``: how a command reads a recording, finds the face in it
    and runs the model (:func:`neurova.predict`'s options)."""
    p.add_argument("--face-box", type=_box, default=None, metavar="X0,Y0,W,H",
                   help="the face on the sensor in pixels (default: the largest centred square); with --detect-face, "
                        "the box used until the first detection")
    p.add_argument("--detect-face", nargs="?", const="auto", default=None, choices=["auto", "learned", "haar"],
                   help="find and track the face with this detector (default auto); where none is found the "
                        "fallback box is used, with a warning")
    p.add_argument("--detect-every", type=finite_positive_float, default=DETECT_EVERY_US / 1000, metavar="MS",
                   help="ms between two detections with --detect-face (default %(default)g; more often follows a "
                        "moving face better, for more detection time)")
    reading = p.add_mutually_exclusive_group()  # hot pixels are counted over the whole recording
    reading.add_argument("--stream", action="store_true",
                         help="read the event file in windows, with bounded memory (default: only when reading it "
                              "whole could take more than half the available memory)")
    reading.add_argument("--drop-hot-pixels", nargs="?", type=finite_positive_float, const=1000.0, default=None,
                         metavar="HZ", help="drop the events of pixels firing above HZ on average over the recording "
                                            "(default 1000; faulty pixels of real sensors, not with --stream)")
    p.add_argument("--deflicker", nargs="?", type=finite_positive_float, const=True, default=False, metavar="HZ",
                   help="comb out the flicker of a lamp (mains lights, LED drivers): its frequency HZ "
                        "(100 or 120 for 50 or 60 Hz mains), or found in the recording when not given; streams too")
    p.add_argument("--denoise", nargs="?", type=positive_int, const=5000, default=None, metavar="US",
                   help="drop the events with no neighbouring event in the US µs before them (default 5000; the "
                        "background-activity filter, for a noisy sensor)")
    p.add_argument("--raise-threshold", type=positive_int, default=None, metavar="K",
                   help="for a camera K times as sensitive as the model's training sensor (2 for contrast "
                        "thresholds of 0.1 log units: the shipped models were trained at 0.2): emulate thresholds "
                        "K times the camera's")
    p.add_argument("--threads", type=_threads, default="auto", metavar="N|auto",
                   help="torch threads while predicting: a count, or auto (default: as many as the other processes "
                        "leave CPUs free; one for a recording streamed at a camera's pace)")


def _threads(text: str) -> int | str:
    """An argparse type: ``auto`` or a thread count >= 1."""
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a thread count >= 1 or auto, got {text!r}") from None


def predict_options(args: argparse.Namespace) -> dict[str, object]:
    """:func:`neurova.predict` keyword arguments of the options :func:`add_predict_options` adds."""
    return {"face_box": args.face_box, "detect_face": args.detect_face or False,
            "detect_every_us": round(args.detect_every * 1000), "stream": True if args.stream else None,
            "drop_hot_pixels": args.drop_hot_pixels, "denoise_us": args.denoise, "deflicker": args.deflicker,
            "raise_threshold": args.raise_threshold, "threads": args.threads}
