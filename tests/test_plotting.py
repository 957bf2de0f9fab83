from __future__ import annotations

import numpy as np
import pytest

from neurova import plotting
from neurova.emotions import EKMAN7, EKMAN7_NAMES
from neurova.events import make_events
from tests.helpers.events import random_events

pytest.importorskip("matplotlib")


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _events() -> np.ndarray:
    return random_events(300, (40, 30), t0=0, span_us=50_000)


def test_va_wheel_renders_points_labels_and_true(tmp_path):
    v, a = np.array([0.5, -0.3, 0.1]), np.array([0.2, 0.6, -0.4])
    true = np.array([EKMAN7["Happiness"], EKMAN7["Fear"], [np.nan, np.nan]])
    fig = plotting.plot_va_wheel(v, a, true=true, title="clips")
    ax = fig.axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert set(EKMAN7_NAMES) <= texts
    offsets = [c.get_offsets() for c in ax.collections]
    assert any(len(o) == 3 for o in offsets) and any(len(o) == 2 for o in offsets)  # NaN true row skipped
    out = plotting.save_figure(fig, tmp_path / "wheel.png")
    assert out.exists() and min(_png_size(out)) > 100
    with pytest.raises(ValueError, match="true has"):
        plotting.plot_va_wheel(v, a, true=true[:2])


def test_va_wheel_draws_into_given_axes_and_takes_scalars():
    fig = plotting.plot_va_wheel(0.1, 0.2, emotions="circumplex28")
    again = plotting.plot_va_wheel([0.3], [0.1], emotions=None, ax=fig.axes[0])
    assert again is fig and len(fig.axes) == 1


def test_va_over_time_with_frames(tmp_path):
    t = np.arange(20) * 40_000
    pred = np.stack([np.sin(t / 2e5), np.cos(t / 2e5)], axis=1) * 0.5
    true = pred + 0.1
    true[:5] = np.nan
    frames = np.random.default_rng(0).random((20, 1, 16, 16)).astype(np.float32)
    fig = plotting.plot_va_over_time(t, pred, true, frames, n_frames_shown=4)
    assert len(fig.axes) == 4 + 2
    assert fig.axes[-2].get_ylabel() == "valence" and fig.axes[-1].get_ylabel() == "arousal"
    assert _png_size(plotting.save_figure(fig, tmp_path / "trace.png"))[0] > 100
    assert len(plotting.plot_va_over_time(t, pred).axes) == 2
    titled = plotting.plot_va_over_time(t, pred, frames=frames[:3], frame_timestamps=t[[0, 10, 19]])
    assert [ax.get_title() for ax in titled.axes[:3]] == ["0.00 s", "0.40 s", "0.76 s"]
    with pytest.raises(ValueError, match="frame_timestamps"):
        plotting.plot_va_over_time(t, pred, frames=frames[:3], frame_timestamps=t[:2])
    with pytest.raises(ValueError, match="predictions"):
        plotting.plot_va_over_time(t[:3], pred)


@pytest.mark.parametrize("channels", [1, 2, 5])
def test_tbr_gallery(tmp_path, channels):
    frames = np.random.default_rng(1).random((12, channels, 8, 10)).astype(np.float32)
    fig = plotting.plot_tbr_gallery(frames, n_cols=4, max_frames=6, suptitle="TBR")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 6
    assert shown[0].images[0].get_array().shape[:2] == (8, 10)
    plotting.save_figure(fig, tmp_path / "gallery.pdf")
    assert (tmp_path / "gallery.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="no frames"):
        plotting.plot_tbr_gallery(frames[:0])


def test_polarity_image_colours():
    events = make_events([0, 1, 1], [0, 0, 0], [0, 1, 2], [1, 0, 1])
    image = plotting.polarity_image(events, (3, 1))
    np.testing.assert_allclose(image[0, 0], [1, 0, 0])  # ON only: red
    np.testing.assert_allclose(image[0, 1], [0, 0, 0])  # ON and OFF at full scale
    np.testing.assert_allclose(image[0, 2], [1, 1, 1])  # no event: white
    off_only = plotting.polarity_image(make_events([2], [0], [0], [0]), (3, 1))
    np.testing.assert_allclose(off_only[0, 2], [0, 0, 1])  # OFF only: blue


def test_event_frame(tmp_path):
    fig = plotting.plot_event_frame(_events(), (40, 30))
    assert "300 events" in fig.axes[0].get_title()
    plotting.save_figure(fig, tmp_path / "events.png")
    assert _png_size(tmp_path / "events.png")[0] > 50
    assert plotting.plot_event_frame(_events()[:0], (40, 30)).axes[0].get_title() == "no events"


def test_confusion_matrix(tmp_path):
    cm = np.array([[3, 1], [0, 2]])
    fig = plotting.plot_confusion_matrix(cm, ["Anger", "Fear"], title="cm")
    assert [t.get_text() for t in fig.axes[0].texts] == ["3", "1", "0", "2"]
    norm = plotting.plot_confusion_matrix(cm, ["Anger", "Fear"], normalize=True)
    assert [t.get_text() for t in norm.axes[0].texts] == ["0.75", "0.25", "0.00", "1.00"]
    plotting.save_figure(fig, tmp_path / "cm.png")
    with pytest.raises(ValueError, match="class names"):
        plotting.plot_confusion_matrix(cm, ["a", "b", "c"])


def test_save_figure_is_atomic(tmp_path):
    fig = plotting.plot_confusion_matrix(np.eye(2), ["a", "b"])
    target = tmp_path / "cm.png"
    target.write_bytes(b"old")
    with pytest.raises(ValueError):
        plotting.save_figure(fig, target.with_suffix(".notaformat"))
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png"]


def test_va_over_time_measures_time_from_the_recording_start():
    t = 5_000_000 + np.arange(10) * 40_000  # predictions from 5 s into the recording's clock
    pred = np.zeros((10, 2))
    frames = np.zeros((2, 1, 4, 4), np.float32)
    fig = plotting.plot_va_over_time(t, pred, frames=frames, frame_timestamps=t[[0, 9]], start_us=4_840_000)
    valence_line = fig.axes[-2].lines[0].get_xdata()
    np.testing.assert_allclose(valence_line[[0, -1]], [0.16, 0.52])  # seconds since the first event
    assert [ax.get_title() for ax in fig.axes[:2]] == ["0.16 s", "0.52 s"]
    assert fig.axes[-1].get_xlabel() == "time from the recording's start (s)"
    assert plotting.plot_va_over_time(t, pred).axes[-2].lines[0].get_xdata()[0] == 0  # default: the first prediction


def test_input_comparison_rows_share_one_scale(tmp_path):
    rng = np.random.default_rng(0)
    recording = (rng.random((4, 1, 8, 8)) < 0.4) * np.float32(0.025)
    training = (rng.random((3, 1, 8, 8)) < 0.06) * np.float32(0.5)
    fig = plotting.plot_input_comparison(recording, training, table="statistic  recording\nx  1", title="check")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 7 and {im.get_clim() for im in images} == {(0, 0.5)}
    assert [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")] == ["recording inputs",
                                                                                          "training inputs"]
    assert any("statistic  recording" in t.get_text() for ax in fig.axes for t in ax.texts)
    assert _png_size(plotting.save_figure(fig, tmp_path / "check.png"))[0] > 100
    split = plotting.plot_input_comparison(np.ones((2, 2, 8, 8)), None)  # ON/OFF colours; no training samples
    assert any("training inputs: none stored" in t.get_text() for ax in split.axes for t in ax.texts)
    with pytest.raises(ValueError, match=r"\(n, C, S, S\)"):
        plotting.plot_input_comparison(np.ones((2, 2, 2, 8, 8)), None)
    sensor = np.ones((20, 30, 3))
    with_views = plotting.plot_input_comparison(recording, training, views=[(sensor, (3, 4, 10, 10), "0.16 s"),
                                                                           (sensor, None, "1.00 s")])
    first = [ax for ax in with_views.axes if ax.get_xlabel() in ("0.16 s", "1.00 s")]
    assert len(first) == 2 and first[0].get_title(loc="left") == "face box on the sensor"
    (box,) = first[0].patches  # the box, in pixel coordinates (pixel centres at integers)
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (2.5, 3.5, 10, 10)
    assert not first[1].patches
    assert sorted(im.get_clim() for ax in with_views.axes if ax not in first for im in ax.images)[0] == (0, 0.5)
