"""How close a float result must be to its reference, per dtype: the one table every comparison
of computed values uses (integers and bools compare exactly).

A float16 result carries 11 significant bits: 2e-3 relative is two units in the last place,
enough for a reference rounded differently, and tight enough that a float16 sum off by 0.4%
fails. float32 and float64 get a few units in their last place likewise.
"""
import numpy as np

TOLERANCES = {"float16": (2e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-14)}


def dtype_name(dtype):
    """'float32' for graphc's and torch's dtypes (and their printed names) and numpy's."""
    text = str(dtype)
    return text.split(".")[-1] if text.startswith("torch.") else np.dtype(dtype).name


def tolerance(dtype):
    """(rtol, atol) for results of `dtype`; (0, 0) for integers and bools."""
    return TOLERANCES.get(dtype_name(dtype), (0.0, 0.0))


def assert_close(actual, expected, dtype, context=""):
    """actual (array-like) against expected within `dtype`'s tolerance; nan matches nan."""
    rtol, atol = tolerance(dtype)
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{context}: shape {actual.shape} != {expected.shape}"
    if rtol or atol:
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True, err_msg=str(context))
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=str(context))
