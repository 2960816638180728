"""A compiled call's steps after its guard run in C (graphc_call.Call, native_call.py) or, where
that extension cannot be built, in the rendered Python. Both must do exactly what eager code
does: the same values, draws, generator state, .grad tensors and versions, outputs that stay
valid while held, eager's exception when the native code fails."""
import os
import shutil
import time

import numpy as np
import pytest

import graphc
from graphc.codegen import native_call

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None,
                                reason="no C compiler")


@pytest.fixture(params=["native", "python"])
def steps(request, monkeypatch):
    """Which spelling of the steps the compiled functions made in the test render."""
    if request.param == "native":
        if native_call.extension() is None:
            pytest.skip("graphc_call cannot be built here (no Python.h)")
    else:
        monkeypatch.setattr(native_call, "_built", [None])
    return request.param


def regression(library, set_to_none=False):
    library.manual_seed(7)
    w = library.rand(1, 1).requires_grad_()
    b = library.zeros(1, 1).requires_grad_()

    def step():
        x = library.rand(8, 1) * 20
        y = x * 2 + (1 + library.randn(8, 1)) * 3
        loss = (0.5 * (x.mm(w) + b.expand_as(y) - y) ** 2).sum()
        loss.backward()
        w.data.sub_(0.001 * w.grad.data)
        b.data.sub_(0.001 * b.grad.data)
        if set_to_none:
            w.grad = None
            b.grad = None
        else:
            w.grad.data.zero_()
            b.grad.data.zero_()
        return loss
    return step, w, b


def _rendered_by(compiled, steps):
    source = compiled.call_source()
    assert source is not None
    assert ("CALL0(" in source) == (steps == "native"), source


def _run_regression(set_to_none, calls=30):
    step, w, b = regression(graphc, set_to_none)
    compiled = graphc.compile(step, fullgraph=True)
    held = [compiled() for _ in range(calls)]  # every loss held: none may be overwritten
    return compiled, [loss.item() for loss in held], graphc.get_rng_state(), w, b


@pytest.mark.parametrize("set_to_none", [False, True])
def test_a_training_step_with_draws_equals_eager_and_the_other_spelling(monkeypatch,
                                                                        set_to_none):
    eager, w0, b0 = regression(graphc, set_to_none)
    losses = [eager().item() for _ in range(30)]
    eager_state = graphc.get_rng_state()
    runs = {}
    for kind in ("native", "python"):
        if kind == "python":
            monkeypatch.setattr(native_call, "_built", [None])
        elif native_call.extension() is None:
            continue
        compiled, *runs[kind] = _run_regression(set_to_none)
        _rendered_by(compiled, kind)
    for kind, (ours, state, w, b) in runs.items():
        np.testing.assert_allclose(ours, losses, rtol=1e-5)  # compiled sums in its own order
        assert graphc.equal(state, eager_state)  # the same draws claimed
        for mine, theirs in ((w, w0), (b, b0)):
            np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(),
                                       rtol=1e-5)
            if set_to_none:
                assert mine.grad is None and theirs.grad is None
            else:
                assert np.array_equal(mine.grad.numpy(), theirs.grad.numpy())
                assert mine.grad._version == theirs.grad._version
    if len(runs) == 2:  # one native code, two spellings of the steps around it: equal bits
        (losses_c, _, w_c, b_c), (losses_p, _, w_p, b_p) = runs["native"], runs["python"]
        assert losses_c == losses_p
        assert np.array_equal(w_c.detach().numpy(), w_p.detach().numpy())
        assert np.array_equal(b_c.detach().numpy(), b_p.detach().numpy())


def test_outputs_dropped_are_reused_and_outputs_held_stay_as_they_were(steps):
    compiled = graphc.compile(lambda x: (x.sum(), x * 2))
    x = graphc.arange(6.0).reshape(2, 3)
    first = compiled(x)
    for _ in range(5):
        compiled(x)  # dropped at once: the kept arrays serve the next call
    _rendered_by(compiled, steps)
    x.add_(1)
    second = compiled(x)
    assert first[0].item() == 15 and second[0].item() == 21
    assert np.array_equal(first[1].numpy(), np.arange(6.0).reshape(2, 3) * 2)
    assert np.array_equal(second[1].numpy(), (np.arange(6.0).reshape(2, 3) + 1) * 2)
    assert second[0].dtype == graphc.float32 and second[1].shape == (2, 3)


def test_a_function_returning_nothing_updates_in_place_and_bumps_versions(steps):
    w = graphc.zeros(3)

    def update():
        w.add_(1)
        w.mul_(2)
    compiled = graphc.compile(update)
    expected = np.zeros(3, np.float32)
    for call in range(4):
        version = w._version
        assert compiled() is None
        expected = (expected + 1) * 2
        assert np.array_equal(w.numpy(), expected)
        assert w._version == version + 2, call  # two writes, as eager counts them
    _rendered_by(compiled, steps)


def test_a_failing_native_call_raises_eagers_error_and_leaves_the_generator(steps):
    def gather(x, i):
        return x[i] + graphc.rand(2)
    compiled = graphc.compile(gather)
    x = graphc.arange(8.0).reshape(4, 2)
    for _ in range(3):
        compiled(x, graphc.tensor([1, 3]))
    _rendered_by(compiled, steps)
    state = graphc.get_rng_state()
    with pytest.raises(IndexError) as ours:
        compiled(x, graphc.tensor([1, 9]))
    graphc.set_rng_state(state)
    with pytest.raises(IndexError) as theirs:
        gather(x, graphc.tensor([1, 9]))
    assert str(ours.value) == str(theirs.value)
    graphc.set_rng_state(state)
    expected = gather(x, graphc.tensor([0, 2]))
    graphc.set_rng_state(state)
    assert np.array_equal(compiled(x, graphc.tensor([0, 2])).numpy(), expected.numpy())


def test_outputs_made_in_inference_mode_are_inference_tensors(steps):
    compiled = graphc.compile(lambda x: x * 3)
    x = graphc.ones(2)
    compiled(x), compiled(x)
    _rendered_by(compiled, steps)
    assert not compiled(x).is_inference()
    with graphc.inference_mode():
        inside = [compiled(x), compiled(x)]
    assert all(out.is_inference() for out in inside)
    assert np.array_equal(inside[1].numpy(), [3.0, 3.0])


def test_the_c_steps_refuse_malformed_plans_with_a_python_error():
    native = native_call.extension()
    if native is None:
        pytest.skip("graphc_call cannot be built here (no Python.h)")
    memory = np.zeros(4, np.uint64)  # never called: every run() below is refused first
    address = memory.__array_interface__["data"][0]
    good = (address, address, address, memory, (), (), (), (), [1], print, np.empty,
            graphc.Tensor, object(), True)
    with pytest.raises(ValueError, match="null"):
        native.Call(0, *good[1:])
    with pytest.raises(TypeError):
        native.Call(*good[:5])
    with pytest.raises(TypeError):
        native.Call(*good[:8], (1,), *good[9:])  # threads not a list
    with pytest.raises(TypeError):
        native.Call(*good[:11], "not a type", *good[12:])
    with pytest.raises(ValueError):
        native.Call(*good[:7], (-1,), *good[8:])
    with pytest.raises(TypeError):
        native.Call(*good[:4], ((0, [1], np.float32, graphc.float32, True),), *good[5:])
    call = native.Call(*good)
    with pytest.raises(TypeError, match="takes 0 tensors"):
        call.run(graphc.ones(1))
    with pytest.raises(RuntimeError, match="initialised once"):
        call.__init__(*good)


def test_the_c_lock_behaves_as_threading_lock_and_makes_threads_take_turns():
    import threading
    native = native_call.extension()
    if native is None:
        pytest.skip("graphc_call cannot be built here (no Python.h)")
    lock = native.Lock()
    assert not lock.locked() and lock.acquire() is True and lock.locked()
    lock.release()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(TypeError):
        native.Lock(1)
    inside, overlaps = [0], []

    def worker():
        for _ in range(200):
            with lock:
                inside[0] += 1
                time.sleep(0)  # lets the others run: they must wait (without the GIL)
                if inside[0] != 1:
                    overlaps.append(inside[0])
                inside[0] -= 1
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [] and not lock.locked()


def test_only_a_call_with_work_to_do_releases_the_gil():
    """Releasing the GIL and taking it back is ~4% of a microsecond call: a small graph keeps
    it; one with a parallel loop's worth of elements lets other threads run meanwhile."""
    if native_call.extension() is None:
        pytest.skip("graphc_call cannot be built here (no Python.h)")
    released = {}
    for size in (8, 70000):
        compiled = graphc.compile(lambda x: (x * 2).sum(), fullgraph=True)
        x = graphc.ones(size)
        compiled(x), compiled(x)
        assert compiled(x).item() == 2 * size
        released[size] = compiled._latest._native_call(native_call.extension()).release
    assert released == {8: 0, 70000: 1}
