"""compiled.repeat(n, *args): n calls in one native call, each exactly what a Python call of
the compiled function does (draws, in-place updates, versions), results stacked."""
import numpy as np
import pytest

import graphc


def _regression(seed=0):
    """The seed's step (section 2.4): data drawn inside, backward, SGD, grads zeroed."""
    graphc.manual_seed(seed)
    w = graphc.rand(1, 1, requires_grad=True)
    b = graphc.zeros(1, 1, requires_grad=True)

    def step():
        x = graphc.rand(8, 1) * 20
        y = x * 2 + (1 + graphc.randn(8, 1)) * 3
        loss = 0.5 * (x.mm(w) + b.expand_as(y) - y).pow(2).sum()
        loss.backward()
        with graphc.no_grad():
            w.sub_(0.001 * w.grad)
            b.sub_(0.001 * b.grad)
        w.grad.zero_()
        b.grad.zero_()
        return loss
    return (w, b), step


def _state(tensors):
    return [t.detach().numpy().copy() for t in tensors] + [t._version for t in tensors] \
        + [graphc.random.default_generator.get_offset()]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("n", [1, 2, 37])
def test_repeat_equals_that_many_python_calls_bit_for_bit(n):
    params, step = _regression()
    compiled = graphc.compile(step)
    expected = np.array([compiled().item() for _ in range(n)], dtype=np.float32)
    expected_state = _state(params)
    params, step = _regression()
    losses = graphc.compile(step).repeat(n)
    assert losses.shape == (n,) and losses.dtype == graphc.float32
    np.testing.assert_array_equal(losses.numpy(), expected)
    _assert_same(_state(params), expected_state)


def test_repeat_equals_eager_steps():
    params, step = _regression()
    eager = np.array([step().item() for _ in range(40)])
    eager_state = [p.detach().numpy().copy() for p in params]
    params, step = _regression()
    losses = graphc.compile(step).repeat(40)
    np.testing.assert_allclose(losses.numpy(), eager, rtol=1e-5)
    for p, e in zip(params, eager_state):
        np.testing.assert_allclose(p.detach().numpy(), e, rtol=1e-5)


def test_a_compiled_function_called_before_then_repeated_runs_on():
    params, step = _regression()
    compiled = graphc.compile(step)
    reference = [compiled().item() for _ in range(10)]
    params2, step2 = _regression()
    compiled2 = graphc.compile(step2)
    head = [compiled2().item() for _ in range(3)]
    tail = compiled2.repeat(7)
    np.testing.assert_array_equal(np.array(head + tail.tolist(), dtype=np.float32),
                                  np.array(reference, dtype=np.float32))
    _assert_same(_state(params2), _state(params)[:-1] + [_state(params2)[-1]])


def test_in_place_updates_of_arguments_are_seen_by_the_next_iteration():
    def f(x, y):
        x.mul_(2)
        return x.sum() + y, x.max()
    compiled = graphc.compile(f)
    x, y = graphc.ones(3), graphc.tensor(0.5)
    totals, firsts = compiled.repeat(5, x, y)
    np.testing.assert_array_equal(totals.numpy(), [3 * 2.0 ** k + 0.5 for k in range(1, 6)])
    np.testing.assert_array_equal(firsts.numpy(), [2.0 ** k for k in range(1, 6)])
    assert x._version == 5 and np.array_equal(x.numpy(), [32.0] * 3)


def test_draws_from_two_generators_claim_in_call_order():
    a, b = graphc.Generator().manual_seed(1), graphc.Generator().manual_seed(2)

    def f():
        return graphc.rand(3, generator=a) + graphc.randn(2, 2, generator=b).sum() \
            + graphc.rand(3, generator=a)
    compiled = graphc.compile(f)
    compiled()  # the trace runs eagerly: the loops below both run the native code
    a.manual_seed(1)
    b.manual_seed(2)
    expected = [compiled() for _ in range(6)]
    offsets = a.get_offset(), b.get_offset()
    a.manual_seed(1)
    b.manual_seed(2)
    got = compiled.repeat(6)
    np.testing.assert_array_equal(got.numpy(), np.stack([e.numpy() for e in expected]))
    assert (a.get_offset(), b.get_offset()) == offsets


def test_steps_that_rebind_grad_repeat_through_python_calls_with_eager_results():
    graphc.manual_seed(0)
    w = graphc.randn(3, requires_grad=True)

    def step(x):
        w.grad = None  # an attribute the call sets: each call is a Python call
        loss = (w * x).sum() ** 2
        loss.backward()
        with graphc.no_grad():
            w.sub_(0.01 * w.grad)
        return loss
    x = graphc.tensor([1.0, 2.0, 3.0])
    start = w.detach().clone()
    eager = [step(x).item() for _ in range(6)]
    with graphc.no_grad():
        w.copy_(start)
    losses = graphc.compile(step).repeat(6, x)
    np.testing.assert_allclose(losses.numpy(), eager, rtol=1e-6)


def test_an_error_stops_the_loop_where_python_calls_would_stop():
    def f(x, counter):
        counter.add_(1)
        return x.index_select(0, counter.long())

    def run(call):
        x, counter = graphc.arange(5.0), graphc.tensor([0.0])
        with pytest.raises(IndexError) as error:
            call(x, counter)
        return str(error.value), counter.item(), counter._version

    compiled = graphc.compile(f, fullgraph=True)
    compiled(graphc.arange(5.0), graphc.tensor([-1.0]))  # specialised before the loops

    def loop(x, i):
        for _ in range(10):
            compiled(x, i)

    def eager_loop(x, i):
        for _ in range(10):
            f(x, i)
    # the failing call leaves what eager leaves: its counter.add_ applied before the bad index
    assert run(lambda x, i: compiled.repeat(10, x, i)) == run(loop) == run(eager_loop)
    assert run(eager_loop)[1] == 5.0


@pytest.mark.parametrize("n", [0, -1, True, 2.5, "3"])
def test_repeat_refuses_counts_that_are_not_positive_ints(n):
    compiled = graphc.compile(lambda: graphc.ones(1))
    with pytest.raises(ValueError, match="positive int"):
        compiled.repeat(n)


def test_results_are_stacked_as_stack_of_the_calls_results_would_be():
    """A returned view of an input is stacked after the last call, as
    `stack([f(x) for _ in range(n)])` stacks it."""
    def f(x):
        x.add_(1)
        return x[0]
    x = graphc.zeros(2)
    eager = graphc.stack([f(x) for _ in range(3)])
    x = graphc.zeros(2)
    np.testing.assert_array_equal(graphc.compile(f).repeat(3, x).numpy(), eager.numpy())


def test_non_tensor_results_are_passed_through():
    compiled = graphc.compile(lambda x: (x * 2, 7))
    values, seven = compiled.repeat(3, graphc.ones(2))
    assert seven == 7 and values.shape == (3, 2)


def test_the_seed_step_runs_in_one_native_loop(monkeypatch):
    from graphc import compiled_repeat as repeat_module
    runs = []
    native = repeat_module._native
    monkeypatch.setattr(repeat_module, "_native",
                        lambda spec, n, *rest: runs.append(n) or native(spec, n, *rest))
    _, step = _regression()
    compiled = graphc.compile(step)
    compiled.repeat(20)   # two calls trace (without, then with .grad), 18 run natively
    compiled.repeat(20)
    assert runs == [18, 20]
