"""Tests of neurova.events: the event dtype, as_events from every common source, validation, slicing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurova.errors import EventFormatError
from neurova.events import (
    EVENT_DTYPE,
    SensorSize,
    as_events,
    concat_events,
    copy_events,
    empty_events,
    infer_sensor_size,
    make_events,
    search_times,
    slice_time,
    take_events,
    time_window_indices,
    validate_events,
)
from tests.helpers.paths import SHARED_DATA

X = [0, 5, 2, 345]
Y = [1, 0, 259, 3]
T = [10, 20, 20, 31]
P = [True, False, True, False]


def expected():
    return make_events(X, Y, T, P)


def structured(spec, columns):
    array = np.zeros(len(columns[0]), dtype=spec)
    for name, values in zip(array.dtype.names, columns):
        array[name] = values
    return array


def test_event_dtype_is_tonics_events_struct():
    assert EVENT_DTYPE.names == ("x", "y", "t", "p")
    assert [EVENT_DTYPE[n] for n in EVENT_DTYPE.names] == [np.int16, np.int16, np.int64, bool]
    assert empty_events().dtype == EVENT_DTYPE and len(empty_events()) == 0


def test_sensor_size():
    size = SensorSize.of((346, 260))
    assert size == SensorSize(346, 260) and size.shape == (260, 346) and size.to_tonic() == (346, 260, 2)
    assert SensorSize.of((346, 260, 2)) == size and SensorSize.of("346x260") == size and SensorSize.of(size) is size
    assert str(size) == "346x260"
    for bad in ("346", "axb", (0, 3), (1,), (1, 2, 3, 4)):
        with pytest.raises(ValueError):
            SensorSize.of(bad)


def test_make_events_polarity_and_lengths():
    events = make_events([1, 2, 3], [0, 0, 0], [0, 1, 2], [-1, 1, 0])
    assert events.dtype == EVENT_DTYPE and events["p"].tolist() == [False, True, False]
    with pytest.raises(EventFormatError, match="equal lengths"):
        make_events([1, 2], [0], [0, 1], [1, 1])


def test_as_events_aedat_dtype():
    aedat = structured([("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("on", "?")], (T, X, Y, P))
    np.testing.assert_array_equal(as_events(aedat, sensor_size=(346, 260)), expected())


@pytest.mark.parametrize(
    "spec",
    [
        [("x", "<u2"), ("y", "<u2"), ("p", "<i2"), ("t", "<i8")],  # Prophesee EventCD
        [("x", "<u2"), ("y", "<u2"), ("polarity", "u1"), ("timestamp", "<i8")],
        [("timestamp", "<f8"), ("x", "<i4"), ("y", "<i4"), ("polarity", "<i1")],
        [("TS", "<i8"), ("X", "<i2"), ("Y", "<i2"), ("Pol", "?")],
    ],
)
def test_as_events_matches_fields_by_name(spec):
    names = [name.lower() for name, _ in spec]
    columns = []
    for name in names:
        if name in ("x", "y"):
            columns.append(X if name == "x" else Y)
        elif name in ("t", "ts", "timestamp"):
            columns.append(T)
        else:
            columns.append(np.where(P, 1, 0))
    np.testing.assert_array_equal(as_events(structured(spec, columns)), expected())


def test_as_events_minus_one_plus_one_polarity():
    source = structured([("x", "<u2"), ("y", "<u2"), ("p", "<i1"), ("t", "<i8")], (X, Y, np.where(P, 1, -1), T))
    assert as_events(source)["p"].tolist() == P
    with pytest.raises(EventFormatError, match="polarity"):
        as_events(structured([("x", "<u2"), ("y", "<u2"), ("p", "<i1"), ("t", "<i8")], (X, Y, [0, 1, 2, 1], T)))


def test_as_events_v2e_rows_and_other_layouts():
    rows = np.stack([np.array(T) / 1e6, X, Y, np.where(P, 1, -1)], axis=1)  # v2e: [t (s), x, y, p]
    np.testing.assert_array_equal(as_events(rows, time_scale=1e6), expected())
    xypt = np.stack([X, Y, np.where(P, 1, 0), T], axis=1)
    np.testing.assert_array_equal(as_events(xypt, columns="xypt"), expected())
    with pytest.raises(ValueError, match="columns"):
        as_events(xypt, columns="pxyt")
    assert as_events(np.zeros((0, 4))).dtype == EVENT_DTYPE
    assert len(as_events(np.zeros(0))) == 0
    with pytest.raises(EventFormatError, match=r"shape \(4, 3\)"):
        as_events(np.zeros((4, 3)))


def test_as_events_dicts_and_tensors():
    source = {"x": X, "y": Y, "timestamp": T, "polarity": np.where(P, 1, -1)}
    np.testing.assert_array_equal(as_events(source), expected())
    rows = torch.tensor(np.stack([T, X, Y, np.where(P, 1, 0)], axis=1))
    np.testing.assert_array_equal(as_events(rows), expected())
    tensors = {"x": torch.tensor(X), "y": torch.tensor(Y), "t": torch.tensor(T), "p": torch.tensor(P)}
    np.testing.assert_array_equal(as_events(tensors), expected())
    with pytest.raises(EventFormatError, match="different lengths"):
        as_events({"x": X, "y": Y, "t": T[:2], "p": P})


def test_as_events_returns_a_new_array():
    events = expected()
    out = as_events(events)
    out["x"] = 0
    assert events["x"].tolist() == X


def test_as_events_errors_name_the_file():
    base = {"x": X, "y": Y, "t": T, "p": P}
    with pytest.raises(EventFormatError, match=r"^rec\.h5: 't' contains NaN") as info:
        as_events({**base, "t": [1.0, np.nan, 3.0, 4.0]}, path="rec.h5")
    assert info.value.path == "rec.h5"
    with pytest.raises(EventFormatError, match="infinite"):
        as_events({**base, "t": [1.0, np.inf, 3.0, 4.0]})
    with pytest.raises(EventFormatError, match="'x' contains NaN"):
        as_events({**base, "x": [1.0, np.nan, 3.0, 4.0]})
    with pytest.raises(EventFormatError, match="polarity contains NaN"):
        as_events({**base, "p": [1.0, np.nan, 0.0, 1.0]})
    with pytest.raises(EventFormatError, match="non-negative"):
        as_events({**base, "t": [-1, 2, 3, 4]})
    with pytest.raises(EventFormatError, match=r"\[0, 32767\]"):
        as_events({**base, "x": [-1, 2, 3, 4]})
    with pytest.raises(EventFormatError, match=r"\[0, 32767\]"):
        as_events({**base, "y": np.array([40000, 2, 3, 4], dtype=np.uint16)})
    with pytest.raises(EventFormatError, match="numeric"):
        as_events({**base, "x": ["a", "b", "c", "d"]})


def test_as_events_unsorted_timestamps():
    source = {"x": X, "y": Y, "t": [30, 10, 20, 10], "p": P}
    with pytest.raises(EventFormatError, match=r"not sorted.*sort=True"):
        as_events(source)
    events = as_events(source, sort=True)
    assert events["t"].tolist() == [10, 10, 20, 30]
    assert events["x"].tolist() == [5, 345, 2, 0]  # stable: equal timestamps keep their order
    assert as_events(source, validate=False)["t"].tolist() == [30, 10, 20, 10]


def test_as_events_outside_the_sensor():
    with pytest.raises(EventFormatError, match="outside the 346x259 sensor"):
        as_events(expected(), sensor_size=(346, 259))
    with pytest.raises(EventFormatError, match="outside"):
        as_events(expected(), sensor_size=(345, 260))
    assert len(as_events(expected(), sensor_size="346x260")) == 4



@pytest.mark.parametrize("dtype", ["i1", "<i2", ">i2", "<u2", "<i4", ">u4", "<i8", "<f8"])
def test_coordinates_of_every_type_are_checked_against_the_sensor(dtype):
    """One unsigned pass checks both bounds of integer coordinates, whatever the column's type and byte order: values
    at the sensor's edge and the largest of a small type are caught, those inside let through."""
    top = min(int(np.iinfo(dtype).max) if np.dtype(dtype).kind in "iu" else 300, np.iinfo(np.int16).max)
    for x, width, ok in [([0, 5], 6, True), ([0, 6], 6, False), ([0, top], 640, top < 640), ([3, top], None, True)]:
        columns = {"x": np.array(x, dtype=dtype), "y": np.array([0, 1], dtype=dtype), "t": [1, 2], "p": [1, 0]}
        size = None if width is None else (width, 2)
        if ok:
            validate_events(as_events(columns, sensor_size=size), sensor_size=size)
        else:
            with pytest.raises(EventFormatError, match="outside"):
                as_events(columns, sensor_size=size)
            with pytest.raises(EventFormatError, match="outside"):
                validate_events(as_events(columns, validate=False), sensor_size=size)


def test_negative_coordinates_of_an_event_array_are_caught_at_any_sensor_size():
    for x, y in [([0, -1], [0, 0]), ([0, 0], [0, -32768]), ([-32768, 3], [1, 1])]:
        for size in [None, (640, 480), (32768, 32768)]:
            with pytest.raises(EventFormatError, match="non-negative"):
                validate_events(make_events(x, y, [1, 2], [1, 1]), sensor_size=size)
    validate_events(make_events([0, 32767], [32767, 0], [1, 2], [1, 1]))

def test_as_events_field_errors():
    with pytest.raises(EventFormatError, match="no 'p' field"):
        as_events({"x": X, "y": Y, "t": T})
    with pytest.raises(EventFormatError, match="unknown event fields \\['size'\\]"):
        as_events({"x": X, "y": Y, "t": T, "p": P, "size": T})
    np.testing.assert_array_equal(as_events({"x": X, "y": Y, "t": T, "p": P, "size": T}, allow_extra=True), expected())
    with pytest.raises(EventFormatError, match="several fields for 't'"):
        as_events({"x": X, "y": Y, "t": T, "timestamp": T, "p": P})


def test_validate_events():
    validate_events(expected(), sensor_size=(346, 260))
    validate_events(empty_events())
    with pytest.raises(EventFormatError, match="use as_events"):
        validate_events(expected()[["t", "x", "y", "p"]])
    with pytest.raises(EventFormatError, match="use as_events"):
        validate_events([1, 2, 3])
    with pytest.raises(EventFormatError, match="event 2 at 5 µs comes after 20"):
        validate_events(make_events([0, 0, 0], [0, 0, 0], [10, 20, 5], [1, 1, 1]))
    with pytest.raises(EventFormatError, match="coordinates must be non-negative"):
        validate_events(make_events([0, -2], [0, 0], [1, 2], [1, 1]))


def test_infer_sensor_size_and_slicing():
    events = expected()
    assert infer_sensor_size(events) == SensorSize(346, 260)
    with pytest.raises(EventFormatError, match="zero events"):
        infer_sensor_size(empty_events())
    assert time_window_indices(events, 20, 31) == (1, 3)
    assert time_window_indices(events, None, None) == (0, 4)
    assert time_window_indices(events, 30, 15) == (3, 3)  # empty, never reversed
    assert slice_time(events, 11, 31)["t"].tolist() == [20, 20]
    assert np.shares_memory(slice_time(events, 11), events)


# ------------------------------------------------------------------------------------------ round trips

FIELD_DTYPES = {
    "x": ["<i2", "<u2", "<i4", ">i4", "<i8", "<f8"],
    "y": ["<i2", "<u2", "<i4", "<i8", "<f4"],
    "t": ["<i8", "<u8", ">i8", "<f8"],
    "p": ["?", "u1", "i1", "<i2", "<f4"],
}
FIELD_NAMES = {
    "x": ["x", "X"],
    "y": ["y", "Y"],
    "t": ["t", "ts", "timestamp", "time"],
    "p": ["p", "pol", "polarity", "on"],
}


@st.composite
def event_sources(draw):
    n = draw(st.integers(0, 20))
    x = draw(st.lists(st.integers(0, 345), min_size=n, max_size=n))
    y = draw(st.lists(st.integers(0, 259), min_size=n, max_size=n))
    t = sorted(draw(st.lists(st.integers(0, 2**24), min_size=n, max_size=n)))
    p = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    order = draw(st.permutations(["x", "y", "t", "p"]))
    signed = draw(st.booleans())
    spec, columns = [], []
    values = {"x": x, "y": y, "t": t, "p": p}
    for field in order:
        dtype = draw(st.sampled_from(FIELD_DTYPES[field]))
        spec.append((draw(st.sampled_from(FIELD_NAMES[field])), dtype))
        column = np.asarray(values[field])
        if field == "p" and dtype != "?":
            column = np.where(column, 1, -1 if signed and dtype != "u1" else 0)
        columns.append(column)
    return make_events(x, y, t, p), structured(spec, columns)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 40), max_size=300),
    st.lists(st.integers(-3, 45), min_size=1, max_size=12),
    st.sampled_from(["left", "right"]),
)
def test_search_times_is_numpys_searchsorted_without_the_copy(steps, values, side):
    events = make_events(np.zeros(len(steps)), np.zeros(len(steps)), np.cumsum(steps), np.ones(len(steps)))
    t = events["t"]  # strided: a field of the event array
    assert len(t) < 2 or not t.flags.c_contiguous
    expected = np.searchsorted(t.copy(), values, side=side)
    np.testing.assert_array_equal(search_times(t, np.array(values), side), expected)
    np.testing.assert_array_equal(search_times(t, np.array(values).reshape(-1, 1), side), expected[:, None])
    assert [search_times(t, v, side) for v in values] == expected.tolist()
    assert [search_times(t.copy(), v, side) for v in values] == expected.tolist()  # contiguous: numpy's own
    assert all(isinstance(search_times(t, v, side), int) for v in values)


def test_search_times_refuses_an_unknown_side():
    with pytest.raises(ValueError, match="side must be"):
        search_times(np.arange(3), 1, "middle")  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None)
@given(event_sources())
def test_as_events_round_trips_any_field_order_and_dtype(case):
    events, source = case
    out = as_events(source, sensor_size=(346, 260))
    assert out.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(out, events)
    as_dict = {name: source[name] for name in source.dtype.names}
    np.testing.assert_array_equal(as_events(as_dict), events)


@settings(max_examples=40, deadline=None)
@given(event_sources(), st.sampled_from(["txyp", "xytp", "xypt", "tpxy"]))
def test_as_events_round_trips_plain_rows(case, columns):
    events, _ = case
    by_name = {"x": events["x"], "y": events["y"], "t": events["t"], "p": events["p"].astype(np.int64)}
    rows = np.stack([by_name[c] for c in columns], axis=1) if len(events) else np.zeros((0, 4))
    np.testing.assert_array_equal(as_events(rows, columns=columns), events)
    np.testing.assert_array_equal(as_events(torch.as_tensor(rows), columns=columns), events)


# ----------------------------------------------------------------------------------------------- real data


def test_as_events_on_a_real_prophesee_recording():
    path = SHARED_DATA / "events" / "prophesee_evt3_sample.reference.npy"
    if not path.exists():
        pytest.skip("shared sample data not available")
    source = np.load(path, mmap_mode="r")[:20_000]
    events = as_events(source, sensor_size=(1280, 720), sort=True, path=path)
    assert len(events) == len(source) and np.all(np.diff(events["t"]) >= 0)
    assert set(np.unique(source["p"]).tolist()) <= {0, 1}
    assert events["p"].sum() == int((source["p"] > 0).sum())
    assert events["x"].max() < 1280 and events["y"].max() < 720


def test_event_buffer_holds_chunks_and_copies_only_what_is_asked() -> None:
    from neurova.events import EventBuffer

    events = make_events(np.arange(100) % 7, np.arange(100) % 5, np.arange(100, dtype=np.int64) * 10, np.ones(100))
    chunks = np.split(events, [0, 13, 13, 40, 77])  # empty chunks among them
    buffer = EventBuffer()
    for chunk in chunks:
        buffer.append(chunk)
    assert len(buffer) == 100 and len(buffer._chunks) == 4
    one = buffer.between(200, 300)  # inside one chunk: a view
    assert one.base is not None and np.shares_memory(one, events)
    np.testing.assert_array_equal(buffer.between(95, 805), events[10:81])  # across chunks: a copy
    assert len(buffer.between(2000, 3000)) == 0 and len(buffer.between(300, 300)) == 0
    assert buffer.next_time(401) == 410 and buffer.next_time(0) == 0 and buffer.next_time(991) is None
    buffer.drop_before(395)
    assert len(buffer) == 60 and buffer.next_time(0) == 400
    np.testing.assert_array_equal(buffer.between(0, 10_000), events[40:])
    buffer.drop_before(10_000)
    assert len(buffer) == 0 and buffer.next_time(0) is None
    for i in range(EventBuffer.MAX_CHUNKS + 1):  # many small chunks are joined
        buffer.append(events[i : i + 1])
    assert len(buffer._chunks) == 1
    np.testing.assert_array_equal(buffer.between(0, 10_000), events[: EventBuffer.MAX_CHUNKS + 1])


def _random_events(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return make_events(rng.integers(0, 640, n), rng.integers(0, 480, n), np.sort(rng.integers(0, 10**6, n)),
                       rng.integers(0, 2, n))


@given(st.integers(0, 300), st.integers(0, 3))
@settings(max_examples=30, deadline=None)
def test_record_copies_equal_numpys_field_by_field_ones(n, seed):
    """take_events, concat_events and copy_events copy whole records: the same arrays as numpy's indexing,
    concatenation and copy, new ones (never views of the input, but for concat_events of one part)."""
    events = _random_events(n, seed)
    mask = np.random.default_rng(seed).random(n) < 0.4
    index = np.random.default_rng(seed + 1).integers(0, max(n, 1), n // 2) if n else np.zeros(0, dtype=np.int64)
    for where in (mask, index, mask.nonzero()[0]):
        taken = take_events(events, where)
        assert taken.dtype == EVENT_DTYPE and taken.tobytes() == events[where].tobytes()
        assert not np.shares_memory(taken, events)
    parts = [events[: n // 3], events[n // 3 : n // 2], events[n // 2 :]]
    joined = concat_events(parts)
    assert joined.dtype == EVENT_DTYPE and joined.tobytes() == np.concatenate(parts).tobytes()
    assert concat_events([events]) is events and len(concat_events([])) == 0
    copied = copy_events(events[::2])
    assert copied.tobytes() == events[::2].copy().tobytes() and not np.shares_memory(copied, events)
    out = np.zeros(2 * n, dtype=EVENT_DTYPE)
    assert copy_events(events, out=out[n:]) is not None and out[n:].tobytes() == events.tobytes()
    assert out[:n].tobytes() == bytes(out[:n].nbytes)  # only the slice given is written
    with pytest.raises(ValueError, match="same shape"):
        copy_events(events, out=np.zeros(n + 1, dtype=EVENT_DTYPE))


def test_concat_events_of_other_dtypes_is_numpys():
    other = np.arange(12, dtype=np.int64).view([("x", "<i4"), ("y", "<i4"), ("t", "<i8"), ("p", "<i8")])
    for parts in ([other, other], [other, _random_events(2)]):
        expected = np.concatenate(parts)
        joined = concat_events(parts)
        assert joined.dtype == expected.dtype and joined.tobytes() == expected.tobytes()
