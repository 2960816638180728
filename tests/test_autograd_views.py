"""Autograd through in-place writes and piecewise-constant ops: zero gradients of floor, round,
sign, ...; in-place ops on views of tracked tensors (torch's CopySlices / AsStridedBackward0),
checked against finite differences and, where importable, against torch."""
import os
import shutil

import numpy as np
import pytest

import graphc
from graphc.autograd import gradcheck

X0 = [[1.5, -2.2, 0.3, 4.0], [-0.7, 2.5, -1.1, 0.2], [3.3, -0.4, 0.9, -2.8]]


def leaf(values=X0, dtype=graphc.float64):
    return graphc.tensor(values, dtype=dtype, requires_grad=True)


# ------------------------------------------------------------------ zero derivatives

PIECEWISE_CONSTANT = [
    ("floor", lambda x: x.floor()), ("ceil", lambda x: x.ceil()), ("round", lambda x: x.round()),
    ("round_decimals", lambda x: x.round(decimals=1)), ("trunc", lambda x: x.trunc()),
    ("sign", lambda x: x.sign()), ("div_floor", lambda x: x.div(1.5, rounding_mode="floor")),
    ("div_trunc", lambda x: x.div(1.5, rounding_mode="trunc")),
]


@pytest.mark.parametrize("name,function", PIECEWISE_CONSTANT, ids=[n for n, _ in PIECEWISE_CONSTANT])
def test_piecewise_constant_ops_give_zero_gradients_not_none(name, function):
    x = leaf()
    function(x).sum().backward()
    assert x.grad is not None and x.grad.dtype is graphc.float64
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))
    (g,) = graphc.autograd.grad(function(x).sum(), x)
    np.testing.assert_array_equal(g.numpy(), np.zeros((3, 4)))
    (g,) = graphc.autograd.grad(function(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), np.zeros((3, 4)))


def test_zero_gradient_adds_to_the_other_paths():
    x = leaf()
    (x.floor() * x + x.sign()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.floor(np.array(X0)))


def test_zero_gradient_of_a_broadcast_operand_has_the_operand_shape():
    x = leaf([[0.5, 1.5, -2.5]])
    y = graphc.tensor([[1.0], [2.0]], dtype=graphc.float64, requires_grad=True)
    x.div(y, rounding_mode="floor").sum().backward()
    assert x.grad.shape == (1, 3) and y.grad.shape == (2, 1)
    assert not x.grad.numpy().any() and not y.grad.numpy().any()


def test_round_with_decimals_is_named_as_in_torch():
    x = leaf()
    assert x.round().grad_fn.name() == "RoundBackward0"
    assert x.round(decimals=2).grad_fn.name() == "RoundBackward1"


@pytest.mark.parametrize("name,function", PIECEWISE_CONSTANT[:6], ids=[n for n, _ in PIECEWISE_CONSTANT[:6]])
def test_piecewise_constant_gradients_match_torch(name, function):
    torch = pytest.importorskip("torch")
    x = leaf()
    (function(x) * x).sum().backward()
    reference = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    (function(reference) * reference).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), reference.grad.numpy())
    assert function(x).grad_fn.name() == function(reference).grad_fn.name()


@pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler")
def test_compiled_backward_through_floor_and_sign(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))

    def step(x, w):
        (x.floor() * w + x.sign() * x).sum().backward()
        return x.grad, w.grad

    compiled = graphc.compile(step)
    for scale in (1.0, 2.5):
        results = []
        for function in (compiled, step):
            x = graphc.tensor(np.array(X0) * scale, dtype=graphc.float64, requires_grad=True)
            w = graphc.tensor(np.arange(12.0).reshape(3, 4), dtype=graphc.float64,
                              requires_grad=True)
            results.append([g.numpy().copy() for g in function(x, w)])
        for mine, theirs in zip(*results):
            np.testing.assert_array_equal(mine, theirs)
        np.testing.assert_array_equal(results[1][0], np.sign(np.array(X0) * scale))


# ------------------------------------------------------------------ in-place writes into views
#
# Each pattern is written once against a module `lib` (graphc or torch): it takes leaves x, w
# and returns a tensor; the test checks graphc's gradients by finite differences (gradcheck)
# and, where torch is importable, against torch's, with the grad_fn names of the result.


def _masked_division(lib, x, w):
    d = w[0, 0] + 3.0
    safe = lib.zeros_like(x)
    mask = x > 0
    safe[mask] = x[mask] / d
    return safe * safe


def _slices_assigned(lib, x, w):
    s = lib.zeros_like(x)
    s[:, 1:] = x[:, 1:] * w[:, 1:]
    s[0] = x[1] ** 2
    return s


def _add_into_a_slice_of_a_view(lib, x, w):
    y = x * w
    v = y[:, 1:]
    v[:, 0] += 1
    v[1:, 1] += x[1:, 0]
    return y * y


def _mul_into_narrow_and_select(lib, x, w):
    y = x * 1.0
    y.narrow(1, 1, 2).mul_(w[:, :2])
    y.select(0, 2).mul_(3)
    return y.sin()


def _chain_of_views(lib, x, w):
    y = x.sin()
    v = y[1:].t()[0]
    v.mul_(w[0, :2])
    v.add_(1)
    return y * x


def _view_read_after_its_base_changed(lib, x, w):
    y = x * 2
    row = y[1]
    column = y[:, 0]
    column.mul_(w[:, 0])
    y.add_(x * w)
    return (row * row + y[2]) * y


def _exp_into_a_view(lib, x, w):
    y = x + w
    y.select(1, 3).mul_(w[:, 0])
    y[:, 1:3].sin_()
    y[:, :2].exp_()  # last: exp_ saves the view it wrote, which a later write would invalidate
    return y


def _setitem_into_an_untracked_tensor(lib, x, w):
    s = lib.ones(3, 4, dtype=x.dtype)
    s[1] = x[0] * w[2]
    return s * s.sum()


VIEW_PATTERNS = [_masked_division, _slices_assigned, _add_into_a_slice_of_a_view,
                 _mul_into_narrow_and_select, _chain_of_views, _view_read_after_its_base_changed,
                 _exp_into_a_view, _setitem_into_an_untracked_tensor]
W0 = [[0.5, 1.5, -0.5, 2.0], [1.2, -0.3, 0.8, 1.1], [-1.4, 0.6, 0.25, -0.9]]


@pytest.mark.parametrize("pattern", VIEW_PATTERNS, ids=[p.__name__[1:] for p in VIEW_PATTERNS])
def test_in_place_writes_into_views_have_finite_difference_gradients(pattern):
    x, w = leaf(), leaf(W0)
    assert gradcheck(lambda a, b: pattern(graphc, a, b), (x, w))


@pytest.mark.parametrize("pattern", VIEW_PATTERNS, ids=[p.__name__[1:] for p in VIEW_PATTERNS])
def test_in_place_writes_into_views_match_torch(pattern):
    torch = pytest.importorskip("torch")
    x, w = leaf(), leaf(W0)
    out = pattern(graphc, x, w)
    tx = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    reference = pattern(torch, tx, tw)
    np.testing.assert_allclose(out.detach().numpy(), reference.detach().numpy(), rtol=1e-13)
    seed = np.linspace(-1.0, 2.0, 12).reshape(3, 4)
    out.backward(graphc.tensor(seed))
    reference.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_in_place_on_a_view_names_base_and_view_as_torch():
    x = leaf()
    y = x * 2
    v = y[:, 0]
    v += 1
    assert type(y.grad_fn).__name__ == "CopySlices"
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    assert v.grad_fn.next_functions == ((y.grad_fn, 0),)
    assert y.grad_fn.next_functions[0][0].name() == "MulBackward0"
    s = graphc.zeros(3, 4, dtype=graphc.float64)
    s[0] = x[0]
    assert type(s.grad_fn).__name__ == "CopySlices" and s.requires_grad and not s.is_leaf
    assert s.grad_fn.next_functions[0] == (None, 0)
    assert s.grad_fn.next_functions[-1][0].name() == "SelectBackward0"


def test_a_view_made_before_the_write_is_re_derived_from_its_base():
    x = leaf()
    y = x * 2
    row = y[1]
    assert row.grad_fn.name() == "SelectBackward0"
    y.mul_(3)
    assert row.grad_fn.name() == "AsStridedBackward0"
    assert row.grad_fn.next_functions[0][0] is y.grad_fn
    row.sum().backward()
    expected = np.zeros((3, 4))
    expected[1] = 6.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_names_match_torch_after_writes_into_views():
    torch = pytest.importorskip("torch")

    def names(lib):
        x = lib.tensor(X0, dtype=lib.float64, requires_grad=True)
        y = x * 2
        row, v = y[1], y[:, 0]
        v.mul_(2)
        s = lib.zeros(3, 4, dtype=lib.float64)
        s[:, 1:] = x[:, 1:]
        mask = lib.zeros_like(x)
        mask[x > 0] = x[x > 0]
        return [type(t.grad_fn).__name__ for t in (y, v, row, s, mask)] + [
            len(y.grad_fn.next_functions), len(s.grad_fn.next_functions)]
    assert names(graphc) == names(torch)


def test_view_of_a_leaf_written_in_place_raises_torchs_error():
    x = leaf()
    for write in (lambda: x[:, 0].add_(1), lambda: x.__setitem__(0, 1.0),
                  lambda: x.narrow(0, 1, 1).mul_(2), lambda: x[1:].zero_(),
                  lambda: x.__setitem__((slice(None), 1), x[:, 0].detach())):
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is "
                                               "being used in an in-place operation."):
            write()
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad"):
        x.__setitem__(x > 0, 1.0)
    assert x._version == 0
    with graphc.no_grad():
        x[:, 0] += 1  # untracked: allowed
    np.testing.assert_array_equal(x.detach().numpy()[:, 0], np.array(X0)[:, 0] + 1)


def test_view_made_under_no_grad_written_with_grad_enabled_is_refused():
    x = leaf()
    y = x * 2
    with graphc.no_grad():
        v = y[0]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        v[1] = 3.0
    with graphc.no_grad():
        v.mul_(2)  # both in no_grad: allowed, untracked


def test_a_write_after_saving_the_view_fails_backward():
    x = leaf()
    y = x * 1.0
    y[:, 0].exp_()  # saves its result, the view
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_copy_slices_backward_twice_with_retain_graph_and_create_graph():
    x = leaf()
    y = x * x
    y[0].mul_(x[1])
    loss = y.sum()
    (first,) = graphc.autograd.grad(loss, x, create_graph=True)
    x0, x1 = np.array(X0[0]), np.array(X0[1])
    expected = 2 * np.array(X0)
    expected[0] = 2 * x0 * x1
    expected[1] = 2 * x1 + x0 ** 2
    np.testing.assert_allclose(first.detach().numpy(), expected, rtol=1e-13)
    (second,) = graphc.autograd.grad(first.sum(), x)  # d/dx of the sum of the gradient
    hessian_rows = np.full((3, 4), 2.0)
    hessian_rows[0] = 2 * x1 + 2 * x0
    hessian_rows[1] = 2 + 2 * x0
    np.testing.assert_allclose(second.numpy(), hessian_rows, rtol=1e-13)
    assert gradgradcheck_ok()


def gradgradcheck_ok():
    from graphc.autograd import gradgradcheck

    def function(a):
        y = a * a
        y[0].mul_(a[1])
        y[:, 1:].sin_()
        return y
    return gradgradcheck(function, (leaf(),))


def test_hooks_and_retain_grad_on_a_written_view():
    x = leaf()
    y = x * 2
    v = y[:, 1]
    v.mul_(3)
    v.retain_grad()
    seen = []
    v.register_hook(lambda g: seen.append(g.clone()))
    (v * v).sum().backward()  # (the base's own uses do not pass through the view's node)
    np.testing.assert_allclose(v.grad.numpy(), 2 * 6 * np.array(X0)[:, 1], rtol=1e-13)
    np.testing.assert_allclose(seen[0].numpy(), v.grad.numpy())
    expected = np.zeros((3, 4))
    expected[:, 1] = 2 * 6 * 6 * np.array(X0)[:, 1]
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-13)


def test_calling_copy_slices_and_other_nodes_directly():
    x = leaf([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    y = x * 2
    base_grad, other = y.grad_fn(graphc.ones(2, 3, dtype=graphc.float64))
    np.testing.assert_array_equal(base_grad.numpy(), np.full((2, 3), 2.0))
    assert other is None
    y.select(1, 0).mul_(3)
    base_grad, _ = y.grad_fn(graphc.ones(2, 3, dtype=graphc.float64))  # (as torch: and None)
    np.testing.assert_array_equal(base_grad.numpy(), [[3.0, 1.0, 1.0], [3.0, 1.0, 1.0]])
