"""graphc.compile against eager graphc, numpy and PyTorch (when importable), in one process.

1. The seed's linear-regression step (batch 8, data drawn inside the step, autograd, SGD):
   eager graphc, compiled graphc, hand-written numpy, PyTorch eager; µs per step.
2. The fused elementwise forward `y = x**2 * exp(x)` on 4M float32 elements, and its forward +
   backward (y and dy/dx), each beside the memory-bandwidth floor of a STREAM-style copy of the
   same bytes.
3. An MLP training step (784-256-10, ReLU, softmax cross-entropy, batch 64, SGD), eager and
   compiled graphc, hand-written numpy, PyTorch eager; ms per step. Two floors beside them: its
   five matrix products alone at numpy's BLAS rate, and those plus the memory traffic the SGD
   update of the largest parameter needs however it is fused (read w1, its .grad and the
   product; write w1 and the zeroed .grad).
4. The cold (trace + C build) and warm (cached library) first call in a fresh process.

Each section also times torch.compile when torch is importable (building takes ~30 s a section
on 2 cores; --no-torch-compile skips it).

Run: python benchmarks/compile_loop.py [--quick] [--no-torch-compile]
"""
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import timeit

import numpy as np

import graphc
from seed_steps import regression_step

try:
    import torch
except ImportError:
    torch = None


def median_ms(function, number, repeat):
    function()
    return statistics.median(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e3


def interleaved_medians_ms(rows, number, repeat):
    """Median ms per call of each row, the rows timed in turn within each repetition (in reverse
    order every other one): a slow spell of this shared machine then falls on every row alike,
    not on whichever ran in it."""
    for function in rows.values():
        function()
    names = list(rows)
    samples = {name: [] for name in names}
    for round_index in range(repeat):
        for name in (names if round_index % 2 == 0 else names[::-1]):
            samples[name].append(timeit.timeit(rows[name], number=number) / number * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def print_against_floor(title, rows, number, repeat):
    """Time each row (median ms) and print it beside the memory-floor row."""
    times = interleaved_medians_ms(rows, number, repeat)
    floor = times["memory floor (copy of the same bytes)"]
    print(title)
    for name, value in times.items():
        print(f"  {name:40} {value:8.2f}   {value / floor:5.2f}x floor")


def add_torch_compile(rows, function, *args):
    """A "torch.compile" row calling torch.compile(function)(*args) (it takes tens of seconds to
    build on 2 cores; --no-torch-compile skips it); left out, saying why, if it fails."""
    if "--no-torch-compile" in sys.argv:
        return
    compiled = torch.compile(function)
    try:
        compiled(*args)
        compiled(*args)
    except Exception as error:  # an inductor toolchain problem is not graphc's measurement
        print(f"  (torch.compile left out: {type(error).__name__}: {str(error)[:80]})")
        return
    rows["torch.compile"] = lambda: compiled(*args)


def numpy_regression_step():
    rng = np.random.default_rng(1000)
    state = {"w": rng.random((1, 1), dtype=np.float32), "b": np.zeros((1, 1), np.float32)}
    lr = np.float32(0.001)

    def step():
        x = rng.random((8, 1), dtype=np.float32) * 20
        y = x * 2 + (1 + rng.standard_normal((8, 1), dtype=np.float32)) * 3
        w, b = state["w"], state["b"]
        y_pred = x @ w + b
        difference = y_pred - y
        loss = 0.5 * (difference ** 2).sum()
        w -= lr * (x.T @ difference)
        b -= lr * difference.sum()
        return loss
    return step


def regression(quick):
    steps = 2000 if quick else 8000
    rows = {"graphc eager": regression_step(graphc)[0],
            "graphc compiled": graphc.compile(regression_step(graphc)[0], fullgraph=True),
            "numpy (by hand)": numpy_regression_step()}
    repeated = graphc.compile(regression_step(graphc)[0], fullgraph=True)
    # compiled.repeat: a round's steps in one native call (the row is timed per step too)
    loops = {"graphc compiled .repeat(n)": repeated.repeat}
    rows["graphc compiled .repeat(n)"] = repeated
    if torch is not None:
        rows["torch eager"] = regression_step(torch)[0]
        add_torch_compile(rows, regression_step(torch)[0])
    rounds = 3 if quick else 7
    print(f"linear-regression step (seed 2.4: batch 8, data drawn in the step), µs per step, "
          f"median of {rounds} rounds of {steps} steps (the rows take turns)")
    samples = {name: [] for name in rows}
    for step in rows.values():
        for _ in range(20):  # compiles (twice: the first call creates the .grads) and warms up
            step()
    for _ in range(rounds):
        for name, step in rows.items():
            gc.disable()  # as timeit does: a collection of another row's garbage is no one's
            start = timeit.default_timer()
            if name in loops:
                loops[name](steps)
            else:
                for _ in range(steps):
                    step()
            samples[name].append((timeit.default_timer() - start) / steps * 1e6)
            gc.enable()
    times = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in times.items():
        print(f"  {name:40} {value:8.1f}   numpy/this {times['numpy (by hand)'] / value:5.2f}")


def mlp_step(library, x, onehot, set_to_none=False):
    """One SGD step of a 784-256-10 ReLU MLP with softmax cross-entropy, for graphc or torch;
    the gradients are zeroed in place (`.grad.zero_()`), or dropped (`p.grad = None`, what
    `zero_grad()` does by default) with `set_to_none`."""
    library.manual_seed(0)
    w1 = (library.randn(784, 256) * 0.05).requires_grad_()
    b1 = library.zeros(256, requires_grad=True)
    w2 = (library.randn(256, 10) * 0.05).requires_grad_()
    b2 = library.zeros(10, requires_grad=True)
    parameters = [w1, b1, w2, b2]

    def step(x, onehot):
        hidden = (x @ w1 + b1).clamp(min=0)
        logits = hidden @ w2 + b2
        top = logits.amax(dim=1, keepdim=True)
        log_sum_exp = (logits - top).exp().sum(dim=1, keepdim=True).log() + top
        loss = ((log_sum_exp - logits) * onehot).sum() / x.shape[0]
        loss.backward()
        with library.no_grad():
            for parameter in parameters:
                parameter.sub_(0.1 * parameter.grad)
                if set_to_none:
                    parameter.grad = None
                else:
                    parameter.grad.zero_()
        return loss
    return step


def numpy_mlp_step(x, onehot):
    rng = np.random.default_rng(0)
    w1 = (rng.standard_normal((784, 256), dtype=np.float32) * 0.05)
    b1 = np.zeros(256, np.float32)
    w2 = (rng.standard_normal((256, 10), dtype=np.float32) * 0.05)
    b2 = np.zeros(10, np.float32)

    def step():
        pre = x @ w1 + b1
        hidden = np.maximum(pre, 0)
        logits = hidden @ w2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = ((np.log(total) - shifted) * onehot).sum() / x.shape[0]
        d_logits = (exp / total - onehot) / x.shape[0]
        d_hidden = (d_logits @ w2.T) * (pre > 0)
        w2[...] -= 0.1 * (hidden.T @ d_logits)
        b2[...] -= 0.1 * d_logits.sum(axis=0)
        w1[...] -= 0.1 * (x.T @ d_hidden)
        b1[...] -= 0.1 * d_hidden.sum(axis=0)
        return loss
    return step


def mlp(quick):
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal((64, 784), dtype=np.float32)
    onehot_np = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    x, onehot = graphc.from_numpy(x_np), graphc.from_numpy(onehot_np)
    eager, compiled = mlp_step(graphc, x, onehot), graphc.compile(mlp_step(graphc, x, onehot),
                                                                   fullgraph=True)
    dropping = graphc.compile(mlp_step(graphc, x, onehot, set_to_none=True), fullgraph=True)
    rows = {"graphc eager": lambda: eager(x, onehot),
            "graphc compiled": lambda: compiled(x, onehot),
            "graphc compiled, p.grad = None": lambda: dropping(x, onehot),
            "numpy (by hand)": numpy_mlp_step(x_np, onehot_np)}
    hidden = np.maximum(x_np @ rng.standard_normal((784, 256), dtype=np.float32) * 0.05, 0)
    w2 = rng.standard_normal((256, 10), dtype=np.float32) * 0.05
    d_logits = rng.standard_normal((64, 10), dtype=np.float32)
    # finite values of the step's scale: BLAS on overflowed (inf, NaN) operands runs at another rate
    w1 = rng.standard_normal((784, 256), dtype=np.float32) * 0.05

    def products():  # the step's five products alone, at numpy's BLAS rate: the step's floor
        np.matmul(x_np, w1, out=hidden)
        hidden @ w2
        d_logits @ w2.T
        hidden.T @ d_logits
        x_np.T @ hidden
    rows["matrix products alone (BLAS rate)"] = products
    w1_copy, w1_grad, w1_product = np.zeros_like(w1), np.zeros_like(w1), np.empty_like(w1)

    def products_and_update_bytes():
        """The products, plus the bytes the SGD step on w1 must move however it is fused:
        read w1, its .grad and x.T @ d_hidden; write w1 and the zeroed .grad (5 streams of
        w1's size; the largest parameter makes the step's second floor)."""
        np.matmul(x_np, w1, out=hidden)
        hidden @ w2
        d_logits @ w2.T
        hidden.T @ d_logits
        np.matmul(x_np.T, hidden, out=w1_product)
        np.add(w1_copy, w1_product, out=w1_copy)  # reads 2 streams, writes 1
        np.copyto(w1_grad, w1_product)            # reads 1, writes 1
    rows["products + the w1 update's memory traffic"] = products_and_update_bytes
    if torch is not None:
        x_t, onehot_t = torch.from_numpy(x_np), torch.from_numpy(onehot_np)
        torch_step = mlp_step(torch, x_t, onehot_t)
        rows["torch eager"] = lambda: torch_step(x_t, onehot_t)
        add_torch_compile(rows, mlp_step(torch, x_t, onehot_t), x_t, onehot_t)
    number, repeat = (10, 5) if quick else (20, 15)
    times = interleaved_medians_ms(rows, number, repeat)
    print("MLP step (784-256-10, ReLU, softmax cross-entropy, batch 64, SGD), ms per step (median)")
    floor = times["matrix products alone (BLAS rate)"]
    for name, value in times.items():
        print(f"  {name:40} {value:8.3f}   numpy/this {times['numpy (by hand)'] / value:5.2f}"
              f"   {value / floor:5.2f}x products")


def fused_forward_backward(quick):
    size = 4_000_000
    x_np = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    x = graphc.from_numpy(x_np).requires_grad_()
    ones = graphc.ones(size)

    def step(t):
        y = t ** 2 * graphc.exp(t)
        (gradient,) = graphc.autograd.grad(y, t, ones)
        return y, gradient
    compiled = graphc.compile(step, fullgraph=True)
    out_y, out_g = np.empty_like(x_np), np.empty_like(x_np)

    def floor():  # read x once, write two arrays: the bytes the fused kernel must move
        np.copyto(out_y, x_np)
        np.copyto(out_g, x_np)

    def numpy_step():
        e = np.exp(x_np)
        return x_np ** 2 * e, (2 * x_np + x_np ** 2) * e

    rows = {"memory floor (copy of the same bytes)": floor, "graphc compiled": lambda: compiled(x),
            "graphc eager": lambda: step(x), "numpy (by hand)": numpy_step}
    if torch is not None:
        x_t = torch.from_numpy(x_np).requires_grad_()
        ones_t = torch.ones(size)

        def torch_step():
            y = x_t ** 2 * torch.exp(x_t)
            return y, torch.autograd.grad(y, x_t, ones_t)[0]
        rows["torch eager"] = torch_step
        add_torch_compile(rows, torch_step)
    print_against_floor(f"fused forward + backward, y and dy/dx of x**2 * exp(x), {size:,} "
                        "float32 (ms, median)", rows, *((2, 5) if quick else (5, 25)))

    # the torch.compile way: the compiled forward's backward runs outside it, later
    forward = graphc.compile(lambda t: t ** 2 * graphc.exp(t))

    def outside():
        y = forward(x)
        return y, graphc.autograd.grad(y, x, ones)[0]
    ones_np = ones.numpy()

    def outside_floor():  # read x, write y; then read x and the incoming gradient, write dx
        np.copyto(out_y, x_np)
        np.add(x_np, ones_np, out=out_g)
    rows = {"memory floor (copy of the same bytes)": outside_floor,
            "graphc compiled, backward outside": outside}
    if torch is not None:
        forward_t = torch.compile(lambda t: t ** 2 * torch.exp(t)) if "--no-torch-compile" \
            not in sys.argv else None

        def torch_outside():
            y = forward_t(x_t)
            return y, torch.autograd.grad(y, x_t, ones_t)[0]
        if forward_t is not None:
            rows["torch.compile, backward outside"] = torch_outside
    print_against_floor(f"y = f(x) compiled, then autograd.grad(y, x, g) outside it, {size:,} "
                        "float32 (ms, median)", rows, *((2, 5) if quick else (5, 25)))


def fused_elementwise(quick):
    size = 4_000_000
    x_np = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    x = graphc.from_numpy(x_np)
    compiled = graphc.compile(lambda t: t ** 2 * graphc.exp(t))
    out = np.empty_like(x_np)
    rows = {
        "memory floor (copy of the same bytes)": lambda: np.copyto(out, x_np),
        "graphc compiled": lambda: compiled(x),
        "graphc eager": lambda: x ** 2 * graphc.exp(x),
        "numpy": lambda: x_np ** 2 * np.exp(x_np),
    }
    if torch is not None:
        x_t = torch.from_numpy(x_np)
        rows["torch eager"] = lambda: x_t ** 2 * torch.exp(x_t)
        add_torch_compile(rows, lambda t: t ** 2 * torch.exp(t), x_t)
    print_against_floor(f"fused elementwise forward, y = x**2 * exp(x), {size:,} float32 "
                        "(ms, median)", rows, *((3, 5) if quick else (10, 25)))


COMPILE_SCRIPT = """
import time
start = time.perf_counter()
import graphc
imported = time.perf_counter()
f = graphc.compile(lambda t: (t * 3).sigmoid() + t ** 2)
f(graphc.ones(16))
done = time.perf_counter()
print(f"{(done - imported) * 1e3:.1f} {f._latest.origin}")
"""


def compile_times():
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, GRAPHC_CACHE_DIR=cache)
        results = []
        for _ in range(2):
            run = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], capture_output=True,
                                 text=True, env=env, check=True)
            results.append(run.stdout.split())
    (cold, cold_origin), (warm, warm_origin) = results
    print("first call of a compiled function in a fresh process, import excluded (ms)")
    print(f"  cold (trace + build, library {cold_origin:5}) {float(cold):8.1f}")
    print(f"  warm (trace + load,  library {warm_origin:5}) {float(warm):8.1f}")


def main():
    quick = "--quick" in sys.argv
    print(f"torch {'not importable' if torch is None else torch.__version__}")
    regression(quick)
    fused_elementwise(quick)
    fused_forward_backward(quick)
    mlp(quick)
    compile_times()


if __name__ == "__main__":
    main()
