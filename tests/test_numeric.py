"""neurova._numeric: numpy's results, computed by torch's kernels or by radix passes."""

from __future__ import annotations

import numpy as np
import pytest

from neurova._numeric import _TORCH_FROM, cumsum, stable_argsort


@pytest.mark.parametrize("size", [0, 5, _TORCH_FROM + 3])
@pytest.mark.parametrize("source", [np.int64, np.int32, np.int16, np.uint8, np.bool_])
@pytest.mark.parametrize("dtype", [None, np.int32, np.int64])
def test_cumsum_equals_numpy(size, source, dtype):
    rng = np.random.default_rng(size)
    a = (rng.random(size) < 0.4) if source == np.bool_ else rng.integers(-3 if source != np.uint8 else 0, 9, size)
    a = a.astype(source)
    expected = np.cumsum(a, dtype=dtype)
    got = cumsum(a, dtype=dtype)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_cumsum_in_place_wraps_like_numpy_and_takes_any_layout():
    a = np.full(3 * _TORCH_FROM, 2**30, dtype=np.int32)
    expected = np.cumsum(a, dtype=np.int32)  # wraps around, as int32 sums do
    assert cumsum(a, dtype=np.int32, out=a) is a
    np.testing.assert_array_equal(a, expected)
    b = np.arange(4 * _TORCH_FROM, dtype=np.int64)
    np.testing.assert_array_equal(cumsum(b[::2]), np.cumsum(b[::2]))  # not contiguous: numpy's own
    b.flags.writeable = False
    np.testing.assert_array_equal(cumsum(b), np.cumsum(b))  # read only: numpy's own, no warning
    with pytest.raises(ValueError, match="1-D integer or bool"):
        cumsum(np.ones((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="integer dtype"):
        cumsum(np.ones(3, dtype=np.float64))


@pytest.mark.parametrize("top", [0, 9, 0xFFFF, 0x10000, 2**21, 2**40])
@pytest.mark.parametrize("dtype", [np.int64, np.uint32, np.uint16])
def test_stable_argsort_equals_numpys_stable_argsort(top, dtype):
    if np.iinfo(dtype).max < top:
        pytest.skip("keys wider than the dtype")
    rng = np.random.default_rng(top)
    key = rng.integers(0, top + 1, 5000, dtype=np.int64)
    key[::7] = key[3]  # many equal keys: their order must be kept
    key = key.astype(dtype)
    np.testing.assert_array_equal(stable_argsort(key), np.argsort(key, kind="stable"))
    assert len(stable_argsort(key[:0])) == 0
