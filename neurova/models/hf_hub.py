"""Where a checkpoint name comes from, and the Hugging Face Hub: ``from_pretrained("user/repo")``, ``push_to_hub``.

``neurova.models.from_pretrained(source)`` resolves ``source`` in this order:

1. an existing folder or ``.ckpt`` file;
2. ``$NEUROVA_HOME/models/<source>`` (default ``~/.cache/neurova/models``), where ``neurova zoo build`` writes;
3. a checkpoint shipped in the package, ``neurova/weights/<source>`` (:data:`PACKAGED_DIR`);
   a registered model name alone (``"tiny_cnn_fusion"``) stands for its default tag
   (``"tiny_cnn_fusion.synthetic_faces"``) in steps 2 and 3, as timm's ``pretrained=True`` does;
4. a Hugging Face Hub repo id, ``"user/repo"`` (one ``/``, not an existing path): the repository's
   ``config.json``, ``model.safetensors``, ``README.md`` and ``input_samples.safetensors`` are fetched with
   ``huggingface_hub.snapshot_download`` into the Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``,
   default ``~/.cache/huggingface/hub``), shared with timm and transformers. Once cached, it loads with no
   network: offline (``HF_HUB_OFFLINE=1``, or no connection) the cached snapshot is used.

:func:`push_to_hub` publishes a model folder (or a model, saved first) to a Hub repository.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from neurova.errors import CheckpointError

__all__ = ["DEFAULT_DATA", "PACKAGED_DIR", "SavesPretrained", "hub_cache_dir", "is_repo_id", "push_to_hub",
           "resolve_source", "snapshot"]

DEFAULT_DATA = "synthetic_faces"
"""The data of a registered model's default tag (``create_model(name, pretrained=True)`` loads ``<name>.<data>``)."""
PACKAGED_DIR = Path(__file__).resolve().parent.parent / "weights"
"""The package's folder of shipped weights: ``<tag>/`` checkpoint folders (and the face detector's files)."""
_HUB_FILES = ("config.json", "model.safetensors", "README.md", "input_samples.safetensors")
"""The files of a checkpoint folder (``neurova.models.hub``'s names; this module sits below it, so it names them)."""
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")
_FILE_SUFFIXES = (".ckpt", ".safetensors", ".json", ".pt", ".pth", ".bin")


def is_repo_id(text: str) -> bool:
    """Whether ``text`` has the shape of a Hub model repo id, ``"user/repo"`` (and not of a file path)."""
    return (_REPO_ID.fullmatch(text) is not None and ".." not in text and "--" not in text
            and not text.endswith((".", "-", *_FILE_SUFFIXES)))


def hub_cache_dir() -> Path:
    """The Hugging Face cache used for Hub checkpoints: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else HF's default.

    Read at each call, so the variables can be set after ``huggingface_hub`` was imported.
    """
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def snapshot(repo_id: str, *, revision: str | None = None, token: str | bool | None = None) -> Path:
    """The folder of Hub model repo ``repo_id`` in the local cache, fetched first unless offline.

    Only the checkpoint's files are fetched (``config.json``, ``model.safetensors``, ``README.md``,
    ``input_samples.safetensors``). Offline (``HF_HUB_OFFLINE=1``) or without a connection the cached
    snapshot is used.

    Raises:
        CheckpointError: naming the repo, when neither the cache nor the Hub has it (or it is private, gated or
            the revision does not exist).
    """
    from huggingface_hub import snapshot_download

    from neurova import __version__

    cache, offline = hub_cache_dir(), _offline()
    try:
        folder = snapshot_download(repo_id, revision=revision, cache_dir=cache, token=token,
                                   local_files_only=offline, allow_patterns=list(_HUB_FILES),
                                   library_name="neurova", library_version=__version__)
    except Exception as err:  # LocalEntryNotFoundError, RepositoryNotFoundError, HTTP and connection errors
        where = "HF_HUB_OFFLINE is set, so the Hub was not asked" if offline else "nor could it be fetched"
        raise CheckpointError(
            f"Hugging Face Hub repo {repo_id!r} is not in the local cache ({cache}) and {where} "
            f"({type(err).__name__}: {' '.join(str(err).split())[:300]}). No local folder {repo_id!r} exists "
            "either. Check the name, or run once with network access (the snapshot is then cached for offline "
            "use); set HF_HUB_CACHE or HF_HOME to use another cache", path=repo_id) from err
    return Path(folder)


def _is_checkpoint(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _HUB_FILES[:2])


def resolve_source(text: str, home: Path) -> Path | None:
    """The folder a checkpoint name or Hub repo id stands for (steps 2-4 of the module's order), else None.

    Args:
        text: what was passed to ``from_pretrained``; not an existing path (step 1 is the caller's).
        home: the folder of named checkpoints, ``$NEUROVA_HOME/models``.

    Returns:
        the checkpoint folder; None for a name found neither in ``home`` nor in the package (the caller then
        reports it, or downloads a known checkpoint) and for anything that is neither a name nor a repo id.

    Raises:
        CheckpointError: a Hub repo id that neither the cache nor the Hub has.
    """
    if is_repo_id(text):
        return snapshot(text)
    if "/" in text or os.sep in text or not text or text.startswith("."):
        return None
    names = [text] if "." in text else [text, f"{text}.{DEFAULT_DATA}"]  # a model name: its default tag next
    for name in names:
        for root in (home, PACKAGED_DIR):
            if _is_checkpoint(root / name):
                return root / name
    return None


class SavesPretrained(Protocol):
    """Anything with ``save_pretrained(folder)``: every neurova model."""

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Any: ...


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError("missing: not a model folder (save_pretrained writes it), nothing is published",
                              path=path) from None
    except (OSError, ValueError) as err:
        raise CheckpointError(f"not readable JSON ({err}), nothing is published", path=path) from err
    if not isinstance(config, dict) or "init_args" not in config:
        raise CheckpointError("not a neurova model config (no init_args), nothing is published", path=path)
    return config


def push_to_hub(folder_or_model: str | os.PathLike[str] | SavesPretrained, repo_id: str, *,
                token: str | None = None, private: bool = False, revision: str | None = None,
                commit_message: str | None = None, create_repo: bool = True) -> str:
    """Publish a model folder (``save_pretrained``'s layout) or a model to the Hub repository ``repo_id``.

    Uploads ``config.json``, ``model.safetensors``, ``README.md`` (the model card) and
    ``input_samples.safetensors`` when present, with ``HfApi.upload_folder``; other files of the folder stay
    local. A model is first saved to a temporary folder.

    Args:
        folder_or_model: a folder written by ``save_pretrained``, or a model (anything with that method).
        repo_id: ``"user/name"``.
        token: Hub token (default: the one ``huggingface-cli login`` stored, or ``$HF_TOKEN``).
        private: create the repository private (when it does not exist yet).
        revision: branch to commit to (default the main branch).
        commit_message: default ``"Upload <architecture> with neurova"``.
        create_repo: create the repository if missing (``exist_ok``).

    Returns:
        the URL of the commit.

    Raises:
        ValueError: ``repo_id`` is not ``"user/name"``.
        CheckpointError: the folder lacks ``config.json`` (a JSON object) or ``model.safetensors`` (nothing is
            uploaded).
    """
    if not is_repo_id(repo_id):
        raise ValueError(f"repo_id must look like 'user/name', got {repo_id!r}")
    if not isinstance(folder_or_model, str | os.PathLike):
        with tempfile.TemporaryDirectory(prefix="neurova-push-") as tmp:
            folder_or_model.save_pretrained(Path(tmp) / "model")
            return push_to_hub(Path(tmp) / "model", repo_id, token=token, private=private, revision=revision,
                               commit_message=commit_message, create_repo=create_repo)
    folder = Path(folder_or_model)
    config = _read_json_object(folder / _HUB_FILES[0])
    if not (folder / _HUB_FILES[1]).is_file():
        raise CheckpointError(f"missing {_HUB_FILES[1]}: not a model folder, nothing is published", path=folder)
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    if create_repo:
        api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
    name = config.get("architecture") or str(config.get("class", "model")).rsplit(".", 1)[-1]
    info: Any = api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type="model", revision=revision,
                                  commit_message=commit_message or f"Upload {name} with neurova",
                                  allow_patterns=list(_HUB_FILES))
    return str(getattr(info, "commit_url", info))
