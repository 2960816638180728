"""The memory layout of gradients of products: torch's, so a following in-place update of a
weight (SGD's add_) reads its gradient row by row. Strides recorded from torch 2.13."""
import numpy as np
import pytest

import graphc
import graphc.nn as nn

# (left shape, right shape, transposed operands) -> (left grad strides, right grad strides)
PRODUCT_GRAD_STRIDES = [
    ((3, 4), (4, 5), False, (4, 1), (5, 1)),
    ((4,), (4, 5), False, (1,), (5, 1)),
    ((3, 4), (4,), False, (4, 1), (1,)),
    ((2, 3, 4), (4, 5), False, (12, 4, 1), (5, 1)),
    ((2, 3, 4), (2, 4, 5), False, (12, 4, 1), (20, 5, 1)),
    ((3, 4), (2, 4, 5), False, (4, 1), (20, 5, 1)),
    ((5, 3), (4, 5), True, (3, 1), (5, 1)),   # a.t() @ b.t() of leaves a (5, 3), b (4, 5)
]


@pytest.mark.parametrize("left, right, transposed, left_strides, right_strides",
                         PRODUCT_GRAD_STRIDES)
def test_product_gradients_have_torchs_strides_and_values(left, right, transposed, left_strides,
                                                          right_strides):
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal(left), rng.standard_normal(right)
    a, b = graphc.tensor(a_np, requires_grad=True), graphc.tensor(b_np, requires_grad=True)
    weights_np = rng.standard_normal(np.matmul(a_np.T if transposed else a_np,
                                               b_np.T if transposed else b_np).shape)
    product = a.t() @ b.t() if transposed else a @ b
    (product * graphc.tensor(weights_np)).sum().backward()
    assert a.grad.stride() == left_strides and b.grad.stride() == right_strides
    eps = 1e-6  # the values: central differences of the weighted sum, one entry at a time
    for leaf, array in ((a, a_np), (b, b_np)):
        expected = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            shifted = []
            for sign in (1, -1):
                trial = array.copy()
                trial[index] += sign * eps
                pair = (trial, b_np) if array is a_np else (a_np, trial)
                x, y = (pair[0].T, pair[1].T) if transposed else pair
                shifted.append((np.matmul(x, y) * weights_np).sum())
            expected[index] = (shifted[0] - shifted[1]) / (2 * eps)
        np.testing.assert_allclose(leaf.grad.numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("input_shape", [(64, 7), (2, 3, 7)])
def test_linear_weight_grad_is_row_major_as_torchs(input_shape):
    layer = nn.Linear(7, 5)
    layer(graphc.randn(*input_shape)).sum().backward()
    assert layer.weight.grad.stride() == (7, 1)   # torch 2.13: (in_features, 1)
    assert layer.bias.grad.stride() == (1,)


def test_autograd_grad_through_a_transposed_weight_is_row_major():
    weight, inputs = graphc.randn(5, 4, requires_grad=True), graphc.randn(2, 3, 4)
    (grad,) = graphc.autograd.grad((inputs @ weight.t()).sum(), weight)
    assert grad.stride() == (4, 1)   # torch 2.13
    column_sums = inputs.numpy().reshape(6, 4).sum(axis=0)
    np.testing.assert_allclose(grad.numpy(), np.tile(column_sums, (5, 1)), rtol=1e-5)
