"""Hostile or careless data: what the data says must not drive unbounded work, reads outside a root,
silent overwrites, overflow or unit mistakes (issue 12, data side).

One table: each case is a function of a temporary folder that builds the data and checks the outcome
(a specific :mod:`neurova.errors` error naming the file and what is wrong, or a repair with a warning
naming where). One case per line of ``CASES``, so they can be counted.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

import neurova.io as nio
from neurova._paths import join_inside
from neurova.contract import InputContract
from neurova.datasets import NEFER
from neurova.datasets.afew_va import crop_clip
from neurova.datasets.event_files import LabelledEventFiles
from neurova.encodings import tbr, tbr_torch
from neurova.errors import AnnotationError, EventFormatError, NeurovaError, VideoFormatError
from neurova.events import MAX_SENSOR_SIDE, as_events, make_events
from neurova.transforms import ToFrame, ToTBR, ToTimeSurface, ToVoxelGrid
from tests.helpers.events import SIZE, encode_evt2, header, random_events, write_dat

from .conftest import shared_sample

DAYS_12_US = 12 * 86_400 * 10**6
CONTRACT = InputContract(n_bits=4, bin_us=5000, image_size=16, clip_length=2, frame_interval_us=20_000)


def two_events_days_apart() -> np.ndarray:
    return make_events([1, 2], [1, 2], [0, DAYS_12_US], [1, 0])


def refused(error: type[Exception], *words: str, path: Path | None = None) -> pytest.RaisesContext:
    """``pytest.raises`` checking that the message holds every word (and the path, when given)."""
    pattern = "(?s)" + "".join(f"(?=.*{re.escape(w)})" for w in (*words, *([str(path)] if path else [])))
    return pytest.raises(error, match=pattern)


# --------------------------------------------------------------------------- 1. bounded allocations


def encoder_bounded(encoder: Callable[[np.ndarray], object]) -> Callable[[Path], None]:
    def case(tmp: Path) -> None:
        with refused(EventFormatError, "max_bytes", "days", "25920001 frames"):
            encoder(two_events_days_apart())

    return case


def tbr_explicit_frames_bounded(tmp: Path) -> None:
    with refused(EventFormatError, "max_bytes", "1000000000 frames"):
        tbr(two_events_days_apart()[:1], (64, 64), n_frames=10**9)


def tbr_limit_can_be_raised(tmp: Path) -> None:
    frames = tbr(make_events([1], [1], [0], [1]), (4, 4), n_frames=3, max_bytes=None)
    assert frames.shape == (3, 1, 4, 4)


def raw_header(tmp: Path, *lines: str) -> Path:
    path = tmp / "r.raw"
    path.write_bytes(header(*lines, "end") + encode_evt2(random_events(20)))
    return path


def raw_geometry_too_large(tmp: Path) -> None:
    path = raw_header(tmp, "evt 2.0", "geometry 30000x30000")
    for read in (nio.read_events, nio.get_sensor_size, lambda p: list(nio.iter_events(p))):
        with refused(EventFormatError, "30000x30000", f"at most {MAX_SENSOR_SIDE}", "sensor_size=", path=path):
            read(path)
    assert len(nio.read_events(path, sensor_size=(64, 48))) == 20  # the documented override


def raw_geometry_zero(tmp: Path) -> None:
    path = raw_header(tmp, "format EVT2;height=0;width=640")
    with refused(EventFormatError, "invalid sensor size", path=path):
        nio.get_sensor_size(path)


def h5_attrs_too_large(layout: str) -> Callable[[Path], None]:
    def case(tmp: Path) -> None:
        path = nio.write_events(tmp / "e.h5", random_events(10), SIZE, layout=layout)
        with h5py.File(path, "r+") as f:
            f.attrs["width"], f.attrs["height"] = 30000, 30000
        for read in (nio.read_recording, nio.get_sensor_size):
            with refused(EventFormatError, "30000x30000", "sensor_size=", path=path):
                read(path)

    return case


def npz_size_too_large(tmp: Path) -> None:
    path = nio.write_events(tmp / "e.npz", random_events(10), SIZE)
    arrays = dict(np.load(path))
    arrays["width"] = np.int64(40000)
    np.savez(path, **arrays)
    with refused(EventFormatError, "40000x", path=path):
        nio.read_recording(path)


def afew_va_landmark_far_outside(tmp: Path) -> None:
    frames = np.zeros((5, 60, 80), np.uint8)
    landmarks = np.tile(np.stack(np.meshgrid(np.linspace(30, 50, 17), [20, 30, 35, 40]), -1).reshape(-1, 2), (5, 1, 1))
    landmarks[2, 10] = (1e6, 1e6)
    with pytest.warns(UserWarning, match=r"1 frame\(s\) have landmarks outside the 80x60 frame.*1e\+06"):
        crops, boxes = crop_clip(frames, landmarks.astype(np.float32), image_size=16, smooth_window=1)
    assert crops.shape == (5, 16, 16) and np.abs(boxes).max() < 200


def afew_va_no_usable_landmark(tmp: Path) -> None:
    source = tmp / "001.json"
    with pytest.warns(UserWarning), refused(AnnotationError, "usable landmarks", path=source):
        crop_clip(np.zeros((2, 8, 8), np.uint8), np.full((2, 68, 2), 1e6, np.float32), image_size=4, source=source)


# ------------------------------------------------------------------------- 2. EVT 2.0 time words


def evt2_file(tmp: Path, words: np.ndarray) -> Path:
    path = tmp / "t.raw"
    path.write_bytes(header("evt 2.0", "geometry 64x48", "end") + words.astype("<u4").tobytes())
    return path


def evt2_words(highs: list[int]) -> np.ndarray:
    """An EV_TIME_HIGH word of each value, each followed by one CD_ON event at x = its index."""
    rows = [((0x8 << 28) | h, (0x1 << 28) | (5 << 22) | (i << 11) | 3) for i, h in enumerate(highs)]
    return np.array(rows, dtype=np.uint32).reshape(-1)


def read_warning(path: Path) -> tuple[np.ndarray, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        events = nio.read_events(path)
    return events, [str(w.message) for w in caught]


def evt2_spike(corrupt: int) -> Callable[[Path], None]:
    def case(tmp: Path) -> None:
        highs = [100, 101, 102, corrupt, 103, 104]
        events, messages = read_warning(evt2_file(tmp, evt2_words(highs)))
        byte = len(header("evt 2.0", "geometry 64x48", "end")) + 3 * 8
        assert any(f"at byte {byte}" in m and "EV_TIME_HIGH" in m for m in messages), messages
        assert events["t"].max() < 105 << 6  # nothing moved 4.77 h later
        assert events["t"][3] == (102 << 6) | 5  # the event after the corrupt word keeps the previous time base

    return case


def evt2_sustained_step_back(tmp: Path) -> None:
    path = evt2_file(tmp, evt2_words([5000, 5001, 5002, 10, 11, 12]))
    with refused(EventFormatError, "EV_TIME_HIGH", "moves time back", "at byte", path=path):
        nio.read_events(path)


def evt2_wrap_near_end_is_kept(tmp: Path) -> None:
    top = (1 << 28) - 2
    events, messages = read_warning(evt2_file(tmp, evt2_words([top, top + 1, 0, 1])))
    assert not messages
    np.testing.assert_array_equal(events["t"] >> 6, [top, top + 1, 1 << 28, (1 << 28) + 1])


def evt2_real_file_one_corrupt_word(tmp: Path) -> None:
    real = shared_sample("prophesee_evt2_sample.raw")
    offset = nio.read_raw_header(real).data_offset
    words = np.fromfile(real, dtype="<u4", offset=offset)
    i = np.flatnonzero(words >> 28 == 0x8)[1500]
    words[i] = (0x8 << 28) | 0x0FFFFF00  # a corrupt EV_TIME_HIGH near the counter's end
    path = tmp / "corrupt.raw"
    path.write_bytes(real.read_bytes()[:offset] + words.tobytes())
    events, messages = read_warning(path)
    assert any(f"at byte {offset + 4 * i}" in m for m in messages), messages
    original = nio.read_events(real)
    assert len(events) == len(original)  # before the fix, half the recording moved 4.77 h later
    assert np.abs(events["t"] - original["t"]).max() <= 64  # events after the word keep the previous 64 µs tick
    fields = ["x", "y", "p"]
    np.testing.assert_array_equal(np.sort(events[fields]), np.sort(original[fields]))
    with pytest.warns(UserWarning, match=f"at byte {offset + 4 * i}"):
        streamed = list(nio.iter_events(path, window_us=100_000))
    np.testing.assert_array_equal(np.concatenate(streamed), events)


def dat_timestamp_spike(tmp: Path) -> None:
    events = make_events([1, 2, 3, 4, 5], [1, 1, 1, 1, 1], [10, 20, 30, 40, 50], [1, 0, 1, 0, 1])
    path = write_dat(tmp / "s.dat", events)
    data = bytearray(path.read_bytes())
    start = data.index(bytes([12, 8])) + 2
    data[start + 16 : start + 20] = np.uint32(4_000_000_000).tobytes()  # event 2's t: a corrupt 32-bit value
    path.write_bytes(bytes(data))
    read, messages = read_warning(path)
    assert any("event timestamp(s)" in m and f"at byte {start + 16}" in m for m in messages), messages
    np.testing.assert_array_equal(read["t"], [10, 20, 40, 50])


# ------------------------------------------------------------------------ 5. names stay inside roots


def nefer_with_row(tmp: Path, user: str, clip_id: str) -> Callable[[], object]:
    csv = tmp / "nefer" / "annotations" / "expected_emotions" / "train_event.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text(f"{user},{clip_id},../event_frame_NEW/user_01/{clip_id.strip('/')}/frame_00.png,Happiness\n")
    (tmp / "outside.npz").write_bytes(b"victim")
    (tmp / "raw").mkdir()
    return lambda: NEFER(tmp / "nefer", "train", raw_dir=tmp / "raw")


def nefer_user_climbs_out(tmp: Path) -> None:
    with refused(AnnotationError, "NEFER user", "'../../outside'", ".."):
        nefer_with_row(tmp, "../../outside", "clip")()


def nefer_absolute_clip_id(tmp: Path) -> None:
    with refused(AnnotationError, "NEFER clip id", "absolute"):
        nefer_with_row(tmp, "user_01", str(tmp / "outside"))()


def label_file(tmp: Path, name: str) -> Callable[[], object]:
    root = tmp / "root"
    root.mkdir()
    victim = tmp / "x" / "victim.h5"
    victim.parent.mkdir()
    nio.write_events(victim, random_events(10), SIZE)
    csv = root / "labels.csv"
    csv.write_text(f"file,t_us,valence,arousal\n{name},20000,0.1,0.2\n")
    return lambda: LabelledEventFiles(root, csv, CONTRACT)


def label_csv_climbs_out(tmp: Path) -> None:
    with refused(AnnotationError, "'../x/victim.h5'", "labels.csv"):
        label_file(tmp, "../x/victim.h5")()


def label_csv_absolute_name(tmp: Path) -> None:
    with refused(AnnotationError, "absolute", "labels.csv"):
        label_file(tmp, str(tmp / "x" / "victim.h5"))()


def join_inside_refuses(name: str) -> Callable[[Path], None]:
    def case(tmp: Path) -> None:
        with refused(AnnotationError, repr(name)):
            join_inside(tmp, name, what="file")

    return case


def join_inside_keeps_inner_names(tmp: Path) -> None:
    assert join_inside(tmp, "a/./b/../c.h5", what="file") == tmp / "a/./b/../c.h5"


# ----------------------------------------------------------------- 6. outputs keyed by their settings


def simulate(tmp: Path, **kwargs: object) -> list[Path]:
    from neurova.simulator import simulate_dataset

    return simulate_dataset(tmp / "clips", tmp / "out", progress=False, **kwargs)


def frame_clips(tmp: Path, n: int = 2) -> None:
    from .conftest import write_frame_clips

    write_frame_clips(tmp / "clips", n, n_frames=4, size=(12, 16))


def simulate_other_settings(change: dict[str, object]) -> Callable[[Path], None]:
    def case(tmp: Path) -> None:
        frame_clips(tmp)
        first = simulate(tmp)
        before = [nio.read_events(p) for p in first]
        key = next(iter(change))
        with refused(NeurovaError, "other settings", f"{key}=", "overwrite=True", path=first[0]):
            simulate(tmp, **change)
        for path, events in zip(first, before):  # nothing was touched
            np.testing.assert_array_equal(nio.read_events(path), events)
        assert simulate(tmp) == first  # the same settings still resume
        simulate(tmp, overwrite=True, **change)
        with h5py.File(first[0]) as f:
            assert f.attrs["neurova_simulate"] and (key != "preset" or f.attrs["preset"] == change[key])

    return case


def simulate_never_replaces_foreign_file(tmp: Path) -> None:
    frame_clips(tmp, 1)
    foreign = tmp / "out" / "clip00.h5"
    nio.write_events(foreign, random_events(5), SIZE)  # an event file neurova simulate did not write
    for overwrite in (False, True):
        with refused(NeurovaError, "not written by neurova simulate", path=foreign):
            simulate(tmp, overwrite=overwrite)


def simulate_name_collision(tmp: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    frame_clips(tmp, 1)
    (tmp / "clips" / "clip00").rename(tmp / "clips" / "a")
    writer = cv2.VideoWriter(str(tmp / "clips" / "a.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (16, 12))
    for _ in range(3):
        writer.write(np.zeros((12, 16, 3), np.uint8))
    writer.release()
    with refused(VideoFormatError, "'a'", "'a.avi'", "a.h5", "rename"):
        simulate(tmp)
    assert not (tmp / "out").exists()


# ----------------------------------------------------------------------- 7. overflow is not negativity


def timestamps_overflow(t: np.ndarray) -> Callable[[Path], None]:
    def case(tmp: Path) -> None:
        with refused(EventFormatError, "does not fit in int64"):
            as_events({"x": [0, 1], "y": [0, 1], "t": t, "p": [0, 1]})
        with refused(EventFormatError, "does not fit in int64"):
            make_events([0, 1], [0, 1], t, [0, 1])

    return case


def npy_file_overflow(tmp: Path) -> None:
    path = tmp / "e.npy"
    array = np.zeros(2, dtype=[("x", "<i2"), ("y", "<i2"), ("t", "<u8"), ("p", "u1")])
    array["t"] = [1, 2**64 - 1]
    np.save(path, array)
    with refused(EventFormatError, "18446744073709551615", "does not fit", path=path):
        nio.read_events(path)


# --------------------------------------------------------------------------------- silent unit traps


def v2e_float_seconds_refused(tmp: Path) -> None:
    rows = np.array([[0.0, 1, 1, 1], [0.5, 2, 2, 0], [2.0, 3, 3, 1]])
    with refused(EventFormatError, "fractions", "seconds", "time_scale=1e6"):
        as_events(rows)
    np.testing.assert_array_equal(as_events(rows, time_scale=1e6)["t"], [0, 500_000, 2_000_000])


def npy_float_seconds_refused(tmp: Path) -> None:
    path = tmp / "v2e.npy"
    np.save(path, np.array([[0.0, 1, 1, 1], [0.25, 2, 2, 0]]))
    with refused(EventFormatError, "time_scale", "neurova.events.as_events on the loaded array", path=path):
        nio.read_events(path)


def labels_relative_to_epoch_recording(tmp: Path) -> None:
    root = tmp / "root"
    root.mkdir()
    epoch = 1_700_000_000_000_000  # µs since 1970, as an .aedat4 clock counts
    events = random_events(200, t0=epoch, span_us=400_000)
    nio.write_events(root / "rec.h5", events, SIZE)
    csv = root / "labels.csv"
    csv.write_text("file,t_us,valence,arousal\nrec.h5,200000,0.1,0.2\n")
    data = LabelledEventFiles(root, csv, CONTRACT)
    with refused(AnnotationError, "line 2", f"offset {int(events['t'][0])}", "1970", path=csv):
        data[0]
    csv.write_text(f"file,t_us,valence,arousal\nrec.h5,{epoch + 200_000},0.1,0.2\n")
    assert LabelledEventFiles(root, csv, CONTRACT)[0]["frames"].abs().sum() > 0


def labels_relative_to_real_aedat4(tmp: Path) -> None:
    pytest.importorskip("aedat")
    real = shared_sample("davis346_with_frames.aedat4")
    root = tmp / "root"
    root.mkdir()
    (root / "rec.aedat4").symlink_to(real.resolve())
    csv = root / "labels.csv"
    csv.write_text("file,t_us,valence,arousal\nrec.aedat4,100000,0.1,0.2\n")
    with refused(AnnotationError, "offset", "1970", path=csv):
        LabelledEventFiles(root, csv, CONTRACT)[0]


CASES: list[Callable[[Path], None]] = [
    encoder_bounded(ToTBR((4, 4))),
    encoder_bounded(ToFrame((4, 4), polarity="merge")),
    encoder_bounded(ToVoxelGrid((4, 4), n_bins=1)),
    encoder_bounded(ToTimeSurface((4, 4))),
    encoder_bounded(lambda ev: tbr_torch(ev["x"], ev["y"], ev["t"], ev["p"], (4, 4))),
    tbr_explicit_frames_bounded,
    tbr_limit_can_be_raised,
    raw_geometry_too_large,
    raw_geometry_zero,
    h5_attrs_too_large("neurova"),
    h5_attrs_too_large("v2e"),
    npz_size_too_large,
    afew_va_landmark_far_outside,
    afew_va_no_usable_landmark,
    evt2_spike(0x0FFFFF00),
    evt2_spike(7),
    evt2_spike(100 + (1 << 20)),
    evt2_sustained_step_back,
    evt2_wrap_near_end_is_kept,
    evt2_real_file_one_corrupt_word,
    dat_timestamp_spike,
    nefer_user_climbs_out,
    nefer_absolute_clip_id,
    label_csv_climbs_out,
    label_csv_absolute_name,
    join_inside_refuses("../x"),
    join_inside_refuses("a/../../x"),
    join_inside_refuses("/etc/passwd"),
    join_inside_refuses("C:\\data\\x.h5"),
    join_inside_refuses(""),
    join_inside_keeps_inner_names,
    simulate_other_settings({"preset": "noisy"}),
    simulate_other_settings({"seed": 1}),
    simulate_never_replaces_foreign_file,
    simulate_name_collision,
    timestamps_overflow(np.array([1, 2**63 + 5], dtype=np.uint64)),
    timestamps_overflow(np.array([1.0, 9.3e18])),
    timestamps_overflow(np.array([0, 2**64 - 1], dtype=np.uint64)),
    npy_file_overflow,
    v2e_float_seconds_refused,
    npy_float_seconds_refused,
    labels_relative_to_epoch_recording,
    labels_relative_to_real_aedat4,
]


def _case_id(case: Callable[[Path], None]) -> str:
    return case.__qualname__.split(".<locals>")[0] + f"-{CASES.index(case)}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_hostile_data(case: Callable[[Path], None], tmp_path: Path) -> None:
    case(tmp_path)
