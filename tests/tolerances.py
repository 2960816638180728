"""How close a float result must be to its reference, per dtype: the one table every comparison
of computed values uses (integers and bools compare exactly).

A float16 result is rounded to 11 bits: 2e-3 relative is two units in the last place, enough for
a differently-rounded reference and tight enough that a float16 sum off by 0.4% fails.
`ACCUMULATED` is for results where the reference rounds differently at every step (float16
cumulative products and sums against a float64 numpy reference): 1e-2, float16 only.
"""
import numpy as np

TOLERANCES = {"float16": (2e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-14)}
ACCUMULATED = dict(TOLERANCES, float16=(1e-2, 1e-3))


def dtype_name(dtype):
    """'float32' for graphc's and torch's dtypes (and their printed names) and numpy's."""
    text = str(dtype)
    return text.split(".")[-1] if text.startswith("torch.") else np.dtype(dtype).name


def tolerance(dtype, table=TOLERANCES):
    """(rtol, atol) for results of `dtype`; (0, 0) for integers and bools."""
    return table.get(dtype_name(dtype), (0.0, 0.0))


def assert_close(actual, expected, dtype, context="", table=TOLERANCES):
    """actual (array-like) against expected within `dtype`'s tolerance; nan matches nan."""
    rtol, atol = tolerance(dtype, table)
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{context}: shape {actual.shape} != {expected.shape}"
    if rtol or atol:
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True, err_msg=str(context))
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=str(context))
