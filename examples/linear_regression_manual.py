"""Seed 1.5: linear regression with hand-written gradients, on graphc tensors.

Fits y = w x + b to noisy samples of y = 2x + 3 and saves the final fit as a PNG.
Run: python examples/linear_regression_manual.py [steps]
"""
import sys

import graphc as t
from _plotting import save_fit_plot

t.manual_seed(1000)


def get_fake_data(batch_size=8):
    """Random data with noise around y = 2x + 3, x in [0, 20]."""
    x = t.rand(batch_size, 1) * 20
    y = x * 2 + (1 + t.randn(batch_size, 1)) * 3
    return x, y


def main(steps=20000):
    w = t.rand(1, 1)
    b = t.zeros(1, 1)
    lr = 0.001
    for step in range(steps):
        x, y = get_fake_data()
        y_pred = x.mm(w) + b.expand_as(y)          # forward
        dy_pred = y_pred - y                         # backward, by hand: d(0.5 (y_pred - y)^2)
        dw = x.t().mm(dy_pred)
        db = dy_pred.sum()
        w.sub_(lr * dw)                              # update
        b.sub_(lr * db)
        if (step + 1) % 5000 == 0:
            print("y = ", w.squeeze().item(), " x + ", b.squeeze().item())
    print("Finally\ny = ", w.squeeze().item(), " x + ", b.squeeze().item())
    line_x = t.arange(0, 20).float().view(-1, 1)
    line_y = line_x.mm(w) + b.expand_as(line_x)
    points_x, points_y = get_fake_data(batch_size=20)
    path = save_fit_plot("linear_regression_manual.png", line_x.numpy(), line_y.numpy(),
                         points_x.numpy(), points_y.numpy(), "hand-written gradients")
    print("plot:", path or "(matplotlib is not installed)")
    return w, b


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
