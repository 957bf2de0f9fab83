"""Saving and loading models: a folder ``config.json`` + ``model.safetensors`` + ``README.md``.

``save_pretrained`` writes the Hugging Face layout atomically; ``load_pretrained`` reads such a
folder, a Lightning ``.ckpt`` (with ``torch.load(weights_only=True)``: no pickle is ever executed),
or a named checkpoint from ``$NEUROVA_HOME/models/<name>/`` (default ``~/.cache/neurova``), which
is fetched and checksum-verified first when :data:`KNOWN_CHECKPOINTS` gives a download source.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from neurova._atomic import atomic_dir
from neurova.contract import InputContract
from neurova.errors import CheckpointError, InputContractError

if TYPE_CHECKING:
    from neurova.models.base import VARegressionModule

__all__ = [
    "CARD_NAME",
    "CONFIG_NAME",
    "KNOWN_CHECKPOINTS",
    "WEIGHTS_NAME",
    "KnownCheckpoint",
    "load_pretrained",
    "model_classes",
    "neurova_home",
    "read_config",
    "save_pretrained",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"


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
    """``$NEUROVA_HOME``, default ``~/.cache/neurova``."""
    return Path(os.environ.get("NEUROVA_HOME", "~/.cache/neurova")).expanduser()


def model_classes() -> dict[str, type[VARegressionModule]]:
    """Every imported :class:`VARegressionModule` subclass by import path (``neurova.models.frame.ResNet``).

    Checkpoints name their class by this path; only classes already imported can be built, so a
    checkpoint never makes neurova import a module.
    """
    import neurova.models  # noqa: F401  (registers the built-in classes)
    from neurova.models.base import VARegressionModule

    found: dict[str, type[VARegressionModule]] = {}
    todo = list(VARegressionModule.__subclasses__())
    while todo:
        cls = todo.pop()
        found[f"{cls.__module__}.{cls.__qualname__}"] = cls
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


def _init_args(model: VARegressionModule) -> dict[str, Any]:
    args = dict(model.hparams)
    if "pretrained" in args:
        args["pretrained"] = None  # the weights are in model.safetensors; the backbone file is not needed again
    return _jsonable(args)


def _model_card(config: dict[str, Any], num_params: int) -> str:
    name = config["architecture"]
    lines = [f"# {name} (neurova)", "",
             f"Valence/arousal regression from event-camera frames: `{config['class']}`, "
             f"{num_params / 1e6:.2f} M parameters, saved by neurova {config['neurova_version']}.", "",
             "## Input", ""]
    contract = config["input_contract"]
    if contract:
        lines += ["| key | value |", "|---|---|", *(f"| `{k}` | `{v}` |" for k, v in contract.items())]
    else:
        lines.append(f"Unknown input contract: frames with {config['init_args'].get('in_chans')} channel(s).")
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


def save_pretrained(model: VARegressionModule, directory: str | os.PathLike[str], *,
                    metrics: Mapping[str, Any] | None = None, data_description: str | None = None) -> Path:
    """Write ``model`` to ``directory`` (replaced atomically): ``config.json``, ``model.safetensors``, ``README.md``.

    ``config.json`` holds ``architecture`` (registry name, else class name), ``class`` (import
    path), ``init_args`` (constructor arguments; ``pretrained`` is cleared), ``input_contract``
    (or null), ``neurova_version``, ``metrics`` and ``data``.

    Returns:
        the directory.
    """
    from neurova import __version__

    directory = Path(directory)
    contract = model.input_contract
    config = {
        "architecture": model.architecture,
        "class": _class_path(type(model)),
        "init_args": _init_args(model),
        "input_contract": None if contract is None else contract.to_dict(),
        "neurova_version": __version__,
        "metrics": _jsonable(dict(metrics or {})),
        "data": data_description,
    }
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_dir(directory) as tmp:
        save_file(state, str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        (tmp / CARD_NAME).write_text(_model_card(config, model.num_parameters()))
    return directory


# -- loading --------------------------------------------------------------------------------------------------------


def read_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate ``directory/config.json``."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"missing {CONFIG_NAME}: a saved neurova model folder holds {CONFIG_NAME} and "
                              f"{WEIGHTS_NAME}", path=path)
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"not valid JSON ({err})", path=path) from err
    missing = [k for k in ("class", "init_args") if k not in config]
    if not isinstance(config, dict) or missing:
        raise CheckpointError(f"config lacks the keys {missing}", path=path)
    return config


def _resolve_class(recorded: str | None, cls: type[VARegressionModule] | None, path: Path,
                   ) -> type[VARegressionModule]:
    from neurova.models.base import VARegressionModule

    specific = cls is not None and cls is not VARegressionModule
    if recorded is None:
        if specific:
            return cls
        raise CheckpointError("the checkpoint does not record its model class; load it with the class, e.g. "
                              "ResNetFusion.from_pretrained(...)", path=path)
    if specific:
        if recorded != _class_path(cls):
            raise CheckpointError(f"architecture mismatch: the checkpoint holds a {recorded} but it is loaded into "
                                  f"{_class_path(cls)}; use {recorded.rsplit('.', 1)[-1]}.from_pretrained or "
                                  "neurova.models.from_pretrained", path=path)
        return cls
    classes = model_classes()
    if recorded not in classes:
        raise CheckpointError(f"unknown model class {recorded!r}; import the module that defines it before loading",
                              path=path)
    return classes[recorded]


# Keys that LightningCLI adds to a module's saved hyper-parameters; they are not constructor arguments.
_CLI_HPARAM_KEYS = frozenset({"_class_path", "_instantiator"})


def _build(klass: type[VARegressionModule], init_args: Mapping[str, Any], path: Path) -> VARegressionModule:
    params = inspect.signature(klass.__init__).parameters
    init_args = {k: v for k, v in init_args.items() if k not in _CLI_HPARAM_KEYS}
    unknown = sorted(set(init_args) - set(params))
    if unknown:
        raise CheckpointError(f"constructor arguments {unknown} are not accepted by {klass.__name__}", path=path)
    args = dict(init_args)
    if "loss_weights" in args and isinstance(args["loss_weights"], list):
        args["loss_weights"] = tuple(args["loss_weights"])
    if args.get("pretrained") is not None:
        args["pretrained"] = None
    try:
        return klass(**args)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"cannot build {klass.__name__} from the stored arguments: {err}", path=path) from err


def _load_state(model: VARegressionModule, state: Mapping[str, torch.Tensor], strict: bool, path: Path) -> None:
    own = model.state_dict()
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    problems = []
    if shapes:
        problems.append(f"shape mismatch for {len(shapes)} tensor(s): " + "; ".join(shapes[:20]))
    if strict and missing:
        problems.append(f"missing keys ({len(missing)}): {missing[:20]}")
    if strict and unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {unexpected[:20]}")
    if problems:
        raise CheckpointError(f"weights do not fit {type(model).__name__}: " + " | ".join(problems), path=path)
    model.load_state_dict(state, strict=strict)


def _finish(model: VARegressionModule, architecture: str | None,
            input_contract: InputContract | Mapping[str, Any] | None, map_location: str | torch.device,
            path: Path) -> VARegressionModule:
    if architecture:
        model.architecture = architecture
    model.to(map_location)
    model.eval()
    if input_contract is not None:
        try:
            model.check_input(input_contract)
        except InputContractError as err:
            raise InputContractError(str(err), path=path) from err
    return model


def _load_dir(directory: Path, cls: type[VARegressionModule] | None, map_location: str | torch.device, strict: bool,
              input_contract: InputContract | Mapping[str, Any] | None) -> VARegressionModule:
    config = read_config(directory)
    weights = directory / WEIGHTS_NAME
    if not weights.is_file():
        raise CheckpointError(f"missing {WEIGHTS_NAME} beside {CONFIG_NAME}", path=weights)
    klass = _resolve_class(config["class"], cls, directory)
    init_args = dict(config["init_args"])
    if config.get("input_contract") is not None:
        try:
            init_args["input_contract"] = InputContract.from_dict(config["input_contract"]).to_dict()
        except (InputContractError, TypeError) as err:
            raise CheckpointError(f"bad input_contract in {CONFIG_NAME}: {err}", path=directory) from err
    model = _build(klass, init_args, directory)
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read safetensors weights ({err})", path=weights) from err
    _load_state(model, state, strict, weights)
    return _finish(model, config.get("architecture"), input_contract, map_location, directory)


# Plain data that Lightning checkpoints commonly hold (e.g. a datamodule's ``cache_dir`` hyper-parameter);
# allowing these classes lets the weights-only unpickler rebuild them without executing any code.
_SAFE_CKPT_GLOBALS = [pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.WindowsPath, pathlib.PosixPath]


def _load_ckpt(path: Path, cls: type[VARegressionModule] | None, map_location: str | torch.device, strict: bool,
               input_contract: InputContract | Mapping[str, Any] | None) -> VARegressionModule:
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
    klass = _resolve_class(info.get("class"), cls, path)
    model = _build(klass, checkpoint.get("hyper_parameters") or {}, path)
    _load_state(model, checkpoint["state_dict"], strict, path)
    return _finish(model, info.get("architecture"), input_contract, map_location, path)


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


def _load_named(name: str, cls: type[VARegressionModule] | None, map_location: str | torch.device, strict: bool,
                input_contract: InputContract | Mapping[str, Any] | None) -> VARegressionModule:
    target = neurova_home() / "models" / name
    if not (target / CONFIG_NAME).is_file() or not (target / WEIGHTS_NAME).is_file():
        source = KNOWN_CHECKPOINTS.get(name)
        if source is None:
            raise CheckpointError(f"no local checkpoint named {name!r} and no download source is configured: put its "
                                  f"{CONFIG_NAME} and {WEIGHTS_NAME} (written by model.save_pretrained) in {target} "
                                  "(set $NEUROVA_HOME to change the root), or pass a folder or .ckpt path",
                                  path=target)
        _download(name, source, target)
    return _load_dir(target, cls, map_location, strict, input_contract)


def load_pretrained(source: str | os.PathLike[str], *, cls: type[VARegressionModule] | None = None,
                    map_location: str | torch.device = "cpu", strict: bool = True,
                    input_contract: InputContract | Mapping[str, Any] | None = None) -> VARegressionModule:
    """Load a model, in eval mode, from a folder, a Lightning ``.ckpt`` file or a checkpoint name.

    Args:
        source: a folder written by ``save_pretrained``; a ``.ckpt`` file written by a Lightning
            ``Trainer``; or a bare name looked up in ``$NEUROVA_HOME/models/<name>/`` (downloaded
            there first, checksum-verified, when :data:`KNOWN_CHECKPOINTS` lists it).
        cls: expected class; a checkpoint of another class is refused. ``None`` (or the base class)
            builds the class recorded in the checkpoint.
        map_location: device of the returned model.
        strict: refuse missing or unexpected weight keys (shape mismatches are always refused).
        input_contract: data the model will be fed; refused if incompatible
            (:meth:`VARegressionModule.check_input`).

    Raises:
        CheckpointError: missing files, an unsafe pickle, another architecture, mismatching weights.
        InputContractError: ``input_contract`` does not fit the model.
    """
    path = Path(source)
    if path.is_dir():
        return _load_dir(path, cls, map_location, strict, input_contract)
    if path.is_file():
        if path.suffix != ".ckpt":
            raise CheckpointError("expected a model folder (config.json + model.safetensors) or a Lightning .ckpt "
                                  "file", path=path)
        return _load_ckpt(path, cls, map_location, strict, input_contract)
    text = os.fspath(source)
    if path.suffix or os.sep in text or "/" in text:
        raise CheckpointError("no such checkpoint folder or file", path=path)
    return _load_named(text, cls, map_location, strict, input_contract)

