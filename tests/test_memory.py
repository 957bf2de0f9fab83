import ctypes
import os
import types

import pytest

from neurova import _memory
from neurova._memory import MMAP_THRESHOLD, TRIM_THRESHOLD, retain_freed_memory


class _Mallopt:
    """A recording ``mallopt`` (ctypes sets ``argtypes`` and ``restype`` on it)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.result = 1

    def __call__(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.result


@pytest.fixture
def mallopt(monkeypatch):
    """glibc with a recording ``mallopt``, and none of glibc's malloc settings in the environment."""
    fake = _Mallopt()
    monkeypatch.setattr(_memory.ctypes, "CDLL", lambda name: types.SimpleNamespace(mallopt=fake))
    monkeypatch.setattr(_memory.os, "confstr", lambda name: "glibc 2.36")
    for name in (*_memory._GLIBC_SETTINGS, "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    return fake


def test_raises_both_thresholds_on_glibc(mallopt):
    assert retain_freed_memory() is True
    assert mallopt.calls == [(-3, MMAP_THRESHOLD), (-1, TRIM_THRESHOLD)]
    assert MMAP_THRESHOLD < TRIM_THRESHOLD < 2**31  # mallopt takes a C int


def test_reports_a_refused_setting(mallopt):
    mallopt.result = 0
    assert retain_freed_memory() is False


@pytest.mark.parametrize("name, value", [("MALLOC_TRIM_THRESHOLD_", "0"), ("MALLOC_MMAP_THRESHOLD_", "131072"),
                                         ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")])
def test_leaves_the_environments_malloc_settings_alone(mallopt, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert retain_freed_memory() is False
    assert mallopt.calls == []


def test_does_nothing_off_glibc(mallopt, monkeypatch):
    monkeypatch.setattr(_memory.os, "confstr", lambda name: None)  # musl
    assert retain_freed_memory() is False

    def no_such_name(name):
        raise ValueError("unrecognized configuration name")  # macOS, Windows

    monkeypatch.setattr(_memory.os, "confstr", no_such_name)
    assert retain_freed_memory() is False
    assert mallopt.calls == []


@pytest.mark.skipif(not (getattr(os, "confstr", None) and "glibc" in (os.confstr("CS_GNU_LIBC_VERSION") or "")),
                    reason="glibc only")
def test_the_real_mallopt_takes_the_values():
    real = ctypes.CDLL(None).mallopt
    assert real(-3, MMAP_THRESHOLD) == 1 and real(-1, TRIM_THRESHOLD) == 1


@pytest.mark.parametrize("kwargs", [{"mmap_threshold": -1}, {"trim_threshold": 2**31}, {"trim_threshold": 1.5e9},
                                    {"mmap_threshold": True}])
def test_refuses_thresholds_a_c_int_cannot_hold(mallopt, kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        retain_freed_memory(**kwargs)
    assert mallopt.calls == []
