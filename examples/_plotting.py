"""Saving the examples' plots: matplotlib with the Agg backend (no display needed)."""
import math
import os


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _save(plt, figure, path):
    figure.savefig(path)
    plt.close(figure)
    return os.path.abspath(path)


def save_fit_plot(path, line_x, line_y, points_x, points_y, title):
    """Draw the fitted line over a scatter of data points and save it as a PNG; returns the path
    (None when matplotlib is not installed)."""
    plt = pyplot()
    if plt is None:
        return None
    figure = plt.figure()
    plt.plot(line_x, line_y)
    plt.scatter(points_x, points_y)
    plt.xlim(0, 20)
    plt.ylim(0, 41)
    plt.title(title)
    return _save(plt, figure, path)


def save_loss_curves(path, curves, title):
    """Plot each named sequence of per-step losses ({label: losses}) on one axis; the later ones
    dashed, so that curves lying on top of each other both stay visible. Returns the path
    (None when matplotlib is not installed)."""
    plt = pyplot()
    if plt is None:
        return None
    figure = plt.figure(figsize=(7, 4))
    for index, (label, losses) in enumerate(curves.items()):
        plt.plot(range(1, len(losses) + 1), losses, "-" if index == 0 else "--", label=label)
    plt.yscale("log")
    plt.xlabel("training step")
    plt.ylabel("loss")
    plt.title(title)
    plt.legend()
    return _save(plt, figure, path)


def save_image_grid(path, images, captions, title, columns=8):
    """Draw grey-scale images (a sequence of 2-D arrays) in a grid, each with its caption;
    an empty sequence gives a figure that says so. Returns the path (None when matplotlib is
    not installed)."""
    plt = pyplot()
    if plt is None:
        return None
    rows = max(1, math.ceil(len(images) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.3 + 0.6),
                                squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(images):
            axis.imshow(images[index], cmap="gray_r", interpolation="nearest")
            axis.set_title(captions[index], fontsize=9)
    if not images:
        axes[0, 0].text(0, 0.5, "none", fontsize=12)
    figure.suptitle(title)
    return _save(plt, figure, path)
