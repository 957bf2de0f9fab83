"""Hugging Face Hub checkpoints: repo ids, a pre-populated offline cache, clear errors, push_to_hub (mocked HfApi).

Nothing here touches the network: the cache is built by hand in the Hub's layout and ``HF_HUB_OFFLINE=1`` is set.
"""

from __future__ import annotations

import json
from typing import ClassVar

import huggingface_hub
import pytest
import torch

from neurova.errors import CheckpointError
from neurova.models import create_model, from_pretrained
from neurova.models.hf_hub import hub_cache_dir, is_repo_id, push_to_hub

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty Hub cache folder in ``HF_HUB_CACHE``, offline; ``$NEUROVA_HOME`` empty."""
    cache = tmp_path / "hf"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("NEUROVA_HOME", str(tmp_path / "home"))
    return cache


def _cache_repo(cache, repo_id: str, model: torch.nn.Module) -> None:
    """Put ``model`` in ``cache`` as snapshot_download leaves a repo: blobs, a snapshot of links, refs/main."""
    root = cache / f"models--{repo_id.replace('/', '--')}"
    saved = root / "saved"
    model.save_pretrained(saved)
    snapshot = root / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (root / "blobs").mkdir()
    for index, path in enumerate(sorted(saved.iterdir())):
        blob = root / "blobs" / f"blob{index}"
        path.rename(blob)
        (snapshot / path.name).symlink_to(blob)
    saved.rmdir()
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)


def test_repo_ids_are_told_from_paths_and_names() -> None:
    for text in ("user/repo", "neurova-org/tiny_cnn_fusion.synthetic_faces", "a/b"):
        assert is_repo_id(text), text
    for text in ("tiny_cnn", "runs/demo/model", "./model", "../x/y", "/abs/model", "user/model.ckpt", "a--b/c",
                 "user/", "/repo", "user/re po"):
        assert not is_repo_id(text), text


def test_hub_cache_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert hub_cache_dir() == tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub_cache_dir() == tmp_path / "elsewhere"


def test_a_cached_repo_loads_offline(offline_cache) -> None:
    model = create_model("tiny_cnn")
    _cache_repo(offline_cache, "someone/tiny", model)
    loaded = from_pretrained("someone/tiny")
    assert loaded.architecture == "tiny_cnn" and not loaded.training
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(),
                                                 strict=True))
    assert create_model("tiny_cnn", pretrained="someone/tiny").num_parameters() == model.num_parameters()
    with pytest.raises(CheckpointError, match="not 'tiny_cnn_fusion'"):
        create_model("tiny_cnn_fusion", pretrained="someone/tiny")


def test_an_uncached_repo_offline_is_a_clear_error(offline_cache) -> None:
    with pytest.raises(CheckpointError, match=r"someone/absent.*not in the local cache.*HF_HUB_OFFLINE is set") as err:
        from_pretrained("someone/absent")
    assert str(offline_cache) in str(err.value) and "No local folder" in str(err.value)


def test_an_existing_local_folder_wins_over_a_repo_id(offline_cache, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    create_model("tiny_cnn_fusion").save_pretrained(tmp_path / "someone" / "tiny")
    assert from_pretrained("someone/tiny").architecture == "tiny_cnn_fusion"  # no Hub lookup was needed


class _FakeApi:
    calls: ClassVar[list[tuple[str, dict]]] = []

    def __init__(self, token=None) -> None:
        self.calls.append(("init", {"token": token}))

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))

    def upload_folder(self, **kwargs):
        files = sorted(p.name for p in kwargs["folder_path"].iterdir())
        self.calls.append(("upload_folder", {**kwargs, "files": files}))
        return type("Commit", (), {"commit_url": f"https://huggingface.co/{kwargs['repo_id']}/commit/abc"})()


@pytest.fixture
def fake_api(monkeypatch):
    _FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", _FakeApi)
    return _FakeApi


def test_push_to_hub_uploads_the_checkpoint_files_of_a_folder(tmp_path, fake_api) -> None:
    folder = tmp_path / "model"
    create_model("tiny_cnn").save_pretrained(folder)
    (folder / "notes.txt").write_text("private notes")
    url = push_to_hub(folder, "someone/tiny", token="t", private=True)
    assert url == "https://huggingface.co/someone/tiny/commit/abc"
    names = [name for name, _ in fake_api.calls]
    assert names == ["init", "create_repo", "upload_folder"]
    assert fake_api.calls[1][1] == {"repo_id": "someone/tiny", "repo_type": "model", "private": True, "exist_ok": True}
    upload = fake_api.calls[2][1]
    assert upload["folder_path"] == folder and upload["commit_message"] == "Upload tiny_cnn with neurova"
    assert "notes.txt" not in upload["allow_patterns"] and "model.safetensors" in upload["allow_patterns"]


def test_push_to_hub_saves_a_model_first(fake_api) -> None:
    push_to_hub(create_model("tiny_cnn_fusion"), "someone/fusion", create_repo=False, commit_message="v1")
    (upload,) = [kwargs for name, kwargs in fake_api.calls if name == "upload_folder"]
    assert {"config.json", "model.safetensors", "README.md"} <= set(upload["files"])
    assert upload["commit_message"] == "v1"
    assert "create_repo" not in [n for n, _ in fake_api.calls]


def test_push_to_hub_refuses_what_would_not_load(tmp_path, fake_api) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"not": "a model"}))
    with pytest.raises(CheckpointError, match=r"config\.json.*no init_args"):
        push_to_hub(tmp_path, "someone/bad")
    with pytest.raises(ValueError, match="user/name"):
        push_to_hub(tmp_path, "no-slash")
    assert fake_api.calls == []  # nothing was sent
