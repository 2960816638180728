"""Every op with a lowering is compiled and compared with eager, generated from the lowering table
(graphc.codegen's LOWERINGS and the C backend's reductions), as tinygrad's helper_test_op does:
the differentiable ops by their gradient cases (tests/test_gradients.py), the others by the
cases below. A new lowering without a case fails `test_every_lowering_has_a_case`."""
import numpy as np
import pytest

import graphc
from graphc.codegen.schedule import LOWERED, REDUCTIONS as LOWERED_REDUCTIONS
from test_compile_ops import GRADIENTS_NOT_COMPILED, REDUCTIONS
from test_gradients import GRADIENT_CASES


def _matrix(*shape, seed=0):
    return graphc.tensor(np.random.default_rng(seed).standard_normal(shape))


def _ties():  # equal values keep their order in a stable sort; NaN sorts last
    return graphc.tensor([[3.0, 1.0, 3.0, float("nan"), 1.0], [0.5, 0.5, -2.0, 4.0, 0.0]])


def _draws(draw):
    """A draw from a generator the function captures: the same numbers compiled and eager."""
    generator = graphc.Generator().manual_seed(7)
    return (lambda: draw(generator)), [], generator


def _with_float(drawn):
    return drawn, drawn * 0.5


# the lowered ops without a gradient case: non-differentiable results (positions, draws)
FORWARD_CASES = {
    "sort_indices": [(lambda x: x.sort(dim=1).indices, [_ties()]),
                     (lambda x: x.sort(dim=0, descending=True).indices, [_matrix(4, 3)])],
    "topk_indices": [(lambda x: x.topk(2, dim=1).indices, [_ties()]),
                     (lambda x: x.topk(2, dim=1, largest=False).indices, [_matrix(3, 5)])],
    "kthvalue_indices": [(lambda x: x.kthvalue(2, dim=1).indices, [_matrix(3, 5)])],
    "median_indices": [(lambda x: x.median(dim=1).indices, [_ties()]),
                       (lambda x: x.nanmedian(dim=1).indices, [_ties()])],
    "mode_indices": [(lambda x: x.mode(dim=1).indices,
                      [graphc.tensor([[1.0, 2.0, 2.0, 1.0, 3.0], [5.0, 5.0, 4.0, 4.0, 4.0]])])],
    "slogdet_sign": [(lambda x: graphc.linalg.slogdet(x).sign, [_matrix(2, 3, 3)])],
    "uniform": [_draws(lambda g: graphc.rand(5, 3, generator=g) * 2)],
    "normal": [_draws(lambda g: graphc.randn(7, generator=g) + 1)],
    "exponential": [_draws(lambda g: graphc.empty(9).exponential_(2.0, generator=g))],
    # (a graph computes in a float type: the int64 draw is returned beside a float of it)
    "randint": [_draws(lambda g: _with_float(graphc.randint(0, 10, (9,), generator=g)))],
    "randperm": [_draws(lambda g: _with_float(graphc.randperm(10, generator=g)))],
    "multinomial": [_draws(lambda g: graphc.multinomial(
        graphc.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 1.0, 1.0]]), 3, replacement=True,
        generator=g)),
        _draws(lambda g: graphc.multinomial(graphc.tensor([0.1, 0.0, 0.6, 0.3]), 3,
                                            generator=g))],
}


def _lowered():
    return sorted(set(LOWERED) | set(LOWERED_REDUCTIONS))


def test_every_lowering_has_a_case():
    covered = set(GRADIENT_CASES) | set(FORWARD_CASES) | {name for name, _, _ in REDUCTIONS}
    missing = [name for name in _lowered() if name not in covered]
    assert not missing, f"lowered ops without a compiled-vs-eager case: {missing}"


def _same(compiled, eager, what):
    if isinstance(eager, (tuple, list)):
        for a, b in zip(compiled, eager):
            _same(a, b, what)
        return
    assert compiled.dtype == eager.dtype and tuple(compiled.shape) == tuple(eager.shape), what
    np.testing.assert_allclose(compiled.detach().numpy(), eager.detach().numpy(), rtol=1e-12,
                               atol=1e-12, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("name", [n for n in _lowered() if n in GRADIENT_CASES])
def test_lowered_op_compiles_to_eagers_values(name):
    """The forward values of each gradient case of a lowered op, compiled and eager (the
    compiled gradients are test_compile_ops' gradcheck)."""
    for function, inputs in GRADIENT_CASES[name]:
        inputs = [t.detach() for t in inputs]
        compiled = graphc.compile(function, fullgraph=True)
        if name in GRADIENTS_NOT_COMPILED and name != "det":  # det's forward compiles
            continue
        for _ in range(2):  # the trace, then the native call
            _same(compiled(*inputs), function(*inputs), f"{name}: compiled != eager")
        assert compiled._latest is not None, f"{name} ran eagerly instead of compiled"


@pytest.mark.parametrize("name", sorted(FORWARD_CASES))
def test_lowered_op_without_gradient_compiles_to_eagers_values(name):
    for case in FORWARD_CASES[name]:
        function, inputs = case[:2]
        generator = case[2] if len(case) > 2 else None
        compiled = graphc.compile(function, fullgraph=True)
        results = []
        for run in (compiled, function):
            if generator is not None:
                generator.manual_seed(7)
            results.append([run(*inputs) for _ in range(3)])  # trace, native, native
        for ours, theirs in zip(*results):
            _same(ours, theirs, f"{name}: compiled != eager")
        assert compiled._latest is not None, f"{name} ran eagerly instead of compiled"
