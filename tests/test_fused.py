"""The fused primitives (addmm, log_softmax, nll_loss): eager mode runs each as one kernel and
one autograd node, as torch's native functions, while graphc.compile traces their composites.
Each must give its composite's values, torch's node names and errors, and gradients that agree
(first and second order are checked against finite differences in test_gradients)."""
import numpy as np
import pytest

import graphc
import graphc.nn.functional as F
from graphc import dispatch

RNG = np.random.default_rng(7)


def _composite(monkeypatch):
    """Make every fused call run its composite, as it does while graphc.compile traces."""
    monkeypatch.setattr(dispatch, "apply_fused", lambda op, args, attrs, composite: composite())


def _leaf(*shape, dtype=graphc.float32):
    return graphc.tensor(RNG.standard_normal(shape), dtype=dtype, requires_grad=True)


TARGETS = np.array([3, -100, 0, 9, 3, 7])
CASES = {
    "linear": (lambda x, w, b: F.linear(x, w, b), [(6, 5), (4, 5), (4,)]),
    "addmm scaled": (lambda i, a, b: graphc.addmm(i, a, b, beta=0.5, alpha=-1.5),
                     [(1, 4), (6, 5), (5, 4)]),
    "log_softmax": (lambda x: x.log_softmax(-1), [(6, 10)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, graphc.from_numpy(TARGETS)), [(6, 10)]),
    "cross_entropy weighted sum": (
        lambda x: F.cross_entropy(x, graphc.from_numpy(TARGETS), reduction="sum",
                                  weight=graphc.linspace(0.1, 2.0, 10)), [(6, 10)]),
    "nll_loss none 3-d": (lambda x: F.nll_loss(x, graphc.tensor([[0, 2], [1, -100]]),
                                               reduction="none"), [(2, 3, 2)]),
}


def _run(case, dtype):
    function, shapes = CASES[case]
    leaves = [_leaf(*shape, dtype=dtype) for shape in shapes]
    return function, leaves


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_forward_is_its_composite_bit_for_bit_and_gradients_agree(case, dtype,
                                                                         monkeypatch):
    function, leaves = _run(case, dtype)
    fused = function(*leaves)
    fused.sum().backward()
    fused_grads = [leaf.grad.numpy().copy() for leaf in leaves]
    for leaf in leaves:
        leaf.grad = None
    with monkeypatch.context() as patch:
        _composite(patch)
        composite = function(*leaves)
        composite.sum().backward()
    np.testing.assert_array_equal(fused.detach().numpy(), composite.detach().numpy())
    tolerance = 1e-6 if dtype is graphc.float32 else 1e-14
    for mine, theirs in zip(fused_grads, [leaf.grad.numpy() for leaf in leaves]):
        np.testing.assert_allclose(mine, theirs, rtol=tolerance, atol=tolerance)


def test_fused_nodes_are_named_as_torch_names_them():
    x, w, b = _leaf(6, 5), _leaf(4, 5), _leaf(4)
    loss = F.cross_entropy(F.linear(x, w, b), graphc.tensor([0, 1, 2, 3, 0, 1]))
    names = []
    node = loss.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    assert names == ["NllLossBackward0", "LogSoftmaxBackward0", "AddmmBackward0",
                     "AccumulateGrad"]
    assert [type(n).__name__ for n, _ in loss.grad_fn.next_functions[0][0].next_functions[0][0]
            .next_functions] == ["AccumulateGrad", "AccumulateGrad", "TBackward0"]


def test_a_target_out_of_range_is_torchs_index_error():
    log_probs = _leaf(3, 5).log_softmax(1)
    for targets, bad in (([1, 2, 7], 7), ([1, -2, 0], -2)):
        with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
            F.nll_loss(log_probs, graphc.tensor(targets))
        with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
            F.cross_entropy(_leaf(3, 5), graphc.tensor(targets))


def test_a_weight_that_requires_grad_is_refused_as_torch_does():
    log_probs = _leaf(3, 5).detach()
    weight = graphc.rand(5).requires_grad_()
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument "
                                           "'weight'"):
        F.nll_loss(log_probs, graphc.tensor([1, 2, 3]), weight=weight)
    with graphc.no_grad():
        assert F.nll_loss(log_probs, graphc.tensor([1, 2, 3]), weight=weight).isfinite()


def test_every_target_ignored_gives_nan_and_zero_gradients_as_torch():
    x = _leaf(3, 5)
    loss = F.cross_entropy(x, graphc.tensor([-100, -100, -100]))
    assert loss.isnan()
    loss.backward()
    assert np.array_equal(x.grad.numpy(), np.zeros((3, 5), np.float32))
    assert not np.signbit(x.grad.numpy()).any()


def test_ignored_targets_receive_positive_zero_gradients():
    x = _leaf(4, 3)
    F.nll_loss(x, graphc.tensor([0, -100, 2, -100]), reduction="sum").backward(
        graphc.tensor(-2.0))
    grad = x.grad.numpy()
    assert np.array_equal(grad[[1, 3]], np.zeros((2, 3), np.float32))
    assert not np.signbit(grad[[1, 3]]).any()
    assert grad[0, 0] == 2.0 and grad[2, 2] == 2.0


def test_double_backward_goes_through_the_fused_nodes():
    x = _leaf(4, 6, dtype=graphc.float64)
    loss = F.cross_entropy(x, graphc.tensor([1, 0, 5, 2]))
    (grad,) = graphc.autograd.grad(loss, x, create_graph=True)
    assert grad.grad_fn is not None
    (second,) = graphc.autograd.grad((grad * grad).sum(), x)
    # d/dx sum((softmax - onehot)^2 / n^2): against finite differences of the first gradient
    step = 1e-6
    numeric = np.zeros((4, 6))
    for i in range(4):
        for j in range(6):
            shifted = x.detach().numpy().copy()
            shifted[i, j] += step
            g_plus = _gradient(shifted)
            shifted[i, j] -= 2 * step
            g_minus = _gradient(shifted)
            numeric[i, j] = ((g_plus ** 2).sum() - (g_minus ** 2).sum()) / (2 * step)
    np.testing.assert_allclose(second.numpy(), numeric, rtol=1e-5, atol=1e-8)


def _gradient(values):
    x = graphc.tensor(values, requires_grad=True)
    F.cross_entropy(x, graphc.tensor([1, 0, 5, 2])).backward()
    return x.grad.numpy()


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x_np = RNG.standard_normal((6, 10)).astype(np.float32)
    w_np, b_np = RNG.standard_normal((10, 10)).astype(np.float32), np.ones(10, np.float32)
    results = {}
    for library in (graphc, torch):
        x = library.tensor(x_np, requires_grad=True)
        w, b = library.tensor(w_np, requires_grad=True), library.tensor(b_np, requires_grad=True)
        loss = library.nn.functional.cross_entropy(
            library.nn.functional.linear(x, w, b), library.tensor(TARGETS), ignore_index=-100)
        loss.backward()
        results[library.__name__] = [v.detach().numpy() for v in (loss, x.grad, w.grad, b.grad)]
    for mine, theirs in zip(results["graphc"], results["torch"]):
        np.testing.assert_allclose(mine, theirs, rtol=2e-5, atol=2e-6)


def test_untracked_add_writes_the_general_paths_bits_into_the_target():
    base = graphc.randn(5, 4)
    view = base[1:3]
    other = graphc.randn(2, 4)
    expected = (view + other * -0.37).numpy()
    version = base._version
    with graphc.no_grad():
        assert view.add_(other, alpha=-0.37) is view
    np.testing.assert_array_equal(base[1:3].numpy(), expected)
    assert base._version == version + 1
    expected = (view - other * 3).numpy()
    with graphc.no_grad():
        view.sub_(other, alpha=3)
    np.testing.assert_array_equal(view.numpy(), expected)
    with graphc.no_grad(), pytest.raises(RuntimeError):
        graphc.zeros(1, 4).expand(3, 4).add_(graphc.ones(3, 4))  # an expanded target refused


def test_ignored_lines_are_skipped_as_torch_skips_them_eager_and_compiled():
    # torch never reads an ignored line: a -inf log-probability at class 0 there gives no nan
    # (torch 2.13 gives 0 and the second line's loss), and no gradient reaches it even when
    # every line is ignored
    logits = graphc.tensor([[float("-inf"), 0.0, 1.0], [0.5, 0.2, 0.1]])
    targets = graphc.tensor([-100, 2])
    second = np.log(np.exp([0.5, 0.2, 0.1]).sum()) - 0.1
    expected = {"none": [0.0, second], "mean": second, "sum": second}
    for reduction, value in expected.items():
        def loss(x, reduction=reduction):
            return F.nll_loss(F.log_softmax(x, 1), targets, reduction=reduction)
        for function in (loss, graphc.compile(loss, fullgraph=True)):
            for _ in range(2):  # the compiled function's second call runs the library
                result = function(logits).numpy()
                np.testing.assert_allclose(result, value, rtol=1e-6)
                assert not np.signbit(result).any()

    def step(x):
        x.grad = None
        F.cross_entropy(x, graphc.tensor([-100, -100])).backward()
        return x.grad
    x = graphc.randn(2, 3, requires_grad=True)
    compiled = graphc.compile(step)
    for function in (step, compiled, compiled):
        assert np.array_equal(function(x).numpy(), np.zeros((2, 3), np.float32))
