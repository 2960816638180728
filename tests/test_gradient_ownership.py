"""A leaf's first gradient becomes its .grad without a copy only when nothing but the backward
pass can reach that memory (torch keeps a gradient whose use count is one; graphc follows
gradients of 16 KiB and more, smaller ones are copied). Every other way a
gradient can be reached (the user's own tensor, a tensor hook, retain_grad, a node's hook, a rule
that hands one gradient to two operands, autograd.grad's captures) must leave .grad a memory of
its own: writing to it changes nothing else."""
import numpy as np

import graphc
import graphc.nn as nn


def _apart(*tensors):
    arrays = [t._data for t in tensors]
    return not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])


def test_a_linear_layers_weight_gradient_is_kept_without_a_copy():
    layer = nn.Linear(256, 32)
    layer(graphc.randn(4, 256)).sum().backward()
    grad = layer.weight.grad
    # the transposed product's memory itself, in the weight's layout
    assert grad._data.base is not None and grad._data.flags.c_contiguous
    assert grad.stride() == layer.weight.stride()
    before = layer.weight.grad.clone()
    layer(graphc.randn(4, 256)).sum().backward()  # a second backward accumulates into it
    assert layer.weight.grad is grad and not np.array_equal(grad.numpy(), before.numpy())


def _column_major_leaf():
    """A (128, 64) leaf (32 KiB) with a transposed layout: the gradient that w.t()'s rule gives
    it (the transpose of a row-major (64, 128) gradient) has its layout, so it may be kept."""
    return graphc.randn(64, 128).t().detach().requires_grad_()


def test_a_transposed_gradient_of_the_leafs_layout_is_kept():
    w = _column_major_leaf()
    (w.t() * 3).sum().backward()
    assert w.grad._data.base is not None and w.grad.stride() == w.stride() == (1, 128)


def test_one_gradient_handed_to_two_leaves_is_copied_for_each():
    a, b = graphc.randn(8192, requires_grad=True), graphc.randn(8192, requires_grad=True)
    gradient = graphc.ones(8192)
    (a + b).backward(gradient)
    assert _apart(a.grad, b.grad, gradient)
    a.grad, b.grad = None, None
    ((a + b) * 2).sum().backward()  # add's rule hands the pass's own product to both
    assert _apart(a.grad, b.grad)
    a.grad.add_(1)
    assert (b.grad == 2).all()


def test_the_users_gradient_of_a_leaf_is_copied():
    w = graphc.randn(64, 64, requires_grad=True)
    gradient = graphc.ones(64, 64)
    w.backward(gradient)
    assert w.grad is not gradient and _apart(w.grad, gradient)


def test_a_gradient_a_tensor_hook_has_seen_is_copied():
    w = graphc.randn(128, 64, requires_grad=True)
    seen = []
    w.register_hook(seen.append)
    (w * 2).sum().backward()
    assert _apart(w.grad, seen[0])


def test_a_retained_gradient_and_the_leafs_are_apart():
    w = _column_major_leaf()
    y = w.t()
    y.retain_grad()
    (y * 3).sum().backward()
    assert _apart(w.grad, y.grad)
    w.grad.zero_()
    assert (y.grad == 3).all()


def test_a_gradient_a_non_leafs_hook_has_seen_is_copied():
    w = _column_major_leaf()
    y = w.t()
    seen = []
    y.register_hook(seen.append)
    (y * 3).sum().backward()
    assert _apart(w.grad, seen[0])


def test_a_copied_gradient_takes_the_leafs_layout_as_torchs():
    # strides recorded from torch 2.13
    w = graphc.randn(3, 2, requires_grad=True)
    (w.t() * 3).sum().backward()
    assert w.grad.stride() == (2, 1)
    w = graphc.randn(2, 3).t().detach().requires_grad_()
    (w * 3).sum().backward()
    assert w.grad.stride() == (1, 3)
    w = graphc.randn(128, 64, requires_grad=True)  # one large enough to be kept if it could be
    (w.t() * 3).sum().backward()
    assert w.grad.stride() == (64, 1)


def test_gradients_a_node_hook_has_seen_are_copied():
    w = _column_major_leaf()
    y = w.t()
    stored = []
    y.grad_fn.register_hook(lambda inputs, outputs: stored.extend(inputs))
    (y * 3).sum().backward()
    assert _apart(w.grad, stored[0])


def test_autograd_grad_leaves_the_captured_gradients_alone():
    w = graphc.randn(128, 64, requires_grad=True)
    (grad,) = graphc.autograd.grad((w.t() * 2).sum(), w)
    assert w.grad is None and (grad == 2).all()


def test_every_mlp_gradient_is_apart_from_every_other_tensor_of_the_step():
    graphc.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 2))
    x, target = graphc.randn(4, 64), graphc.tensor([0, 1, 1, 0])
    out = model(x)
    out.retain_grad()
    nn.CrossEntropyLoss()(out, target).backward()
    grads = [p.grad for p in model.parameters()]
    assert _apart(*grads, out.grad, x, *model.parameters())
