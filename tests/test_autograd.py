"""Autograd engine semantics that PyTorch users rely on (the gradient rules themselves are
gradchecked op by op in test_gradients.py).

Most tests take the `lib` fixture and run twice: once on graphc and once on torch with the very
same program and the same hand-computed expectations, so a passing torch variant proves the
expectation is torch's behaviour. Without torch, the torch variant checks that torch 2.13 passed
this exact test when it was recorded (tests/oracle: a digest of its source and parameters).
Tests of graphc-only behaviour (the legacy `volatile`, GradcheckError) run on graphc alone.
"""
import warnings

import numpy as np
import pytest

import graphc
import oracle


@pytest.fixture(params=["graphc", "torch"])
def lib(request):
    return oracle.torch_twin() if request.param == "torch" else graphc


def values(t):
    """A tensor's values as a float64 numpy array (None stays None)."""
    return None if t is None else np.array(t.detach().tolist(), dtype=np.float64)


def assert_close(tensor, expected, rtol=1e-6, atol=1e-9):
    assert tensor is not None, "expected a gradient, got None"
    np.testing.assert_allclose(values(tensor), np.asarray(expected, dtype=np.float64),
                               rtol=rtol, atol=atol)


def leaf(lib, data, dtype=None):
    return lib.tensor(data, dtype=dtype or lib.float64, requires_grad=True)


def node_name(node):
    return None if node is None else type(node).__name__


def edges(tensor):
    return [(node_name(node), index) for node, index in tensor.grad_fn.next_functions]


# ------------------------------------------------------------------ requires_grad and leaves


def test_requires_grad_is_settable_on_leaves(lib):
    x = lib.ones(3)
    assert not x.requires_grad and x.is_leaf
    x.requires_grad = True
    assert x.requires_grad and x.is_leaf and x.grad_fn is None
    x.requires_grad = False
    assert not x.requires_grad
    assert x.requires_grad_() is x and x.requires_grad  # default True, returns self
    x.requires_grad_(False)
    assert not x.requires_grad


def test_requires_grad_false_on_a_non_leaf_raises(lib):
    y = leaf(lib, [1.0, 2.0]) * 2
    message = "you can only change requires_grad flags of leaf variables"
    with pytest.raises(RuntimeError, match=message):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match=message):
        y.requires_grad_(False)
    assert y.requires_grad_(True) is y  # requires_grad_(True) on a non-leaf is a no-op


def test_assigning_requires_grad_true_on_a_non_leaf_raises(lib):
    y = leaf(lib, [1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        y.requires_grad = True


def test_integer_tensors_cannot_require_grad(lib):
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        lib.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        lib.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        lib.tensor([1, 2]).requires_grad = True
    ints = lib.tensor([1, 2])
    ints.requires_grad = False  # allowed: nothing changes
    assert not ints.requires_grad


def test_is_leaf_follows_history(lib):
    x = leaf(lib, [1.0, 2.0])
    untracked = lib.ones(2)
    assert x.is_leaf and untracked.is_leaf
    assert (untracked * 2).is_leaf  # no input requires grad: a leaf without grad
    y = x * 2
    assert not y.is_leaf and y.requires_grad
    assert y.detach().is_leaf and not y.detach().requires_grad
    with lib.no_grad():
        z = x * 2
    assert z.is_leaf and not z.requires_grad and z.grad_fn is None


def test_integer_results_of_tracked_inputs_are_untracked(lib):
    x = leaf(lib, [1.5, -2.0, 3.0])
    for result in (x.argmax(), x > 0, x.long()):
        assert not result.requires_grad and result.grad_fn is None


# torch's node names, checked with torch 2.x: (label, program, name)
GRAD_FN_NAMES = [
    ("mul", lambda lib, x, a: x * 2, "MulBackward0"),
    ("add", lambda lib, x, a: x + x, "AddBackward0"),
    ("add_scalar", lambda lib, x, a: x + 1, "AddBackward0"),
    ("sub", lambda lib, x, a: x - 1, "SubBackward0"),
    ("rsub", lambda lib, x, a: 1 - x, "RsubBackward1"),
    ("div", lambda lib, x, a: x / 2, "DivBackward0"),
    ("neg", lambda lib, x, a: -x, "NegBackward0"),
    ("pow_scalar", lambda lib, x, a: x ** 2, "PowBackward0"),
    ("pow_tensor", lambda lib, x, a: x ** x, "PowBackward1"),
    ("rpow", lambda lib, x, a: 2 ** x, "PowBackward2"),
    ("sum", lambda lib, x, a: x.sum(), "SumBackward0"),
    ("sum_dim", lambda lib, x, a: a.sum(0), "SumBackward1"),
    ("mean", lambda lib, x, a: x.mean(), "MeanBackward0"),
    ("expand", lambda lib, x, a: x.expand(2, 3), "ExpandBackward0"),
    ("mm", lambda lib, x, a: a.mm(a), "MmBackward0"),
    ("matmul_2d", lambda lib, x, a: a @ a, "MmBackward0"),
    ("matmul_1d", lambda lib, x, a: x @ x, "DotBackward0"),
    ("matmul_mv", lambda lib, x, a: a @ a[0], "MvBackward0"),
    ("view", lambda lib, x, a: a.view(4), "ViewBackward0"),
    ("reshape", lambda lib, x, a: a.reshape(4), "ViewBackward0"),
    ("flatten", lambda lib, x, a: a.flatten(), "ViewBackward0"),
    ("permute", lambda lib, x, a: a.permute(1, 0), "PermuteBackward0"),
    ("T", lambda lib, x, a: a.T, "PermuteBackward0"),
    ("slice", lambda lib, x, a: a[:, 1:], "SliceBackward0"),
    ("index", lambda lib, x, a: x[lib.tensor([0, 0])], "IndexBackward0"),
    ("unsqueeze", lambda lib, x, a: x.unsqueeze(0), "UnsqueezeBackward0"),
    ("squeeze", lambda lib, x, a: x.unsqueeze(0).squeeze(), "SqueezeBackward0"),
    ("exp", lambda lib, x, a: x.exp(), "ExpBackward0"),
    ("tanh", lambda lib, x, a: x.tanh(), "TanhBackward0"),
    ("sigmoid", lambda lib, x, a: x.sigmoid(), "SigmoidBackward0"),
    ("clamp", lambda lib, x, a: x.clamp(0, 1), "ClampBackward1"),
    ("maximum", lambda lib, x, a: lib.maximum(x, x), "MaximumBackward0"),
    ("cat", lambda lib, x, a: lib.cat([x, x]), "CatBackward0"),
    ("where", lambda lib, x, a: lib.where(x > 1, x, x * 0), "WhereBackward0"),
    ("cumsum", lambda lib, x, a: x.cumsum(0), "CumsumBackward0"),
    ("prod", lambda lib, x, a: x.prod(), "ProdBackward0"),
    ("norm", lambda lib, x, a: x.norm(), "LinalgVectorNormBackward0"),
    ("clone", lambda lib, x, a: x.clone(), "CloneBackward0"),
    ("to_double", lambda lib, x, a: x.double(), "ToCopyBackward0"),
    ("masked_fill", lambda lib, x, a: x.masked_fill(x > 1, 0), "MaskedFillBackward0"),
    ("mul_inplace", lambda lib, x, a: (x * 1).mul_(2), "MulBackward0"),
    ("exp_inplace", lambda lib, x, a: (x * 1).exp_(), "ExpBackward0"),
    # graphc names these differently (see the report): torch's own node per overload
    ("t", lambda lib, x, a: a.t(), "TBackward0"),
    ("transpose", lambda lib, x, a: a.transpose(0, 1), "TransposeBackward0"),
    ("select", lambda lib, x, a: a[0], "SelectBackward0"),
    ("rdiv", lambda lib, x, a: 2 / x, "MulBackward0"),
    ("clamp_min_kwarg", lambda lib, x, a: x.clamp(min=0), "ClampBackward1"),
    ("max_all", lambda lib, x, a: x.max(), "MaxBackward1"),
    ("max_dim", lambda lib, x, a: a.max(0).values, "MaxBackward0"),
    ("stack", lambda lib, x, a: lib.stack([x, x]), "StackBackward0"),
    ("split", lambda lib, x, a: x.split(1)[0], "SplitBackward0"),
    ("chunk", lambda lib, x, a: x.chunk(3)[0], "SplitBackward0"),
    ("squeeze_dim", lambda lib, x, a: x.unsqueeze(0).squeeze(0), "SqueezeBackward1"),
    ("sort", lambda lib, x, a: x.sort().values, "SortBackward0"),
    ("topk", lambda lib, x, a: x.topk(2).values, "TopkBackward0"),
]


@pytest.mark.parametrize("label,program,expected", GRAD_FN_NAMES,
                         ids=[label for label, _, _ in GRAD_FN_NAMES])
def test_grad_fn_type_names_match_torch(lib, label, program, expected):
    x = leaf(lib, [1.0, 2.0, 3.0], dtype=lib.float32)
    a = leaf(lib, [[1.0, 2.0], [3.0, 4.0]], dtype=lib.float32)
    node = program(lib, x, a).grad_fn
    assert node_name(node) == expected
    assert node.name() == expected


def test_number_divided_by_a_tensor_is_reciprocal_times_number(lib):
    """torch computes 3 / x as x.reciprocal() * 3 (its rounding and its graph)."""
    x = lib.linspace(0.5, 1.5, 1001, requires_grad=True)
    quotient = 3 / x
    assert bool(((x.reciprocal() * 3) == quotient).all())
    assert node_name(quotient.grad_fn) == "MulBackward0"
    assert node_name(quotient.grad_fn.next_functions[0][0]) == "ReciprocalBackward0"


def test_next_functions_point_to_accumulate_grad_and_none(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    y = x * 2
    assert edges(y) == [("AccumulateGrad", 0), (None, 0)]  # the scalar is wrapped, untracked
    assert edges(x * lib.ones(3, dtype=lib.float64)) == [("AccumulateGrad", 0), (None, 0)]
    assert edges(y + x) == [("MulBackward0", 0), ("AccumulateGrad", 0)]
    assert edges(y.sum()) == [("MulBackward0", 0)]
    assert edges(x.expand(2, 3)) == [("AccumulateGrad", 0)]
    a = leaf(lib, [[1.0, 2.0], [3.0, 4.0]])
    assert edges(lib.ones(2, 2, dtype=lib.float64).mm(a)) == [(None, 0), ("AccumulateGrad", 0)]
    accumulator = y.grad_fn.next_functions[0][0]
    assert accumulator.variable is x
    assert (x * 3).grad_fn.next_functions[0][0] is accumulator  # one AccumulateGrad per leaf
    assert y.grad_fn.next_functions[0][0].next_functions == ()
    assert (y + x).grad_fn.next_functions[0][0] is y.grad_fn


def test_next_functions_hold_only_tensor_inputs_of_the_overload(lib):
    """torch: x ** 2 (pow.Tensor_Scalar) and clamp(x, 0, 1) have one edge; where's condition
    is not an input of WhereBackward0."""
    x = leaf(lib, [1.0, 2.0, 3.0])
    assert edges(x ** 2) == [("AccumulateGrad", 0)]
    assert edges(x.clamp(0, 1)) == [("AccumulateGrad", 0)]
    assert edges(lib.where(x > 1, x, lib.zeros(3, dtype=lib.float64))) == [
        ("AccumulateGrad", 0), (None, 0)]


# ------------------------------------------------------------------ backward()


def test_scalar_backward_uses_gradient_one(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    (x * x).sum().backward()
    assert_close(x.grad, [2.0, 4.0, 6.0])
    w = leaf(lib, [3.0])
    (w * 5).backward()  # one element, not 0-dim: still implicit
    assert_close(w.grad, [5.0])


def test_non_scalar_backward_needs_a_gradient(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    y.backward(lib.tensor([1.0, 0.5, 2.0], dtype=lib.float64))
    assert_close(x.grad, [2.0, 2.0, 12.0])
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * x).backward(lib.ones(2, dtype=lib.float64))


def test_backward_of_an_untracked_tensor_raises(lib):
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does "
                                           "not have a grad_fn"):
        lib.ones(2).sum().backward()


def test_gradients_accumulate_across_backward_calls(lib):
    x = leaf(lib, [1.0, 2.0])
    (x * x).sum().backward()
    grad = x.grad
    (x * 3).sum().backward()
    assert_close(x.grad, [5.0, 7.0])
    assert x.grad is grad  # accumulated in place into the same tensor
    x.grad = None
    (x * 3).sum().backward()
    assert_close(x.grad, [3.0, 3.0])
    x.grad.zero_()
    assert_close(x.grad, [0.0, 0.0])


def test_retain_graph_allows_a_second_backward(lib):
    x = leaf(lib, [1.0, 2.0])
    z = (x * x).exp().sum()
    z.backward(retain_graph=True)
    first = values(x.grad)
    z.backward()
    assert_close(x.grad, 2 * first)
    np.testing.assert_allclose(first, 2 * np.array([1.0, 2.0]) * np.exp([1.0, 4.0]))


def test_second_backward_without_retain_graph_raises(lib):
    x = leaf(lib, [1.0, 2.0])
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        z.backward()
    y = x.exp()
    lib.autograd.grad(y.sum(), x)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        lib.autograd.grad(y.sum(), x)


def test_second_backward_through_nodes_that_saved_nothing_works(lib):
    """torch only refuses when a freed saved tensor is needed: add and sum save none."""
    x = leaf(lib, [1.0, 2.0])
    z = (x + 1).sum()
    z.backward()
    z.backward()
    assert_close(x.grad, [2.0, 2.0])


def test_backward_inputs_accumulates_only_into_those(lib):
    a = leaf(lib, 2.0)
    b = leaf(lib, 3.0)
    (a * b + a).backward(inputs=[b])
    assert a.grad is None
    assert_close(b.grad, 2.0)
    (a * b + a).backward(inputs=a)
    assert_close(a.grad, 4.0)
    assert_close(b.grad, 2.0)


def test_third_derivative_of_x_to_the_fourth(lib):
    x = leaf(lib, 2.0)
    (first,) = lib.autograd.grad(x ** 4, x, create_graph=True)
    (second,) = lib.autograd.grad(first, x, create_graph=True)
    (third,) = lib.autograd.grad(second, x)
    assert_close(first, 32.0)   # 4 x^3
    assert_close(second, 48.0)  # 12 x^2
    assert_close(third, 48.0)   # 24 x
    assert first.requires_grad and second.requires_grad and not third.requires_grad


def test_backward_with_create_graph_makes_grad_differentiable(lib):
    x = leaf(lib, 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about the reference cycle
        (x ** 4).backward(create_graph=True)
    grad = x.grad
    assert_close(grad, 32.0)
    assert grad.requires_grad and grad.grad_fn is not None
    x.grad = None
    grad.backward()
    assert_close(x.grad, 48.0)


def test_hessian_vector_product_of_a_quadratic_form(lib):
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(4, 4))
    vector = rng.normal(size=4)
    point = rng.normal(size=4)
    A = lib.tensor(matrix)
    v = lib.tensor(vector)
    x = leaf(lib, point)
    f = 0.5 * (x @ (A @ x))
    (g,) = lib.autograd.grad(f, x, create_graph=True)
    assert_close(g, 0.5 * (matrix + matrix.T) @ point)
    (hv,) = lib.autograd.grad(g @ v, x)
    assert_close(hv, 0.5 * (matrix + matrix.T) @ vector)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_hessian_vector_product_through_an_activation(lib, activation):
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(3, 4))
    vector = rng.normal(size=4)
    point = rng.normal(size=4) * 0.5
    W = lib.tensor(weights)
    x = leaf(lib, point)
    f = getattr(lib, activation)(W @ x).sum()
    (g,) = lib.autograd.grad(f, x, create_graph=True)
    (hv,) = lib.autograd.grad((g * lib.tensor(vector)).sum(), x)
    pre = weights @ point
    if activation == "tanh":
        t = np.tanh(pre)
        second = -2 * t * (1 - t * t)
    else:
        s = 1 / (1 + np.exp(-pre))
        second = s * (1 - s) * (1 - 2 * s)
    assert_close(hv, weights.T @ (second * (weights @ vector)))


def _second_derivative(lib, function, point):
    x = leaf(lib, point)
    (first,) = lib.autograd.grad(function(x).sum(), x, create_graph=True)
    (second,) = lib.autograd.grad(first.sum(), x)
    return first, second


POINTS = np.array([-0.7, 0.3, 1.2])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_second_derivative_of_sigmoid(lib):
    first, second = _second_derivative(lib, lambda x: x.sigmoid(), POINTS)
    s = _sigmoid(POINTS)
    assert_close(first, s * (1 - s))
    assert_close(second, s * (1 - s) * (1 - 2 * s))


def test_second_derivative_of_tanh(lib):
    first, second = _second_derivative(lib, lambda x: x.tanh(), POINTS)
    t = np.tanh(POINTS)
    assert_close(first, 1 - t * t)
    assert_close(second, -2 * t * (1 - t * t))


def test_second_derivative_of_exp_chain(lib):
    first, second = _second_derivative(lib, lambda x: (2 * x).exp() * x, POINTS)
    e = np.exp(2 * POINTS)
    assert_close(first, e * (1 + 2 * POINTS))
    assert_close(second, e * (4 + 4 * POINTS))


def test_second_derivative_of_sigmoid_of_tanh(lib):
    first, second = _second_derivative(lib, lambda x: x.tanh().sigmoid(), POINTS)
    t = np.tanh(POINTS)
    s = _sigmoid(t)
    dt, ddt = 1 - t * t, -2 * t * (1 - t * t)
    ds, dds = s * (1 - s), s * (1 - s) * (1 - 2 * s)
    assert_close(first, ds * dt)
    assert_close(second, dds * dt * dt + ds * ddt)


# ------------------------------------------------------------------ autograd.grad / backward


def test_autograd_grad_returns_a_tuple_and_leaves_grad_alone(lib):
    x = leaf(lib, [1.0, 2.0])
    result = lib.autograd.grad((x ** 2).sum(), x)
    assert isinstance(result, tuple) and len(result) == 1
    assert_close(result[0], [2.0, 4.0])
    assert x.grad is None
    assert not result[0].requires_grad


def test_autograd_grad_with_grad_outputs_and_several_outputs(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x ** 2
    (g,) = lib.autograd.grad(y, x, grad_outputs=lib.tensor([1.0, 10.0], dtype=lib.float64))
    assert_close(g, [2.0, 40.0])
    (g,) = lib.autograd.grad([(x ** 2).sum(), (x * 3).sum()], [x])
    assert_close(g, [5.0, 7.0])
    y = x ** 2
    (g,) = lib.autograd.grad(y.sum(), x, retain_graph=True)
    (again,) = lib.autograd.grad(y.sum(), x)
    assert_close(again, g)


def test_autograd_grad_allow_unused(lib):
    x = leaf(lib, [1.0, 2.0])
    unused = leaf(lib, [5.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph. Set "
                                           "allow_unused=True if this is the desired behavior."):
        lib.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = lib.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert_close(gx, [2.0, 2.0])
    assert gu is None
    gx, gu = lib.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    assert_close(gu, [0.0])


def test_autograd_grad_of_an_input_without_requires_grad_raises(lib):
    x = leaf(lib, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
        lib.autograd.grad((x * 2).sum(), [lib.ones(1)])


def test_autograd_grad_of_an_intermediate(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x * 3
    z = (y * y).sum()
    gy, gx = lib.autograd.grad(z, [y, x])
    assert_close(gy, [6.0, 12.0])  # 2 y
    assert_close(gx, [18.0, 36.0])  # 2 y * 3


def test_autograd_backward_with_several_roots(lib):
    x = leaf(lib, [1.0, 2.0])
    lib.autograd.backward([(x ** 2).sum(), (x * 3).sum()],
                          [lib.tensor(1.0, dtype=lib.float64), lib.tensor(2.0, dtype=lib.float64)])
    assert_close(x.grad, [8.0, 10.0])
    x.grad = None
    lib.autograd.backward(x ** 2, grad_tensors=lib.ones(2, dtype=lib.float64))
    assert_close(x.grad, [2.0, 4.0])


# ------------------------------------------------------------------ hooks and retain_grad


def test_hooks_on_leaves_and_non_leaves(lib):
    x = leaf(lib, [1.0, 2.0])
    seen = []
    leaf_handle = x.register_hook(lambda g: seen.append(values(g)))
    y = x * 3
    y_handle = y.register_hook(lambda g: g * 10)  # replaces y's gradient
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [30.0, 30.0])
    assert_close(x.grad, [30.0, 30.0])
    leaf_handle.remove()
    y_handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert len(seen) == 1
    assert_close(x.grad, [3.0, 3.0])


def test_non_leaf_hook_sees_its_gradient(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x * x
    seen = []
    y.register_hook(lambda g: seen.append(values(g)))
    (y * lib.tensor([5.0, 7.0], dtype=lib.float64)).sum().backward()
    np.testing.assert_allclose(seen[0], [5.0, 7.0])
    assert_close(x.grad, [10.0, 28.0])


def test_leaf_hook_runs_before_accumulation_and_can_replace(lib):
    x = leaf(lib, [1.0, 2.0])
    grad_when_hooked = []
    x.register_hook(lambda g: grad_when_hooked.append(x.grad))
    (x * 3).sum().backward()
    assert grad_when_hooked == [None]
    y = leaf(lib, [1.0, 2.0])
    y.register_hook(lambda g: g * 0 + 7)
    (y * 3).sum().backward()
    assert_close(y.grad, [7.0, 7.0])


def test_hook_on_a_tensor_without_grad_raises(lib):
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require"):
        lib.ones(2).register_hook(lambda g: g)


def test_retain_grad_populates_non_leaf_grad(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x * x
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    (y.sum() * 2).backward()
    assert_close(y.grad, [2.0, 2.0])
    assert_close(x.grad, [4.0, 8.0])
    x.retain_grad()  # a no-op on leaves
    assert not x.retains_grad
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        lib.ones(2).retain_grad()


def test_retained_grad_is_the_gradient_after_every_hook(lib):
    """torch runs the retain_grad hook last, whatever the order of registration."""
    for hook_first in (True, False):
        x = leaf(lib, [1.0, 2.0])
        y = x * x
        if hook_first:
            y.register_hook(lambda g: g * 2)
            y.retain_grad()
        else:
            y.retain_grad()
            y.register_hook(lambda g: g * 2)
        y.sum().backward()
        assert_close(y.grad, [2.0, 2.0])
        assert_close(x.grad, [4.0, 8.0])


def test_grad_of_a_non_leaf_without_retain_grad_warns(lib):
    y = leaf(lib, [1.0, 2.0]) * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert y.grad is None


# ------------------------------------------------------------------ detach, .data, grad modes


def test_detach_shares_storage_and_version_but_not_history(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    d.add_(1)  # visible through y: same storage
    assert_close(y, [3.0, 5.0])
    assert y._version == d._version == 1
    z = y * y  # saves y
    y.detach().mul_(1)  # a detached alias shares the version counter: autograd notices
    with pytest.raises(RuntimeError, match="has been modified by an inplace operation"):
        z.sum().backward()


def test_detach_in_place(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x * 2
    assert y.detach_() is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None
    assert_close(y, [2.0, 4.0])


def test_data_shares_storage_untracked_and_hides_in_place_changes(lib):
    w = leaf(lib, [1.0, 2.0])
    data = w.data
    assert data.is_leaf and not data.requires_grad
    z = (w * w).sum()
    w.data.mul_(2)  # .data changes are invisible to autograd's version check
    assert_close(w, [2.0, 4.0])
    assert w._version == 0
    z.backward()
    assert_close(w.grad, [4.0, 8.0])  # computed from the modified values, as torch does


def test_sgd_step_through_data(lib):
    w = leaf(lib, [1.0, 2.0])
    (w * w).sum().backward()
    w.data.sub_(0.1 * w.grad.data)
    assert_close(w, [0.8, 1.6])
    assert w.requires_grad and w.is_leaf
    w.grad.data.zero_()
    assert_close(w.grad, [0.0, 0.0])


def test_grad_mode_is_per_thread(lib):
    """As torch documents: no_grad in one thread does not reach another."""
    import threading
    x = leaf(lib, [1.0, 2.0])
    seen = []

    def other():
        seen.append((lib.is_grad_enabled(), (x * 2).requires_grad))
    with lib.no_grad():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        seen.append((lib.is_grad_enabled(), (x * 2).requires_grad))
    assert seen == [(True, True), (False, False)]


def test_no_grad_enable_grad_and_set_grad_enabled_nest(lib):
    x = leaf(lib, [1.0, 2.0])
    with lib.no_grad():
        assert not lib.is_grad_enabled()
        assert not (x * 2).requires_grad
        with lib.enable_grad():
            assert (x * 2).requires_grad
        with lib.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert lib.is_grad_enabled()
    with lib.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    lib.set_grad_enabled(False)  # as a plain call it takes effect at once
    try:
        assert not lib.is_grad_enabled()
    finally:
        lib.set_grad_enabled(True)
    assert lib.is_grad_enabled()


def test_grad_modes_as_decorators(lib):
    x = leaf(lib, [1.0, 2.0])

    @lib.no_grad()
    def untracked(a):
        return a * 2

    @lib.enable_grad()
    def tracked(a):
        return a * 2

    @lib.set_grad_enabled(False)
    def untracked_too(a):
        return a * 2

    assert not untracked(x).requires_grad
    assert not untracked_too(x).requires_grad
    assert lib.is_grad_enabled()  # decorating does not switch the mode
    with lib.no_grad():
        assert tracked(x).requires_grad
    assert untracked.__name__ == "untracked"


def test_no_grad_as_a_bare_decorator(lib):
    x = leaf(lib, [1.0, 2.0])

    @lib.no_grad
    def untracked(a):
        return a * 2

    assert not untracked(x).requires_grad


def test_inference_mode(lib):
    x = leaf(lib, [1.0, 2.0])
    with lib.inference_mode():
        y = x * 2
        assert not lib.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    with lib.inference_mode(False):
        assert (x * 2).requires_grad

    @lib.inference_mode()
    def run(a):
        return a * 2

    assert not run(x).requires_grad


def test_variable_is_a_tensor(lib):
    Variable = lib.autograd.Variable
    v = Variable(lib.ones(2), requires_grad=True)
    assert isinstance(v, lib.Tensor) and isinstance(v, Variable)
    assert v.requires_grad and v.is_leaf
    (v * 3).sum().backward()
    assert_close(v.grad, [3.0, 3.0])
    plain = Variable(lib.ones(2))
    assert not plain.requires_grad


def test_volatile_variable_stops_tracking():
    """graphc keeps the legacy meaning of volatile=True (torch ignores it since 0.4)."""
    x = graphc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="volatile"):
        v = graphc.autograd.Variable(graphc.ones(2), volatile=True)
    assert v.volatile and not v.requires_grad
    y = v * x  # even combined with a tensor that requires grad
    assert not y.requires_grad and y.grad_fn is None and y.volatile
    z = (y + x).exp()
    assert not z.requires_grad and z.grad_fn is None
    assert (x * 2).requires_grad  # x itself is unaffected


# ------------------------------------------------------------------ version counters, in-place


def test_modifying_a_saved_tensor_makes_backward_raise(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x * 2
    z = y * y  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation "
                                           "has been modified by an inplace operation"):
        z.sum().backward()
    e = x.exp()  # saves its output
    f = e.sum()
    e.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        f.backward()


def test_modifying_an_unsaved_tensor_is_fine(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x * 2
    z = y + 1  # add saves nothing
    y.mul_(3)
    z.sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_version_counter_counts_in_place_writes(lib):
    x = lib.ones(3)
    assert x._version == 0
    x.add_(1)
    x[0] = 5
    view = x[1:]
    view.mul_(2)
    assert x._version == view._version == 3


def test_in_place_on_a_leaf_requiring_grad(lib):
    w = leaf(lib, [1.0, 2.0])
    message = "a leaf Variable that requires grad is being used in an in-place operation."
    with pytest.raises(RuntimeError, match=message):
        w.add_(1)
    with pytest.raises(RuntimeError, match=message):
        w.mul_(lib.tensor([2.0, 2.0], dtype=lib.float64))
    with pytest.raises(RuntimeError, match=message):
        w[0] = 3.0
    with lib.no_grad():
        w.sub_(0.5)
        w[1] = 7.0
    assert_close(w, [0.5, 7.0])
    assert w.requires_grad and w.is_leaf and w.grad_fn is None


def test_in_place_chains_on_a_non_leaf(lib):
    point = np.array([0.5, 1.0])
    x = leaf(lib, point)
    y = x * 2
    y.pow_(2)
    y.exp_()
    assert node_name(y.grad_fn) == "ExpBackward0"
    y.sum().backward()
    assert_close(x.grad, np.exp(4 * point ** 2) * 8 * point)

    x = leaf(lib, point)
    y = x * 2
    y.mul_(x)  # the old value of y is what d/dx needs: torch keeps it
    y.exp_()
    y.sum().backward()
    assert_close(x.grad, np.exp(2 * point ** 2) * 4 * point)

    x = leaf(lib, point)
    y = x * 2
    y.add_(1)  # saves nothing
    y.exp_()
    (y * 3).sum().backward()
    assert_close(x.grad, 3 * np.exp(2 * point + 1) * 2)


@pytest.mark.parametrize("case", ["mul_self", "exp_then_mul", "sigmoid_then_add"])
def test_in_place_write_over_a_value_its_own_graph_saved_raises(lib, case):
    """torch saves y itself where a rule reads y (mul_'s other, exp_'s and sigmoid_'s output),
    so a later write to y makes backward raise rather than use the new value."""
    x = leaf(lib, [0.5, 1.0])
    y = x * 2
    if case == "mul_self":
        y.mul_(y)
    elif case == "exp_then_mul":
        y.exp_()
        y.mul_(3)
    else:
        y.sigmoid_()
        y.add_(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_setitem_on_a_non_leaf(lib):
    x = leaf(lib, [1.0, 2.0, 3.0, 4.0])
    y = x * 2
    y[0] = 0
    y[1] = x[3] * 5
    assert_close(y, [0.0, 20.0, 6.0, 8.0])
    (y * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
    assert_close(x.grad, [0.0, 0.0, 6.0, 18.0])

    m = leaf(lib, [[1.0, 2.0], [3.0, 4.0]])
    y = m * 1
    y[:, 1] = lib.tensor([7.0, 8.0], dtype=lib.float64)
    y[1:, :1] = m[:1, :1] * 3
    (y * lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)).sum().backward()
    assert_close(m.grad, [[1.0 + 9.0, 0.0], [0.0, 0.0]])


def test_setitem_records_the_assigned_tensor(lib):
    x = leaf(lib, [1.0, 2.0])
    target = lib.zeros(3, dtype=lib.float64)
    target[1:] = x * x  # the target did not require grad; it does now
    assert target.requires_grad and not target.is_leaf
    (target * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
    assert_close(x.grad, [4.0, 12.0])


def test_masked_fill_index_add_and_clamp_in_place(lib):
    x = leaf(lib, [1.0, -2.0, 3.0, 0.5])
    weights = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)
    y = x * 3
    y.masked_fill_(x < 0, 0.0)
    (y * weights).sum().backward()
    assert_close(x.grad, [3.0, 0.0, 9.0, 12.0])

    x = leaf(lib, [1.0, -2.0, 3.0, 0.5])
    source = leaf(lib, [1.0, 2.0, 3.0])
    y = x * 1
    y.index_add_(0, lib.tensor([0, 0, 2]), source)
    (y * weights).sum().backward()
    assert_close(x.grad, [1.0, 2.0, 3.0, 4.0])
    assert_close(source.grad, [1.0, 1.0, 3.0])

    x = leaf(lib, [1.0, -2.0, 0.75, 0.5])
    y = x * 2
    y.clamp_(0, 1.5)  # 2, -4, 1.5 (at the bound), 1
    (y * weights).sum().backward()
    assert_close(x.grad, [0.0, 0.0, 6.0, 8.0])

    x = leaf(lib, [1.0, 2.0])
    y = x * 2
    y.add_(x, alpha=3)
    y.sum().backward()
    assert_close(x.grad, [5.0, 5.0])


def test_copy_fill_and_zero_on_a_non_leaf(lib):
    x = leaf(lib, [-1.0, 0.5, 2.0])
    y = x * 2
    y.copy_(x * x)
    y.sum().backward()
    assert_close(x.grad, [-2.0, 1.0, 4.0])
    x.grad = None
    y = x * 2
    y.fill_(3.0)
    (y + x).sum().backward()
    assert_close(x.grad, [1.0, 1.0, 1.0])
    x.grad = None
    y = x * 2
    y.zero_()
    (y + x * x).sum().backward()
    assert_close(x.grad, [-2.0, 1.0, 4.0])
    w = leaf(lib, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w.zero_()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w.copy_(lib.ones(2, dtype=lib.float64))
    with lib.no_grad():
        w.zero_()
    assert_close(w, [0.0, 0.0])


# ------------------------------------------------------------------ custom Functions


def _functions(lib):
    """Custom Functions defined against `lib`'s autograd.Function."""
    Function = lib.autograd.Function

    class MulAdd(Function):
        """a * b * scale + a, scale a Python number."""

        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            ctx.needs_seen = ctx.needs_input_grad
            return a * b * scale + a

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            grad_a = grad * (b * ctx.scale + 1) if ctx.needs_input_grad[0] else None
            grad_b = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
            return grad_a, grad_b, None

    class Cube(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * 3 * a * a

    class WrongCube(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * 2 * a * a

    class TwoOutputs(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, grad_double, grad_triple):
            ctx.received = (values(grad_double), values(grad_triple))
            return grad_double * 2 + grad_triple * 3

    class MaxWithIndex(Function):
        @staticmethod
        def forward(ctx, a):
            index = a.argmax()
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            ctx.size = a.shape[0]
            return a.max(), index

        @staticmethod
        def backward(ctx, grad, grad_index):
            (index,) = ctx.saved_tensors
            one_hot = lib.zeros(ctx.size, dtype=grad.dtype)
            one_hot[index] = 1
            return grad * one_hot

    class DoubleInPlace(Function):
        @staticmethod
        def forward(ctx, a):
            a.mul_(2)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    class ForgetsAGradient(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad

    class OneGradientTooMany(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2, grad

    class ExtraNone(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2, None

    return {name: value for name, value in locals().items() if isinstance(value, type)}


def test_custom_function_forward_backward_and_ctx(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    b = lib.tensor([3.0, 4.0], dtype=lib.float64)
    y = F["MulAdd"].apply(a, b, 2.0)
    assert_close(y, [7.0, 18.0])
    assert node_name(y.grad_fn) == "MulAddBackward"
    assert tuple(y.grad_fn.needs_input_grad) == (True, False, False)
    assert tuple(y.grad_fn.needs_seen) == (True, False, False)  # known inside forward already
    y.sum().backward()
    assert_close(a.grad, [7.0, 9.0])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.grad_fn.saved_tensors

    b.requires_grad_()
    a.grad = None
    F["MulAdd"].apply(a, b, 2.0).sum().backward()
    assert_close(a.grad, [7.0, 9.0])
    assert_close(b.grad, [2.0, 4.0])
    with lib.no_grad():
        assert not F["MulAdd"].apply(a, b, 2.0).requires_grad


def test_custom_function_next_functions_skip_non_tensor_arguments(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    y = F["MulAdd"].apply(a, lib.ones(2, dtype=lib.float64), 2.0)
    assert edges(y) == [("AccumulateGrad", 0), (None, 0)]


def test_custom_function_saved_variables_is_the_legacy_name(lib):
    Function = lib.autograd.Function

    class Square(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                (a,) = ctx.saved_variables
            return 2 * a * grad

    x = leaf(lib, [1.0, 3.0])
    Square.apply(x).sum().backward()
    assert_close(x.grad, [2.0, 6.0])


def test_custom_function_grad_fn_apply_calls_backward(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    b = leaf(lib, [3.0, 4.0])
    y = F["MulAdd"].apply(a, b, 2.0)
    grad_a, grad_b, grad_scale = y.grad_fn.apply(lib.tensor([2.3, 2.3], dtype=lib.float64))
    assert_close(grad_a, [2.3 * 7.0, 2.3 * 9.0])
    assert_close(grad_b, [2.3 * 2.0, 2.3 * 4.0])
    assert grad_scale is None


def test_custom_function_multiple_outputs_materialises_missing_gradients(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    doubled, tripled = F["TwoOutputs"].apply(a)
    assert doubled.grad_fn is tripled.grad_fn
    tripled.sum().backward()
    assert_close(a.grad, [3.0, 3.0])
    received_double, received_triple = doubled.grad_fn.received
    np.testing.assert_allclose(received_double, [0.0, 0.0])
    np.testing.assert_allclose(received_triple, [1.0, 1.0])


def test_hooks_on_the_second_output_of_a_function(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    doubled, tripled = F["TwoOutputs"].apply(a)
    seen = []
    tripled.register_hook(lambda g: seen.append(values(g)) or g * 10)
    weights = lib.tensor([1.0, 5.0], dtype=lib.float64)
    (doubled.sum() + (tripled * weights).sum()).backward()
    np.testing.assert_allclose(seen[0], [1.0, 5.0])
    assert_close(a.grad, [2.0 + 30.0, 2.0 + 150.0])

    a = leaf(lib, [1.0, 2.0])
    doubled, tripled = F["TwoOutputs"].apply(a)
    tripled.retain_grad()
    (doubled.sum() + (tripled * weights).sum()).backward()
    assert_close(tripled.grad, [1.0, 5.0])


def test_function_applied_to_the_second_output_of_another(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    doubled, tripled = F["TwoOutputs"].apply(a)
    cubed = F["Cube"].apply(tripled)  # its edge must point at output 1 of TwoOutputsBackward
    assert cubed.grad_fn.next_functions[0] == (tripled.grad_fn, 1)
    cubed.sum().backward()
    assert_close(a.grad, 3 * 3 * (3 * np.array([1.0, 2.0])) ** 2)


def test_custom_function_mark_non_differentiable(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 4.0, 2.0])
    value, index = F["MaxWithIndex"].apply(a)
    assert value.requires_grad and not index.requires_grad
    assert index.item() == 1
    (value * 3).backward()
    assert_close(a.grad, [0.0, 3.0, 0.0])


def test_custom_function_mark_dirty(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    x = a * 1
    y = F["DoubleInPlace"].apply(x)
    assert y is x
    assert node_name(y.grad_fn) == "DoubleInPlaceBackward"
    assert_close(y, [2.0, 4.0])
    assert x._version == 2  # the write in forward, then mark_dirty's bump
    y.sum().backward()
    assert_close(a.grad, [2.0, 2.0])


def test_custom_function_mark_dirty_on_a_leaf_raises(lib):
    F = _functions(lib)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in an "
                                           "in-place operation"):
        F["DoubleInPlace"].apply(leaf(lib, [1.0, 2.0]))


def test_custom_function_wrong_number_of_gradients(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    b = lib.tensor([3.0, 4.0], dtype=lib.float64)
    with pytest.raises(RuntimeError, match=r"returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        F["ForgetsAGradient"].apply(a, b).sum().backward()
    F["ExtraNone"].apply(a).sum().backward()  # extra gradients are fine when None
    assert_close(a.grad, [2.0, 2.0])


def test_custom_function_extra_non_none_gradient_raises(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"returned an incorrect number of gradients "
                                           r"\(expected 1, got 2\)"):
        F["OneGradientTooMany"].apply(a).sum().backward()


def test_custom_function_saved_tensor_version_check(lib):
    F = _functions(lib)
    a = leaf(lib, [1.0, 2.0])
    x = a * 1
    y = F["Cube"].apply(x)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_gradcheck_of_custom_functions(lib):
    F = _functions(lib)
    point = leaf(lib, [0.5, -1.2, 2.0])
    assert lib.autograd.gradcheck(F["Cube"].apply, (point,))
    assert lib.autograd.gradgradcheck(F["Cube"].apply, (point,))
    assert lib.autograd.gradcheck(F["WrongCube"].apply, (point,), raise_exception=False) is False
    from importlib import import_module
    GradcheckError = import_module(lib.__name__ + ".autograd.gradcheck").GradcheckError
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        lib.autograd.gradcheck(F["WrongCube"].apply, (point,))
    assert issubclass(GradcheckError, RuntimeError)


def test_graphc_exports_gradcheck_error():
    from graphc.autograd.gradcheck import GradcheckError
    assert graphc.autograd.GradcheckError is GradcheckError


# ------------------------------------------------------------------ gradient values


def test_broadcasting_gradients_sum_over_stretched_dimensions(lib):
    x = leaf(lib, [[1.0], [2.0], [3.0]])
    y = leaf(lib, [[1.0, 2.0, 3.0, 4.0]])
    s = leaf(lib, 2.0)
    ((x * y).sum() + (x * s).sum()).backward()
    assert_close(x.grad, [[12.0], [12.0], [12.0]])
    assert_close(y.grad, [[6.0, 6.0, 6.0, 6.0]])
    assert_close(s.grad, 6.0)
    b = leaf(lib, [1.0, 2.0, 3.0, 4.0])
    (lib.ones(2, 3, 4, dtype=lib.float64) * b).sum().backward()
    assert_close(b.grad, [6.0] * 4)


def test_gradients_through_view_chains(lib):
    x = leaf(lib, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    weights = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)
    part = x.t()[1:, :].reshape(-1)  # x01, x11, x02, x12
    loss = (part * weights).sum() + x[:, :1].expand(2, 3).sum()
    loss = loss + (x.transpose(0, 1).contiguous().view(6)[::5] * 10).sum()  # x00 and x12
    loss.backward()
    assert_close(x.grad, [[13.0, 1.0, 3.0], [3.0, 2.0, 14.0]])


def test_advanced_indexing_accumulates_repeated_indices(lib):
    x = leaf(lib, [1.0, 2.0, 3.0, 4.0])
    (x[lib.tensor([0, 0, 2, 0])] * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
    assert_close(x.grad, [7.0, 0.0, 3.0, 0.0])
    x.grad = None
    x[x > 2].sum().backward()
    assert_close(x.grad, [0.0, 0.0, 1.0, 1.0])
    m = leaf(lib, [[1.0, 2.0], [3.0, 4.0]])
    m[lib.tensor([1, 1]), lib.tensor([0, 0])].sum().backward()
    assert_close(m.grad, [[0.0, 0.0], [2.0, 0.0]])


def test_sort_topk_and_max_dim_route_gradients_by_index(lib):
    x = leaf(lib, [3.0, 1.0, 2.0])
    (x.sort(descending=True).values * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
    assert_close(x.grad, [1.0, 3.0, 2.0])
    y = leaf(lib, [3.0, 1.0, 2.0])
    (y.topk(2).values * lib.tensor([10.0, 20.0], dtype=lib.float64)).sum().backward()
    assert_close(y.grad, [10.0, 0.0, 20.0])
    m = leaf(lib, [[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values_, indices = m.max(dim=1)
    assert indices.tolist() == [1, 0]
    (values_ * lib.tensor([1.0, 2.0], dtype=lib.float64)).sum().backward()
    assert_close(m.grad, [[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    ties = leaf(lib, [[3.0, 3.0, 1.0]])
    ties.max(1).values.sum().backward()
    assert_close(ties.grad, [[1.0, 0.0, 0.0]])  # max(dim) picks one index


def test_max_and_maximum_split_ties_evenly(lib):
    x = leaf(lib, [1.0, 3.0, 3.0])
    x.max().backward()
    assert_close(x.grad, [0.0, 0.5, 0.5])
    a = leaf(lib, [1.0, 2.0, 3.0])
    b = leaf(lib, [1.0, 0.0, 3.0])
    lib.maximum(a, b).sum().backward()
    assert_close(a.grad, [0.5, 1.0, 0.5])
    assert_close(b.grad, [0.5, 0.0, 0.5])
    a.grad = b.grad = None
    lib.minimum(a, b).sum().backward()
    assert_close(a.grad, [0.5, 0.0, 0.5])
    assert_close(b.grad, [0.5, 1.0, 0.5])


def test_cumsum_cumprod_and_prod_with_zeros(lib):
    x = leaf(lib, [2.0, 0.0, 3.0, 4.0])
    x.cumprod(0).sum().backward()
    assert_close(x.grad, [1.0, 32.0, 0.0, 0.0])
    x.grad = None
    (x.cumsum(0) * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
    assert_close(x.grad, [10.0, 9.0, 7.0, 4.0])
    one_zero = leaf(lib, [2.0, 0.0, 3.0])
    one_zero.prod().backward()
    assert_close(one_zero.grad, [0.0, 6.0, 0.0])
    two_zeros = leaf(lib, [0.0, 2.0, 0.0])
    two_zeros.prod().backward()
    assert_close(two_zeros.grad, [0.0, 0.0, 0.0])
    rows = leaf(lib, [[2.0, 0.0], [3.0, 4.0]])
    rows.prod(1).sum().backward()
    assert_close(rows.grad, [[0.0, 2.0], [4.0, 3.0]])


def test_norm_gradient_is_zero_at_zero(lib):
    zero = leaf(lib, [0.0, 0.0, 0.0])
    zero.norm().backward()
    assert_close(zero.grad, [0.0, 0.0, 0.0])
    x = leaf(lib, [3.0, 4.0])
    x.norm().backward()
    assert_close(x.grad, [0.6, 0.8])


def test_clamp_gradient_is_one_at_the_bounds(lib):
    x = leaf(lib, [-1.0, 0.0, 0.5, 1.0, 2.0])
    x.clamp(0, 1).sum().backward()
    assert_close(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])
    x.grad = None
    x.clamp(min=0).sum().backward()
    assert_close(x.grad, [0.0, 1.0, 1.0, 1.0, 1.0])
    x.grad = None
    x.clamp(max=1).sum().backward()
    assert_close(x.grad, [1.0, 1.0, 1.0, 1.0, 0.0])
    x.grad = None
    low = leaf(lib, [0.0] * 5)
    x.clamp(min=low).sum().backward()  # a tensor bound: the same convention
    assert_close(x.grad, [0.0, 1.0, 1.0, 1.0, 1.0])
    assert_close(low.grad, [1.0, 0.0, 0.0, 0.0, 0.0])
    x.grad = None
    high = leaf(lib, [1.0] * 5)
    x.clamp(max=high).sum().backward()
    assert_close(x.grad, [1.0, 1.0, 1.0, 1.0, 0.0])
    assert_close(high.grad, [0.0, 0.0, 0.0, 0.0, 1.0])


def test_abs_gradient_is_zero_at_zero(lib):
    x = leaf(lib, [0.0, 0.5, -1.0])
    x.abs().sum().backward()
    assert_close(x.grad, [0.0, 1.0, -1.0])


def test_where_routes_gradients(lib):
    x = leaf(lib, [1.0, -2.0, 3.0])
    y = leaf(lib, [10.0, 20.0, 30.0])
    (lib.where(x > 0, x, y) * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
    assert_close(x.grad, [1.0, 0.0, 3.0])
    assert_close(y.grad, [0.0, 2.0, 0.0])


def test_cat_stack_split_and_chunk(lib):
    a = leaf(lib, [1.0, 2.0])
    b = leaf(lib, [3.0, 4.0, 5.0])
    (lib.cat([a, b]) * lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=lib.float64)).sum().backward()
    assert_close(a.grad, [1.0, 2.0])
    assert_close(b.grad, [3.0, 4.0, 5.0])
    a.grad = None
    (lib.stack([a, a * 2]) * lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)).sum().backward()
    assert_close(a.grad, [7.0, 10.0])
    x = leaf(lib, [1.0, 2.0, 3.0, 4.0, 5.0])
    parts = x.split(2)
    (parts[0].sum() + parts[2].sum() * 3).backward()
    assert_close(x.grad, [1.0, 1.0, 0.0, 0.0, 3.0])
    y = leaf(lib, [1.0, 2.0, 3.0, 4.0])
    (y.chunk(2)[1] * lib.tensor([5.0, 6.0], dtype=lib.float64)).sum().backward()
    assert_close(y.grad, [0.0, 0.0, 5.0, 6.0])


def test_shared_subexpressions_sum_their_gradients(lib):
    x = leaf(lib, [1.0, 2.0])
    y = x * x
    z = y * y + y  # x^4 + x^2
    z.sum().backward()
    assert_close(x.grad, 4 * np.array([1.0, 8.0]) + 2 * np.array([1.0, 2.0]))


def test_float32_gradients_stay_float32(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * x.double()).sum().backward()
    assert x.grad.dtype == lib.float32
    assert_close(x.grad, [2.0, 4.0])


def test_inference_mode_marks_new_tensors_and_records_nothing():
    x = graphc.ones(2, requires_grad=True)
    with graphc.inference_mode():
        made, computed = graphc.ones(2), x * 2
    assert made.is_inference() and computed.is_inference() and not computed.requires_grad
    assert not x.is_inference() and not (x * 2).is_inference()

    @graphc.inference_mode()
    def decorated():
        return graphc.zeros(1)
    assert decorated().is_inference() and graphc.is_grad_enabled()


def test_backward_with_create_graph_warns_like_torch():
    x = graphc.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="create_graph=True will create a reference cycle"):
        (x * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad


@pytest.mark.parametrize("create_graph", [False, 1])
def test_backward_runs_hooks_in_grad_mode_create_graph_and_restores_it(lib, create_graph):
    """Inside the pass grad mode is bool(create_graph), a bool even for a truthy int; after it,
    and after a hook that raises, the caller's mode is back."""
    x = leaf(lib, [1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(lib.is_grad_enabled()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_graph's reference-cycle warning
        (x * x).sum().backward(create_graph=create_graph)
    assert seen == [bool(create_graph)] and type(seen[0]) is bool
    assert lib.is_grad_enabled() is True

    y = leaf(lib, [1.0])
    y.register_hook(lambda g: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        (y * 3).sum().backward()
    assert lib.is_grad_enabled() is True
