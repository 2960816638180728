"""Every differentiable op in the registry is gradchecked (float64, finite differences).

Elementwise ops are covered automatically from their declaration (their gradient is derived from
the formula); every other op needs at least one case in GRADIENT_CASES, and a test fails when a
differentiable op has none, so a newly declared op cannot go untested.
"""
import numpy as np
import pytest

import graphc
import graphc.nn.functional as F
from graphc.autograd import gradcheck, gradgradcheck
from graphc.ir.registry import COMPARE, INTEGRAL, LOGICAL, REGISTRY

RNG = np.random.default_rng(1234)


def leaf(*shape, low=-1.5, high=1.5):
    return graphc.tensor(RNG.uniform(low, high, shape), dtype=graphc.float64, requires_grad=True)


def positive(*shape):
    return leaf(*shape, low=0.5, high=2.0)


def away_from_integers(*shape):
    """Values whose fractional part keeps clear of the jumps of floor/round/remainder."""
    whole = RNG.integers(-3, 3, shape)
    return graphc.tensor(whole + RNG.uniform(0.2, 0.4, shape), dtype=graphc.float64,
                         requires_grad=True)


# ------------------------------------------------------------------ elementwise (automatic)

NOT_DIFFERENTIABLE_RULES = (COMPARE, LOGICAL, INTEGRAL)
ELEMENTWISE_DOMAINS = {  # op -> makers of its operands (default: leaf(3, 4) for each)
    "log": [positive], "log2": [positive], "log10": [positive], "sqrt": [positive],
    "rsqrt": [positive], "reciprocal": [positive], "log1p": [positive],
    "asin": [lambda *s: leaf(*s, low=-0.9, high=0.9)],
    "acos": [lambda *s: leaf(*s, low=-0.9, high=0.9)],
    "div": [leaf, positive], "pow": [positive, leaf], "atan2": [leaf, positive],
    "floor": [away_from_integers], "ceil": [away_from_integers], "trunc": [away_from_integers],
    "round": [away_from_integers], "frac": [away_from_integers],
    "div_floor": [away_from_integers, lambda *s: graphc.full(s, 1.0, dtype=graphc.float64)],
    "div_trunc": [away_from_integers, lambda *s: graphc.full(s, 1.0, dtype=graphc.float64)],
    "remainder": [away_from_integers, lambda *s: graphc.full(s, 1.0, dtype=graphc.float64)],
    "fmod": [away_from_integers, lambda *s: graphc.full(s, 1.0, dtype=graphc.float64)],
    "where": [lambda *s: graphc.tensor(RNG.random(s) > 0.5), leaf, leaf],
    "clamp": [lambda *s: leaf(*s, low=-3, high=3),
              lambda *s: graphc.full(s, -0.5, dtype=graphc.float64, requires_grad=True),
              lambda *s: graphc.full(s, 0.55, dtype=graphc.float64, requires_grad=True)],
    "cast": [leaf],
}
ELEMENTWISE_ATTRS = {"round": {"decimals": 0}, "cast": {"dtype": graphc.float64}}


def differentiable_elementwise_ops():
    return sorted(name for name, op in REGISTRY.items()
                  if op.kind == "elementwise" and op.differentiable
                  and op.dtype_rule not in NOT_DIFFERENTIABLE_RULES and op.arity)


def _elementwise_case(name):
    op = REGISTRY[name]
    makers = ELEMENTWISE_DOMAINS.get(name, [leaf] * op.arity)
    operands = [make(3, 4) for make in makers]
    attrs = ELEMENTWISE_ATTRS.get(name, {})

    def function(*tensors):
        return graphc.dispatch.apply(op, tensors, attrs)
    return function, tuple(operands)


@pytest.mark.parametrize("name", differentiable_elementwise_ops())
def test_elementwise_gradient_matches_finite_differences(name):
    function, operands = _elementwise_case(name)
    assert gradcheck(function, operands)


@pytest.mark.parametrize("name", [n for n in differentiable_elementwise_ops()
                                  if n not in ("floor", "ceil", "trunc", "round", "frac", "sign",
                                               "div_floor", "div_trunc", "cast")])
def test_elementwise_second_derivative_matches_finite_differences(name):
    function, operands = _elementwise_case(name)
    assert gradgradcheck(function, operands)


# ------------------------------------------------------------------ every other op, by hand

def _index(*values):
    return graphc.tensor(list(values))


def _backward_op(name, *operands, **attrs):
    """Run a gradient-only primitive (what a first backward records) directly."""
    from graphc.dispatch import apply
    return apply(REGISTRY[name], operands, attrs)


GRADIENT_CASES = {
    # views
    "view": [(lambda x: x.view(12), [leaf(3, 4)]), (lambda x: x.view(2, -1, 3), [leaf(3, 4)])],
    "expand": [(lambda x: x.expand(2, 3, 4), [leaf(3, 1)])],
    "permute": [(lambda x: x.permute(2, 0, 1), [leaf(2, 3, 4)]), (lambda x: x.t(), [leaf(3, 4)])],
    "squeeze": [(lambda x: x.squeeze(1), [leaf(3, 1, 2)])],
    "unsqueeze": [(lambda x: x.unsqueeze(-1), [leaf(3, 2)])],
    "slice": [(lambda x: x[1:, ::2], [leaf(3, 4)]), (lambda x: x[0], [leaf(3, 4)]),
              (lambda x: x.narrow(1, 1, 2), [leaf(3, 4)]),
              (lambda x: x.split(2, 1)[1], [leaf(3, 4)]),
              (lambda x: x.chunk(2, 0)[0], [leaf(4, 3)]),
              (lambda x: x.unbind(1)[2], [leaf(3, 4)])],
    "diagonal": [(lambda x: x.diagonal(1), [leaf(3, 4)])],
    "alias": [(lambda x: x.view(3, 4), [leaf(3, 4)])],
    "as_strided": [(lambda x: x.as_strided((2, 2), (1, 2)), [leaf(6)])],
    # allocating shape ops
    "clone": [(lambda x: x.clone(), [leaf(3)])],
    "contiguous": [(lambda x: x.t().contiguous(), [leaf(3, 4)])],
    "cat": [(lambda x, y: graphc.cat([x, y], 1), [leaf(2, 3), leaf(2, 2)]),
            (lambda x, y: graphc.stack([x, y], 0), [leaf(2, 3), leaf(2, 3)])],
    "repeat": [(lambda x: x.repeat(2, 1, 3), [leaf(2, 2)])],
    "flip": [(lambda x: x.flip(0, 1), [leaf(3, 2)])],
    # reductions and scans
    "sum": [(lambda x: x.sum(), [leaf(3, 4)]), (lambda x: x.sum((0, 2), keepdim=True), [leaf(2, 3, 4)])],
    "mean": [(lambda x: x.mean(1), [leaf(3, 4)])],
    "prod": [(lambda x: x.prod(1), [leaf(3, 4)]),
             (lambda x: x.prod(), [graphc.tensor([1.5, 0.0, 2.0, -1.0], dtype=graphc.float64,
                                                  requires_grad=True)]),
             (lambda x: x.prod(0), [graphc.tensor([[0.0, 2.0], [0.0, 3.0]], dtype=graphc.float64,
                                                   requires_grad=True)])],
    "amax": [(lambda x: x.amax(1), [leaf(3, 4)]), (lambda x: x.max(), [leaf(3, 4)])],
    "amin": [(lambda x: x.amin((0, 1)), [leaf(3, 4)]), (lambda x: x.min(), [leaf(5)])],
    "cumsum": [(lambda x: x.cumsum(1), [leaf(3, 4)])],
    "cumprod": [(lambda x: x.cumprod(1), [leaf(3, 4)]),
                (lambda x: x.cumprod(0), [graphc.tensor([2.0, 0.0, 3.0, 0.5, 0.0, 1.5],
                                                        dtype=graphc.float64, requires_grad=True)])],
    "value_select": [(lambda x: x.max(1).values, [leaf(3, 4)]),
                     (lambda x: x.min(0, keepdim=True)[0], [leaf(3, 4)]),
                     (lambda x: x.median(1).values, [leaf(3, 5)]),
                     (lambda x: x.mode(1).values, [leaf(3, 5)]),
                     (lambda x: x.sort(1, descending=True).values, [leaf(3, 4)]),
                     (lambda x: x.topk(2, 1).values, [leaf(3, 4)]),
                     (lambda x: x.kthvalue(2, 1).values, [leaf(3, 4)])],
    "median_all": [(lambda x: x.median(), [leaf(7)])],
    "vector_norm": [(lambda x: x.norm(), [leaf(3, 4)]), (lambda x: x.norm(3, 1), [leaf(3, 4)]),
                    (lambda x: graphc.linalg.vector_norm(x, 1), [leaf(5)]),
                    (lambda x, y: x.dist(y), [leaf(4), leaf(4)])],
    "matrix_norm": [(lambda x: graphc.linalg.matrix_norm(x), [leaf(3, 4)]),
                    (lambda x: graphc.linalg.matrix_norm(x, 1), [leaf(3, 4)])],
    "nuclear_norm": [(lambda x: x.norm("nuc"), [leaf(3, 4)])],
    # indexing
    "index": [(lambda x: x[[0, 2, 0]], [leaf(3, 4)]), (lambda x: x[:, [1, 1, 3]], [leaf(3, 4)])],
    "index_put": [(lambda x, v: x.index_put((_index(0, 2),), v), [leaf(3, 4), leaf(4)]),
                  (lambda x, v: x.index_put((_index(1, 1),), v, accumulate=True), [leaf(3, 2), leaf(2)])],
    "masked_fill": [(lambda x: x.masked_fill(_index(True, False, True), 2.0), [leaf(2, 3)])],
    "masked_select": [(lambda x: x.masked_select(_index(True, False, True)), [leaf(2, 3)])],
    "index_select": [(lambda x: x.index_select(1, _index(0, 3, 0)), [leaf(3, 4)])],
    "gather": [(lambda x: x.gather(1, graphc.tensor([[0, 0], [1, 2], [3, 3]])), [leaf(3, 4)])],
    "scatter": [(lambda x, s: x.scatter(0, graphc.tensor([[1, 2, 0]]), s), [leaf(3, 3), leaf(1, 3)])],
    "scatter_add": [(lambda x, s: x.scatter_add(1, graphc.tensor([[0, 0], [1, 1]]), s),
                     [leaf(2, 3), leaf(2, 2)])],
    "index_add": [(lambda x, s: x.index_add(0, _index(1, 1), s, alpha=2.0), [leaf(3, 2), leaf(2, 2)])],
    "index_fill": [(lambda x: x.index_fill(1, _index(0, 2), -1.0), [leaf(2, 3)])],
    "index_copy": [(lambda x, s: x.index_copy(0, _index(2, 0), s), [leaf(3, 2), leaf(2, 2)])],
    "take": [(lambda x: x.take(_index(0, 5, 5)), [leaf(2, 3)])],
    "put": [(lambda x, s: x.put(_index(1, 4), s), [leaf(2, 3), leaf(2)])],
    # fused primitives (eager's one-node forms of composites)
    "addmm": [(lambda i, a, b: graphc.addmm(i, a, b), [leaf(3), leaf(2, 4), leaf(4, 3)]),
              (lambda i, a, b: graphc.addmm(i, a, b.t(), beta=0.5, alpha=-2.0),
               [leaf(2, 1), leaf(2, 4), leaf(3, 4)]),
              (lambda i, a, b: graphc.addmm(i, a.t(), b), [leaf(2, 3), leaf(4, 2), leaf(4, 3)])],
    "log_softmax": [(lambda x: x.log_softmax(1), [leaf(3, 4)]),
                    (lambda x: x.log_softmax(0), [leaf(2, 3, 2)]),
                    (lambda x: x.log_softmax(-1), [leaf(5)])],
    "nll_loss": [(lambda x: F.nll_loss(x, _index(0, 3, -100, 3)), [leaf(4, 4)]),
                 (lambda x: F.nll_loss(x, _index(1, 0, 2), reduction="sum",
                                       weight=graphc.tensor([0.5, 2.0, 1.0], dtype=graphc.float64)),
                  [leaf(3, 3)]),
                 (lambda x: F.nll_loss(x, graphc.tensor([[0, 2], [1, 1]]), reduction="none"),
                  [leaf(2, 3, 2)]),
                 (lambda x: F.nll_loss(x, graphc.tensor(2), ignore_index=0), [leaf(4)])],
    # linear algebra
    "matmul": [(lambda a, b: a @ b, [leaf(3, 4), leaf(4, 2)]),
               (lambda a, b: a @ b, [leaf(2, 3, 4), leaf(4, 5)]),
               (lambda a, b: a @ b, [leaf(4), leaf(2, 4, 3)]),
               (lambda a, b: a @ b, [leaf(2, 1, 3, 4), leaf(4, 2)]),
               (lambda a, b: a.mv(b), [leaf(3, 4), leaf(4)]),
               (lambda a, b: a.dot(b), [leaf(4), leaf(4)]),
               (lambda a, b: graphc.bmm(a, b), [leaf(2, 3, 4), leaf(2, 4, 2)]),
               (lambda c, a, b: graphc.addmm(c, a, b, beta=0.5, alpha=2.0),
                [leaf(3, 2), leaf(3, 4), leaf(4, 2)]),
               (lambda a, b: graphc.outer(a, b), [leaf(3), leaf(2)])],
    "trace": [(lambda x: x.trace(), [leaf(3, 4)])],
    "diag_embed": [(lambda x: x.diag(1), [leaf(3)]), (lambda x: graphc.diag_embed(x), [leaf(2, 3)])],
    "triu": [(lambda x: x.triu(1), [leaf(3, 4)])],
    "tril": [(lambda x: x.tril(-1), [leaf(2, 3, 3)])],
    "cross": [(lambda a, b: graphc.cross(a, b, dim=1), [leaf(2, 3), leaf(2, 3)])],
    "inverse": [(lambda x: x.inverse(), [leaf(3, 3)])],
    "det": [(lambda x: x.det(), [leaf(3, 3)]), (lambda x: x.det(), [leaf(2, 3, 3)])],
    "slogdet_logabsdet": [(lambda x: graphc.slogdet(x)[1], [leaf(3, 3)]),
                          (lambda x: graphc.logdet(x @ x.mT + graphc.eye(3, dtype=graphc.float64)),
                           [leaf(3, 3)])],
    "svd_s": [(lambda x: graphc.linalg.svdvals(x), [leaf(4, 3)])],
    "svd_u": [(lambda x: _gauge_invariant_u(graphc.linalg.svd(x, full_matrices=False)[0]), [leaf(4, 3)])],
    "svd_vh": [(lambda x: _gauge_invariant_vh(graphc.linalg.svd(x, full_matrices=False)[2]), [leaf(3, 4)])],
    "svd_v": [(lambda x: _reconstruct(*graphc.svd(x)), [leaf(4, 3)])],
    "solve": [(lambda a, b: graphc.linalg.solve(a, b), [leaf(3, 3), leaf(3, 2)])],
    "cholesky": [(lambda x: graphc.linalg.cholesky(x @ x.mT + graphc.eye(3, dtype=graphc.float64)),
                  [leaf(3, 3)])],
    "eigh_values": [(lambda x: graphc.linalg.eigvalsh(x + x.mT), [leaf(3, 3)])],
    "eigh_vectors": [(lambda x: _gauge_invariant_u(graphc.linalg.eigh(x + x.mT)[1]), [leaf(3, 3)])],
    "qr_q": [(lambda x: graphc.linalg.qr(x)[0], [leaf(4, 3)])],
    "qr_r": [(lambda x: graphc.linalg.qr(x)[1], [leaf(4, 3)])],
    # the same draw on every call (gradcheck evaluates the function many times)
    "bernoulli": [(lambda p: graphc.bernoulli(p.clamp(0, 1), generator=graphc.Generator().manual_seed(0))
                   * p, [leaf(3)])],
    "scatter_reduce": [(lambda x, s: x.scatter_reduce(0, _index(0, 2), s, "sum"), [leaf(3), leaf(2)])],
    # gradient-only primitives of shape ops (their gradients give second derivatives)
    "slice_backward": [(lambda g: _backward_op("slice_backward", g, shape=(3, 4),
                                               index=(slice(1, None), slice(None, None, 2))),
                        [leaf(2, 2)])],
    "diagonal_backward": [(lambda g: _backward_op("diagonal_backward", g, shape=(3, 4), offset=1,
                                                  dim1=0, dim2=1), [leaf(3)])],
    "as_strided_backward": [(lambda g: _backward_op(
        "as_strided_backward", g, input_shape=(6,), input_stride=(1,), input_offset=0,
        size=(2, 2), stride=(1, 2), offset=0), [leaf(2, 2)])],
    "as_strided_gather": [(lambda x: _backward_op(
        "as_strided_gather", x, input_shape=(6,), input_stride=(1,), input_offset=0,
        size=(2, 2), stride=(1, 2), offset=0), [leaf(6)])],
}


def _gauge_invariant_u(u):
    """Functions of U that do not depend on the sign of each singular vector."""
    return (u * u).sum(-1) + (u.narrow(-1, 0, 1) @ u.narrow(-1, 0, 1).mT).sum()


def _gauge_invariant_vh(vh):
    return _gauge_invariant_u(vh.mT)


def _reconstruct(u, s, v):
    return (u * s.unsqueeze(-2)) @ v.mT


def differentiable_primitives():
    return sorted(name for name, op in REGISTRY.items()
                  if op.kind != "elementwise" and op.differentiable and op.kind != "random"
                  or name == "bernoulli")


def test_every_differentiable_primitive_has_a_gradient_case():
    missing = [name for name in differentiable_primitives() if name not in GRADIENT_CASES]
    assert not missing, f"add gradient cases for: {missing}"


def test_at_least_forty_differentiable_ops_are_checked():
    assert len(differentiable_elementwise_ops()) + len(GRADIENT_CASES) >= 40


CASES = [(name, index) for name in sorted(GRADIENT_CASES) for index in range(len(GRADIENT_CASES[name]))]


@pytest.mark.parametrize("name,index", CASES)
def test_gradient_matches_finite_differences(name, index):
    function, inputs = GRADIENT_CASES[name][index]
    assert gradcheck(function, tuple(inputs))


SECOND_ORDER = ["view", "expand", "permute", "slice", "cat", "sum", "mean", "prod", "cumsum",
                "cumprod", "matmul", "inverse", "det", "index", "gather", "value_select",
                "vector_norm", "trace", "triu", "cross", "addmm", "log_softmax", "nll_loss"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivative_matches_finite_differences(name):
    function, inputs = GRADIENT_CASES[name][0]
    assert gradgradcheck(function, tuple(inputs))
