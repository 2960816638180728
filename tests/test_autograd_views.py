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
