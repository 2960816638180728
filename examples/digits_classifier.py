"""Handwritten digits with a small CNN, trained eagerly and through graphc.compile side by side.

scikit-learn's bundled 8x8 digits (1797 images, shipped inside its wheel: nothing is
downloaded) are split 80/20 into training and held-out images. Two copies of the same network
(the same initial weights) train with nn.CrossEntropyLoss and optim.Adam on the same batches of
one shuffled DataLoader: one through the eager training step, one through
graphc.compile(training_step). Each epoch prints both mean losses and both held-out accuracies;
the end prints the final accuracy, the time per step of each and the speedup, and saves a plot
of both loss curves and a grid of the held-out digits the compiled model gets wrong.

Run: python examples/digits_classifier.py [--epochs N] [--out DIR]
(needs scikit-learn: pip install scikit-learn, or pip install ".[test]")
"""
import argparse
import os
import statistics
import sys
import time
import types

import numpy as np

import graphc
import graphc.nn as nn
from graphc.utils.data import DataLoader, TensorDataset
from _plotting import save_image_grid, save_loss_curves

BATCH_SIZE = 32
LEARNING_RATE = 0.005


def load_split(test_fraction=0.2, seed=0):
    """(train images, train labels, held-out images, held-out labels): images (N, 1, 8, 8)
    float32 in [0, 1], labels int64; the split is a seeded random permutation."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("digits_classifier.py needs scikit-learn for its data set (sklearn.datasets."
                 "load_digits): pip install scikit-learn, or pip install \".[test]\"")
    digits = load_digits()
    images = graphc.from_numpy((digits.images / 16.0).astype(np.float32)).unsqueeze(1)
    labels = graphc.from_numpy(digits.target.astype(np.int64))
    order = graphc.randperm(len(labels), generator=graphc.Generator().manual_seed(seed))
    test_count = int(len(labels) * test_fraction)
    held_out, train = order[:test_count], order[test_count:]
    return images[train], labels[train], images[held_out], labels[held_out]


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 8x8 -> 4x4
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 4x4 -> 2x2
        nn.Flatten(), nn.Linear(16 * 2 * 2, 10))


def make_training_step(model):
    """The usual step (zero the grads, forward, loss, backward, Adam) over the model's own
    optimizer: a plain function of the batch, which graphc.compile can take as it is."""
    optimizer = graphc.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_function = nn.CrossEntropyLoss()

    def training_step(images, labels):
        optimizer.zero_grad()
        loss = loss_function(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss
    return training_step


def predict(model, images):
    with graphc.no_grad():
        return model(images).argmax(dim=1)


def timed(step, images, labels, seconds):
    """Run one step, append its duration to `seconds`, return its loss as a float (read after
    the clock stops)."""
    started = time.perf_counter()
    loss = step(images, labels)
    seconds.append(time.perf_counter() - started)
    return loss.item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default=".", help="directory for the two PNGs (default: .)")
    options = parser.parse_args(argv)
    train_images, train_labels, test_images, test_labels = load_split()

    graphc.manual_seed(0)
    eager_model, compiled_model = make_model(), make_model()
    compiled_model.load_state_dict(eager_model.state_dict())   # the same initial weights
    eager_step = make_training_step(eager_model)
    compiled_step = graphc.compile(make_training_step(compiled_model))
    # one loader serves both models, so they see the same batches in the same order
    loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=BATCH_SIZE,
                        shuffle=True, drop_last=True, generator=graphc.Generator().manual_seed(1))
    print(f"{len(train_labels)} training and {len(test_labels)} held-out digits, "
          f"{len(loader)} batches of {BATCH_SIZE} an epoch")

    losses = {"eager": [], "compiled": []}
    seconds = {"eager": [], "compiled": []}
    for epoch in range(1, options.epochs + 1):
        first = len(losses["eager"])
        for images, labels in loader:
            losses["eager"].append(timed(eager_step, images, labels, seconds["eager"]))
            losses["compiled"].append(timed(compiled_step, images, labels, seconds["compiled"]))
        mean = {name: statistics.fmean(values[first:]) for name, values in losses.items()}
        accuracy = {name: (predict(model, test_images) == test_labels).float().mean().item()
                    for name, model in (("eager", eager_model), ("compiled", compiled_model))}
        print(f"epoch {epoch:2}/{options.epochs}  loss eager {mean['eager']:.4f} compiled "
              f"{mean['compiled']:.4f}  held-out accuracy eager {accuracy['eager']:.1%} "
              f"compiled {accuracy['compiled']:.1%}")

    predicted = predict(compiled_model, test_images)
    wrong = (predicted != test_labels).nonzero().flatten().tolist()
    print(f"held-out accuracy: {1 - len(wrong) / len(test_labels):.1%} "
          f"({len(test_labels) - len(wrong)} of {len(test_labels)} right, compiled model)")
    # medians: the compiled step's first calls trace and build C, and are not its cost
    per_step = {name: statistics.median(values) * 1e3 for name, values in seconds.items()}
    speedup = per_step["eager"] / per_step["compiled"]
    difference = max(abs(a - b) for a, b in zip(losses["eager"], losses["compiled"]))
    print(f"time per step: eager {per_step['eager']:.2f} ms, compiled {per_step['compiled']:.2f} "
          f"ms: compiled is {speedup:.1f}x faster; largest loss difference {difference:.1e}")

    os.makedirs(options.out, exist_ok=True)
    curves = save_loss_curves(os.path.join(options.out, "digits_loss.png"), losses,
                              "digits CNN, cross-entropy per step (Adam)")
    shown = wrong[:32]
    grid = save_image_grid(os.path.join(options.out, "digits_misclassified.png"),
                           [test_images[i, 0].numpy() for i in shown],
                           [f"{test_labels[i].item()} as {predicted[i].item()}" for i in shown],
                           f"held-out digits the compiled model gets wrong ({len(wrong)})")
    print("loss curves:", curves or "(matplotlib is not installed)")
    print("misclassified:", grid or "(matplotlib is not installed)")
    return types.SimpleNamespace(losses=losses, accuracy=1 - len(wrong) / len(test_labels),
                                 per_step_ms=per_step, plots=(curves, grid))


if __name__ == "__main__":
    main()
