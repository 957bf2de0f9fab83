"""Saving and loading models: a folder ``config.json`` + ``model.safetensors`` + ``README.md``.

``save_pretrained`` writes the Hugging Face layout atomically; :func:`load_model` (behind
:func:`neurova.models.from_pretrained`, the public loader) reads such a folder, a Lightning ``.ckpt`` (with
``torch.load(weights_only=True)``: no pickle is ever executed), or a named checkpoint from
``$NEUROVA_HOME/models/<name>/`` (default ``~/.cache/neurova``), which is fetched and checksum-verified first
when :data:`KNOWN_CHECKPOINTS` gives a download source.

``config.json`` records the class built (``class``, an import path), its constructor arguments
(``init_args``), and the registered net with all its arguments (``net``: ``{"name", "args"}``; ``architecture``
repeats the name). Every class builds its net through the registry (:func:`neurova.nets.create_net`). Folders
and ``.ckpt`` files written before ``net`` was recorded load as before: their classes and arguments are
unchanged. This module knows the file formats, not the model classes: loaders are given the class to build
(or the base whose subclass the checkpoint names).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import math
import os
import pathlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from neurova._atomic import atomic_dir, atomic_path
from neurova.contract import InputContract
from neurova.domain import InputStats
from neurova.errors import CheckpointError, InputContractError
from neurova.nets.registry import get_net_spec, is_net

# The model classes live above this module (neurova.models.task imports it); they are typed loosely here.
Model = Any
ModelClass = type

__all__ = [
    "CARD_NAME",
    "CONFIG_NAME",
    "INPUT_SAMPLES_NAME",
    "KNOWN_CHECKPOINTS",
    "MAX_CONFIG_BYTES",
    "OWN_FILES",
    "WEIGHTS_NAME",
    "KnownCheckpoint",
    "check_save_target",
    "load_model",
    "load_pretrained",
    "model_classes",
    "net_record",
    "neurova_home",
    "read_config",
    "save_pretrained",
    "stats_from_checkpoint",
    "validate_config",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
INPUT_SAMPLES_NAME = "input_samples.safetensors"
OWN_FILES = frozenset({CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, INPUT_SAMPLES_NAME})
"""The files :func:`save_pretrained` writes; it never deletes or replaces any other file."""
MAX_CONFIG_BYTES = 1 << 20
"""``config.json`` files larger than this (1 MiB; neurova writes a few KiB) are refused unread."""


@dataclass(frozen=True)
class KnownCheckpoint:
    """Download source of a named checkpoint: one URL and SHA-256 per file of the folder."""

    config_url: str
    config_sha256: str
    weights_url: str
    weights_sha256: str
    description: str = ""


KNOWN_CHECKPOINTS: dict[str, KnownCheckpoint] = {}
"""Named checkpoints with a download source (none are published yet); others must be placed locally."""


def neurova_home() -> Path:
    """neurova's home directory: ``$NEUROVA_HOME``, default ``~/.cache/neurova`` (:func:`neurova._paths.home_dir`)."""
    from neurova._paths import home_dir

    return home_dir()


def _task_class() -> ModelClass:
    """:class:`neurova.models.VARegressionTask`, imported by name: it sits above this module."""
    return importlib.import_module("neurova.models.task").VARegressionTask


def model_classes(root: ModelClass | None = None) -> dict[str, ModelClass]:
    """``root`` (default :class:`~neurova.models.VARegressionTask`) and every imported subclass, by import path.

    Checkpoints name their class by this path (``neurova.models.frame.ResNet``); only classes already
    imported can be built, so a checkpoint never makes neurova import a module.
    """
    root = root or _task_class()
    found: dict[str, ModelClass] = {_class_path(root): root}
    todo = list(root.__subclasses__())
    while todo:
        cls = todo.pop()
        found[_class_path(cls)] = cls
        todo.extend(cls.__subclasses__())
    return found


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _jsonable(value.detach().cpu().tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


# -- saving ---------------------------------------------------------------------------------------------------------


def _without_backbone_file(args: Mapping[str, Any]) -> dict[str, Any]:
    args = dict(args)
    if "pretrained" in args:
        args["pretrained"] = None  # the weights are in model.safetensors; the backbone file is not needed again
    if isinstance(args.get("net_args"), Mapping):
        args["net_args"] = _without_backbone_file(args["net_args"])
    return args


def _save_id(config: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex, 32 characters) of ``config`` (as JSON) and of every tensor's name, dtype, shape and bytes."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for name in sorted(state):
        tensor = state[name]
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


def _init_args(model: Model) -> dict[str, Any]:
    return _jsonable(_without_backbone_file(model.hparams))


def net_record(model: Model) -> dict[str, Any]:
    """``{"name": registered net, "args": all its arguments}`` of ``model``, as saved in checkpoints."""
    return {"name": model.architecture, "args": _jsonable(_without_backbone_file(model.net_args))}


def _model_card(config: dict[str, Any], num_params: int) -> str:
    name = config["architecture"]
    lines = [f"# {name} (neurova)", "",
             f"Valence/arousal regression from event-camera frames: the registered net `{name}` in "
             f"`{config['class']}`, {num_params / 1e6:.2f} M parameters, saved by neurova "
             f"{config['neurova_version']}.", "",
             "Net arguments: " + ", ".join(f"`{k}={v!r}`" for k, v in config["net"]["args"].items()) + ".", "",
             "## Input", ""]
    contract = config["input_contract"]
    if contract:
        lines += ["| key | value |", "|---|---|", *(f"| `{k}` | `{v}` |" for k, v in contract.items())]
        history_ms = InputContract.from_dict(contract).history_us / 1000
        lines += ["", f"Minimum recording length: {history_ms:g} ms of events (`clip_length` frames of "
                  "`n_bits * bin_us`, `frame_interval_us` apart); the first prediction comes that long after the "
                  "first event."]
    else:
        lines.append(f"Unknown input contract: frames with {config['init_args'].get('in_chans')} channel(s).")
    lines += ["", "## Training inputs", ""]
    stats = config.get("input_stats")
    if stats:
        median = stats["nonzero_median"]
        lines += [f"Measured on {stats['n_inputs']} training inputs; `neurova.predict` warns when a recording's "
                  "inputs differ by more than 2x (`neurova check RECORDING --model FOLDER` compares them).", "",
                  "| statistic | value |", "|---|---|",
                  f"| non-zero pixels | {100 * stats['nonzero_fraction']:.3g} % "
                  f"(per input, p10-p90: {100 * stats['nonzero_fraction_p10']:.3g}-"
                  f"{100 * stats['nonzero_fraction_p90']:.3g} %) |",
                  f"| median non-zero value | {'n/a' if median is None else f'{median:.3g}'} |",
                  f"| mean value | {stats['mean']:.3g} |"]
    else:
        lines.append("Not recorded.")
    lines += ["", "## Data", "", config.get("data") or "Not recorded.", "", "## Metrics", ""]
    metrics = config.get("metrics") or {}
    if metrics:
        lines += ["| metric | value |", "|---|---|",
                  *(f"| `{k}` | {v:.4f} |" if isinstance(v, float) else f"| `{k}` | {v} |" for k, v in metrics.items())]
    else:
        lines.append("Not recorded.")
    lines += ["", "## Load", "", "```python", "from neurova.models import from_pretrained", "",
              'model = from_pretrained("path/to/this/folder")  # eval mode, on CPU', "```", "",
              "Constructor arguments are in `config.json` (`init_args`); weights in `model.safetensors`.", ""]
    return "\n".join(lines)


def _is_neurova_folder(directory: Path) -> bool:
    """Whether ``directory`` holds a ``config.json`` that neurova wrote (it records a class and a neurova version)."""
    path = directory / CONFIG_NAME
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return False
        config = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(config, dict) and isinstance(config.get("class"), str) and "neurova_version" in config


def check_save_target(directory: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[list[str], bool]:
    """Raise the :class:`CheckpointError` that :func:`save_pretrained` would raise for ``directory``, writing nothing.

    Lets a long run (``neurova fit``) refuse its export folder before training rather than after.

    Returns:
        the names of the entries already in ``directory`` and whether it is neurova's (absent,
        empty, or a neurova model folder).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise CheckpointError("cannot save a model here: the path is not a folder", path=directory)
    present = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    ours = not present or _is_neurova_folder(directory)
    if not ours and not overwrite:
        raise CheckpointError(f"refusing to save a model into a non-empty folder that is not a neurova model folder "
                              f"(it holds {', '.join(present[:5])}{', ...' if len(present) > 5 else ''}); choose a "
                              f"new or empty folder, or pass overwrite=True to write {CONFIG_NAME}, {WEIGHTS_NAME} "
                              f"and {CARD_NAME} beside the other files (nothing else is deleted)", path=directory)
    return present, ours


def save_pretrained(model: Model, directory: str | os.PathLike[str], *,
                    metrics: Mapping[str, Any] | None = None, data_description: str | None = None,
                    overwrite: bool = False) -> Path:
    """Write ``model`` to ``directory``: ``config.json``, ``model.safetensors``, ``README.md``.

    ``config.json`` holds ``architecture`` (the registered net), ``net`` (``{"name", "args"}``: the net and all
    its arguments), ``class`` (import path), ``init_args`` (constructor arguments; ``pretrained`` is cleared),
    ``input_contract``
    (or null), ``input_stats`` (the training inputs' :class:`~neurova.domain.InputStats`, or null),
    ``neurova_version``, ``metrics`` and ``data``. A few training input frames go to
    ``input_samples.safetensors`` (tensor ``frames``, ``(n, C, S, S)`` float32) when measured.
    ``config.json`` also holds ``save_id``, stored in the weights' metadata too, so that a config and
    weights of two different saves are never loaded together. It is a digest of the config and the
    weights, so saving the same model twice writes byte-identical files (reproducible zoo builds).

    Nothing neurova did not write is deleted or replaced (:data:`OWN_FILES` are neurova's):

    * a new or empty folder, or one holding only the files of an earlier save, is written whole
      beside it and swapped in when complete (a reader sees the old model or the new one);
    * a neurova model folder that also holds other files (notes, other checkpoints) keeps them:
      only neurova's files are replaced, each atomically, the config last;
    * any other non-empty folder is refused unless ``overwrite=True``, which writes neurova's files
      into it (replacing files of those names) and leaves everything else alone.

    Returns:
        the directory.

    Raises:
        CheckpointError: ``directory`` is a file, or a non-empty folder that is not a neurova model
            folder while ``overwrite`` is False.
    """
    from neurova import __version__

    directory = Path(directory)
    present, ours = check_save_target(directory, overwrite=overwrite)
    contract = model.input_contract
    stats = getattr(model, "input_stats", None)
    config = {
        "architecture": model.architecture,
        "net": net_record(model),
        "class": _class_path(type(model)),
        "init_args": _init_args(model),
        "input_contract": None if contract is None else contract.to_dict(),
        "input_stats": None if stats is None else _jsonable(stats.to_dict()),
        "neurova_version": __version__,
        "metrics": _jsonable(dict(metrics or {})),
        "data": data_description,
    }
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config["save_id"] = _save_id(config, state)
    samples = None if stats is None or stats.samples is None else torch.from_numpy(stats.samples).contiguous()

    def write(folder: Path) -> None:  # each file through atomic_path: complete or absent, umask permissions
        with atomic_path(folder / WEIGHTS_NAME) as tmp:
            # one metadata key: safetensors writes its metadata map in an arbitrary order, and two keys would make
            # the bytes of two saves of one model differ
            save_file(state, str(tmp), metadata={"neurova_save_id": config["save_id"]})
        if samples is not None:
            with atomic_path(folder / INPUT_SAMPLES_NAME) as tmp:
                save_file({"frames": samples}, str(tmp))
        elif ours:  # a stale sample file of an earlier save of this folder would be read with the new config
            (folder / INPUT_SAMPLES_NAME).unlink(missing_ok=True)
        with atomic_path(folder / CARD_NAME) as tmp:
            tmp.write_text(_model_card(config, model.num_parameters()))
        with atomic_path(folder / CONFIG_NAME) as tmp:  # last: it names the weights it belongs with
            tmp.write_text(json.dumps(config, indent=2) + "\n")

    if set(present) <= OWN_FILES:
        with atomic_dir(directory) as tmp_dir:
            write(tmp_dir)
    else:
        write(directory)
    return directory


# -- loading --------------------------------------------------------------------------------------------------------


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "a list" if isinstance(value, list) else "an object"


# key of config.json -> (accepted types, may be null, what it must be)
_CONFIG_FIELDS: dict[str, tuple[type | tuple[type, ...], bool, str]] = {
    "class": (str, False, "the model's import path, a string"),
    "init_args": (dict, False, "the constructor arguments, an object"),
    "architecture": (str, True, "a string or null"),
    "net": (dict, True, "an object or null"),
    "input_contract": (dict, True, "an object or null"),
    "input_stats": (dict, True, "an object or null"),
    "metrics": (dict, True, "an object or null"),
    "data": (str, True, "a string or null"),
    "neurova_version": (str, True, "a string or null"),
    "save_id": (str, True, "a string or null"),
}


def validate_config(config: Any, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Check the structure of a parsed ``config.json`` (types of its keys) before anything is built from it.

    Returns:
        ``config`` itself.

    Raises:
        CheckpointError: naming ``path`` and the first wrong key: not a JSON object, ``class`` or
            ``init_args`` missing, a key of the wrong type (see ``_CONFIG_FIELDS``).
    """
    if not isinstance(config, dict):
        raise CheckpointError(f"{CONFIG_NAME} must hold a JSON object, found {_json_kind(config)}", path=path)
    missing = [k for k in ("class", "init_args") if k not in config]
    if missing:
        raise CheckpointError(f"{CONFIG_NAME} lacks the keys {missing}", path=path)
    for key, (types, nullable, expected) in _CONFIG_FIELDS.items():
        value = config.get(key)
        if (value is None and (nullable or key not in config)) or (isinstance(value, types) and value != ""):
            continue
        raise CheckpointError(f"{CONFIG_NAME}: {key!r} must be {expected}, found {_json_kind(value)}", path=path)
    bad = [k for k in config["init_args"] if not k.isidentifier()]
    if bad:
        raise CheckpointError(f"{CONFIG_NAME}: init_args keys must be argument names, found {bad[:5]}", path=path)
    return config


def read_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``directory/config.json`` and check its structure (:func:`validate_config`)."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"missing {CONFIG_NAME}: a saved neurova model folder holds {CONFIG_NAME} and "
                              f"{WEIGHTS_NAME}", path=path)
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{size:,} bytes, more than the {MAX_CONFIG_BYTES:,} a model config may have",
                              path=path)
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"not valid JSON ({err})", path=path) from err
    except RecursionError as err:
        raise CheckpointError("not a model config: JSON nested too deeply to read", path=path) from err
    return validate_config(config, path)


def _resolve_class(recorded: str | None, cls: ModelClass, exact: bool, path: Path) -> ModelClass:
    """The class to build: ``cls`` itself when ``exact`` (the checkpoint must record it), else the subclass of
    ``cls`` the checkpoint records."""
    if recorded is None:
        if exact:
            return cls
        raise CheckpointError("the checkpoint does not record its model class; load it with the class, e.g. "
                              "ResNetFusion.from_pretrained(...)", path=path)
    if exact:
        if recorded != _class_path(cls):
            raise CheckpointError(f"architecture mismatch: the checkpoint holds a {recorded} but it is loaded into "
                                  f"{_class_path(cls)}; use {recorded.rsplit('.', 1)[-1]}.from_pretrained or "
                                  "neurova.models.from_pretrained", path=path)
        return cls
    classes = model_classes(cls)
    if recorded not in classes:
        raise CheckpointError(f"unknown model class {recorded!r}; import the module that defines it before loading",
                              path=path)
    return classes[recorded]


def _check_net(record: Any, path: Path) -> str | None:
    """The registered net name of a checkpoint's ``net`` record (``None`` for checkpoints written before it)."""
    if record is None:
        return None
    if not (isinstance(record, Mapping) and isinstance(record.get("name"), str) and isinstance(record.get("args"),
                                                                                                Mapping)):
        raise CheckpointError("'net' must be an object with a 'name' (string) and 'args' (object)", path=path)
    if not is_net(record["name"]):
        raise CheckpointError(f"unknown net {record['name']!r}: import the module that registers it "
                              "(neurova.nets.register_net) before loading", path=path)
    return record["name"]


# Keys that LightningCLI adds to a module's saved hyper-parameters; they are not constructor arguments.
_CLI_HPARAM_KEYS = frozenset({"_class_path", "_instantiator"})


def _build(klass: ModelClass, init_args: Mapping[str, Any], weights: Mapping[str, tuple[tuple[int, ...], str]],
           strict: bool, *, path: Path, weights_path: Path) -> Model:
    """Build ``klass`` from ``init_args`` once its tensors are known to fit ``weights`` (name -> (shape, kind)).

    The model is first built on the ``meta`` device (no memory), so arguments that would ask for
    huge tensors (``in_chans: 2000000``) are refused by the shape check instead of being allocated.
    Errors name ``path`` (the arguments' file) or ``weights_path``.
    """
    args = _constructor_args(klass, _with_legacy_args(klass, init_args), path)
    try:
        with torch.device("meta"):
            skeleton = klass(**args)
    except Exception as err:  # any failure of a constructor fed with the file's arguments is the file's fault
        raise CheckpointError(f"cannot build {klass.__name__} from the stored arguments: {type(err).__name__}: "
                              f"{err}", path=path) from err
    _check_fit(skeleton, weights, strict, weights_path)
    return klass(**args)


def _tensor_kind(dtype: torch.dtype | str) -> str:
    """``"float"``, ``"int"``, ``"bool"`` or ``"complex"`` of a torch dtype or a safetensors dtype name (``"F32"``)."""
    if isinstance(dtype, str):
        return {"B": "bool", "F": "float", "C": "complex"}.get(dtype[0], "int") if dtype != "BF16" else "float"
    if dtype == torch.bool:
        return "bool"
    return "float" if dtype.is_floating_point else "complex" if dtype.is_complex else "int"


def _state_spec(state: Mapping[str, torch.Tensor], path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    not_tensors = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(f"the weights hold entries that are not tensors: {not_tensors[:5]}", path=path)
    return {k: (tuple(v.shape), _tensor_kind(v.dtype)) for k, v in state.items()}


def _weights_header(path: Path) -> tuple[dict[str, tuple[tuple[int, ...], str]], dict[str, str]]:
    """Shapes and kinds of the tensors of a safetensors file, and its metadata, read from its header only."""
    try:
        with safe_open(str(path), framework="pt") as fh:
            spec = {}
            for key in fh.keys():
                piece = fh.get_slice(key)
                spec[key] = (tuple(piece.get_shape()), _tensor_kind(piece.get_dtype()))
            return spec, dict(fh.metadata() or {})
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"cannot read safetensors weights ({err})", path=path) from err


def _check_fit(model: torch.nn.Module, weights: Mapping[str, tuple[tuple[int, ...], str]], strict: bool,
               path: Path) -> None:
    """Refuse weights whose names, shapes or kinds (float / int / bool) do not fit ``model``'s tensors."""
    own = {k: (tuple(v.shape), _tensor_kind(v.dtype)) for k, v in model.state_dict().items()}
    common = sorted(set(own) & set(weights))
    shapes = [f"{k}: checkpoint {weights[k][0]} vs model {own[k][0]}" for k in common if weights[k][0] != own[k][0]]
    kinds = [f"{k}: checkpoint {weights[k][1]} vs model {own[k][1]}" for k in common if weights[k][1] != own[k][1]]
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    problems = []
    if shapes:
        problems.append(f"shape mismatch for {len(shapes)} tensor(s): " + "; ".join(shapes[:20]))
    if kinds:
        problems.append(f"dtype mismatch for {len(kinds)} tensor(s): " + "; ".join(kinds[:20]))
    if strict and missing:
        problems.append(f"missing keys ({len(missing)}): {missing[:20]}")
    if strict and unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {unexpected[:20]}")
    if problems:
        raise CheckpointError(f"weights do not fit {type(model).__name__}: " + " | ".join(problems), path=path)


def _accepted_args(klass: ModelClass) -> set[str]:
    """Keyword arguments ``klass`` accepts, following ``**kwargs`` up to the base classes' constructors."""
    names: set[str] = set()
    for base in klass.__mro__:
        if "__init__" not in vars(base):
            continue
        params = inspect.signature(vars(base)["__init__"]).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def _with_legacy_args(klass: ModelClass, init_args: Mapping[str, Any]) -> Mapping[str, Any]:
    """``init_args`` saved before their net gained arguments: the missing ones get the net's ``legacy_args``."""
    variants = getattr(klass, "variants", ())
    if variants:  # an entry point: the net's arguments are its own
        return get_net_spec(variants[0]).stored_args(init_args)
    net, net_args = init_args.get("net"), init_args.get("net_args")
    if isinstance(net, str) and is_net(net) and isinstance(net_args, Mapping):
        return {**init_args, "net_args": get_net_spec(net).stored_args(net_args)}
    return init_args  # malformed arguments are reported by the constructor


def _constructor_args(klass: ModelClass, init_args: Mapping[str, Any], path: Path) -> dict[str, Any]:
    params = _accepted_args(klass)
    init_args = {k: v for k, v in init_args.items() if k not in _CLI_HPARAM_KEYS}
    unknown = sorted(set(init_args) - set(params))
    if unknown:
        raise CheckpointError(f"constructor arguments {unknown} are not accepted by {klass.__name__}", path=path)
    args = dict(init_args)
    if "loss_weights" in args and isinstance(args["loss_weights"], list):
        args["loss_weights"] = tuple(args["loss_weights"])
    return _without_backbone_file(args)


def _load_state(model: Model, state: Mapping[str, torch.Tensor], strict: bool, path: Path) -> None:
    """Load ``state`` (already checked by :func:`_check_fit`; floats are cast to the model's dtype) after a NaN check."""
    _check_fit(model, _state_spec(state, path), strict, path)
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"weights hold NaN or infinite values in {len(bad)} tensor(s): {bad[:10]}", path=path)
    model.load_state_dict(state, strict=strict)


def _finish(model: Model, architecture: str | None,
            input_contract: InputContract | Mapping[str, Any] | None, map_location: str | torch.device,
            path: Path) -> Model:
    if architecture in getattr(model, "variants", ()):  # an entry point's net among its variants
        model.architecture = architecture
    model.to(map_location)
    model.eval()
    if input_contract is not None:
        try:
            model.check_input(input_contract)
        except InputContractError as err:
            raise InputContractError(str(err), path=path) from err
    return model


def _read_input_stats(config: Mapping[str, Any], directory: Path) -> InputStats | None:
    """The training input statistics of a saved folder (``None`` for folders saved before they were recorded)."""
    if config.get("input_stats") is None:
        return None
    samples = None
    path = directory / INPUT_SAMPLES_NAME
    if path.is_file():
        try:
            samples = load_file(str(path), device="cpu")["frames"].float().numpy()
        except (SafetensorError, OSError, KeyError) as err:
            raise CheckpointError(f"cannot read the training input samples (a tensor 'frames'): {err}",
                                  path=path) from err
    try:
        return InputStats.from_dict(config["input_stats"], samples)
    except ValueError as err:
        raise CheckpointError(f"bad input_stats in {CONFIG_NAME}: {err}", path=directory / CONFIG_NAME) from err


def stats_from_checkpoint(info: Mapping[str, Any]) -> InputStats | None:
    """The :class:`~neurova.domain.InputStats` stored in a Lightning checkpoint's ``"neurova"`` entry, if any."""
    data = info.get("input_stats")
    if data is None:
        return None
    samples = info.get("input_samples")
    return InputStats.from_dict(dict(data), None if samples is None else samples.float().numpy())


def _load_dir(directory: Path, cls: ModelClass, exact: bool, map_location: str | torch.device, strict: bool,
              input_contract: InputContract | Mapping[str, Any] | None) -> Model:
    config = read_config(directory)
    weights = directory / WEIGHTS_NAME
    if not weights.is_file():
        raise CheckpointError(f"missing {WEIGHTS_NAME} beside {CONFIG_NAME}", path=weights)
    klass = _resolve_class(config["class"], cls, exact, directory)
    net = _check_net(config.get("net"), directory / CONFIG_NAME) or config.get("architecture")
    init_args = dict(config["init_args"])
    if config.get("input_contract") is not None:
        try:
            init_args["input_contract"] = InputContract.from_dict(config["input_contract"]).to_dict()
        except (InputContractError, TypeError, ValueError) as err:
            raise CheckpointError(f"bad input_contract in {CONFIG_NAME}: {err}", path=directory) from err
    stats = _read_input_stats(config, directory)
    header, metadata = _weights_header(weights)
    saved_with = metadata.get("neurova_save_id")
    if config.get("save_id") and saved_with and saved_with != config["save_id"]:
        raise CheckpointError(f"{CONFIG_NAME} and {WEIGHTS_NAME} come from two different saves (save_id "
                              f"{config['save_id']} vs {saved_with}): an interrupted save_pretrained? Save the "
                              "model again", path=directory)
    model = _build(klass, init_args, header, strict, path=directory, weights_path=weights)
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read safetensors weights ({err})", path=weights) from err
    _load_state(model, state, strict, weights)
    model.input_stats = stats
    return _finish(model, net, input_contract, map_location, directory)


# Plain data that Lightning checkpoints commonly hold (e.g. a datamodule's ``cache_dir`` hyper-parameter);
# allowing these classes lets the weights-only unpickler rebuild them without executing any code.
_SAFE_CKPT_GLOBALS = [pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.WindowsPath, pathlib.PosixPath]


def _load_ckpt(path: Path, cls: ModelClass, exact: bool, map_location: str | torch.device, strict: bool,
               input_contract: InputContract | Mapping[str, Any] | None) -> Model:
    try:
        with torch.serialization.safe_globals(_SAFE_CKPT_GLOBALS):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for disallowed globals, RuntimeError/EOFError for corrupt files
        raise CheckpointError("refused to load: the file is not a plain tensor checkpoint readable with "
                              f"torch.load(weights_only=True), so it may hold code ({type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else ''})", path=path) from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError("not a Lightning checkpoint (no 'state_dict' entry)", path=path)
    info = checkpoint.get("neurova") or {}
    hparams = checkpoint.get("hyper_parameters") or {}
    state = checkpoint["state_dict"]
    for name, value in (("neurova", info), ("hyper_parameters", hparams), ("state_dict", state)):
        if not isinstance(value, dict):
            raise CheckpointError(f"the checkpoint's {name!r} entry must be a dict, found {type(value).__name__}",
                                  path=path)
    if info.get("class") is not None and not isinstance(info["class"], str):
        raise CheckpointError("the checkpoint's model class must be a string", path=path)
    klass = _resolve_class(info.get("class"), cls, exact, path)
    net = _check_net(info.get("net"), path) or info.get("architecture")
    model = _build(klass, hparams, _state_spec(state, path), strict, path=path, weights_path=path)
    _load_state(model, state, strict, path)
    try:
        model.input_stats = stats_from_checkpoint(info)
    except (ValueError, AttributeError) as err:
        raise CheckpointError(f"bad input statistics in the checkpoint: {err}", path=path) from err
    return _finish(model, net, input_contract, map_location, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(name: str, source: KnownCheckpoint, target: Path) -> None:
    with atomic_dir(target) as tmp:
        for filename, url, sha in ((CONFIG_NAME, source.config_url, source.config_sha256),
                                   (WEIGHTS_NAME, source.weights_url, source.weights_sha256)):
            dest = tmp / filename
            try:
                torch.hub.download_url_to_file(url, str(dest), progress=False)
            except Exception as err:
                raise CheckpointError(f"cannot download {filename} of checkpoint {name!r} from {url} ({err}); "
                                      f"put {CONFIG_NAME} and {WEIGHTS_NAME} in {target} by hand", path=target) from err
            actual = _sha256(dest)
            if actual != sha.lower():
                raise CheckpointError(f"checksum mismatch for {filename} of checkpoint {name!r} from {url}: "
                                      f"expected sha256 {sha}, got {actual}", path=target)


def _load_named(name: str, cls: ModelClass, exact: bool, map_location: str | torch.device, strict: bool,
                input_contract: InputContract | Mapping[str, Any] | None) -> Model:
    target = neurova_home() / "models" / name
    if not (target / CONFIG_NAME).is_file() or not (target / WEIGHTS_NAME).is_file():
        source = KNOWN_CHECKPOINTS.get(name)
        if source is None:
            raise CheckpointError(f"no local checkpoint named {name!r} and no download source is configured: put its "
                                  f"{CONFIG_NAME} and {WEIGHTS_NAME} (written by model.save_pretrained) in {target} "
                                  "(set $NEUROVA_HOME to change the root), or pass a folder or .ckpt path",
                                  path=target)
        _download(name, source, target)
    return _load_dir(target, cls, exact, map_location, strict, input_contract)


_FILE_SUFFIXES = frozenset({".ckpt", ".safetensors", ".json", ".pt", ".pth", ".bin"})


def load_model(source: str | os.PathLike[str], *, cls: ModelClass, exact: bool = False,
               map_location: str | torch.device = "cpu", strict: bool = True,
               input_contract: InputContract | Mapping[str, Any] | None = None) -> Model:
    """Load a model, in eval mode, from a folder, a Lightning ``.ckpt`` file or a checkpoint name.

    The implementation of :func:`neurova.models.from_pretrained` and ``Class.from_pretrained``.

    Args:
        source: a folder written by ``save_pretrained``; a ``.ckpt`` file written by a Lightning
            ``Trainer``; or a bare name looked up in ``$NEUROVA_HOME/models/<name>/`` (downloaded
            there first, checksum-verified, when :data:`KNOWN_CHECKPOINTS` lists it).
        cls: with ``exact``, the class to build (a checkpoint of another class is refused); otherwise the base
            class whose subclass recorded in the checkpoint is built (:class:`neurova.models.VARegressionTask`).
        exact: see ``cls``.
        map_location: device of the returned model.
        strict: refuse missing or unexpected weight keys (shape mismatches are always refused).
        input_contract: data the model will be fed; refused if incompatible
            (:meth:`VARegressionTask.check_input`).

    Raises:
        CheckpointError: missing files, an unsafe pickle, another architecture, mismatching weights.
        InputContractError: ``input_contract`` does not fit the model.
    """
    path = Path(source)
    if path.is_dir():
        return _load_dir(path, cls, exact, map_location, strict, input_contract)
    if path.is_file():
        if path.suffix != ".ckpt":
            raise CheckpointError("expected a model folder (config.json + model.safetensors) or a Lightning .ckpt "
                                  "file", path=path)
        return _load_ckpt(path, cls, exact, map_location, strict, input_contract)
    text = os.fspath(source)
    from neurova.models.hf_hub import resolve_source

    # $NEUROVA_HOME/models/<name>, then a checkpoint shipped in the package, then a Hub repo id ("user/repo")
    found = resolve_source(text, neurova_home() / "models")
    if found is not None:
        return _load_dir(found, cls, exact, map_location, strict, input_contract)
    # a bare name (tags have dots: "tiny_cnn.synthetic_faces") is looked up under $NEUROVA_HOME; paths must exist
    if os.sep in text or "/" in text or path.suffix in _FILE_SUFFIXES:
        raise CheckpointError("no such checkpoint folder or file", path=path)
    return _load_named(text, cls, exact, map_location, strict, input_contract)


def load_pretrained(source: str | os.PathLike[str], *, cls: ModelClass | None = None,
                    map_location: str | torch.device = "cpu", strict: bool = True,
                    input_contract: InputContract | Mapping[str, Any] | None = None) -> Model:
    """Deprecated: use :func:`neurova.models.from_pretrained` (or ``ResNetFusion.from_pretrained``)."""
    warnings.warn("neurova.models.hub.load_pretrained is deprecated; use neurova.models.from_pretrained or "
                  "Class.from_pretrained", DeprecationWarning, stacklevel=2)
    root = _task_class()
    return load_model(source, cls=cls or root, exact=cls not in (None, root), map_location=map_location,
                      strict=strict, input_contract=input_contract)

