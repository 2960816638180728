"""Seed 2.4: the same linear regression with gradients from autograd (Variable-style code).

Run: python examples/linear_regression_autograd.py [steps]
"""
import sys

import graphc as t
from graphc.autograd import Variable as V
from _plotting import save_fit_plot

t.manual_seed(1000)


def get_fake_data(batch_size=8):
    """Random data with noise around y = 2x + 3, x in [0, 20]."""
    x = t.rand(batch_size, 1) * 20
    y = x * 2 + (1 + t.randn(batch_size, 1)) * 3
    return x, y


def main(steps=8000):
    w = V(t.rand(1, 1), requires_grad=True)
    b = V(t.zeros(1, 1), requires_grad=True)
    lr = 0.001
    for step in range(steps):
        x, y = get_fake_data()
        x, y = V(x), V(y)
        y_pred = x.mm(w) + b.expand_as(y)
        loss = (0.5 * (y_pred - y) ** 2).sum()
        loss.backward()                              # gradients by autograd
        w.data.sub_(lr * w.grad.data)
        b.data.sub_(lr * b.grad.data)
        w.grad.data.zero_()
        b.grad.data.zero_()
        if (step + 1) % 2000 == 0:
            print("y = ", w.squeeze().item(), " x + ", b.squeeze().item())
    print("Finally\ny = ", w.squeeze().item(), " x + ", b.squeeze().item())
    line_x = t.arange(0, 20).float().view(-1, 1)
    line_y = line_x.mm(w.data) + b.data.expand_as(line_x)
    points_x, points_y = get_fake_data(batch_size=20)
    path = save_fit_plot("linear_regression_autograd.png", line_x.numpy(), line_y.numpy(),
                         points_x.numpy(), points_y.numpy(), "gradients by autograd")
    print("plot:", path or "(matplotlib is not installed)")
    return w, b


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
