"""The MLP training step through graphc.nn and graphc.optim, beside the same step written by hand.

The step of benchmarks/compile_loop.py (784-256-10, ReLU, softmax cross-entropy, batch 64,
SGD lr 0.1) written the usual way, `nn.Sequential(Linear, ReLU, Linear)` +
`nn.CrossEntropyLoss` + `optim.SGD` (zero_grad, forward, backward, step), timed in one
process with the hand-written step (tensors, `@`, `amax`/`exp`/`log`, `sub_` on the
parameters) for graphc eager and compiled, numpy by hand (gradients written out), and PyTorch
eager and torch.compile (when importable) for both. Each row is timed on its own, `repeat`
rounds of `number` steps, and its figure is the median round. (Rows taking turns every few
steps slow each other down several-fold on 2 cores: the idle threads of one row's thread pool
(numpy's OpenBLAS, the compiled code's OpenBLAS and OpenMP, torch's) still spin while the next
row's work; one thread each (OPENBLAS_NUM_THREADS=1 or OMP_NUM_THREADS=1) removes most of it.)

Targets (reported, not asserted): compiled nn step <= 1.05x the compiled hand-written step;
eager nn step <= 1.3x torch's eager nn step.

Run: python benchmarks/nn_step.py [--quick] [--no-torch-compile]
"""
import sys

import numpy as np

import graphc
from compile_loop import add_torch_compile, median_ms, mlp_step, numpy_mlp_step

try:
    import torch
except ImportError:
    torch = None


def nn_mlp_step(library):
    """The MLP step through library.nn and library.optim (graphc or torch), seeded."""
    library.manual_seed(0)
    nn = library.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss_function = nn.CrossEntropyLoss()
    optimizer = library.optim.SGD(model.parameters(), lr=0.1)

    def step(x, target):
        optimizer.zero_grad()
        loss = loss_function(model(x), target)
        loss.backward()
        optimizer.step()
        return loss
    return step


def batch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 784), dtype=np.float32)
    target = rng.integers(0, 10, 64)
    return x, target, np.eye(10, dtype=np.float32)[target]


def rows_to_time():
    """{row name: a function of no arguments that runs one step}."""
    x_np, target_np, onehot_np = batch()
    x, target, onehot = (graphc.from_numpy(x_np), graphc.from_numpy(target_np),
                         graphc.from_numpy(onehot_np))
    hand_eager = mlp_step(graphc, x, onehot)
    hand_compiled = graphc.compile(mlp_step(graphc, x, onehot), fullgraph=True)
    nn_eager = nn_mlp_step(graphc)
    nn_compiled = graphc.compile(nn_mlp_step(graphc))
    rows = {"graphc hand-written eager": lambda: hand_eager(x, onehot),
            "graphc hand-written compiled": lambda: hand_compiled(x, onehot),
            "graphc nn eager": lambda: nn_eager(x, target),
            "graphc nn compiled": lambda: nn_compiled(x, target),
            "numpy (by hand)": numpy_mlp_step(x_np, onehot_np)}
    if torch is not None:
        x_t, target_t, onehot_t = (torch.from_numpy(x_np), torch.from_numpy(target_np),
                                   torch.from_numpy(onehot_np))
        torch_hand, torch_nn = mlp_step(torch, x_t, onehot_t), nn_mlp_step(torch)
        rows["torch hand-written eager"] = lambda: torch_hand(x_t, onehot_t)
        rows["torch nn eager"] = lambda: torch_nn(x_t, target_t)
        compiled_rows = {}
        add_torch_compile(compiled_rows, nn_mlp_step(torch), x_t, target_t)
        if compiled_rows:
            rows["torch nn torch.compile"] = compiled_rows["torch.compile"]
    return rows


def ratio_line(times, name, reference, target=None):
    if name not in times or reference not in times:
        return f"  {name} / {reference}: (a row is missing)"
    ratio = times[name] / times[reference]
    line = f"  {name + ' / ' + reference:60} {ratio:5.2f}"
    if target is not None:
        line += f"   (target <= {target}: {'met' if ratio <= target else 'NOT met'})"
    return line


def main():
    quick = "--quick" in sys.argv
    number, repeat = (10, 5) if quick else (20, 25)
    print(f"torch {'not importable' if torch is None else torch.__version__}, "
          f"{graphc.get_num_threads()} threads")
    rows = rows_to_time()
    for step in rows.values():
        for _ in range(5):  # compiles (a signature with .grads None, then one with them) and warms
            step()
    times = {name: median_ms(step, number, repeat) for name, step in rows.items()}
    print(f"MLP step (784-256-10, ReLU, softmax cross-entropy, batch 64, SGD), ms per step, "
          f"median of {repeat} rounds of {number} steps")
    numpy_time = times["numpy (by hand)"]
    for name, value in times.items():
        print(f"  {name:32} {value:8.3f}   numpy/this {numpy_time / value:5.2f}")
    print("ratios")
    print(ratio_line(times, "graphc nn compiled", "graphc hand-written compiled", 1.05))
    print(ratio_line(times, "graphc nn eager", "torch nn eager", 1.3))
    print(ratio_line(times, "graphc nn eager", "graphc hand-written eager"))
    print(ratio_line(times, "torch nn eager", "torch hand-written eager"))


if __name__ == "__main__":
    main()
