"""Tests of neurova._paths (the one home directory, safe joins) and of the package's lazy submodules."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurova._paths import cache_dir, home_dir, join_inside, models_dir
from neurova.errors import AnnotationError


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("NEUROVA_HOME", "NEUROVA_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_one_home_with_models_and_cache_under_it(clean_env: Path) -> None:
    assert home_dir() == clean_env / ".cache" / "neurova"
    assert models_dir() == home_dir() / "models"
    assert cache_dir() == home_dir() / "cache"


def test_neurova_home_moves_everything(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROVA_HOME", "~/neurova-home")
    assert home_dir() == clean_env / "neurova-home"
    assert (models_dir(), cache_dir()) == (clean_env / "neurova-home" / "models", clean_env / "neurova-home" / "cache")


def test_neurova_cache_overrides_the_caches_alone(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROVA_CACHE", str(clean_env / "scratch"))
    assert cache_dir() == clean_env / "scratch"
    assert models_dir() == clean_env / ".cache" / "neurova" / "models"


def test_xdg_cache_home_and_empty_variables(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "xdg"))
    monkeypatch.setenv("NEUROVA_HOME", "")  # empty means unset, not the working directory
    monkeypatch.setenv("NEUROVA_CACHE", "  ")
    assert home_dir() == clean_env / "xdg" / "neurova"
    assert cache_dir() == clean_env / "xdg" / "neurova" / "cache"


def test_public_names_follow_the_home(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from neurova.datasets.cache import EventCache, default_cache_dir
    from neurova.models import neurova_home

    monkeypatch.setenv("NEUROVA_HOME", str(clean_env / "home"))
    assert neurova_home() == clean_env / "home"
    assert default_cache_dir() == clean_env / "home" / "cache"
    cache = EventCache(None, "synthetic_faces", {"n": 1})
    assert cache.root.parent.parent == clean_env / "home" / "cache"
    assert not cache.root.exists()  # naming a cache creates nothing


@pytest.mark.parametrize("name", ["../outside", "a/../../b", "/etc/passwd", "C:\\data", "", "a\x00b"])
def test_join_inside_refuses_names_that_leave_the_root(tmp_path: Path, name: str) -> None:
    with pytest.raises(AnnotationError, match=r"labels\.csv: clip"):
        join_inside(tmp_path, name, what="clip", source=tmp_path / "labels.csv")


def test_join_inside_keeps_names_inside(tmp_path: Path) -> None:
    assert join_inside(tmp_path, "user_01/../user_02/clip.raw", what="clip") == tmp_path / "user_01/../user_02/clip.raw"


def test_every_public_submodule_is_an_attribute_of_the_package() -> None:
    import pkgutil

    import neurova

    public = {m.name for m in pkgutil.iter_modules(neurova.__path__) if not m.name.startswith("_")}
    assert public == set(neurova._SUBMODULES), "add new modules to neurova._SUBMODULES (and drop removed ones)"
    assert neurova.emotions.EKMAN7_NAMES[0] == "Anger" and callable(neurova.image.crop_and_resize)
    assert {"contract", "emotions", "inference", "predict"} <= set(dir(neurova))
