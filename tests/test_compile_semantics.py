"""graphc.compile keeps eager semantics: attribute writes inside the function (`.grad = None`,
`.data =`, `requires_grad_`), in-place updates of arguments and aliasing, callable objects and
chained compiled calls, graph breaks for whatever the backend cannot build, recompiles that
say why, and options that are refused rather than ignored. Every test compares the compiled
function with the same function run eagerly."""
import logging
import os
import shutil
import warnings

import numpy as np
import pytest

import graphc

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None,
                                reason="no C compiler")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))
    yield tmp_path / "cache"


def rand(*shape, seed=0, dtype=graphc.float32):
    return graphc.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=dtype)


def state(tensor):
    """What eager leaves in a tensor: its values, version, requires_grad and .grad."""
    grad = tensor._grad
    return (tensor._data.copy(), tensor._version, tensor.requires_grad,
            None if grad is None else grad._data.copy())


def assert_same_state(mine, theirs):
    values, version, flag, grad = state(mine)
    other_values, other_version, other_flag, other_grad = state(theirs)
    np.testing.assert_allclose(values, other_values, rtol=1e-6, atol=1e-7)
    assert (version, flag) == (other_version, other_flag)
    assert (grad is None) == (other_grad is None)
    if grad is not None:
        np.testing.assert_allclose(grad, other_grad, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ 1. attribute writes


def _regression_step(zero_first):
    """The README's step with `w.grad = None` at its end (optimizer.zero_grad()'s default)
    or at its start; w is an argument, x and y globals of the step."""
    x, y = rand(32, 3, seed=1), rand(32, 1, seed=2)

    def step(w, lr):
        if zero_first:
            w.grad = None
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        with graphc.no_grad():
            w -= lr * w.grad
        if not zero_first:
            w.grad = None
        return loss
    return step


@pytest.mark.parametrize("zero_first", [False, True], ids=["grad_none_last", "grad_none_first"])
def test_setting_grad_to_none_in_a_compiled_step_trains_as_eager(zero_first):
    step = _regression_step(zero_first)
    compiled = graphc.compile(step, fullgraph=True)
    w_eager, w_compiled = (rand(3, 1, seed=3).requires_grad_() for _ in range(2))
    for _ in range(200):
        theirs, ours = step(w_eager, 0.05), compiled(w_compiled, 0.05)
        np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-5)
        assert_same_state(w_compiled, w_eager)
    assert len(compiled._specialisations) <= 2  # no recompile per call
    assert compiled.call_source() is not None  # and the rendered path runs it


def test_deleting_grad_and_rebinding_grad_data_and_requires_grad_are_replayed():
    def step(w, b):
        loss = (w * b).sum()
        loss.backward()
        del w.grad                    # eager: no .grad left
        b.grad = graphc.ones_like(b) * 3  # a new tensor as .grad
        w.data = w.data * 0.5         # a new array behind w
        b.requires_grad_(False)
        return loss
    compiled = graphc.compile(step, fullgraph=True)
    for seed in range(3):
        pairs = [(rand(4, seed=seed).requires_grad_(), rand(4, seed=seed + 9).requires_grad_())
                 for _ in range(2)]
        step(*pairs[0])
        compiled(*pairs[1])
        for mine, theirs in zip(pairs[1], pairs[0]):
            assert_same_state(mine, theirs)
        assert pairs[1][0].grad is None
    # one trace: the later calls ran the compiled code (the signature is the state a call met)
    assert compiled.call_source() is not None and len(compiled._specialisations) == 1


def test_a_grad_set_to_none_is_seen_by_the_next_calls_signature():
    w = rand(3).requires_grad_()

    @graphc.compile
    def step():
        (w * w).sum().backward()
        grad = w.grad.clone()
        w.grad = None
        return grad
    for _ in range(3):
        np.testing.assert_allclose(step().numpy(), 2 * w.detach().numpy(), rtol=1e-6)
        assert w.grad is None
    w.grad = graphc.ones(3)  # a .grad present: another signature, accumulating into it
    np.testing.assert_allclose(step().numpy(), 2 * w.detach().numpy() + 1, rtol=1e-6)
    assert w.grad is None


# ------------------------------------------------------------------ 2. in-place on arguments


def test_an_argument_updated_in_place_compiles():
    def k(x):
        x.mul_(2)
        return x.sum()
    compiled = graphc.compile(k, fullgraph=True)
    for seed in range(3):
        a, b = rand(5, seed=seed), rand(5, seed=seed)
        np.testing.assert_allclose(compiled(a).item(), k(b).item(), rtol=1e-6)
        assert_same_state(a, b)


def test_seed_manual_gradient_loop_with_tensors_passed_in_compiles_fullgraph():
    def step(w, b, x, y, lr):
        y_pred = x.mm(w) + b.expand_as(y)
        loss = 0.5 * (y_pred - y) ** 2
        loss = loss.sum()
        dloss = 1
        dy_pred = dloss * (y_pred - y)
        dw = x.t().mm(dy_pred)
        db = dy_pred.sum()
        w.sub_(lr * dw)
        b.sub_(lr * db)
        return loss
    compiled = graphc.compile(step, fullgraph=True)
    graphc.manual_seed(0)
    w0, b0 = graphc.rand(1, 1), graphc.zeros(1, 1)
    eager, ours = (w0.clone(), b0.clone()), (w0.clone(), b0.clone())
    for i in range(200):
        x = graphc.rand(8, 1) * 20
        y = x * 2 + (1 + graphc.randn(8, 1)) * 3
        theirs, mine = step(*eager, x, y, 0.001), compiled(*ours, x, y, 0.001)
        np.testing.assert_allclose(mine.item(), theirs.item(), rtol=1e-4)
        for m, t in zip(ours, eager):
            assert_same_state(m, t)
    assert compiled._latest is not None and compiled.call_source() is not None


def test_an_argument_that_is_also_a_captured_tensor():
    w = rand(4, seed=1)

    def f(x):
        x.add_(1)
        return x * w
    compiled = graphc.compile(f, fullgraph=True)
    reference = w.clone()
    for call in range(3):  # w passed as the argument: it is read once, updated once
        mine = compiled(w)
        reference.add_(1)
        np.testing.assert_allclose(mine.numpy(), (reference * reference).numpy(), rtol=1e-6)
    other = rand(4, seed=2)
    expected = (other + 1) * w
    np.testing.assert_allclose(compiled(other).numpy(), expected.numpy(), rtol=1e-6)
    assert w._version == 3 and other._version == 1


def test_the_same_tensor_passed_twice_and_two_distinct_ones():
    def f(a, b):
        a.mul_(3)
        return a + b
    compiled = graphc.compile(f, fullgraph=True)
    for call in range(3):
        x, x_eager = rand(3, seed=call), rand(3, seed=call)
        np.testing.assert_allclose(compiled(x, x).numpy(), f(x_eager, x_eager).numpy(),
                                   rtol=1e-6)
        assert_same_state(x, x_eager)
        y, z = rand(3, seed=call), rand(3, seed=call + 5)
        y_eager, z_eager = y.clone(), z.clone()
        np.testing.assert_allclose(compiled(y, z).numpy(), f(y_eager, z_eager).numpy(),
                                   rtol=1e-6)
        assert_same_state(y, y_eager)


def test_the_same_two_tensors_apart_then_aliased_then_apart_again():
    # the rendered guard checks aliasing again only when an array changes: (x, y) calls leave
    # it checked, (x, x) replaces an array, (x, y) again replaces it back
    def f(a, b):
        a.mul_(2)
        return a + b
    compiled = graphc.compile(f, fullgraph=True)
    x, y = rand(3, seed=1), rand(3, seed=2)
    x_eager, y_eager = x.clone(), y.clone()
    pairs = [((x, y), (x_eager, y_eager))] * 3 + [((x, x), (x_eager, x_eager))] * 3 + \
        [((x, y), (x_eager, y_eager))] * 2 + [((y, y), (y_eager, y_eager))] * 2
    for mine, theirs in pairs:
        np.testing.assert_allclose(compiled(*mine).numpy(), f(*theirs).numpy(), rtol=1e-6)
        assert_same_state(x, x_eager)
        assert_same_state(y, y_eager)


def test_an_output_aliasing_an_input_is_that_input_or_a_view_of_it():
    def same(x):
        x.add_(1)
        return x

    def view(x):
        x.add_(1)
        return x.t()[1:]
    for function in (same, view):
        compiled = graphc.compile(function, fullgraph=True)
        for call in range(3):
            x, x_eager = rand(3, 4, seed=call), rand(3, 4, seed=call)
            mine, theirs = compiled(x), function(x_eager)
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
            assert mine.stride() == theirs.stride()
            if function is same:
                assert mine is x
            mine.mul_(2)  # a view of the argument: writing it writes the argument
            theirs.mul_(2)
            assert_same_state(x, x_eager)
        assert compiled._latest is not None


def test_several_writes_to_one_argument_bump_its_version_as_often_as_eager():
    def f(x):
        x.mul_(2)
        x.add_(1)
        x.zero_()
        return x.sum()
    compiled = graphc.compile(f, fullgraph=True)
    for call in range(3):
        a, b = rand(4, seed=call), rand(4, seed=call)
        compiled(a)
        f(b)
        assert_same_state(a, b)


# ------------------------------------------------------------------ 3. callables and methods


class Scaled:
    def __init__(self, seed):
        self.weight = rand(3, seed=seed)

    def __call__(self, x):
        return (x * self.weight).exp()

    def shifted(self, x):
        return x + self.weight


def test_a_callable_object_and_a_bound_method_compile():
    module = Scaled(1)
    compiled, method = graphc.compile(module), graphc.compile(module.shifted)
    for seed in range(3):
        x = rand(3, seed=seed + 10)
        np.testing.assert_allclose(compiled(x).numpy(), module(x).numpy(), rtol=1e-6)
        np.testing.assert_allclose(method(x).numpy(), module.shifted(x).numpy(), rtol=1e-6)
    module.weight = rand(3, seed=7)  # rebinding is seen, as in eager mode
    x = rand(3, seed=3)
    np.testing.assert_allclose(compiled(x).numpy(), module(x).numpy(), rtol=1e-6)
    assert compiled.graph() is not None and compiled.__name__ == "__call__"


def _layer_call(self, x):
    return (x @ self.weight).tanh()


class EagerLayer:
    def __init__(self, seed):
        self.weight = rand(3, 3, seed=seed).requires_grad_()

    __call__ = _layer_call


class CompiledLayer(EagerLayer):
    __call__ = graphc.compile(_layer_call)


def test_a_compiled_call_shared_by_chained_instances_trains_as_eager():
    eager = [EagerLayer(1), EagerLayer(2)]
    compiled = [CompiledLayer(1), CompiledLayer(2)]
    for step in range(4):
        x = rand(5, 3, seed=20 + step)
        for first, second in (eager, compiled):
            y = second(first(x))
            y.sum().backward()
        for mine, theirs in zip(compiled, eager):
            np.testing.assert_allclose(mine.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                       rtol=1e-5, atol=1e-6)
    assert CompiledLayer.__call__._latest is not None


# ------------------------------------------------------------------ 4. lowering failures


def test_any_failure_of_the_backend_is_a_graph_break_at_the_users_line(monkeypatch):
    from graphc.codegen import c_backend

    def broken_printer(*args, **kwargs):
        raise ValueError("the printer met something it cannot print")
    monkeypatch.setattr(c_backend, "render", broken_printer)

    def f(x):
        return x.sin() * 2
    compiled = graphc.compile(f)
    x = rand(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        ours = compiled(x); line = _line()  # noqa: E702 (the call's line)
        compiled(x)
    assert [w.category for w in caught] == [RuntimeWarning]
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)
    assert "the printer met something" in str(caught[0].message)
    np.testing.assert_allclose(ours.numpy(), f(x).numpy(), rtol=1e-6)
    with pytest.raises(graphc.CompileError, match="the printer met something"):
        graphc.compile(f, fullgraph=True)(x)


def _line():
    import sys
    return sys._getframe(1).f_lineno


def test_mask_indexing_with_fullgraph_names_the_users_line():
    def f(x):
        return x[x > 0].sum()
    with pytest.raises(graphc.CompileError) as raised:
        graphc.compile(f, fullgraph=True)(rand(6))
    assert f"{__file__}:{f.__code__.co_firstlineno + 1}" in str(raised.value)
    x = rand(6)
    with pytest.warns(RuntimeWarning, match="mask"):
        np.testing.assert_allclose(graphc.compile(f)(x).item(), f(x).item(), rtol=1e-6)


# ------------------------------------------------------------------ 5. recompiles and options


def test_recompiles_are_logged_with_the_guard_and_both_values(caplog):
    lr = 0.1
    w = rand(3).requires_grad_()

    def f(x):
        return x * lr + w.sum()
    compiled = graphc.compile(f)
    caplog.set_level(logging.INFO, logger="graphc")
    compiled(rand(64, 3))
    compiled(rand(40, 3))
    lr = 0.05
    compiled(rand(40, 3))
    w.grad = graphc.ones(3)
    compiled(rand(40, 3))
    messages = "\n".join(r.getMessage() for r in caplog.records if "recompiling" in
                         r.getMessage())
    assert "x: shape (64, 3) -> (40, 3)" in messages
    assert "lr (closure): 0.1 -> 0.05" in messages
    assert "w.grad: None -> tensor" in messages


def test_the_signature_limit_warning_is_shown_once_at_the_callers_line():
    compiled = graphc.compile(lambda x: x + 1, recompile_limit=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        # graphc's own filters (pyproject's and graphc.runtime.cpu's) stay in force
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="graphc")
        for size in (1, 1, 2, 2, 3, 3, 4, 5, 6, 4):  # repeated sizes: the rendered path
            compiled(graphc.ones(size)); line = _line()  # noqa: E702
    assert [w.category for w in caught] == [graphc.RecompileWarning]
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)
    assert issubclass(graphc.RecompileWarning, UserWarning)
    np.testing.assert_array_equal(compiled(graphc.ones(9)).numpy(), np.full(9, 2.0))


def test_torch_options_graphc_does_not_implement_are_refused_or_warned_about():
    def f(x):
        return x * 2
    for mode in ("reduce-overhead", "max-autotune"):
        with pytest.warns(UserWarning, match="one mode"):
            compiled = graphc.compile(f, mode=mode)
        np.testing.assert_array_equal(compiled(graphc.ones(2)).numpy(), [2.0, 2.0])
    with pytest.warns(UserWarning, match=r"dynamic=True\) is not implemented"):
        graphc.compile(f, dynamic=True)
    with pytest.raises(RuntimeError, match="Unrecognized mode=fastest"):
        graphc.compile(f, mode="fastest")
    with pytest.raises(RuntimeError, match="Unexpected optimization option"):
        graphc.compile(f, options={"triton.cudagraphs": True})
    with pytest.raises(RuntimeError, match="Either mode or options"):
        graphc.compile(f, mode="max-autotune", options={})
    with pytest.raises(ValueError, match="unknown backend"):
        graphc.compile(f, backend="eager")
    assert graphc.compile(f, disable=True) is f
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults warn about nothing
        graphc.compile(f, mode="default", dynamic=False)


# ------------------------------------------------------------------ seeding inside the function

_SHARED_GENERATOR = graphc.Generator()


def _seeds_the_default_generator(p):
    graphc.manual_seed(0)
    return graphc.rand(8) + graphc.bernoulli(p)


def _seeds_a_shared_generator(p):
    _SHARED_GENERATOR.manual_seed(3)
    return graphc.bernoulli(p, generator=_SHARED_GENERATOR)


def _draws_from_a_new_generator(p):
    return graphc.bernoulli(p, generator=graphc.Generator())


def _restores_a_state(p):
    state = graphc.get_rng_state()
    first = graphc.rand(3)
    graphc.set_rng_state(state)
    return first, graphc.rand(3) + p[:3]


@pytest.mark.parametrize("function", [_seeds_the_default_generator, _seeds_a_shared_generator,
                                      _draws_from_a_new_generator, _restores_a_state])
def test_seeding_inside_a_compiled_function_draws_what_eager_draws(function):
    """The compiled replay claims draws from the generator it finds: seeding it (or drawing
    from a generator born inside the call) would not be repeated, so it is a graph break."""
    p = graphc.full((8,), 0.5, dtype=graphc.float64)
    compiled = graphc.compile(function)
    with pytest.warns(RuntimeWarning, match="inside the compiled function|inside a compiled function"):
        compiled(p)
    for _ in range(3):
        graphc.manual_seed(11)
        expected = function(p)
        graphc.manual_seed(11)
        got = compiled(p)
        for e, g in zip(expected if isinstance(expected, tuple) else (expected,),
                        got if isinstance(got, tuple) else (got,)):
            np.testing.assert_array_equal(g.numpy(), e.numpy())
    with pytest.raises(graphc.CompileError, match=r"test_compile_semantics\.py:\d+"):
        graphc.compile(function, fullgraph=True)(p)


def test_rendered_fast_path_refuses_another_layout_of_the_same_shape():
    """The second call of a signature installs a rendered fast path; its guard checks strides,
    so a transposed input of the same shape is not read as if it were contiguous."""
    def f(x, y):
        return x * 2 + y
    compiled = graphc.compile(f, fullgraph=True)
    values = np.arange(12.0).reshape(3, 4)
    contiguous = graphc.tensor(values)
    transposed = graphc.tensor(np.ascontiguousarray(values.T)).t()
    expanded = graphc.tensor(values[:1]).expand(3, 4)
    y = graphc.ones(3, 4, dtype=graphc.float64)
    for x in (contiguous, contiguous, transposed, transposed, expanded, contiguous, transposed):
        np.testing.assert_array_equal(compiled(x, y).numpy(), f(x, y).numpy())
