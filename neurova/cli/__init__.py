"""The ``neurova`` command: one argparse front end, one module per group of commands.

=====================  ===================================================================================
module                 commands
=====================  ===================================================================================
:mod:`.lightning`      ``fit``, ``validate``, ``test``, ``predict-dataset``: Lightning's loops over a
                       datamodule (``LightningCLI``, YAML configs in ``configs/``)
:mod:`.data`           ``simulate`` (events from videos), ``encode`` (TBR frames from events)
:mod:`.recordings`     ``predict`` (:func:`neurova.predict` on one recording), ``check`` (the domain check);
                       ``predict-file``, the former name of ``predict``, is a deprecated alias
:mod:`.models`         ``models`` (the registry and saved models); :mod:`neurova.zoo` adds ``zoo``
:mod:`.experiments`    ``zero-shot``, ``demo``, ``leaderboard``, ``train-face-detector``
=====================  ===================================================================================

A group is a function ``add_commands(subparsers)`` listed in :data:`COMMAND_GROUPS`, the one place where commands
are registered; each command sets ``func`` (``args -> exit status``) with :func:`~neurova.cli.arguments.add_command`.
The Lightning commands are only named here (so ``neurova --help`` lists them) and handed whole to LightningCLI;
building the parser imports neither torch nor Lightning.

Arguments are checked when they are parsed (:mod:`neurova.cli.arguments`: :func:`positive_int`,
:func:`finite_positive_float`, :func:`existing_path`, :func:`output_path`, ...), and every error a user can cause
(a neurova error, a file system error, a Lightning configuration error) ends the command with one line on stderr
and exit status 2; ``NEUROVA_DEBUG=1`` shows the traceback instead. Warnings show as one line each
(``neurova COMMAND: warning: MESSAGE (Category)``), without the library's file and line.

The command turns off numpy's transparent-huge-page advice for its large arrays (:func:`_no_hugepage_advice`) unless
``NUMPY_MADVISE_HUGEPAGE`` is set: where the kernel compacts memory on demand for such advice (Linux with
``transparent_hugepage/defrag`` at ``madvise``, the common default), the first touch of a recording-sized array
stalled for up to a second, and ``neurova predict`` on a 4 s 1280x720 EVT3 recording took 11.0-12.2 s with the
advice against 8.2-9.9 s without (docs/inference.md, "Speed").

It also keeps the memory it frees for reuse (:func:`neurova._memory.retain_freed_memory`, glibc only, unless the
environment sets glibc's malloc): a training step of the demo's model spent 40-60 % of its time in page faults of
memory just given back to the kernel (docs/benchmarks.md, "Training throughput").
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from neurova import zoo
from neurova._memory import retain_freed_memory
from neurova.cli import data, experiments, models, recordings
from neurova.cli.arguments import (
    Parser,
    existing_path,
    finite_positive_float,
    int_in_range,
    non_negative_int,
    output_file,
    output_folder,
    output_path,
    positive_int,
)

__all__ = [
    "COMMAND_GROUPS",
    "LIGHTNING_COMMANDS",
    "build_parser",
    "existing_path",
    "finite_positive_float",
    "int_in_range",
    "main",
    "non_negative_int",
    "output_file",
    "output_folder",
    "output_path",
    "positive_int",
]

LIGHTNING_COMMANDS = {"fit": "fit", "validate": "validate", "test": "test", "predict-dataset": "predict"}
"""``neurova`` command -> the LightningCLI subcommand it runs (:func:`neurova.cli.lightning.run`)."""

_LIGHTNING_OPTIONS = frozenset({"--config", "-c", "--ckpt_path", "--print_config", "--seed_everything", "--trainer",
                                "--data", "--optimizer", "--lr_scheduler", "--predictions", "--save_pretrained",
                                "--return_predictions"})
"""LightningCLI options (or groups of ``--GROUP.option``) that ``neurova predict FILE`` never takes."""


def _add_lightning_commands(subparsers: argparse._SubParsersAction) -> None:
    for name, loop in LIGHTNING_COMMANDS.items():
        subparsers.add_parser(name, help=f"Lightning's {loop} loop over a datamodule (see 'neurova {name} --help')",
                              add_help=False)


COMMAND_GROUPS: tuple[Callable[[argparse._SubParsersAction], object], ...] = (
    _add_lightning_commands,
    data.add_commands,
    recordings.add_commands,
    models.add_commands,
    zoo.add_subcommand,
    experiments.add_commands,
)
"""The functions that add the commands, in the order ``neurova --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every command (the Lightning ones as placeholders: LightningCLI parses their words)."""
    from neurova import __version__

    parser = Parser(
        prog="neurova",
        description="neurova: valence, arousal and emotion from event-camera recordings of faces.",
        epilog="'neurova COMMAND --help' describes each command; 'neurova demo' runs the whole method on synthetic "
               "faces.",
    )
    parser.add_argument("--version", action="version", version=f"neurova {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_group in COMMAND_GROUPS:
        add_group(subparsers)
    return parser


def _is_lightning_predict(words: Sequence[str]) -> bool:
    """Whether the words after ``predict`` are LightningCLI's (a config, a checkpoint, ``--trainer.*``, ...)."""
    for word in words:
        name = word.split("=", 1)[0]
        group = name.split(".", 1)[0]
        if name in _LIGHTNING_OPTIONS or ("." in name and group in _LIGHTNING_OPTIONS | {"--model"}):
            return True
    return False


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


@contextmanager
def _warnings_as_lines(command: str) -> Iterator[None]:
    """Show each warning of the block as ``neurova COMMAND: warning: MESSAGE (Category)`` on stderr, without the
    library's file, line and source line; ``NEUROVA_DEBUG=1`` keeps Python's format. Only the format changes: which
    warnings show, and code that records them (``pytest.warns``), are as before."""
    if os.environ.get("NEUROVA_DEBUG"):
        yield
        return
    shown = warnings.formatwarning

    def one_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
        return f"neurova {command}: warning: {message} ({category.__name__})\n"

    warnings.formatwarning = one_line
    try:
        yield
    finally:
        warnings.formatwarning = shown


def _no_hugepage_advice() -> None:
    """Stop numpy advising the kernel to back new large arrays with huge pages, unless ``NUMPY_MADVISE_HUGEPAGE``
    says otherwise (numpy reads it at import; this command's process only)."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy 2, numpy 1
        try:
            setter = importlib.import_module(module)._set_madvise_hugepage
        except (ImportError, AttributeError):
            continue
        setter(False)
        return


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neurova`` console script; returns the exit status (2 for errors, 130 if interrupted).

    ``neurova predict`` followed by LightningCLI options (``--config``, ``--ckpt_path``, ``--trainer.*``, ...) is the
    former name of ``neurova predict-dataset``: it still runs Lightning's predict loop, with a ``FutureWarning``.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    command = words[0] if words else ""
    _no_hugepage_advice()
    retain_freed_memory()
    try:
        if command == "predict" and _is_lightning_predict(words[1:]):
            warnings.warn("'neurova predict' with LightningCLI options is deprecated; Lightning's predict loop is "
                          "'neurova predict-dataset' ('neurova predict FILE --model M -o OUT.csv' predicts over one "
                          "recording)", FutureWarning, stacklevel=1)
            command = "predict-dataset"
        if command in LIGHTNING_COMMANDS:
            from neurova.cli.lightning import run

            return run(LIGHTNING_COMMANDS[command], words[1:], from_sys_argv=argv is None)
        args = build_parser().parse_args(words)
        with _warnings_as_lines(command):
            return args.func(args)
    except KeyboardInterrupt:
        print(f"neurova {command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("NEUROVA_DEBUG") or not isinstance(exc, _expected_errors()):
            raise
        print(f"neurova {command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
