"""Extending autograd as PyTorch's "Extending torch.autograd" page describes: Functions with a
separate setup_context, set_materialize_grads(False), saved-tensor introspection
(`grad_fn._saved_self`, `_raw_saved_*`) and saved-tensor hooks (graphc.autograd.graph)."""
import numpy as np
import pytest

import graphc
from graphc.autograd import gradcheck


def libraries():
    """graphc, and torch where importable (the same code runs against both)."""
    try:
        import torch
    except ImportError:
        return [graphc]
    return [graphc, torch]


LIBRARIES = libraries()
IDS = [lib.__name__ for lib in LIBRARIES]


def _scaled_product(lib):
    class ScaledProduct(lib.autograd.Function):
        """(x * y * scale, x + y); backward counts the gradients that arrive as None."""
        nones = []

        @staticmethod
        def forward(x, y, scale=2.0):
            return x * y * scale, x + y

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y, scale = inputs
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            ctx.seen = (len(inputs), lib.is_grad_enabled(), tuple(ctx.needs_input_grad))
            ctx.set_materialize_grads(False)

        @staticmethod
        def backward(ctx, product_grad, sum_grad):
            ScaledProduct.nones.append((product_grad is None, sum_grad is None))
            x, y = ctx.saved_tensors
            grad_x = grad_y = None
            if product_grad is not None:
                grad_x, grad_y = product_grad * y * ctx.scale, product_grad * x * ctx.scale
            if sum_grad is not None:
                grad_x = sum_grad if grad_x is None else grad_x + sum_grad
                grad_y = sum_grad if grad_y is None else grad_y + sum_grad
            return grad_x, grad_y, None
    return ScaledProduct


def _pair(lib):
    x = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64, requires_grad=True)
    y = lib.tensor([3.0, 0.25, -1.5], dtype=lib.float64, requires_grad=True)
    return x, y


@pytest.mark.parametrize("lib", LIBRARIES, ids=IDS)
def test_setup_context_receives_bound_inputs_and_output(lib):
    function = _scaled_product(lib)
    x, y = _pair(lib)
    product, total = function.apply(x, y, scale=5.0)
    assert product.grad_fn.name() == "ScaledProductBackward"
    assert product.grad_fn.seen == (3, False, (True, True, False))  # defaults bound, no grad
    np.testing.assert_allclose(product.detach().numpy(), [15.0, -2.5, -3.75])
    product.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [15.0, 1.25, -7.5])
    np.testing.assert_allclose(y.grad.numpy(), [5.0, -10.0, 2.5])


@pytest.mark.parametrize("lib", LIBRARIES, ids=IDS)
def test_set_materialize_grads_false_gives_none_for_unused_outputs(lib):
    function = _scaled_product(lib)
    x, y = _pair(lib)
    product, total = function.apply(x, y)
    total.sum().backward()
    assert function.nones == [(True, False)]
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))
    product, total = function.apply(x, y)
    product.sum().backward()
    assert function.nones[-1] == (False, True)


def test_materialized_grads_are_zeros_by_default():
    received = []

    class Split(graphc.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2, x * 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, first, second):
            received.append(second.numpy().copy())
            return first * 2 + second * 3
    x, _ = _pair(graphc)
    first, _unused = Split.apply(x)
    first.sum().backward()
    np.testing.assert_array_equal(received[0], np.zeros(3))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0))


@pytest.mark.parametrize("lib", LIBRARIES, ids=IDS)
def test_forward_taking_ctx_with_setup_context_is_a_type_error(lib):
    class Wrong(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, grad):
            return grad
    with pytest.raises(TypeError, match="missing a required argument: 'x'"):
        Wrong.apply(_pair(lib)[0])


def test_setup_context_function_passes_gradcheck_with_a_saved_output():
    class Cube(graphc.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0], output)

        @staticmethod
        def backward(ctx, grad):
            x, out = ctx.saved_tensors
            return grad * 3 * out / x

    x = graphc.tensor([0.7, -1.3, 2.1], dtype=graphc.float64, requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    out = Cube.apply(x)
    assert out.grad_fn.saved_tensors[1].grad_fn is out.grad_fn  # the output, with its history


def test_save_for_backward_refuses_non_tensors():
    class Bad(graphc.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return grad
    with pytest.raises(TypeError, match="save_for_backward can only save variables, but "
                                        "argument 1 is of type int"):
        Bad.apply(_pair(graphc)[0])


# ------------------------------------------------------------------ saved tensors


@pytest.mark.parametrize("lib", LIBRARIES, ids=IDS)
def test_saved_tensor_introspection(lib):
    x, y = _pair(lib)
    product = x * y
    assert product.grad_fn._saved_self is x and product.grad_fn._saved_other is y
    result = x.exp()
    assert result.grad_fn._saved_result.grad_fn is result.grad_fn
    np.testing.assert_array_equal(result.grad_fn._saved_result.detach().numpy(),
                                  result.detach().numpy())
    power = x ** 2
    assert power.grad_fn._saved_self is x and power.grad_fn._saved_exponent == 2
    scaled = x * 2
    assert scaled.grad_fn._saved_self is None and int(scaled.grad_fn._saved_other) == 2
    assert (x @ y).grad_fn._saved_tensor is y
    assert x.tanh().grad_fn._saved_result is not None and x.sin().grad_fn._saved_self is x
    with pytest.raises(AttributeError):
        result.grad_fn._saved_other
    product.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        product.grad_fn._saved_self


@pytest.mark.parametrize("lib", LIBRARIES, ids=IDS)
def test_register_hooks_on_a_raw_saved_tensor(lib):
    x, y = _pair(lib)
    calls = []

    def pack(tensor):
        calls.append("pack")
        return tensor.detach() * 10

    def unpack(packed):
        calls.append("unpack")
        return packed
    product = x * y
    product.grad_fn._raw_saved_self.register_hooks(pack, unpack)
    assert calls == ["pack"]  # packed at once
    np.testing.assert_allclose(product.grad_fn._saved_self.detach().numpy(), [10.0, -20.0, 5.0])
    product.sum().backward()
    assert calls == ["pack", "unpack", "unpack"]
    np.testing.assert_allclose(y.grad.numpy(), [10.0, -20.0, 5.0])  # what unpack returned
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.25, -1.5])
    with pytest.raises(RuntimeError, match="only one pair of hooks is allowed at a time"):
        again = x * y
        again.grad_fn._raw_saved_other.register_hooks(pack, unpack)
        again.grad_fn._raw_saved_other.register_hooks(pack, unpack)
    with pytest.raises(TypeError):
        (x * y).grad_fn._raw_saved_self.register_hooks(1, unpack)


@pytest.mark.parametrize("lib", LIBRARIES, ids=IDS)
def test_saved_tensors_hooks_pack_and_unpack_every_saved_tensor(lib):
    x, y = _pair(lib)
    log = []

    def pack(tensor):
        log.append(("pack", tuple(tensor.shape)))
        return ["boxed", tensor]

    def unpack(packed):
        log.append("unpack")
        return packed[1]
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        loss = ((x * y).exp() + x.sin()).sum()  # saves x, y, exp's result and x
    assert log == [("pack", (3,))] * 4
    loss.backward()
    assert log[4:] == ["unpack"] * 4
    expected_x = np.exp(x.detach().numpy() * y.detach().numpy()) * y.detach().numpy() + \
        np.cos(x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected_x, rtol=1e-14)
    log.clear()
    after = (x * y).sum()
    assert log == []  # only while the context is active


@pytest.mark.parametrize("lib", LIBRARIES, ids=IDS)
def test_saved_tensors_hooks_reach_custom_functions(lib):
    function = _scaled_product(lib)
    x, y = _pair(lib)
    packed = []
    with lib.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t * 2,
                                                lambda t: t):
        product, _ = function.apply(x, y)
    assert len(packed) == 2
    product.sum().backward()
    # the hooks doubled the saved x and y that backward reads
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * y.detach().numpy())


@pytest.mark.parametrize("lib", LIBRARIES, ids=IDS)
def test_unpack_hook_must_return_a_tensor_and_save_on_cpu_keeps_values(lib):
    x, y = _pair(lib)
    with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
        loss = (x * y).sum()
    with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor but got result of "
                                        "type int"):
        loss.backward()
    with lib.autograd.graph.save_on_cpu():
        loss = (x * y).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_inner_hooks_replace_outer_ones_and_can_be_disabled():
    x, y = _pair(graphc)
    seen = []
    graph = graphc.autograd.graph
    with graph.saved_tensors_hooks(lambda t: seen.append("outer") or t, lambda t: t):
        with graph.saved_tensors_hooks(lambda t: seen.append("inner") or t, lambda t: t):
            x.sin()
        x.cos()
    assert seen == ["inner", "outer"]
    with graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass


def test_an_in_place_op_packs_its_saved_output_once():
    x, y = _pair(graphc)
    packed = []
    z = x * y
    with graphc.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        z.exp_()
        z[1:].sigmoid_()
    assert len(packed) == 2
    z.sum().backward()
    product = x.detach().numpy() * y.detach().numpy()
    exp = np.exp(product)
    sigmoid = 1 / (1 + np.exp(-exp))
    expected = exp * y.detach().numpy()
    expected[1:] *= (sigmoid * (1 - sigmoid))[1:]
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-13)
