"""Losses against numpy formulas (always) and torch (when importable), float64 gradchecks."""
import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F
from nn_helpers import RNG, array, leaf, values, check_gradients


def log_softmax(x, axis):
    shifted = x - x.max(axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis, keepdims=True))


def reduce(loss, reduction):
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_pointwise_losses_match_numpy(reduction):
    x, y = array(3, 4), array(3, 4)
    gx, gy = graphc.tensor(x), graphc.tensor(y)
    d = x - y
    np.testing.assert_allclose(values(nn.MSELoss(reduction=reduction)(gx, gy)),
                               reduce(d ** 2, reduction))
    np.testing.assert_allclose(values(nn.L1Loss(reduction=reduction)(gx, gy)),
                               reduce(np.abs(d), reduction))
    beta = 0.3
    smooth = np.where(np.abs(d) < beta, 0.5 * d ** 2 / beta, np.abs(d) - 0.5 * beta)
    np.testing.assert_allclose(values(nn.SmoothL1Loss(reduction=reduction, beta=beta)(gx, gy)),
                               reduce(smooth, reduction))
    p, t = RNG.uniform(0.05, 0.95, (3, 4)), RNG.uniform(0, 1, (3, 4))
    weight = RNG.uniform(0.5, 2, (4,))
    bce = -weight * (t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(
        values(nn.BCELoss(weight=graphc.tensor(weight), reduction=reduction)(
            graphc.tensor(p), graphc.tensor(t))), reduce(bce, reduction))
    pos_weight = RNG.uniform(0.5, 3, (4,))
    s = 1 / (1 + np.exp(-x))
    logits = -(pos_weight * t * np.log(s) + (1 - t) * np.log(1 - s))
    np.testing.assert_allclose(
        values(nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=graphc.tensor(pos_weight))(
            gx, graphc.tensor(t))), reduce(logits, reduction))


def test_losses_edge_behaviour():
    # BCE clamps log at -100; logits stay finite for large inputs
    assert F.binary_cross_entropy(graphc.tensor([0.0]), graphc.tensor([1.0])).item() == 100.0
    big = F.binary_cross_entropy_with_logits(graphc.tensor([-200.0]), graphc.tensor([1.0]))
    assert big.item() == pytest.approx(200.0)
    with pytest.raises(ValueError, match="Using a target size"):
        F.binary_cross_entropy(graphc.ones(2, 1) * 0.5, graphc.ones(2))
    with pytest.raises(ValueError, match="Target size \\(torch.Size\\(\\[2\\]\\)\\) must be the "
                                         "same as input size"):
        F.binary_cross_entropy_with_logits(graphc.ones(2, 1), graphc.ones(2))
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(graphc.ones(2), graphc.ones(2), reduction="foo")
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(graphc.ones(2, 1), graphc.ones(2))
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values"):
        F.smooth_l1_loss(graphc.ones(2), graphc.ones(2), beta=-1.0)
    assert F.smooth_l1_loss(graphc.tensor([3.0]), graphc.zeros(1), beta=0.0).item() == 3.0


def numpy_cross_entropy(x, target, weight, ignore_index, reduction, smoothing):
    """Class targets, class axis 1; torch's formulas for weight, ignore_index, smoothing."""
    logp = log_softmax(x, 1)
    classes = x.shape[1]
    w = np.ones(classes) if weight is None else weight
    ignored = target == ignore_index
    safe = np.where(ignored, 0, target)
    picked = np.take_along_axis(logp, safe[:, None], 1)[:, 0]
    per_weight = np.where(ignored, 0.0, w[safe])
    nll = -picked * per_weight
    smooth = np.where(ignored, 0.0, -(logp * w).sum(1))
    if reduction == "mean":
        nll, smooth = nll.sum() / per_weight.sum(), smooth.sum() / per_weight.sum()
    elif reduction == "sum":
        nll, smooth = nll.sum(), smooth.sum()
    return (1 - smoothing) * nll + smoothing / classes * smooth


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_and_nll_match_numpy(reduction, weighted, smoothing):
    x = array(6, 4) * 3
    target = np.array([0, 3, 1, -100, 2, 3])
    weight = RNG.uniform(0.5, 2, 4) if weighted else None
    expected = numpy_cross_entropy(x, target, weight, -100, reduction, smoothing)
    loss = nn.CrossEntropyLoss(weight=None if weight is None else graphc.tensor(weight),
                               reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(values(loss(graphc.tensor(x), graphc.tensor(target))), expected,
                               rtol=1e-12)
    if smoothing == 0.0:
        nll = nn.NLLLoss(weight=None if weight is None else graphc.tensor(weight),
                         reduction=reduction)
        np.testing.assert_allclose(values(nll(graphc.tensor(log_softmax(x, 1)),
                                              graphc.tensor(target))), expected, rtol=1e-12)


def test_cross_entropy_probability_targets_spatial_and_unbatched():
    x = array(3, 4) * 2
    probabilities = RNG.dirichlet(np.ones(4), 3)
    expected = -(log_softmax(x, 1) * probabilities).sum(1).mean()
    np.testing.assert_allclose(values(F.cross_entropy(graphc.tensor(x),
                                                      graphc.tensor(probabilities))), expected)
    smoothed = probabilities * 0.9 + 0.1 / 4
    expected = -(log_softmax(x, 1) * smoothed).sum(1).mean()
    np.testing.assert_allclose(values(F.cross_entropy(graphc.tensor(x), graphc.tensor(
        probabilities), label_smoothing=0.1)), expected)
    image = array(2, 3, 4, 5)
    labels = RNG.integers(0, 3, (2, 4, 5))
    expected = -np.take_along_axis(log_softmax(image, 1), labels[:, None], 1).mean()
    np.testing.assert_allclose(values(F.cross_entropy(graphc.tensor(image),
                                                      graphc.tensor(labels))), expected)
    single = array(5)
    np.testing.assert_allclose(values(F.cross_entropy(graphc.tensor(single), graphc.tensor(2))),
                               -log_softmax(single, 0)[2])
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)"):
        F.cross_entropy(graphc.tensor(x), graphc.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class "
                                           "probabilities, got Long"):
        F.cross_entropy(graphc.tensor(x), graphc.zeros(3, 4, dtype=graphc.int64))


def test_loss_gradients():
    target = graphc.tensor([0, 2, 1, -100])
    weight = graphc.tensor([0.5, 1.0, 2.0], dtype=graphc.float64)
    check_gradients(lambda x: F.cross_entropy(x, target, weight=weight, label_smoothing=0.1),
                    leaf(4, 3))
    check_gradients(lambda x, p: F.cross_entropy(x, p), leaf(2, 3), leaf(2, 3, low=0, high=1))
    check_gradients(lambda x: F.nll_loss(x, target), leaf(4, 3))
    y = leaf(3, 2)
    check_gradients(lambda x: F.mse_loss(x, y), leaf(3, 2))
    check_gradients(lambda x: F.l1_loss(x, y), leaf(3, 2, low=2, high=3))
    check_gradients(lambda x: F.smooth_l1_loss(x, y, beta=0.5), leaf(3, 2, low=-3, high=3))
    check_gradients(lambda p, t: F.binary_cross_entropy(p, t), leaf(3, 2, low=0.1, high=0.9),
                    leaf(3, 2, low=0, high=1))
    pos_weight = graphc.tensor([2.0, 0.5], dtype=graphc.float64)
    check_gradients(lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight),
                    leaf(3, 2), leaf(3, 2, low=0, high=1))


def test_losses_match_torch():
    torch = pytest.importorskip("torch")
    x = np.float32(array(5, 4) * 2)
    t = np.float32(RNG.uniform(0, 1, (5, 4)))
    labels = np.array([1, 0, -100, 3, 3])
    weight = np.float32(RNG.uniform(0.5, 2, 4))
    cases = [
        ("mse_loss", (x, t), {}), ("l1_loss", (x, t), {"reduction": "sum"}),
        ("smooth_l1_loss", (x, t), {"beta": 0.4}),
        ("cross_entropy", (x, labels), {"weight": weight, "label_smoothing": 0.3}),
        ("cross_entropy", (x, np.array([1, 0, 2, 3, 3])), {"reduction": "none",
                                                          "ignore_index": 3}),
        ("cross_entropy", (x, t), {"weight": weight, "label_smoothing": 0.1}),
        ("nll_loss", (x, labels), {"weight": weight}),
        ("binary_cross_entropy", (1 / (1 + np.exp(-x)), t), {"weight": weight}),
        ("binary_cross_entropy_with_logits", (x, t), {"pos_weight": weight}),
    ]
    for name, arrays, kwargs in cases:
        expected = getattr(torch.nn.functional, name)(
            *[torch.tensor(a) for a in arrays],
            **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
        got = getattr(F, name)(*[graphc.tensor(a) for a in arrays],
                               **{k: graphc.tensor(v) if isinstance(v, np.ndarray) else v
                                  for k, v in kwargs.items()})
        np.testing.assert_allclose(values(got), expected.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
