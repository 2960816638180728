"""graphc.compile against eager graphc, numpy and PyTorch (when importable), in one process.

So far (the compiler's first slice compiles elementwise graphs, reductions and views, and the
gradients autograd.grad computes inside them): the fused elementwise forward `y = x**2 * exp(x)`
on 4M float32 elements, and its forward + backward (y and dy/dx), each beside the
memory-bandwidth floor of a STREAM-style copy of the same bytes; and the cold (trace + C build)
and warm (cached library) compile time.
The linear-regression and MLP training steps of the compiler issue need reductions, matmul,
random ops and backward in compiled code, which are not lowered yet.

Run: python benchmarks/compile_loop.py [--quick]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import timeit

import numpy as np

import graphc

try:
    import torch
except ImportError:
    torch = None


def median_ms(function, number, repeat):
    function()
    return statistics.median(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e3


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
    number, repeat = (2, 5) if quick else (5, 9)
    times = {name: median_ms(function, number, repeat) for name, function in rows.items()}
    floor_time = times["memory floor (copy of the same bytes)"]
    print(f"fused forward + backward, y and dy/dx of x**2 * exp(x), {size:,} float32 (ms, median)")
    for name, value in times.items():
        print(f"  {name:40} {value:8.2f}   {value / floor_time:5.2f}x floor")


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
    number, repeat = (3, 5) if quick else (10, 9)
    times = {name: median_ms(function, number, repeat) for name, function in rows.items()}
    floor = times["memory floor (copy of the same bytes)"]
    print(f"fused elementwise forward, y = x**2 * exp(x), {size:,} float32 (ms, median)")
    for name, value in times.items():
        print(f"  {name:40} {value:8.2f}   {value / floor:5.2f}x floor")


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
    fused_elementwise(quick)
    fused_forward_backward(quick)
    compile_times()


if __name__ == "__main__":
    main()
