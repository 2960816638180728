"""graphc.compile against eager mode on random programs (hypothesis): chains of elementwise ops,
broadcasting, views, reductions and products over a few inputs, with their gradients. Each
example builds a C library, so the examples are few, and derandomised: CI runs the same ones
every time."""
import os
import shutil

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import strategies as st  # noqa: E402

import graphc  # noqa: E402
from graphc.ir.tracing import GraphBreak  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None,
                                reason="no C compiler")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))


# each step: (name, arity, function); a function may refuse shapes it cannot take (None)
UNARY = [
    ("exp", lambda a: a.clamp(-5, 5).exp()),
    ("tanh", lambda a: a.tanh()),
    ("sigmoid", lambda a: a.sigmoid()),
    ("square", lambda a: a * a),
    ("abs+1 log", lambda a: (a.abs() + 1).log()),
    ("relu", lambda a: a.relu()),
    ("sum last", lambda a: a.sum(-1) if a.dim() else None),
    ("mean keepdim", lambda a: a.mean(0, keepdim=True) if a.dim() else None),
    ("amax", lambda a: a.amax(-1) if a.dim() else None),
    ("transpose", lambda a: a.t() if a.dim() == 2 else None),
    ("every other", lambda a: a[..., ::2] if a.dim() and a.shape[-1] > 1 else None),
    ("flip", lambda a: a.flip(0) if a.dim() else None),
    ("softmax", lambda a: a.softmax(-1) if a.dim() else None),
    ("cumsum", lambda a: a.cumsum(0) if a.dim() else None),
    ("rows by index", lambda a: a[graphc.tensor([0, -1, 0])] if a.dim() else None),
    ("sorted", lambda a: a.sort(-1)[0] if a.dim() else None),
    ("max over dim", lambda a: a.max(0)[0] if a.dim() else None),
    ("std", lambda a: a.std(-1) if a.dim() and a.shape[-1] > 1 else None),
    ("norm", lambda a: a.norm()),
    ("log_softmax pick", lambda a: a.log_softmax(-1)[..., 0] if a.dim() else None),
    ("reshape", lambda a: a.reshape(-1)),
    ("unsqueeze expand", lambda a: a.unsqueeze(0).expand(2, *a.shape)),
    ("argmax gather", lambda a: a.gather(-1, a.argmax(-1, keepdim=True)) if a.dim() else None),
]
BINARY = [
    ("add", lambda a, b: a + b),
    ("mul", lambda a, b: a * b),
    ("sub", lambda a, b: a - b),
    ("where", lambda a, b: graphc.where(a > b, a, b * 2)),
    ("maximum", lambda a, b: graphc.maximum(a, b)),
    ("matmul", lambda a, b: a @ b),
    ("cat", lambda a, b: graphc.cat([a, b], -1) if a.dim() and a.dim() == b.dim() else None),
    ("masked_fill", lambda a, b: a.masked_fill(b > 0.5, -1.0)),
]


def _apply(step, pool):
    name, function, operands = step
    values = [pool[i % len(pool)] for i in operands]
    try:
        result = function(*values)
    except RuntimeError as error:  # shapes that do not broadcast, or a product that does not fit
        if isinstance(error, (graphc.CompileError, GraphBreak)):
            raise
        return None
    return result


programs = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(UNARY), st.integers(0, 7)).map(
            lambda t: (t[0][0], t[0][1], (t[1],))),
        st.tuples(st.sampled_from(BINARY), st.integers(0, 7), st.integers(0, 7)).map(
            lambda t: (t[0][0], t[0][1], (t[1], t[2])))),
    min_size=1, max_size=6)


def _run(program, inputs):
    pool = list(inputs)
    for step in program:
        result = _apply(step, pool)
        if result is not None:
            pool.append(result)
    outputs = pool[len(inputs):] or pool[:1]
    total = sum((o * o).sum() for o in outputs)
    total.backward()
    return outputs


@hypothesis.settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(program=programs, seed=st.integers(0, 2 ** 16))
def test_random_programs_compile_to_what_eager_computes(program, seed):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (4, 3), (1, 4)]
    arrays = [rng.standard_normal(shape) for shape in shapes]

    def function(*xs):
        return _run(program, xs)

    results = []
    compiled = graphc.compile(function, fullgraph=True)
    for runner in (compiled, function):
        for call in range(2):  # the trace, then the compiled replay
            xs = [graphc.tensor(a * (1 + call), dtype=graphc.float64, requires_grad=True)
                  for a in arrays]
            outputs = runner(*xs)
        results.append(([o.detach().numpy() for o in outputs],
                        [None if x.grad is None else x.grad.numpy() for x in xs]))
    assert compiled._latest is not None  # it did compile
    (ours, our_grads), (theirs, their_grads) = results
    for mine, reference in zip(ours + our_grads, theirs + their_grads):
        assert (mine is None) == (reference is None)  # an unused input has no .grad
        if mine is not None:
            np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-12)
