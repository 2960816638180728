"""graphc's main example: the seed's linear regression (section 2.4), eager and compiled.

The same training step (draw a batch, forward, loss.backward(), SGD on .data, zero the .grads)
runs 8000 times eagerly and 8000 times through graphc.compile, each from seed 1000. The
compiled step is one call into generated C: the random batch, the forward pass, the gradient
subgraph and the in-place updates, with Philox drawing the same numbers as eager mode.

Run: python examples/linear_regression.py [steps]
"""
import sys
import time

import graphc as t
from _plotting import save_fit_plot


def make_model(seed=1000):
    """Fresh parameters and the seed's training step, which closes over them."""
    t.manual_seed(seed)
    w = t.rand(1, 1, requires_grad=True)
    b = t.zeros(1, 1, requires_grad=True)
    lr = 0.001

    def step():
        x = t.rand(8, 1) * 20                         # the batch: y = 2x + 3 plus noise
        y = x * 2 + (1 + t.randn(8, 1)) * 3
        y_pred = x.mm(w) + b.expand_as(y)
        loss = (0.5 * (y_pred - y) ** 2).sum()
        loss.backward()
        w.data.sub_(lr * w.grad.data)
        b.data.sub_(lr * b.grad.data)
        w.grad.data.zero_()
        b.grad.data.zero_()
        return loss
    return step, w, b


def train(label, step, w, b, steps):
    """Run `steps` steps; returns µs per step. The first two are not timed: a compiled step
    traces and compiles at its first call, and again at its second, when the .grads that the
    first created exist (a new signature)."""
    warm = min(2, steps)
    for _ in range(warm):
        step()
    started = time.perf_counter()
    for _ in range(steps - warm):
        step()
    per_step = (time.perf_counter() - started) / max(steps - warm, 1) * 1e6
    print(f"{label:9} y = {w.item():.4f} x + {b.item():.4f}   {per_step:7.1f} µs per step")
    return per_step


def main(steps=8000):
    eager_step, eager_w, eager_b = make_model()
    eager = train("eager", eager_step, eager_w, eager_b, steps)

    step, w, b = make_model()
    compiled_step = t.compile(step)
    compiled = train("compiled", compiled_step, w, b, steps)

    print(f"compiled is {eager / compiled:.0f}x faster; largest difference from eager: "
          f"{max(abs(w.item() - eager_w.item()), abs(b.item() - eager_b.item())):.1e}")

    line_x = t.arange(0, 20).float().view(-1, 1)
    line_y = line_x.mm(w.data) + b.data.expand_as(line_x)
    points_x = t.rand(20, 1) * 20
    points_y = points_x * 2 + (1 + t.randn(20, 1)) * 3
    path = save_fit_plot("linear_regression.png", line_x.numpy(), line_y.numpy(),
                         points_x.numpy(), points_y.numpy(), "compiled training step")
    print("plot:", path or "(matplotlib is not installed)")

    kernels = [line for line in compiled_step.source().splitlines()
               if line.startswith("static void kernel")]
    print(f"generated C: {len(kernels)} kernels, e.g. {kernels[0].split('(')[0][12:]}; "
          f"print(compiled_step.source()) shows it all, GRAPHC_DUMP=dir saves it, "
          f"and compiled_step.graph() is its IR")
    return w, b, eager_w, eager_b


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
