"""graphc.nn.init: torch's gains and fans, and the bounds and spreads of each initialiser."""
import math

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from graphc.nn import init
from nn_helpers import values


def test_calculate_gain_is_torchs():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope x not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(graphc.empty(6, 4, 3, 2)) == (24, 36)
    assert init._calculate_fan_in_and_fan_out(graphc.empty(5, 7)) == (7, 5)
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor "
                                         "with fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(graphc.empty(3))


def test_uniform_initialisers_fill_their_bounds():
    graphc.manual_seed(0)
    w = graphc.empty(200, 100)
    cases = [
        (lambda: init.uniform_(w, -0.3, 0.7), -0.3, 0.7),
        (lambda: init.xavier_uniform_(w, gain=2.0), -2.0 * math.sqrt(6 / 300),
         2.0 * math.sqrt(6 / 300)),
        (lambda: init.kaiming_uniform_(w, a=math.sqrt(5)), -1 / math.sqrt(100),
         1 / math.sqrt(100)),
        (lambda: init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"),
         -math.sqrt(6 / 200), math.sqrt(6 / 200)),
    ]
    for fill, low, high in cases:
        data = values(fill())
        assert data.min() >= low and data.max() <= high
        assert data.min() < low + 0.01 * (high - low) and data.max() > high - 0.01 * (high - low)
        assert data.std() == pytest.approx((high - low) / math.sqrt(12), rel=0.03)


def test_normal_initialisers_have_their_spread():
    graphc.manual_seed(1)
    w = graphc.empty(300, 100)
    for fill, mean, std in [
            (lambda: init.normal_(w, 0.5, 2.0), 0.5, 2.0),
            (lambda: init.xavier_normal_(w), 0.0, math.sqrt(2 / 400)),
            (lambda: init.kaiming_normal_(w, nonlinearity="relu"), 0.0, math.sqrt(2 / 100))]:
        data = values(fill())
        assert data.mean() == pytest.approx(mean, abs=0.02 * std + 1e-3)
        assert data.std() == pytest.approx(std, rel=0.03)


def test_constant_eye_and_no_grad():
    p = nn.Parameter(graphc.empty(2, 3))
    assert init.constant_(p, 0.25) is p and np.all(values(p) == 0.25)
    assert p.grad_fn is None and p.requires_grad  # filled under no_grad
    init.ones_(p)
    assert np.all(values(p) == 1)
    init.zeros_(p)
    assert np.all(values(p) == 0)
    init.eye_(p)
    np.testing.assert_array_equal(values(p), np.eye(2, 3))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(graphc.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(graphc.empty(2, 2), mode="fan_avg")
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_normal_(graphc.empty(0, 3))


def test_initialisers_use_graphcs_generator():
    graphc.manual_seed(7)
    first = values(init.kaiming_uniform_(graphc.empty(3, 3))).copy()
    graphc.manual_seed(7)
    np.testing.assert_array_equal(values(init.kaiming_uniform_(graphc.empty(3, 3))), first)
    # Linear's weight is exactly kaiming_uniform_(a=sqrt(5)) drawn from the same stream
    graphc.manual_seed(7)
    linear_weight = values(nn.Linear(3, 3, bias=False).weight).copy()
    graphc.manual_seed(7)
    np.testing.assert_array_equal(
        linear_weight, values(init.kaiming_uniform_(graphc.empty(3, 3), a=math.sqrt(5))))
    generator = graphc.Generator().manual_seed(3)
    a = values(init.normal_(graphc.empty(4), generator=generator)).copy()
    generator.manual_seed(3)
    np.testing.assert_array_equal(values(init.normal_(graphc.empty(4), generator=generator)), a)
