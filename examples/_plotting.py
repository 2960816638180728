"""Saving the examples' plots: matplotlib with the Agg backend (no display needed)."""
import os


def save_fit_plot(path, line_x, line_y, points_x, points_y, title):
    """Draw the fitted line over a scatter of data points and save it as a PNG; returns the path
    (None when matplotlib is not installed)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure = plt.figure()
    plt.plot(line_x, line_y)
    plt.scatter(points_x, points_y)
    plt.xlim(0, 20)
    plt.ylim(0, 41)
    plt.title(title)
    figure.savefig(path)
    plt.close(figure)
    return os.path.abspath(path)
