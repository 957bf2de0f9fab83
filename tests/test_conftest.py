"""The shared test fixtures and helpers: seeded, offline, and the tiny model trains."""

from __future__ import annotations

import os
import random
import socket

import numpy as np
import pytest
import torch

from neurova.events import EVENT_DTYPE
from neurova.models import create_model
from neurova.nets import is_net
from tests.conftest import SEED, NetworkAccessError
from tests.helpers.events import random_events
from tests.helpers.models import TINY_NET, random_batch


def test_random_events_are_sorted_inside_the_sensor_and_reproducible() -> None:
    events = random_events(500, (7, 5), seed=3, t0=100, span_us=1_000)
    assert events.dtype == EVENT_DTYPE and len(events) == 500
    assert (np.diff(events["t"]) >= 0).all() and events["t"].min() >= 100 and events["t"].max() < 1_100
    assert events["x"].max() < 7 and events["y"].max() < 5 and 0 < events["p"].sum() < 500
    np.testing.assert_array_equal(events, random_events(500, (7, 5), seed=3, t0=100, span_us=1_000))
    assert not np.array_equal(events, random_events(500, (7, 5), seed=4, t0=100, span_us=1_000))


def test_random_events_polarity_and_generator_seeds() -> None:
    assert random_events(50, polarity="on")["p"].all() and not random_events(50, polarity="off")["p"].any()
    assert 0.8 < random_events(2_000, polarity=0.9)["p"].mean() < 0.95
    rng = np.random.default_rng(0)
    first, second = random_events(20, seed=rng), random_events(20, seed=rng)  # one generator, advanced
    assert not np.array_equal(first, second)
    with pytest.raises(ValueError, match="polarity"):
        random_events(5, polarity="both")


def test_make_events_fixture_is_the_helper(make_events) -> None:
    np.testing.assert_array_equal(make_events(30, (4, 4), seed=2), random_events(30, (4, 4), seed=2))


def test_rng_and_global_generators_are_seeded(rng) -> None:
    assert rng.integers(1 << 30) == np.random.default_rng(SEED).integers(1 << 30)
    drawn = torch.rand(3), random.random()
    torch.manual_seed(SEED)
    random.seed(SEED)
    assert torch.equal(drawn[0], torch.rand(3)) and drawn[1] == random.random()


def test_network_is_refused_but_loopback_is_not() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with socket.socket() as s, pytest.raises(NetworkAccessError, match=r"192\.0\.2\.1"):
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed
    with socket.socket() as s, pytest.raises(NetworkAccessError):
        s.connect_ex(("203.0.113.5", 80))  # TEST-NET-3
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(NetworkAccessError):
        s.connect(("example.org", 80))  # a host name other than localhost, refused before any lookup
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass  # loopback: allowed


def test_tiny_model_is_registered_for_the_test_only_and_trains(tiny_model) -> None:
    assert tiny_model.architecture == TINY_NET and is_net(TINY_NET)
    assert sum(p.numel() for p in tiny_model.parameters()) < 1_000
    batch = random_batch()
    before = [p.detach().clone() for p in tiny_model.parameters()]
    optimizer = torch.optim.SGD(tiny_model.parameters(), lr=0.1)
    tiny_model.training_step(batch, 0).backward()
    optimizer.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, tiny_model.parameters(), strict=True))
    assert torch.get_num_threads() == 1


def test_the_tiny_net_is_gone_after_its_test() -> None:
    assert not is_net(TINY_NET)
    with pytest.raises(ValueError, match="unknown model"):
        create_model(TINY_NET)
