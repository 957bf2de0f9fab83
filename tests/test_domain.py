"""The domain check: input statistics, their comparison and warning, and how models store them."""

from __future__ import annotations

import json
import warnings

import lightning as L
import numpy as np
import pytest
import torch

from neurova.contract import InputContract
from neurova.domain import (
    DomainMonitor,
    DomainWarning,
    InputStats,
    InputStatsCollector,
    check_inputs,
    compare_stats,
    input_stats,
)
from neurova.errors import CheckpointError
from neurova.models import create_model, from_pretrained
from neurova.models.hub import INPUT_SAMPLES_NAME

CONTRACT = InputContract(channels=1, clip_length=2, image_size=16, n_bits=4, bin_us=5000, frame_interval_us=20_000)


def sparse_inputs(n: int, density: float, seed: int = 0, shape: tuple[int, ...] = (2, 1, 16, 16)) -> np.ndarray:
    """``(n, *shape)`` TBR-like inputs: a ``density`` fraction of pixels set to codes 1/4, 1/2 or 1."""
    rng = np.random.default_rng(seed)
    active = rng.random((n, *shape)) < density
    return (active * rng.choice([0.25, 0.5, 1.0], (n, *shape))).astype(np.float32)


def exact_inputs(n: int, active: int, value: float = 0.5) -> np.ndarray:
    """``(n, 2, 1, 10, 10)`` inputs with exactly ``active`` of their 200 pixels set to ``value``."""
    x = np.zeros((n, 200), np.float32)
    x[:, :active] = value
    return x.reshape(n, 2, 1, 10, 10)


def test_stats_of_hand_made_inputs():
    x = np.zeros((2, 1, 1, 2, 2), np.float32)  # two inputs of one 2x2 frame
    x[0, 0, 0, 0, 1] = 0.5
    x[1, 0, 0] = [[0.25, -0.25], [1.0, 0.0]]  # signed values count by magnitude
    stats = input_stats(x)
    assert stats.n_inputs == 2
    assert stats.nonzero_fraction == pytest.approx(4 / 8)
    assert (stats.nonzero_fraction_p10, stats.nonzero_fraction_p90) == pytest.approx((0.3, 0.7))  # of 0.25, 0.75
    assert stats.nonzero_median == pytest.approx(0.375)  # median of 0.5, 0.25, 0.25, 1
    assert stats.mean == pytest.approx(2 / 8)
    assert stats.samples.shape == (2, 1, 2, 2)
    np.testing.assert_array_equal(stats.samples[0], np.abs(x[0, -1]))  # sparser first, newest frame
    empty = input_stats(np.zeros((3, 2, 1, 4, 4)))
    assert empty.nonzero_fraction == 0 and empty.nonzero_median is None and empty.mean == 0


def test_collector_over_batches_matches_one_batch_and_stays_bounded():
    x = sparse_inputs(40, 0.1)
    whole = input_stats(x)
    collector = InputStatsCollector()
    for batch in np.array_split(x, 7):
        collector.update(torch.from_numpy(batch))
    assert collector.compute() == whole  # samples are not compared

    capped = InputStatsCollector(max_inputs=10)
    capped.update(x[:8])
    capped.update(x[8:])
    assert capped.full and capped.compute() == input_stats(x[:10])

    small_pool = InputStatsCollector(max_values=500)  # ~2,000 non-zero values decimated to at most 500
    small_pool.update(x)
    assert len(np.concatenate(small_pool._pool)) <= 500
    assert small_pool.compute().nonzero_median in (0.5, whole.nonzero_median)
    with pytest.raises(ValueError, match="no model inputs"):
        InputStatsCollector().compute()
    with pytest.raises(ValueError, match=r"\(N, \.\.\.\)"):
        input_stats(np.zeros(5))


def test_stats_round_trip_and_bad_dicts():
    stats = input_stats(sparse_inputs(8, 0.1))
    again = InputStats.from_dict(json.loads(json.dumps(stats.to_dict())), stats.samples)
    assert again == stats and again.samples.shape == stats.samples.shape
    for bad in (None, [1], {**stats.to_dict(), "extra": 1}, {**stats.to_dict(), "mean": -1.0},
                {**stats.to_dict(), "n_inputs": 2.5}, {**stats.to_dict(), "nonzero_fraction": "x"}):
        with pytest.raises(ValueError, match="input statistic"):
            InputStats.from_dict(bad)


def test_warning_for_a_three_times_denser_recording_and_not_for_a_matching_one():
    training = input_stats(exact_inputs(8, 10))  # 5 % non-zero
    denser = input_stats(exact_inputs(8, 30))  # 15 %
    with pytest.warns(DomainWarning) as caught:
        comparison = check_inputs(denser, training, source="rec.raw")
    message = str(caught[0].message)
    assert message.startswith("rec.raw: ") and "non-zero pixels 15 % vs 5 % in training (3x)" in message
    assert not comparison.ok and comparison.rows[0][4] and not comparison.rows[1][4]
    table = comparison.table()
    assert "OUT OF RANGE" in table and "3.00x" in table and "OUTSIDE" in table

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = check_inputs(input_stats(exact_inputs(8, 12, value=0.6)), training)  # within 1.2x, 1.2x, 1.44x
    assert same.ok and "OUT OF RANGE" not in same.table()
    assert check_inputs(denser, None) is None  # a model saved without statistics: nothing to compare


def test_the_mean_may_move_by_the_square_of_the_tolerance():
    # the mean is about density x brightness: both within 2x may move it by up to 4x
    training = input_stats(exact_inputs(8, 10, value=0.25))  # 5 % at 0.25
    busier = compare_stats(input_stats(exact_inputs(8, 19, value=0.45)), training)  # 1.9x, 1.8x: mean 3.4x
    assert busier.ok and busier.rows[2][3] == pytest.approx(19 * 0.45 / (10 * 0.25))
    assert "4 for the mean" in busier.table()
    beyond = compare_stats(input_stats(exact_inputs(8, 21, value=0.5)), training)  # 2.1x, 2x: mean 4.2x
    assert [row[4] for row in beyond.rows] == [True, False, True]


def test_non_zero_pixels_are_compared_with_the_span_of_the_training_inputs():
    # trained on sparse (2 %) and dense (40 %) inputs alike, as a model trained on clean and noisy sensors
    mixed = input_stats(np.concatenate([exact_inputs(50, 4), exact_inputs(50, 80)]))
    assert mixed.nonzero_fraction == pytest.approx(0.21)
    assert (mixed.nonzero_fraction_p10, mixed.nonzero_fraction_p90) == pytest.approx((0.02, 0.40))
    sparse = compare_stats(input_stats(exact_inputs(8, 6)), mixed)  # 3 %: 0.14x the overall fraction, but seen
    assert sparse.ok and sparse.rows[0][3] == pytest.approx(0.03 / 0.21)
    assert not compare_stats(input_stats(exact_inputs(8, 1)), mixed).ok  # 0.5 %: 4x below the sparsest inputs
    assert compare_stats(input_stats(exact_inputs(8, 150)), mixed).ok  # 75 %: within 2x of the densest
    # inputs all alike keep the plain rule: 2x either side of the overall fraction
    alike = input_stats(exact_inputs(8, 10))
    assert compare_stats(input_stats(exact_inputs(8, 19)), alike).ok
    assert not compare_stats(input_stats(exact_inputs(8, 21)), alike).ok


def test_faint_haze_and_empty_inputs_are_out_of_range():
    training = input_stats(exact_inputs(4, 13, value=0.25))  # 6.5 % non-zero, as the synthetic training inputs
    haze = input_stats(exact_inputs(4, 80, value=0.025))  # 40 % at 0.025, as the real recording
    assert compare_stats(haze, training).problems() == [
        "non-zero pixels 40 % vs 6.5 % in training (6.2x)",
        "median non-zero value 0.025 vs 0.25 in training (0.1x)",
    ]  # the mean (0.62x) stays within 2x
    empty = compare_stats(input_stats(np.zeros((4, 2, 1, 16, 16))), training)
    assert not empty.ok and "n/a" in empty.table()
    with pytest.raises(ValueError, match="tolerance"):
        compare_stats(haze, training, tolerance=1.0)


def test_monitor_warns_once_after_enough_inputs():
    training = input_stats(sparse_inputs(32, 0.05))
    monitor = DomainMonitor(training, source="live", warn_after=8)
    with pytest.warns(DomainWarning, match="live"):
        monitor.update(sparse_inputs(4, 0.3))
        monitor.update(sparse_inputs(4, 0.3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.update(sparse_inputs(4, 0.3))
        assert monitor.finish().n_inputs == 12
    short = DomainMonitor(training, warn_after=100)
    short.update(sparse_inputs(3, 0.3))
    with pytest.warns(DomainWarning):
        short.finish()
    assert DomainMonitor(training).finish() is None


def tiny_model():
    return create_model("resnet18", backbone="test_resnet", input_contract=CONTRACT.to_dict())


def test_config_json_round_trip_and_model_card(tmp_path):
    model = tiny_model()
    model.input_stats = input_stats(sparse_inputs(16, 0.08))
    model.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["input_stats"] == pytest.approx(model.input_stats.to_dict())
    assert (tmp_path / "m" / INPUT_SAMPLES_NAME).is_file()
    card = (tmp_path / "m" / "README.md").read_text()
    assert "Minimum recording length: 40 ms" in card  # (2 - 1) * 20 ms + 4 * 5 ms
    assert "| non-zero pixels | 8" in card
    loaded = from_pretrained(tmp_path / "m")
    assert loaded.input_stats == model.input_stats
    np.testing.assert_array_equal(loaded.input_stats.samples, model.input_stats.samples)

    del config["input_stats"]  # a folder saved before the statistics existed
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    assert from_pretrained(tmp_path / "m").input_stats is None
    config["input_stats"] = {"n_inputs": 3}
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"config\.json: bad input_stats"):
        from_pretrained(tmp_path / "m")

    plain = tiny_model()
    plain.save_pretrained(tmp_path / "plain")
    assert json.loads((tmp_path / "plain" / "config.json").read_text())["input_stats"] is None
    assert not (tmp_path / "plain" / INPUT_SAMPLES_NAME).exists()
    assert "## Training inputs\n\nNot recorded." in (tmp_path / "plain" / "README.md").read_text()


def _batches(x: np.ndarray) -> torch.utils.data.DataLoader:
    samples = [{"frames": torch.from_numpy(clip), "va": torch.zeros(len(clip), 2)} for clip in x]
    return torch.utils.data.DataLoader(samples, batch_size=4, shuffle=False)


def test_fit_measures_the_training_inputs_and_checkpoints_keep_them(tmp_path):
    x = sparse_inputs(12, 0.07, shape=(2, 1, 16, 16))
    model = tiny_model()
    model.input_stats = input_stats(np.ones((2, 2, 1, 16, 16)))  # stale statistics are replaced by a fit
    trainer = L.Trainer(max_epochs=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, accelerator="cpu")
    trainer.fit(model, train_dataloaders=_batches(x))
    assert model.input_stats == input_stats(x)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = from_pretrained(tmp_path / "m.ckpt")
    assert loaded.input_stats == model.input_stats and loaded.input_stats.samples.shape == (4, 1, 16, 16)

    model.input_stats_size = 5  # only the first inputs of a long fit are measured
    trainer = L.Trainer(max_epochs=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, accelerator="cpu")
    trainer.fit(model, train_dataloaders=_batches(x))
    assert model.input_stats.n_inputs == 5
