"""graphc.compile (first slice): compiled equals eager, specialisation and guards, graph breaks,
the on-disk cache shared by processes, and inspection."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import graphc
from graphc.codegen import native_call

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None,
                                reason="no C compiler")
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))
    yield tmp_path / "cache"


def rand(*shape, dtype=graphc.float32, seed=0):
    return graphc.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=dtype)


def check_same(compiled, eager, *args):
    """compiled == eager, on these arguments and again on new values of the same signature (a
    replay must read the new values: nothing of the first call may be frozen in)."""
    for call in range(2):
        if call:
            args = [a.detach().clone().mul_(1.5).add_(0.25).requires_grad_(a.requires_grad)
                    if isinstance(a, graphc.Tensor) else a for a in args]
        ours, reference = compiled(*args), eager(*args)
        assert compiled._latest is not None, "the function ran eagerly instead of compiled"
        for mine, theirs in zip(_tensors(ours), _tensors(reference)):
            assert mine.dtype is theirs.dtype and mine.shape == theirs.shape
            tolerance = 1e-5 if mine.dtype is graphc.float32 else 1e-12
            np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(),
                                       rtol=tolerance, atol=tolerance)


def check_value_and_gradient(function, shape, index, atol=0.0):
    """y = function(x, index) and the gradient of sum(y * y) reaching x, compiled and eager
    (float64, three sets of values of one signature); returns the compiled step."""
    def step(x, i):
        y = function(x, i)
        (y * y).sum().backward()
        return y
    compiled = graphc.compile(step, fullgraph=True)
    for seed in range(3):
        results = []
        for f in (compiled, step):
            x = rand(*shape, dtype=graphc.float64, seed=seed).requires_grad_()
            results.append((f(x, index).detach().numpy(), x.grad.numpy()))
        for mine, theirs in zip(*results):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=atol)
    return compiled


def draws_of(compiled, function, *args, seed, calls=3):
    """`calls` results of the compiled and of the eager function from one seed, after checking
    that both leave the generator in the same state: (ours, theirs)."""
    graphc.manual_seed(seed)
    ours = [compiled(*args) for _ in range(calls)]
    state = graphc.get_rng_state().tolist()
    graphc.manual_seed(seed)
    theirs = [function(*args) for _ in range(calls)]
    assert graphc.get_rng_state().tolist() == state
    return ours, theirs


def _tensors(result):
    return [result] if isinstance(result, graphc.Tensor) else list(result)


CHAINS = {
    "seed formula": lambda x, y: x ** 2 * graphc.exp(x),
    "broadcast": lambda x, y: (x * y + 1).sigmoid() - y.tanh(),
    "scalars both sides": lambda x, y: 2.5 - x / 3 + 1 / (1 + y.abs()),
    "many ops": lambda x, y: graphc.maximum(x, y).clamp(-0.5, 0.5) + (x * x + 1).log() * y.cos(),
    "relu and where": lambda x, y: graphc.where(x > y, x.relu(), y.square()),
    # found by test_compile_properties: C's true/false, and sympy's set logic on isnan
    "relu, clamp, exp": lambda x, y: x.relu().clamp(-5, 5).exp() * y,
}


@pytest.mark.parametrize("name", sorted(CHAINS))
@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_compiled_equals_eager(name, dtype):
    function = CHAINS[name]
    x, y = rand(4, 5, dtype=dtype), rand(5, dtype=dtype, seed=1)
    check_same(graphc.compile(function), function, x, y)


REDUCTIONS_EXTRA = {
    "amax and amin": lambda x, y: x.amax(1) - x.amin(0).sum(),
    "logsumexp": lambda x, y: x.logsumexp(1) + y.amax(),
    "softmax cross-entropy": lambda x, y: -(x - x.logsumexp(1, keepdim=True))[:, 1].mean(),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS_EXTRA))
def test_extreme_reductions_and_log_softmax(name):
    function = REDUCTIONS_EXTRA[name]
    x, y = rand(4, 5), rand(5, seed=1)
    check_same(graphc.compile(function, fullgraph=True), function, x, y)


REDUCTIONS = {
    "loss": lambda x, y: (0.5 * (x - y) ** 2).sum(),
    "mean over a dim": lambda x, y: (x * y).mean(1),
    "keepdim then broadcast": lambda x, y: x - x.sum(1, keepdim=True) / 5 + y,
    "reduction of a reduction": lambda x, y: x.exp().sum(0).mean() * 2,
    "softmax": lambda x, y: x.exp() / x.exp().sum(1, keepdim=True),
    "prod": lambda x, y: (x * 0.5 + 1).prod(1) + y.prod(),
    "2-norm, 1-norm and 3-norm": lambda x, y: x.norm() + (x - y).norm(p=1, dim=0)
    + x.norm(p=3, dim=1, keepdim=True),
    "variance and std": lambda x, y: x.var(1) + y.std(),
}


INTEGER_AND_BOOL_RESULTS = {
    "argmax over a dim": lambda x: x.argmax(1),
    "argmax of all": lambda x: x.argmax(),
    "argmin keepdim": lambda x: x.argmin(0, keepdim=True),
    "max over a dim": lambda x: x.max(1),
    "min over a dim": lambda x: x.min(0, keepdim=True),
    "all": lambda x: (x > 0).all(1),
    "any of all": lambda x: (x > 0.5).any(),
    "all of floats": lambda x: x.all(0),
    "count_nonzero": lambda x: (x > 0).count_nonzero(0),
    "accuracy": lambda x: (x.argmax(1) == graphc.tensor([0, 1, 2, 3, 0])).sum(),
    "a mask": lambda x: x > 0.2,
    "a mean of a mask": lambda x: (x > 0).float().mean(),
    "isclose": lambda x: x.isclose(x.flip(0), rtol=0.5, atol=0.3) | graphc.isclose(
        x, x.flip(1), equal_nan=True),
    "integer arithmetic": lambda x: (x.argmax(1) * 1000000007 + 2 ** 40 - x.argmin(1)).clamp(
        min=2 ** 40 + 1),
    "an index computed by arithmetic": lambda x: x.reshape(-1)[x.argmax(1) * 4 + 1],
    "a value against itself (NaN)": lambda x: (x == x) & (x <= x) & ~(x != x),
    "relu keeps NaN": lambda x: x.relu() * (x >= x),
    "truncated to long": lambda x: graphc.where(x == x, x * 10, 0.0).long(),
}


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
@pytest.mark.parametrize("name", sorted(INTEGER_AND_BOOL_RESULTS))
def test_integer_and_bool_results(name, dtype):
    """argmax/argmin (first extreme, first NaN), max/min over a dim with their indices,
    all/any, counts and masks: int64 and bool values inside float graphs, exactly as eager."""
    function = INTEGER_AND_BOOL_RESULTS[name]
    compiled = graphc.compile(function, fullgraph=True)
    for seed in range(3):
        x = rand(5, 4, dtype=dtype, seed=seed)
        x[1, 2] = float("nan") if seed == 1 else x[1, 2]
        x[3] = 0.0 if seed == 2 else x[3]  # ties: the first position wins
        ours, theirs = compiled(x), function(x)
        for mine, reference in zip(_tensors(ours), _tensors(theirs)):
            assert mine.dtype == reference.dtype and mine.shape == reference.shape
            np.testing.assert_array_equal(mine.numpy(), reference.numpy())
    assert compiled._latest is not None


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_reductions_with_fused_prologue_and_epilogue(name, dtype):
    function = REDUCTIONS[name]
    x, y = rand(4, 5, dtype=dtype), rand(5, dtype=dtype, seed=1)
    check_same(graphc.compile(function, fullgraph=True), function, x, y)


VIEWS = {
    "transpose of an input": lambda x, y: x.t() + y.unsqueeze(1),
    "transpose of a computed value": lambda x, y: (x * 2).t() * y.sum(),
    "reshape then reduce": lambda x, y: (x + 1).view(2, 10).t().sum(0),
    "slices and selects": lambda x, y: x[1:, ::2].exp() + x[0, :3],
    "view returned": lambda x, y: (x * y).view(20),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_are_address_arithmetic_never_copies(name):
    function = VIEWS[name]
    x, y = rand(4, 5), rand(5, seed=1)
    check_same(graphc.compile(function, fullgraph=True), function, x, y)


MATMULS = {
    "matrix product": lambda x, y: x @ y.t(),
    "fused operands": lambda x, y: (x * 2) @ y.exp().t() + 1,
    "batched": lambda x, y: x.unsqueeze(0).expand(2, 4, 5) @ y.t(),
    "both batched": lambda x, y: graphc.stack([x, x * 2]) @ graphc.stack([y.t(), y.t() + 1]),
    "into a reduction": lambda x, y: (x @ y.t()).sum(),
    "matrix times vector": lambda x, y: x.mv(y[0]) + x @ y[1],
    "vector times matrix": lambda x, y: (y[:, 0] @ y) * (x[0] @ x.t()).sum(),
    "dot and outer": lambda x, y: x[0].dot(y[1]) * graphc.outer(x[:, 0], y[0]),
    "batched times vector": lambda x, y: x.expand(2, 4, 5) @ y[0],
}


@pytest.mark.parametrize("name", sorted(MATMULS))
def test_matrix_products(name):
    function = MATMULS[name]
    x, y = rand(4, 5), rand(3, 5, seed=1)
    check_same(graphc.compile(function, fullgraph=True), function, x, y)


def test_large_matrix_vector_products_call_blas():
    pytest.importorskip("scipy_openblas32")
    function = lambda a, v: (a @ v, v[:300] @ a)  # noqa: E731
    compiled = graphc.compile(function, fullgraph=True)
    check_same(compiled, function, rand(300, 400, dtype=graphc.float64),
               rand(400, dtype=graphc.float64, seed=1))
    assert compiled.source().count("scipy_cblas_dgemm(") >= 3  # declared, then two calls


def test_large_products_call_blas_with_operands_in_place():
    pytest.importorskip("scipy_openblas32")
    x, w = rand(64, 96), rand(96, 80, seed=2)
    for function in (lambda a, b: a @ b, lambda a, b: (a.t().t() @ b).relu(),
                     lambda a, b: b.t() @ a.t(), lambda a, b: a.unsqueeze(0).expand(2, 64, 96) @ b):
        compiled = graphc.compile(function, fullgraph=True)
        check_same(compiled, function, x, w)
        assert "scipy_cblas_sgemm(" in compiled.source()


def test_a_cache_shared_with_an_environment_without_blas_serves_each_its_own(private_cache,
                                                                           monkeypatch):
    """Two environments (one without scipy-openblas32) sharing a cache directory: the one with
    BLAS must not load the loop-nest library the other built for the same graph."""
    pytest.importorskip("scipy_openblas32")
    from graphc.codegen import blas

    def product(a, b):
        return a @ b
    x, w = rand(64, 96), rand(96, 80, seed=2)
    with monkeypatch.context() as patch:
        patch.setattr(blas, "library_dir", lambda: None)
        without = graphc.compile(product, fullgraph=True)
        check_same(without, product, x, w)
        assert "scipy_cblas_sgemm(" not in without.source()
    with_blas = graphc.compile(product, fullgraph=True)
    check_same(with_blas, product, x, w)
    assert "scipy_cblas_sgemm(" in with_blas.source()


GRADIENTS = {
    "seed formula": lambda x: (x ** 2 * graphc.exp(x)).sum(),
    "sigmoid chain": lambda x: (x.sigmoid() * x.tanh()).mean(),
    "broadcast and views": lambda x: (x.t() * x.sum(0)).exp().sum(),
    "loss": lambda x: (0.5 * (x * 2 - 1) ** 2).sum(),
    "through a matrix product": lambda x: ((x @ x.t()).tanh() * 0.5).sum(),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients_computed_inside_compiled_code(name):
    loss = GRADIENTS[name]

    def step(x):
        value = loss(x)
        (gradient,) = graphc.autograd.grad(value, x)
        return value, gradient
    x = rand(3, 3, dtype=graphc.float64).requires_grad_()
    compiled = graphc.compile(step, fullgraph=True)
    check_same(compiled, step, x)
    assert any(node.op in ("sum", "mean") for node in compiled.graph())


def _train(step, parameters, batches):
    return [step(x, y).item() for x, y in batches], [p.detach().clone() for p in parameters]


def test_training_step_with_backward_and_in_place_sgd_matches_eager():
    """loss.backward() accumulating into .grad, SGD updates of captured parameters under
    no_grad, zeroing the grads: compiled and eager give the same losses and parameters."""
    w = rand(3, 1, seed=7).requires_grad_()
    b = graphc.zeros(1, 1, requires_grad=True)
    start = (w.detach().clone(), b.detach().clone())
    lr = 0.01

    def step(x, y):
        prediction = (x * w.t()).sum(1, keepdim=True) + b.expand_as(y)
        loss = (0.5 * (prediction - y) ** 2).sum()
        loss.backward()
        with graphc.no_grad():
            w.sub_(lr * w.grad)
            b.data.sub_(lr * b.grad.data)
        w.grad.zero_()
        b.grad.data.zero_()
        return loss
    batches = [(rand(8, 3, seed=10 + i), rand(8, 1, seed=50 + i)) for i in range(20)]
    compiled = graphc.compile(step, fullgraph=True)
    compiled_losses, compiled_parameters = _train(compiled, (w, b), batches)
    assert all(getattr(s, "origin", None) for s in compiled._specialisations.values())
    with graphc.no_grad():
        w.copy_(start[0])
        b.copy_(start[1])
    w.grad = b.grad = None
    eager_losses, eager_parameters = _train(step, (w, b), batches)
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-5)
    for mine, theirs in zip(compiled_parameters, eager_parameters):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5)
    assert len(compiled._specialisations) == 2  # .grad absent, then present


def test_seed_regression_200_steps_compiled_equals_eager(monkeypatch):
    """The seed's linear regression (2.4) as the README's main example writes it: data drawn
    inside the step, autograd, SGD on .data."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from linear_regression import make_model
    step, w, b = make_model(1000)
    compiled = graphc.compile(step, fullgraph=True)
    compiled_losses = [compiled().item() for _ in range(200)]
    compiled_fit = (w.item(), b.item())
    step, w, b = make_model(1000)
    eager_losses = [step().item() for _ in range(200)]
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-5)
    np.testing.assert_allclose(compiled_fit, (w.item(), b.item()), rtol=1e-5)
    assert len(compiled._specialisations) == 2
    assert {"uniform", "normal", "matmul", "sum"} <= {n.op for n in compiled.graph()}


def _mlp(seed):
    """A 784-256-10 ReLU MLP step: BLAS products, softmax cross-entropy, SGD, zeroed grads."""
    graphc.manual_seed(seed)
    parameters = [(graphc.randn(784, 256) * 0.05).requires_grad_(),
                  graphc.zeros(256, requires_grad=True),
                  (graphc.randn(256, 10) * 0.05).requires_grad_(),
                  graphc.zeros(10, requires_grad=True)]

    def step(x, onehot):
        w1, b1, w2, b2 = parameters
        logits = (x @ w1 + b1).clamp(min=0) @ w2 + b2
        top = logits.amax(dim=1, keepdim=True)
        log_sum_exp = (logits - top).exp().sum(dim=1, keepdim=True).log() + top
        loss = ((log_sum_exp - logits) * onehot).sum() / x.shape[0]
        loss.backward()
        with graphc.no_grad():
            for parameter in parameters:
                parameter.sub_(0.1 * parameter.grad)
                parameter.grad.zero_()
        return loss
    return parameters, step


def test_mlp_training_steps_compiled_equal_eager():
    labels = np.random.default_rng(1).integers(0, 10, 64)
    onehot = graphc.from_numpy(np.eye(10, dtype=np.float32)[labels])
    data = [(rand(64, 784, seed=1), onehot)] * 5  # one batch again and again: the loss falls
    parameters, step = _mlp(3)
    compiled = graphc.compile(step, fullgraph=True)
    compiled_losses = [compiled(x, onehot).item() for x, onehot in data]
    assert compiled.source().count("scipy_cblas_sgemm(") >= 6  # 2 forward, 4 backward products
    compiled_parameters = [p.detach().clone() for p in parameters]
    parameters, step = _mlp(3)
    eager_losses = [step(x, onehot).item() for x, onehot in data]
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-5)
    assert compiled_losses[-1] < compiled_losses[0]
    for mine, theirs in zip(compiled_parameters, parameters):
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_classifier_with_shuffled_minibatches_200_steps_compiled_equals_eager():
    """A softmax classifier trained 200 steps: each step draws a shuffled minibatch with
    randperm, takes log_softmax picked at the labels, runs backward and SGD with zero_grad;
    compiled and eager from one seed give the same losses and weights."""
    rng = np.random.default_rng(2)
    features = graphc.from_numpy(rng.standard_normal((120, 6)).astype(np.float32))
    labels = graphc.from_numpy((rng.standard_normal(120) > 0).astype(np.int64)
                               + (rng.standard_normal(120) > 1))

    def train(compile_it):
        graphc.manual_seed(5)
        weight = (graphc.randn(6, 3) * 0.1).requires_grad_()
        bias = graphc.zeros(3, requires_grad=True)

        def step():
            batch = graphc.randperm(120)[:16]
            logits = features[batch] @ weight + bias
            loss = -logits.log_softmax(1)[graphc.arange(16), labels[batch]].mean()
            loss.backward()
            with graphc.no_grad():
                for parameter in (weight, bias):
                    parameter -= 0.5 * parameter.grad
                    parameter.grad.zero_()
            return loss, (logits.argmax(1) == labels[batch]).sum()
        run = graphc.compile(step, fullgraph=True) if compile_it else step
        results = [run() for _ in range(200)]
        return [r[0].item() for r in results], [r[1].item() for r in results], weight, run
    losses, hits, weight, compiled = train(True)
    eager_losses, eager_hits, eager_weight, _ = train(False)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-4, atol=1e-6)
    assert hits == eager_hits
    np.testing.assert_allclose(weight.detach().numpy(), eager_weight.detach().numpy(),
                               rtol=1e-4, atol=1e-6)
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    assert "kernel0_randperm" in compiled.source() and compiled._latest is not None


@pytest.mark.parametrize("name", ["each_reads_the_other", "swap", "transpose_into_itself",
                                  "zero_after_use", "broadcast_read"])
def test_in_place_updates_stored_straight_into_parameters_keep_eager_order(name):
    """Updates are stored into the parameter itself when that is safe; reading another
    update's tensor, reading itself transposed or swapping must still give eager's values."""
    def run(step, compile_it):
        a, b = rand(4, 4, seed=1), rand(4, 4, seed=2)
        function = graphc.compile(lambda: step(a, b), fullgraph=True) if compile_it \
            else (lambda: step(a, b))
        for _ in range(3):
            function()
        return a.numpy().copy(), b.numpy().copy()

    def each_reads_the_other(a, b):
        a.add_(b)
        b.add_(a)

    def swap(a, b):
        old = a.clone()
        a.copy_(b)
        b.copy_(old)

    def transpose_into_itself(a, b):
        a.copy_(a.t() * 2)

    def zero_after_use(a, b):
        b.sub_(0.5 * a)
        a.zero_()
        a.add_(b.exp())

    def broadcast_read(a, b):
        a.sub_(a[0] * 0.5)
        b.mul_(a.sum(0, keepdim=True))

    step = locals()[name]
    for mine, theirs in zip(run(step, True), run(step, False)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_outputs_over_the_same_loop_share_one_kernel():
    """y and dy/dx of one x (and a broadcast operand) come from one loop reading x once."""
    def function(x, row):
        y = x ** 2 * graphc.exp(x)
        return y, (2 * x + x ** 2) * graphc.exp(x) + row, x.sum(0)
    compiled = graphc.compile(function, fullgraph=True)
    check_same(compiled, function, rand(5, 4), rand(1, 4, seed=3))
    source = compiled.source()
    elementwise = [line for line in source.splitlines()
                   if line.startswith("static void kernel") and "_sum(" not in line]
    assert len(elementwise) == 1 and "out1_data" in elementwise[0], elementwise


def test_broadcasting_loops_run_as_rows_without_index_division():
    """x + row over [64, 256]: an outer loop over rows and an inner loop over the last dim, so
    the inner loop has no division and vectorises; values as eager."""
    function = lambda x, row, column: (x + row).clamp(min=0) * column  # noqa: E731
    compiled = graphc.compile(function, fullgraph=True)
    check_same(compiled, function, rand(64, 256), rand(256, seed=1), rand(64, 1, seed=2))
    kernel = compiled.source().split("static void kernel0_")[1].split("\n}\n")[0]
    assert "for (int64_t outer = 0; outer < 64; outer++)" in kernel
    assert "for (int64_t idx1 = 0; idx1 < 256; idx1++)" in kernel
    inner = kernel.split("idx1++) {")[1]
    assert "%" not in inner and "/=" not in inner


def test_zeroing_a_grad_joins_the_loop_that_last_reads_it():
    """p.sub_(lr * p.grad); p.grad.zero_(): one loop reads the grad, stores p, then stores 0."""
    weight = graphc.rand(300, 400).requires_grad_()
    eager_weight = weight.detach().clone().requires_grad_()

    def make_step(w):
        def step(x):
            (x @ w).sum().backward()
            with graphc.no_grad():
                w.sub_(0.1 * w.grad)
                w.grad.zero_()
        return step
    compiled, eager = graphc.compile(make_step(weight), fullgraph=True), make_step(eager_weight)
    for seed in range(3):
        x = rand(8, 300, seed=seed)
        compiled(x), eager(x)
        np.testing.assert_allclose(weight.detach().numpy(), eager_weight.detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
        assert not weight.grad.numpy().any()
    kernels = [line for line in compiled.source().splitlines()
               if line.startswith("static void kernel")]
    assert any("_sub_fill(" in line for line in kernels), kernels
    assert not any(re.search(r"kernel\d+_fill\(", line) for line in kernels), kernels


def test_a_view_with_the_layout_of_a_leaf_does_not_hide_it():
    """x.t().t() has x's memory and layout: the traced backward must still give x its .grad."""
    def step(x):
        (x.t().t() * x).sum().backward()
        return x.grad * 1
    compiled = graphc.compile(step, fullgraph=True)
    for seed in range(3):
        x = rand(3, 2, dtype=graphc.float64, seed=seed).requires_grad_()
        np.testing.assert_allclose(compiled(x).numpy(), 2 * x.detach().numpy(), rtol=1e-12)


def test_a_compiled_function_is_differentiable_with_a_native_backward():
    """Outputs of a compiled call carry a grad_fn; backward reaches the arguments and the
    captured parameters with eager's gradients, through a second compiled function."""
    x = rand(3, 4, dtype=graphc.float64).requires_grad_()
    w = rand(4, 2, dtype=graphc.float64, seed=5).requires_grad_()

    def function(x):
        return (x @ w).tanh() * 2, (x * x.exp()).sum()
    compiled = graphc.compile(function, fullgraph=True)
    for call in range(4):
        results = {}
        for name, f in (("compiled", compiled), ("eager", function)):
            x.grad = w.grad = None
            a, b = f(x)
            (a * rand(3, 2, dtype=graphc.float64, seed=call)).sum().add(b).backward()
            results[name] = (a.detach().numpy(), x.grad.numpy(), w.grad.numpy())
        for mine, theirs in zip(results["compiled"], results["eager"]):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    assert type(a.grad_fn).__name__ == "MulBackward0"  # the eager one, last
    x.grad = w.grad = None  # the signature the compiled calls above ran with
    a, b = compiled(x)
    assert type(a.grad_fn).__name__ == "CompiledCallBackward" and a.grad_fn is b.grad_fn
    backwards = [s.backward for s in compiled._specialisations.values() if hasattr(s, "backward")]
    assert any(b._latest is not None for b in backwards)  # the gradients ran as native code


def test_gradcheck_through_a_compiled_function():
    compiled = graphc.compile(lambda x, y: (x.sin() * y + x @ y.t()).sum(1), fullgraph=True)
    x = rand(3, 3, dtype=graphc.float64).requires_grad_()
    y = rand(3, 3, dtype=graphc.float64, seed=1).requires_grad_()
    assert graphc.autograd.gradcheck(compiled, (x, y))


def test_a_compiled_function_refuses_what_it_cannot_differentiate():
    x = rand(3, dtype=graphc.float64).requires_grad_()
    compiled = graphc.compile(lambda x: (x.exp() * x).sum(), fullgraph=True)
    compiled(x)
    y = compiled(x)
    with pytest.raises(RuntimeError, match=r"create_graph=True\) through a compiled function"):
        graphc.autograd.grad(y, x, create_graph=True)
    y = compiled(x)
    with graphc.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    with pytest.raises(graphc.CompileError, match="tuple of tensors"):
        graphc.compile(lambda x: {"y": x * 2}, fullgraph=True)(x)


INDEXING = {
    "rows": (lambda x, i: x[i] * 2, (5, 3), [0, 4, 4, -1]),
    "columns": (lambda x, i: x[:, i].exp(), (4, 6), [5, 0, -2]),
    "a 2-d index": (lambda x, i: x[i].sum(1), (5, 3), [[0, 1], [4, 4]]),
    "a transposed operand": (lambda x, i: x.t()[i] + 1, (3, 5), [1, 1, 0]),
    "a middle dimension": (lambda x, i: x[:, i, :].tanh(), (2, 4, 3), [3, 0]),
}


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_advanced_indexing_and_its_gradient_compile(name):
    """x[index] as a bounds-checked gather; its gradient, an accumulating scatter (repeated
    indices add up), compiled too."""
    function, shape, index = INDEXING[name]
    compiled = check_value_and_gradient(function, shape, graphc.tensor(index))
    source = compiled.source()
    assert "kernel0_index(" in source and "_index_put(" in source


def test_assignment_through_an_index_tensor_updates_the_captured_tensor():
    start = rand(6, 2)
    buffers = [start.clone(), start.clone()]
    values, index = rand(3, 2, seed=1), graphc.tensor([0, 5, 0])

    def make(buffer):
        def put(v, i):
            buffer[i] += v
            return buffer.sum()
        return put
    compiled = graphc.compile(make(buffers[0]), fullgraph=True)
    eager = make(buffers[1])
    for _ in range(3):
        np.testing.assert_allclose(compiled(values, index).item(), eager(values, index).item(),
                                   rtol=1e-6)
    np.testing.assert_allclose(buffers[0].numpy(), buffers[1].numpy(), rtol=1e-6)


def test_an_index_out_of_range_in_compiled_code_raises_and_writes_nothing():
    weights = rand(5, 3)
    before = weights.clone()

    def step(i):
        picked = weights[i]
        weights.mul_(2)
        return picked
    compiled = graphc.compile(step, fullgraph=True)
    compiled(graphc.tensor([0, 1]))
    compiled(graphc.tensor([0, 1]))
    assert "if (kernel0_index(" in compiled.source()
    weights.copy_(before)
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0 with size 5"):
        compiled(graphc.tensor([7, -9]))
    np.testing.assert_array_equal(weights.numpy(), before.numpy())
    with pytest.raises(IndexError, match="index -6 is out of bounds for dimension 0 with size 5"):
        compiled(graphc.tensor([-6, 0]))


def _effects_of_a_failing_call(call, make_state, bad):
    """What a call that raises leaves behind: the exception, the tensors' values and versions,
    and the generator's state (the next draw)."""
    state = make_state()
    call(*state, graphc.tensor([0]))
    call(*state, graphc.tensor([0]))
    with pytest.raises(IndexError) as error:
        call(*state, bad)
    return (str(error.value), [t.tolist() for t in state], [t._version for t in state],
            graphc.rand(2).tolist())


@pytest.mark.parametrize("label", ["in-place before", "draw before", "zero_ after a read"])
def test_a_compiled_call_failing_part_way_leaves_what_eager_leaves(label):
    """Eager applies the ops before the failing one (`x.add_(1)` then a bad index leaves x
    incremented); the native call writes nothing and then runs the function eagerly, so both
    leave the same values, versions and generator state, and raise the same error."""
    def in_place_before(x, g, i):
        x.add_(1)
        return (x * 2)[i]

    def draw_before(x, g, i):
        x.add_(graphc.rand(3))
        return x[i] + graphc.randn(1)

    def zero_after_a_read(x, g, i):  # the fill may not join g's reading loop before the index
        doubled = g * 2
        g.zero_()
        return doubled, x[i]
    function = {"in-place before": in_place_before, "draw before": draw_before,
                "zero_ after a read": zero_after_a_read}[label]

    def make_state():
        graphc.manual_seed(3)
        return graphc.zeros(3), graphc.ones(3)
    bad = graphc.tensor([5])
    eager = _effects_of_a_failing_call(function, make_state, bad)
    compiled = _effects_of_a_failing_call(graphc.compile(function, fullgraph=True), make_state,
                                          bad)
    assert compiled == eager
    assert eager[0] == "index 5 is out of bounds for dimension 0 with size 3"


def test_indexing_the_backend_does_not_cover_is_a_graph_break():
    x, mask = rand(4, 4), graphc.tensor([True, False, True, True])
    function = lambda x, m: x[m] * 2  # noqa: E731  (a mask: the result's shape is data)
    with pytest.raises(graphc.CompileError, match="masks are not compiled yet"):
        graphc.compile(function, fullgraph=True)(x, mask)
    with pytest.warns(RuntimeWarning):
        result = graphc.compile(function)(x, mask)
    np.testing.assert_allclose(result.numpy(), function(x, mask).numpy())


MULTI_INDEXING = {
    "rows and columns": (lambda x, i: x[graphc.arange(4), i], (4, 5)),
    "adjacent, after a slice": (lambda x, i: x[:, graphc.tensor([0, 2, 1, 1]), i], (2, 3, 5)),
    "not adjacent": (lambda x, i: x[i, :, graphc.tensor([[0], [4]])], (5, 3, 5)),
    "an index computed inside": (lambda x, i: x[x.sum(1).argmax(0, keepdim=True)] * i.sum(),
                                 (6, 5)),
    "cross-entropy style": (lambda x, i: -(x - x.logsumexp(1, keepdim=True))[
        graphc.arange(4), i].mean(), (4, 5)),
}


@pytest.mark.parametrize("name", sorted(MULTI_INDEXING))
def test_several_and_computed_index_tensors_and_their_gradients(name):
    """x[i, j] with index tensors broadcast together (placed as numpy and torch place them),
    indices computed inside the function, and the gradients (accumulating scatters)."""
    function, shape = MULTI_INDEXING[name]
    check_value_and_gradient(function, shape, graphc.tensor([0, 4, 4, 1]))


GATHER_SCATTER_SCAN = {
    "gather": lambda x, i: x.gather(1, i.unsqueeze(1)) * 2,
    "scatter a value": lambda x, i: x.scatter(1, i.unsqueeze(1), 5.0),
    "scatter_add": lambda x, i: x.scatter_add(1, i.unsqueeze(1).expand(4, 2), x[:, :2] * 3),
    "masked_fill": lambda x, i: x.masked_fill(x > 0.5, -1.0),
    "cumsum": lambda x, i: x.cumsum(1),
    "cumprod over dim 0": lambda x, i: (x * 0.5 + 1).cumprod(0),
    "flip": lambda x, i: x.flip(0) * x.flip(1).t().t(),
    "cat and slices": lambda x, i: graphc.cat([x[1:], x[:3, 1:4] * 2, x[1:, ::2]], 1)[:, 2:],
    "log-softmax cross-entropy with gather": lambda x, i: -(
        x - x.logsumexp(1, keepdim=True)).gather(1, i.unsqueeze(1)).mean(),
    "log_softmax picked by index tensors": lambda x, i: -x.log_softmax(1)[graphc.arange(4), i]
    .mean(),
    "softmax": lambda x, i: x.softmax(0) * 3,
    "index_select": lambda x, i: x.index_select(1, i) + x.t().index_select(0, i[:2]).sum(),
    "triu and tril": lambda x, i: x.triu(1) * 2 + x.tril(-1),
    "repeat": lambda x, i: x.repeat(2, 1, 3),
    "trace and diag": lambda x, i: x.trace() * x.diag(),
    "index_copy and index_fill": lambda x, i: x.index_copy(1, i[:2], x[:, :2] * 2)
    .index_fill(0, graphc.tensor([1, -1]), -1.0),
    "scatter_reduce": lambda x, i: x.scatter_reduce(1, i.reshape(2, 2), x[:2, :2] * 3, "sum")
    + x.scatter_reduce(0, i.reshape(2, 2).clamp(max=1), x[2:, :2], "sum",
                       include_self=False).sum(),
    "take and put": lambda x, i: x.take(i.reshape(2, 2)).sum() + x.t().put(
        graphc.tensor([0, 3, 3, -1]), x[0, :4] * 2, accumulate=True),
}


@pytest.mark.parametrize("name", sorted(GATHER_SCATTER_SCAN))
def test_gather_scatter_masked_fill_and_scans_with_their_gradients(name):
    check_value_and_gradient(GATHER_SCATTER_SCAN[name], (4, 5), graphc.tensor([0, 4, 4, 1]))


SORTS = {
    "sort": lambda x: x.sort(1),
    "sort descending": lambda x: x.sort(0, descending=True),
    "argsort": lambda x: x.argsort(1, descending=True),
    "topk": lambda x: x.topk(2, 1),
    "topk smallest": lambda x: x.topk(3, 0, largest=False),
    "kthvalue": lambda x: x.kthvalue(2, 0),
    "kthvalue keepdim": lambda x: x.kthvalue(3, 1, keepdim=True),
    "median over a dim": lambda x: x.median(1),
    "nanmedian over a dim": lambda x: x.nanmedian(0),
    "median": lambda x: x.median(),
    "nanmedian": lambda x: x.nanmedian(),
    "mode": lambda x: x.mode(1),
    "mode keepdim": lambda x: x.mode(0, keepdim=True),
}


@pytest.mark.parametrize("name", sorted(SORTS))
def test_sorting_and_medians_follow_eagers_order_with_ties_and_nan(name):
    """Each line qsort-ed in C as eager orders it: equal values keep their order, NaN last
    ascending and first descending; median takes the first NaN, nanmedian skips them."""
    function = SORTS[name]
    compiled = graphc.compile(function, fullgraph=True)
    for seed in range(4):
        values = np.random.default_rng(seed).integers(0, 3, (5, 4)).astype(np.float32)
        if seed >= 2:
            values[1, 2] = values[3, 0] = np.nan
        if seed == 3:
            values[:, 1] = np.nan
        x = graphc.from_numpy(values)
        for mine, reference in zip(_tensors(compiled(x)), _tensors(function(x))):
            assert mine.dtype == reference.dtype and mine.shape == reference.shape
            np.testing.assert_array_equal(mine.numpy(), reference.numpy())
    assert compiled._latest is not None


def test_the_gradients_of_sorted_values():
    check_value_and_gradient(lambda x, i: x.sort(1)[0][:, :4] * i + x.topk(2, 0)[0].sum(0)[:4]
                             + x.median(0)[0][:4], (4, 5), graphc.tensor([0, 4, 4, 1]))


LINEAR_ALGEBRA = {
    "inverse": lambda a: a.inverse() * 2,
    "batched inverse": lambda a: graphc.stack([a, a.t() * 2]).inverse().sum(0),
    "solve": lambda a: graphc.linalg.solve(a, a[:, :2] * 3),
    "solve a vector": lambda a: graphc.linalg.solve(a, a[0]).unsqueeze(0) * a,
    "cholesky": lambda a: graphc.linalg.cholesky(a @ a.t()),
    "cholesky upper": lambda a: graphc.linalg.cholesky(a @ a.t(), upper=True),
    # signs of singular vectors and eigenvectors: LAPACK's, as numpy's (compared through
    # sign-free quantities too)
    "svdvals": lambda a: graphc.linalg.svdvals(a[:, :3]),
    "svd": lambda a: graphc.linalg.svd(a[:3], full_matrices=False)[0].abs()
    + graphc.linalg.svd(a)[2].abs().sum(),
    "torch.svd": lambda a: graphc.svd(a)[2].abs() * graphc.svd(a)[1],
    "eigh": lambda a: graphc.linalg.eigh(a @ a.t())[1].abs() * graphc.linalg.eigvalsh(
        a @ a.t(), UPLO="U"),
    "qr": lambda a: graphc.linalg.qr(a[:, :3])[0] @ graphc.linalg.qr(a[:, :3])[1]
    + graphc.linalg.qr(a.t())[1].sum(),
    "diag_embed": lambda a: graphc.diag_embed(a[0]) + graphc.diag_embed(a[1, :3], offset=1),
    "cross": lambda a: graphc.linalg.cross(a[:, :3], a[:, 1:]) + graphc.cross(
        a[:3], a[1:], dim=0).sum(),
    "slogdet": lambda a: graphc.linalg.slogdet(a)[1] * graphc.linalg.slogdet(-a[:3, :3])[0],
    "matrix norms": lambda a: sum(graphc.linalg.matrix_norm(a, ord=order) for order in (
        1, -1, float("inf"), float("-inf"), 2, -2, "nuc")) * a,
}


@pytest.mark.parametrize("name", sorted(LINEAR_ALGEBRA))
def test_linear_algebra_through_lapack_and_its_gradients(name):
    pytest.importorskip("scipy_openblas32")
    function = LINEAR_ALGEBRA[name]
    # LAPACK here and numpy's own may round differently: absolute 1e-12
    check_value_and_gradient(lambda x, i: function(x + 4 * graphc.eye(4, dtype=x.dtype)),
                             (4, 4), graphc.tensor([0]), atol=1e-12)


def test_det_compiles_and_a_singular_matrix_raises_eagers_error():
    pytest.importorskip("scipy_openblas32")
    det = graphc.compile(lambda a: a.det() * 2, fullgraph=True)
    for seed in range(3):
        a = rand(3, 3, dtype=graphc.float64, seed=seed)
        np.testing.assert_allclose(det(a).item(), a.det().item() * 2, rtol=1e-12)
    singular = graphc.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=graphc.float64)
    for function in (lambda a: a.inverse(), lambda a: graphc.linalg.cholesky(a),
                     lambda a: graphc.linalg.solve(a, a)):
        compiled = graphc.compile(function, fullgraph=True)
        compiled(graphc.eye(2, dtype=graphc.float64) * 2)
        with pytest.raises(graphc.linalg.LinAlgError) as ours:
            compiled(singular)
        with pytest.raises(graphc.linalg.LinAlgError) as eager:
            function(singular)
        assert str(ours.value) == str(eager.value)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_folds_as_eager(reduce, include_self):
    """Each reduction, with and without the base's own values; amax/amin keep a NaN."""
    index = graphc.tensor([[0, 1, 0], [2, 2, 1]])
    function = lambda x, src: x.scatter_reduce(1, index, src, reduce,  # noqa: E731
                                               include_self=include_self)
    compiled = graphc.compile(function, fullgraph=True)
    for seed in range(3):
        x, src = rand(2, 4, dtype=graphc.float64, seed=seed), rand(2, 3, dtype=graphc.float64,
                                                                    seed=seed + 10)
        if seed == 2:
            src[0, 1] = float("nan")
        np.testing.assert_allclose(compiled(x, src).numpy(), function(x, src).numpy(),
                                   rtol=1e-12)


BAD_INDICES = {
    "gather": lambda x, i: x.gather(1, i),
    "index_select": lambda x, i: x.index_select(1, i.reshape(-1)),
    "index_copy": lambda x, i: x.index_copy(1, i.reshape(-1), x[:, :2]),
    "index_fill": lambda x, i: x.index_fill(1, i.reshape(-1), 0.0),
    "take": lambda x, i: x.take(i.flip(0)),
    "put": lambda x, i: x.put(i.reshape(-1).flip(0), x[:, 0]),
}


@pytest.mark.parametrize("op", sorted(BAD_INDICES))
def test_bad_indices_raise_eagers_error_from_compiled_code(op):
    function = BAD_INDICES[op]
    compiled = graphc.compile(function, fullgraph=True)
    x = rand(2, 3)
    compiled(x, graphc.tensor([[0], [2]]))
    for bad in ([[0], [3]], [[-1], [0]], [[-4], [1]], [[2], [9]], [[-7], [0]]):
        try:
            expected = function(x, graphc.tensor(bad))
        except (IndexError, RuntimeError) as error:  # the same exception, the same words
            with pytest.raises(type(error)) as ours:
                compiled(x, graphc.tensor(bad))
            assert str(ours.value) == str(error)
        else:  # a negative index some ops accept
            np.testing.assert_array_equal(compiled(x, graphc.tensor(bad)).numpy(),
                                          expected.numpy())


INDEX_ADD_AND_FILL = {  # torch words index_add's bounds error its own way only for alpha 1 at
    # the first or last dim of x; a 0-d x takes index_fill of each of its indices
    "index_add along a middle dim": (lambda x, i: x.index_add(1, i, x[:, :2] * 2),
                                     (3, 4, 2), [[0, 1], [0, 5], [-1, 0]]),
    "index_add with alpha": (lambda x, i: x.index_add(0, i, x[:2] * 2, alpha=0.5), (3, 2),
                             [[2, 2], [0, 3], [-1, 0]]),
    "index_add of a vector": (lambda x, i: x.index_add(0, i, x[:2] * 2), (3,),
                              [[2, 2], [0, 3]]),
    "index_add at the last dim": (lambda x, i: x.index_add(1, i, x[:, :2]), (2, 3),
                                  [[2, 2], [0, 3]]),
    "index_fill of a 0-d tensor": (lambda x, i: x[1].index_fill(0, i, 9.0) * x[0], (3,),
                                   [[0], [0, -1], [0, 1], [-2]]),
}


@pytest.mark.parametrize("name", sorted(INDEX_ADD_AND_FILL))
def test_index_add_and_fill_compile_to_eagers_results_and_errors(name):
    function, shape, indices = INDEX_ADD_AND_FILL[name]
    compiled = graphc.compile(function, fullgraph=True)
    x = rand(*shape, dtype=graphc.float64)
    for index in indices:
        try:
            expected = function(x, graphc.tensor(index))
        except (IndexError, RuntimeError) as error:
            with pytest.raises(type(error)) as ours:
                compiled(x, graphc.tensor(index))
            assert str(ours.value) == str(error)
        else:
            np.testing.assert_array_equal(compiled(x, graphc.tensor(index)).numpy(),
                                          expected.numpy())


def test_an_index_out_of_range_in_a_second_index_tensor_names_its_dimension():
    function = lambda x, i, j: x[i, j]  # noqa: E731
    compiled = graphc.compile(function, fullgraph=True)
    x = rand(3, 4)
    compiled(x, graphc.tensor([0, 1]), graphc.tensor([3, 0]))
    with pytest.raises(IndexError) as ours:
        compiled(x, graphc.tensor([0, 1]), graphc.tensor([1, 7]))
    with pytest.raises(IndexError) as eager:
        function(x, graphc.tensor([0, 1]), graphc.tensor([1, 7]))
    assert str(ours.value) == str(eager.value) == \
        "index 7 is out of bounds for dimension 1 with size 4"


def test_in_place_index_writes_are_never_silently_dropped():
    """masked_fill_/scatter_/index_add_ write through numpy in eager mode: traced, they must
    either compile or break the graph, never vanish from the replay."""
    for write in (lambda t, x: t.masked_fill_(x > 0, 1.0),
                  lambda t, x: t.index_add_(0, graphc.tensor([1, 1]), x[:2]),
                  lambda t, x: t.scatter_(0, graphc.tensor([[2, 0, 1]]), x[:1])):
        targets = [graphc.zeros(3, 3), graphc.zeros(3, 3)]

        def make(target):
            def step(x):
                write(target, x)
                return target.sum()
            return step
        compiled = graphc.compile(make(targets[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for seed in range(3):
                x = rand(3, 3, seed=seed)
                compiled(x)
                make(targets[1])(x)
        np.testing.assert_allclose(targets[0].numpy(), targets[1].numpy(), rtol=1e-6)


def test_a_graph_break_runs_the_function_once():
    calls = []

    def function(x):
        calls.append(1)
        x.add_(1)
        return x * 2 if x.sum().item() > -1e9 else x
    x = graphc.zeros(3)
    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        result = graphc.compile(function)(x)
    assert len(calls) == 1 and x.tolist() == [1.0, 1.0, 1.0] and result.tolist() == [2.0] * 3


def test_compiled_float32_exp_is_accurate_and_handles_special_values():
    x = np.concatenate([np.linspace(-105, 90, 200_001, dtype=np.float32),
                        np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 88.72, -87.5, -103.9],
                                 dtype=np.float32)])
    compiled = graphc.compile(lambda t: t.exp(), fullgraph=True)
    compiled(graphc.from_numpy(x))  # the first call traces, so computes eagerly (numpy's exp)
    ours = compiled(graphc.from_numpy(x)).numpy()
    assert "graphc_expf" in compiled.source()  # the vectorisable exp, not libm's scalar call
    exact = np.exp(x.astype(np.float64))
    normal = (exact > np.finfo(np.float32).tiny) & (exact < np.finfo(np.float32).max)
    rounded = exact[normal].astype(np.float32)
    ulps = np.abs(ours[normal].view(np.int32).astype(np.int64) - rounded.view(np.int32))
    assert ulps.max() <= 1  # within 1 ulp of exp rounded to float32 (checked over every float)
    with np.errstate(over="ignore"):
        expected_special = np.exp(x[~normal])
    np.testing.assert_allclose(ours[~normal], expected_special, rtol=0, atol=1e-44)


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_random_draws_are_identical_to_eager_and_advance_the_generator(dtype):
    def function(x):
        noise = graphc.randn(4, 3, dtype=dtype)
        uniform = graphc.rand(4, 1, dtype=dtype)
        return noise, uniform, x * uniform + noise * 0.5 + 2
    compiled = graphc.compile(function, fullgraph=True)
    x = rand(4, 3, dtype=dtype)
    ours, theirs = draws_of(compiled, function, x, seed=123, calls=4)
    for mine, reference in zip(ours, theirs):
        for a, b in zip(mine[:2], reference[:2]):  # the draws themselves: bit for bit
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        # fused arithmetic may round in another order
        np.testing.assert_allclose(mine[2].numpy(), reference[2].numpy(), rtol=1e-6)
    assert "graphc_philox" in compiled.source()


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_draws_of_every_length_match_eager_bit_for_bit(dtype):
    """A kernel takes a Philox block at a time (4 or 2 values): ragged ends and odd normal
    counts must still give eager's numbers, and the generator must advance as eager's."""
    def function():
        return ([graphc.rand(n, dtype=dtype) for n in (1, 2, 3, 5, 7, 9)]
                + [graphc.randn(n, dtype=dtype) for n in (1, 2, 3, 5, 7, 9)]
                + [graphc.empty(3, 3, dtype=dtype).uniform_(-2, 3),
                   graphc.empty(5, dtype=dtype).normal_(1.5, 0.25)])
    compiled = graphc.compile(function, fullgraph=True)
    ours, theirs = draws_of(compiled, function, seed=7, calls=3)
    for mine, reference in zip(ours, theirs):
        for a, b in zip(mine, reference):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_bernoulli_exponential_and_randint_draws_are_identical_to_eager():
    """Dropout-style masks (bernoulli of a probability tensor or a number), exponential_ and
    randint (one word per value, or two past a span of 2^32) drawn in C as graphc.random
    specifies them, in float32, float64 and int64 alike."""
    def function(x):
        keep = graphc.bernoulli(graphc.full_like(x, 0.7))
        return (keep, x.bernoulli(0.25), graphc.empty(5).exponential_(2.0),
                graphc.empty(3, dtype=graphc.float64).exponential_(),
                graphc.randint(0, 10, (7,)), graphc.randint(-3, 2 ** 40, (3,)),
                x * keep / 0.7)
    compiled = graphc.compile(function, fullgraph=True)
    x = rand(4, 3)
    ours, theirs = draws_of(compiled, function, x, seed=9, calls=3)
    for mine, reference in zip(ours, theirs):
        for a, b in zip(mine[:-1], reference[:-1]):  # the draws: bit for bit
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_allclose(mine[-1].numpy(), reference[-1].numpy(), rtol=1e-6)
    assert "kernel" in compiled.source() and compiled._latest is not None
    masks = graphc.compile(lambda p: graphc.bernoulli(p), fullgraph=True)
    masks(graphc.full((3,), 0.5))
    for bad in ([0.5, 1.5, 0.0], [0.5, float("nan"), 0.1]):
        with pytest.raises(RuntimeError, match=r"Expected p_in >= 0 && p_in <= 1"):
            masks(graphc.tensor(bad))


def test_multinomial_draws_and_checks_as_eager():
    """With and without replacement, 1-D and 2-D; a bad distribution raises eager's error,
    and the generator is left where eager leaves it."""
    def function(p):
        return (graphc.multinomial(p, 5, replacement=True), graphc.multinomial(p, 2),
                graphc.multinomial(p[1] * 2, 3))
    compiled = graphc.compile(function, fullgraph=True)
    p = graphc.tensor([[0.1, 0.5, 0.4, 0.0], [0.0, 1.0, 2.0, 3.0]])
    ours, theirs = draws_of(compiled, function, p, seed=4, calls=4)
    for mine, reference in zip(ours, theirs):
        for a, b in zip(mine, reference):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    for bad in ([[0.1, -0.5, 0.4, 0.0], [0.0, 1.0, 2.0, 3.0]], [[0.0] * 4, [0.0, 1.0, 2.0, 3.0]],
                [[float("nan"), 0, 0, 0], [0.0] * 4]):
        before = graphc.get_rng_state().tolist()
        with pytest.raises(RuntimeError) as eager:
            function(graphc.tensor(bad))
        with pytest.raises(RuntimeError) as error:
            compiled(graphc.tensor(bad))
        assert str(error.value) == str(eager.value)
        assert graphc.get_rng_state().tolist() == before


def test_randperm_minibatches_are_identical_to_eager():
    """A shuffled minibatch drawn inside the step: randperm (Philox keys, a stable sort in C),
    then rows gathered by the computed permutation."""
    data = rand(50, 3)

    def function(w):
        batch = data[graphc.randperm(50)[:8]]
        return (batch @ w).sum(), graphc.randperm(7)
    compiled = graphc.compile(function, fullgraph=True)
    w = rand(3, 2, seed=1)
    ours, theirs = draws_of(compiled, function, w, seed=11, calls=4)
    for (loss, perm), (eager_loss, eager_perm) in zip(ours, theirs):
        np.testing.assert_array_equal(perm.numpy(), eager_perm.numpy())
        np.testing.assert_allclose(loss.item(), eager_loss.item(), rtol=1e-5)
    assert "kernel0_randperm" in compiled.source()


def test_threads_calling_one_compiled_function_get_their_own_results():
    """The native call releases the GIL, and a specialisation's slots and buffers are shared:
    calls take turns (they used to mix each other's inputs and outputs)."""
    import threading
    compiled = graphc.compile(lambda x: (x * 2).sum(1), fullgraph=True)
    inputs = [graphc.full((2000, 100), float(i)) for i in range(4)]
    compiled(inputs[0]), compiled(inputs[0])  # the rendered call path from here on
    wrong = []

    def worker(i):
        for _ in range(100):
            if not np.allclose(compiled(inputs[i]).numpy(), i * 200.0):
                wrong.append(i)
                return
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_a_trace_records_only_its_own_threads_ops():
    """The tracer is per thread: eager ops another thread runs meanwhile stay out of the
    graph (they used to be recorded into it, and their tensors captured)."""
    import threading
    stop = threading.Event()

    def eager_worker():
        y = graphc.rand(5)
        while not stop.is_set():
            (y * 3 + 1).exp().sum()
    worker = threading.Thread(target=eager_worker)
    worker.start()
    try:
        def function(x):
            for _ in range(100):
                x = x * 1.0001 + 0.001
            return x
        compiled = graphc.compile(function, fullgraph=True)
        for seed in range(3):
            x = rand(5, seed=seed)
            np.testing.assert_allclose(compiled(x).numpy(), function(x).numpy(), rtol=1e-5)
    finally:
        stop.set()
        worker.join()
    ops = {node.op for node in compiled.graph().nodes}
    assert ops == {"input", "mul", "add"} and len(compiled.graph().nodes) == 201


def test_compiled_writes_give_the_versions_eager_gives():
    """`w.data.sub_` leaves w's version alone (.data has a counter of its own); `v.sub_` under
    no_grad and the accumulation into .grad bump theirs, as eager does."""
    def make():
        w, v = graphc.rand(3, requires_grad=True), graphc.rand(3, requires_grad=True)

        def step():
            (w * v).sum().backward()
            w.data.sub_(0.1)
            with graphc.no_grad():
                v.sub_(0.1)
        return w, v, step
    w, v, step = make()
    compiled = graphc.compile(step)
    ew, ev, eager = make()
    for _ in range(4):
        compiled(), eager()
        assert (w._version, v._version, w.grad._version) == \
            (ew._version, ev._version, ew.grad._version)


def test_a_returned_tensor_is_never_overwritten_by_a_later_call():
    """The call path reuses last call's output array only when nothing holds it any more."""
    compiled = graphc.compile(lambda x: x * 2, fullgraph=True)
    x = rand(4)
    compiled(x), compiled(x)  # the rendered call path is in use from here
    kept = compiled(x)
    view, array = kept[1:], kept.numpy()
    expected = x.numpy() * 2
    for k in range(5):
        compiled(rand(4, seed=k + 1))
        np.testing.assert_array_equal(kept.numpy(), expected)
    del kept
    for k in range(3):  # a view, or the numpy array, still holds the memory
        compiled(rand(4, seed=k + 10))
        np.testing.assert_array_equal(view.numpy(), expected[1:])
        np.testing.assert_array_equal(array, expected)
    results = [compiled(rand(4, seed=k)) for k in range(4)]  # all alive: all distinct
    for k, result in enumerate(results):
        np.testing.assert_array_equal(result.numpy(), rand(4, seed=k).numpy() * 2)


def test_tensors_created_inside_are_fresh_in_every_call():
    """zeros/full/tensor([...]) inside the function are constants of the graph: writes into
    them stay inside the call, and each call's results are its own."""
    def function(x):
        buffer = graphc.zeros(3)
        buffer += x                     # written in place: must not leak into the next call
        table = graphc.tensor([1.0, 2.0, 3.0])
        return buffer * table, graphc.full((2,), 4.0)
    compiled = graphc.compile(function, fullgraph=True)
    results = [compiled(rand(3, seed=k)) for k in range(4)]
    for k, (product, constant) in enumerate(results):
        np.testing.assert_allclose(product.numpy(), rand(3, seed=k).numpy() * [1, 2, 3],
                                   rtol=1e-6)
        np.testing.assert_array_equal(constant.numpy(), [4.0, 4.0])
    results[0][1].fill_(-1.0)  # the caller owns what it got
    np.testing.assert_array_equal(compiled(rand(3))[1].numpy(), [4.0, 4.0])
    assert "%const0 = input()" in compiled.graph().listing()


def test_reduction_buffers_are_planned_once():
    compiled = graphc.compile(lambda x: x - x.mean(1, keepdim=True), fullgraph=True)
    x = rand(3, 4)
    first = compiled(x)
    (buffer,) = compiled._latest.scratch.values()
    second = compiled(rand(3, 4, seed=3))
    assert next(iter(compiled._latest.scratch.values())) is buffer
    assert first.data_ptr() != second.data_ptr()  # outputs are fresh on every call


def test_strided_and_expanded_inputs_are_read_in_place():
    function = CHAINS["broadcast"]
    base = rand(5, 4)
    x = base.t()                     # a transposed view: strides (1, 4)
    y = rand(1).expand(5)            # stride 0
    compiled = graphc.compile(function)
    check_same(compiled, function, x, y)
    (first, *_) = compiled._specialisations.values()  # the one for the strided arguments
    assert "in0_data[idx0 + idx1 * 4]" in first.source  # the transpose's strides
    assert "in1_data[0]" in first.source                # the expanded scalar


def test_several_outputs_in_structures():
    def function(x, y):
        s = x + y
        return {"sum": s, "pair": (s * 2, x.exp()), "n": 3}
    compiled = graphc.compile(function)
    x, y = rand(3, 2), rand(3, 2, seed=2)
    result, expected = compiled(x, y), function(x, y)
    assert result["n"] == 3
    np.testing.assert_allclose(result["pair"][0].numpy(), expected["pair"][0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(result["pair"][1].numpy(), expected["pair"][1].numpy(), rtol=1e-6)
    np.testing.assert_allclose(result["sum"].numpy(), expected["sum"].numpy(), rtol=1e-6)


def test_a_new_shape_adds_a_specialisation():
    compiled = graphc.compile(lambda x: x * 2 + 1)
    compiled(rand(3))
    compiled(rand(4, 2))
    compiled(rand(3, seed=5))
    assert len(compiled._specialisations) == 2


def test_numbers_from_the_closure_are_guarded_not_frozen():
    scale = 2.0

    def function(x):
        return x * scale
    compiled = graphc.compile(function)
    x = rand(3)
    first = compiled(x).numpy()
    scale = 5.0  # noqa: F841 (read by function through its closure)
    np.testing.assert_allclose(compiled(x).numpy(), x.numpy() * 5.0, rtol=1e-6)
    np.testing.assert_allclose(first, x.numpy() * 2.0, rtol=1e-6)


CAPTURED = graphc.ones(3)


def test_captured_tensors_are_read_on_every_call():
    compiled = graphc.compile(lambda x: x + CAPTURED)
    x = rand(3)
    compiled(x)
    CAPTURED.fill_(10.0)
    np.testing.assert_allclose(compiled(x).numpy(), x.numpy() + 10.0, rtol=1e-6)
    CAPTURED.fill_(1.0)


REBOUND = graphc.ones(3)


def test_a_rebound_global_or_closure_tensor_is_read_afresh():
    global REBOUND
    compiled = graphc.compile(lambda x: x * REBOUND)
    x = rand(3)
    for value in (2.0, 3.0, 4.0):  # the third call takes the rendered call path
        REBOUND = graphc.full((3,), value)
        np.testing.assert_allclose(compiled(x).numpy(), x.numpy() * value, rtol=1e-6)
    assert len(compiled._specialisations) == 1  # same signature: no recompile

    weight = graphc.ones(2, 2)

    def closure(x):
        return x.mm(weight)
    compiled = graphc.compile(closure)
    x = rand(3, 2)
    for value in (1.0, 2.0, 3.0):
        weight = graphc.full((2, 2), value)  # noqa: F841 (read by closure)
        np.testing.assert_allclose(compiled(x).numpy(), closure(x).numpy(), rtol=1e-6)
    REBOUND = graphc.ones(3)


def test_a_compiled_method_reads_its_instances_tensors_afresh():
    """@graphc.compile on a method: bound to each instance, whose tensors (self.weight) are
    read on every call, rebinding included; its gradient reaches them."""
    class Model:
        def __init__(self, value):
            self.weight = graphc.full((3,), value, requires_grad=True)

        @graphc.compile
        def forward(self, x):
            return (x * self.weight).sum() * 2

    first, second = Model(1.0), Model(3.0)
    x = rand(3)
    for call in range(4):
        if call == 2:
            first.weight = graphc.full((3,), 5.0, requires_grad=True)
        for model in (first, second):
            result = model.forward(x)
            np.testing.assert_allclose(result.item(), (x * model.weight).sum().item() * 2,
                                       rtol=1e-6)
    first.forward(x).backward()
    np.testing.assert_allclose(first.weight.grad.numpy(), 2 * x.numpy(), rtol=1e-6)


def test_captured_tensors_in_objects_and_containers_are_read_afresh():
    class Model:
        pass
    model, params = Model(), {"bias": graphc.zeros(3)}
    model.weight = graphc.ones(3)

    def function(x):
        return x * model.weight + params["bias"]
    compiled = graphc.compile(function)
    x = rand(3)
    for value in (1.0, 2.0, 3.0):
        model.weight = graphc.full((3,), value)
        params["bias"] = graphc.full((3,), -value)
        np.testing.assert_allclose(compiled(x).numpy(), x.numpy() * value - value, rtol=1e-6)


def test_a_captured_tensor_given_other_data_or_shape_is_never_read_blindly():
    weight = graphc.ones(3)
    compiled = graphc.compile(lambda x: x * weight)
    x = rand(3)
    compiled(x), compiled(x)
    weight.data = graphc.full((2, 3), 7.0)  # another shape: a new specialisation
    np.testing.assert_allclose(compiled(x).numpy(), np.broadcast_to(x.numpy() * 7, (2, 3)),
                               rtol=1e-6)
    weight.set_(graphc.full((3,), 5.0))  # another array of the same shape: a new pointer
    np.testing.assert_allclose(compiled(x).numpy(), x.numpy() * 5, rtol=1e-6)
    assert len(compiled._specialisations) == 2


def test_the_rendered_call_path_refuses_what_it_was_not_written_for():
    scale = 2.0

    def function(x, y):
        return x * scale + y
    compiled = graphc.compile(function)
    x, y = rand(3), rand(3, seed=1)
    compiled(x, y), compiled(x, y)
    source = compiled.call_source()
    assert source.startswith("def call_function(self, *args, **kwargs):") and "raise Miss" in source
    assert type(compiled).__call__.source == source  # the call enters it directly
    # one native call: the C call steps (graphc_call.Call.run), or their Python spelling
    assert ("CALL0()" in source) if native_call.extension() else ("ENTRY0(SLOTS0, WORDS0" in source)
    # each of these changes what the call means: the guard must send it elsewhere
    cases = [((rand(4), rand(4, seed=1)), {}, lambda: None),
             ((x, y), {}, lambda: None),
             ((x.double(), y.double()), {}, lambda: None),
             ((x, 3.0), {}, lambda: None),
             ((x, y.t()), {}, lambda: None),
             ((x, rand(3, 1)), {}, lambda: None)]
    for args, kwargs, _ in cases:
        reference = function(*args, **kwargs)
        ours = compiled(*args, **kwargs)
        assert ours.shape == reference.shape and ours.dtype == reference.dtype
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-6)
    scale = 3.0  # noqa: F841 (read by function)
    np.testing.assert_allclose(compiled(x, y).numpy(), x.numpy() * 3 + y.numpy(), rtol=1e-6)
    with graphc.no_grad():
        np.testing.assert_allclose(compiled(x, y).numpy(), x.numpy() * 3 + y.numpy(),
                                   rtol=1e-6)
    grad_x = x.detach().clone().requires_grad_()
    out = compiled(grad_x, y)
    assert out.grad_fn is not None  # now differentiable: another specialisation
    np.testing.assert_allclose(out.detach().numpy(), x.numpy() * 3 + y.numpy(), rtol=1e-6)


def test_ops_reading_values_in_python_never_freeze_them():
    """take_along_dim wrapped negative indices by reading them in Python: a compiled replay
    kept the trace's indices. It now wraps them with traced ops; allclose and normal's check
    of a std tensor, which must read values, are graph breaks."""
    function = lambda x, i: graphc.take_along_dim(x, i, 1)  # noqa: E731
    compiled = graphc.compile(function, fullgraph=True)
    x = rand(3, 4)
    compiled(x, graphc.tensor([[0], [-1], [2]]))
    for indices in ([[-2], [1], [-4]], [[3], [-3], [0]]):
        np.testing.assert_array_equal(compiled(x, graphc.tensor(indices)).numpy(),
                                      function(x, graphc.tensor(indices)).numpy())
    for reads in (lambda x: x.allclose(x * 1), lambda x: graphc.normal(x, x.abs())):
        with pytest.raises(graphc.CompileError, match="reads a tensor's value"):
            graphc.compile(reads, fullgraph=True)(x)


def test_data_dependent_python_is_a_graph_break():
    def function(x):
        if x.sum().item() > 0:
            return x * 2
        return x
    with pytest.raises(graphc.CompileError, match=r"item\(\) reads a tensor's value.*test_compile.py:\d+"):
        graphc.compile(function, fullgraph=True)(rand(3))
    relaxed = graphc.compile(function)
    x = rand(3)
    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        result = relaxed(x)
    np.testing.assert_allclose(result.numpy(), function(x).numpy())


def test_ops_without_a_lowering_fall_back_to_eager():
    function = lambda x: x.unique() * 2  # noqa: E731  (a shape that depends on the values)
    x = graphc.tensor([3.0, 1.0, 3.0])
    with pytest.raises(graphc.CompileError, match="unique has no C lowering yet"):
        graphc.compile(function, fullgraph=True)(x)
    with pytest.warns(RuntimeWarning):
        result = graphc.compile(function)(x)
    np.testing.assert_allclose(result.numpy(), function(x).numpy(), rtol=1e-6)


def test_missing_compiler_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-graphc")
    with pytest.raises(graphc.CompileError, match="needs a C compiler"):
        graphc.compile(lambda x: x + 1, fullgraph=True)(rand(2))
    with pytest.warns(RuntimeWarning, match="needs a C compiler"):
        result = graphc.compile(lambda x: x + 1)(rand(2))
    np.testing.assert_allclose(result.numpy(), rand(2).numpy() + 1, rtol=1e-6)


def test_inspection_names_kernels_and_ir_nodes(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_DUMP", str(tmp_path / "dump"))
    compiled = graphc.compile(CHAINS["seed formula"])
    compiled(rand(3), rand(3))
    source = compiled.source()
    assert "static void kernel0_" in source and "IR nodes: %v" in source
    assert "test_compile.py" in source  # the user's line the kernel comes from
    assert "%v" in compiled.graph().listing()
    dumped = list((tmp_path / "dump").glob("*.c"))
    assert dumped and dumped[0].read_text() == source


def test_a_process_with_busy_openmp_workers_exits_cleanly(private_cache):
    """Unloading compiled libraries at exit used to unmap libgomp under its spinning workers."""
    script = textwrap.dedent("""
        import graphc
        graphc.set_num_threads(2)
        x = graphc.randn(300_000)
        compiled = graphc.compile(lambda t: t * graphc.exp(t), fullgraph=True)
        for _ in range(5):
            compiled(x)
        print("done")
    """)
    environment = dict(os.environ, OMP_WAIT_POLICY="ACTIVE")
    finished = subprocess.run([sys.executable, "-c", script], env=environment,
                              capture_output=True, text=True, timeout=120)
    assert (finished.returncode, finished.stdout.strip()) == (0, "done"), finished.stderr


def test_an_unrolled_loop_shares_one_function_per_distinct_kernel():
    """The steps of an unrolled RNN differ only in the buffers (and operand offsets) they are
    called with: each distinct kernel is one C function, called once per step."""
    graphc.manual_seed(0)
    w = graphc.randn(8, 8, dtype=graphc.float64, requires_grad=True)
    u = graphc.randn(3, 8, dtype=graphc.float64, requires_grad=True)

    def unrolled(xs):
        h = graphc.zeros(2, 8, dtype=graphc.float64)
        for t in range(20):
            h = (xs[t] @ u + h @ w).tanh()
        loss = h.sum()
        loss.backward()
        return loss
    xs = graphc.randn(20, 2, 3, dtype=graphc.float64)
    expected = unrolled(xs).item()
    grads = [w.grad.numpy().copy(), u.grad.numpy().copy()]
    w.grad = u.grad = None
    compiled = graphc.compile(unrolled, fullgraph=True)
    compiled(xs)  # the trace
    w.grad = u.grad = None
    assert compiled(xs).item() == pytest.approx(expected, rel=1e-12)
    for p, g in zip((w, u), grads):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-12)
    source = compiled.source()
    definitions = source.count("static void kernel")
    calls = source.split("int graphc_entry")[1].count("kernel")
    assert definitions <= 16 and calls >= 100, (definitions, calls)
    assert "also called, with other operands, for:" in source


def _sgd_steps(update, shape, steps=3, dtype=graphc.float64):
    """Eager and compiled runs of `steps` SGD steps of a one-layer model whose weight `update`
    changes in place with its .grad dropped: (eager weights and losses, compiled ones, source)."""
    m, k, n = shape
    x, target = rand(m, k, dtype=dtype, seed=1), rand(m, n, dtype=dtype, seed=2)
    runs = []
    for compiling in (False, True):
        w = rand(k, n, dtype=dtype, seed=3).requires_grad_()

        def step(x, target):
            loss = ((x @ w).tanh() - target).pow(2).mean()
            loss.backward()
            with graphc.no_grad():
                update(w)
            w.grad = None
            return loss
        run = graphc.compile(step, fullgraph=True) if compiling else step
        losses = [run(x, target).item() for _ in range(steps)]
        assert w.grad is None
        runs.append((w.detach().numpy().copy(), losses, run.source() if compiling else None))
    return runs


@pytest.mark.parametrize("update", [lambda w: w.sub_(0.1 * w.grad),
                                    lambda w: w.add_(w.grad, alpha=-0.25),
                                    lambda w: w.sub_(w.grad * 0.5),
                                    lambda w: w.add_(-(w.grad * 0.1))],
                         ids=["sub_lr_times_grad", "add_alpha", "sub_grad_times_lr", "add_neg"])
@pytest.mark.parametrize("shape", [(4, 6, 5), (64, 96, 80)], ids=["loop_nest", "gemm"])
def test_an_sgd_step_on_a_dropped_gradient_accumulates_into_the_weight(update, shape):
    """With the .grad dropped, nothing observes the gradient: the product computing it adds
    -lr times itself into the weight (GEMM alpha = -lr, beta = 1 above BLAS's size), and the
    step still equals eager's."""
    (eager_w, eager_losses, _), (compiled_w, compiled_losses, source) = _sgd_steps(update, shape)
    np.testing.assert_allclose(compiled_w, eager_w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-12)
    assert "_matmul_update(" in source
    entry = source.split("int graphc_entry")[1]
    if shape[0] * shape[1] * shape[2] >= 16384:
        assert re.search(r"scipy_cblas_dgemm\(101, 112, 111, 96, 80, 64, -0\.\d+, in0_data, 96, "
                         r"buf\d+_data, 80, 1\.0, out\d+_data", source), source
    # the gradient's buffer is gone: every buffer the entry unpacks is passed to a kernel
    for pointer in re.findall(r"(buf\d+_data) = ", entry):
        assert entry.count(pointer) > 1, pointer


def test_a_product_reading_the_weight_it_updates_is_not_accumulated_into_it():
    graphc.manual_seed(0)
    runs = []
    for compiling in (False, True):
        w = rand(24, 24, dtype=graphc.float64, seed=4)

        def step(scale):
            w.sub_(0.01 * (w @ w))
            return w.sum() * scale
        run = graphc.compile(step, fullgraph=True) if compiling else step
        runs.append([run(2.0).item() for _ in range(3)] + [w.numpy().copy()])
    np.testing.assert_allclose(runs[1][-1], runs[0][-1], rtol=1e-12)
    np.testing.assert_allclose(runs[1][:3], runs[0][:3], rtol=1e-12)
    assert "_matmul_update(" not in run.source()


@pytest.mark.parametrize("size", [6, 40])
def test_two_updates_whose_products_read_each_others_weight_fuse_only_safely(size):
    """d(a @ b)/da reads b and d/db reads a: once one product accumulates into its weight, the
    other must not move past that write (it would read the new weight)."""
    runs = []
    for compiling in (False, True):
        a = rand(size, size, dtype=graphc.float64, seed=5).requires_grad_()
        b = rand(size, size, dtype=graphc.float64, seed=6).requires_grad_()

        def step():
            loss = (a @ b).sum()
            loss.backward()
            with graphc.no_grad():
                a.sub_(0.01 * a.grad)
                b.sub_(0.01 * b.grad)
            a.grad = b.grad = None
            return loss
        run = graphc.compile(step, fullgraph=True) if compiling else step
        losses = [run().item() for _ in range(3)]
        runs.append((losses, a.detach().numpy().copy(), b.detach().numpy().copy()))
    for compiled, eager in zip(runs[1], runs[0]):
        np.testing.assert_allclose(compiled, eager, rtol=1e-12)
    assert run.source().count("_matmul_update(") == 2  # its definition and its one call


def test_a_captured_tensor_given_another_dtype_is_a_new_specialisation():
    """The guard compares a captured tensor's dtype where its array changed (an array keeps
    its dtype): `w.data = w.double()` is seen."""
    w = graphc.ones(3)

    def f(x):
        return x * w
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.full((3,), 1.0 / 3, dtype=graphc.float64)
    for _ in range(2):
        assert compiled(x).dtype == f(x).dtype == graphc.float64
    w.data = graphc.full((3,), 1.0 / 3, dtype=graphc.float64)
    for _ in range(2):
        ours, eager = compiled(x), f(x)
        assert ours.dtype == eager.dtype
        np.testing.assert_array_equal(ours.numpy(), eager.numpy())
    w.data = graphc.full((3,), 2, dtype=graphc.int64)
    np.testing.assert_array_equal(compiled(x).numpy(), f(x).numpy())
