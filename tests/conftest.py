"""Fixtures shared by the whole suite: seeded randomness, random events, a tiny model, no network.

Every test starts from the same random state (:data:`SEED` for Python's and torch's global generators),
so a failure reproduces alone or in any order. Helpers that are plain functions live in :mod:`tests.helpers`.
"""

from __future__ import annotations

import ipaddress
import os
import random
import socket
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from tests.helpers.events import SIZE, random_events

SEED = 0
"""The seed of every test's random state and of the ``rng`` fixture."""

TORCH_THREADS = 1
"""torch's intra-op threads at the start of every test."""

# huggingface_hub reads HF_HUB_OFFLINE once, when first imported: set it before any test imports it, for the whole
# session and the child processes the tests start, so a checkpoint name that is not a local folder never reaches
# the Hub.
os.environ["HF_HUB_OFFLINE"] = "1"


class NetworkAccessError(RuntimeError):
    """A test tried to open a connection beyond this machine."""


def _is_local(family: int, address: Any) -> bool:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True  # AF_UNIX and other local families
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """Refuse, for the whole session, every socket connection to an address that is not loopback."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(self: socket.socket, address: Any) -> Any:
            if not _is_local(self.family, address):
                raise NetworkAccessError(f"tests never touch the network: connection to {address!r} refused")
            return method(self, address)

        return guarded

    socket.socket.connect, socket.socket.connect_ex = guard(connect), guard(connect_ex)
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = connect, connect_ex


@pytest.fixture(autouse=True, scope="session")
def _single_thread_session() -> None:
    """torch on :data:`TORCH_THREADS` thread(s) from the start, for the fixtures built before the first test."""
    import torch

    torch.set_num_threads(TORCH_THREADS)


@pytest.fixture(autouse=True)
def _seeded_single_thread(_single_thread_session: None) -> Iterator[None]:
    """Around each test: seed Python's and torch's generators with :data:`SEED` (numpy's are ``Generator`` objects
    each test seeds, e.g. the ``rng`` fixture), and run torch on :data:`TORCH_THREADS` thread(s), before the test
    and again after it (for the shared fixtures built next).

    One thread, whatever an earlier test or library call left: test tensors are small, and on a shared 2-core
    machine a second thread only waits for the first (a training step of the tiny model: 5 ms on one thread,
    0.6 s on two busy cores), so tests run as fast in any order. A test about thread counts sets its own.
    """
    import torch

    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(TORCH_THREADS)
    yield
    torch.set_num_threads(TORCH_THREADS)


@pytest.fixture
def rng() -> np.random.Generator:
    """A numpy ``Generator`` seeded with :data:`SEED`, fresh for each test."""
    return np.random.default_rng(SEED)


@pytest.fixture
def make_events() -> Callable[..., np.ndarray]:
    """Factory of random events: ``make_events(n, size=(64, 48), *, seed=0, t0=1_000, span_us=50_000,
    polarity="random")`` → a time-sorted structured array of ``neurova.events.EVENT_DTYPE`` (t in µs).

    See :func:`tests.helpers.events.random_events`; ``polarity`` is ``"random"``, ``"on"``, ``"off"`` or the
    probability of an ON event.
    """

    def make(n: int, size: tuple[int, int] = SIZE, **kwargs: Any) -> np.ndarray:
        return random_events(n, size, **kwargs)

    return make


@pytest.fixture
def tiny_model(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh :class:`neurova.models.VARegressionTask` over the registered test net (``tests.helpers.models``):
    clips ``(B, 2, 1, H, W)``, ``H, W >= 4``, to ``(B, 2)``; a training step of 4 clips of 16 x 16 takes ~5 ms."""
    from neurova.models import create_model
    from tests.helpers.models import register_tiny_net

    return create_model(register_tiny_net(monkeypatch))
