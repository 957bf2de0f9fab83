"""neurova._numeric: numpy's results, computed by torch's kernels."""

from __future__ import annotations

import numpy as np
import pytest

from neurova._numeric import _TORCH_FROM, cumsum


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
