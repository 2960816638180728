"""Activations, softmax, pad, one_hot, normalize, cosine_similarity and interpolate against
numpy (always) and torch (when importable), with float64 gradchecks."""
import math

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F
from nn_helpers import array, leaf, values, check_gradients

ERF = np.vectorize(math.erf)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACTIVATIONS = [  # (module, numpy reference)
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.GELU(), lambda x: 0.5 * x * (1 + ERF(x / math.sqrt(2)))),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                        * (x + 0.044715 * x ** 3)))),
    (nn.SiLU(), lambda x: x * sigmoid(x)),
    (nn.Sigmoid(), sigmoid),
    (nn.Tanh(), np.tanh),
    (nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=0), lambda x: x - np.log(np.exp(x).sum(0, keepdims=True))),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Hardtanh(), lambda x: np.clip(x, -1, 1)),
]


@pytest.mark.parametrize("module, reference", ACTIVATIONS, ids=lambda v: repr(v)[:20])
def test_activations_match_numpy_and_gradcheck(module, reference):
    x = array(3, 5) * 3
    np.testing.assert_allclose(values(module(graphc.tensor(x))), reference(x), rtol=1e-12,
                               atol=1e-14)
    check_gradients(module, leaf(3, 4, low=-2, high=2))


def test_inplace_activations_write_into_their_input():
    x = graphc.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 2.0]
    y = graphc.tensor([-1.0, 2.0])
    F.leaky_relu(y, 0.5, inplace=True)
    assert y.tolist() == [-0.5, 2.0]


def test_softmax_without_dim_warns_and_picks_torchs_dim():
    x = graphc.tensor(array(2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(x)
    np.testing.assert_allclose(values(out).sum(1), 1.0)
    assert F.log_softmax(x, 1, dtype=graphc.float32).dtype is graphc.float32


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(graphc.ones(1), approximate="fast")


def test_pad_modes_match_numpy():
    x = array(2, 3, 4, 5)
    g = graphc.tensor(x)
    np.testing.assert_array_equal(values(F.pad(g, (1, 2), value=7.0)),
                                  np.pad(x, [(0, 0)] * 3 + [(1, 2)], constant_values=7.0))
    np.testing.assert_array_equal(values(F.pad(g, (1, 2, 0, 3))),
                                  np.pad(x, [(0, 0), (0, 0), (0, 3), (1, 2)]))
    np.testing.assert_array_equal(values(F.pad(g, (-1, 1))),
                                  np.pad(x, [(0, 0)] * 3 + [(0, 1)])[..., 1:])
    np.testing.assert_array_equal(values(F.pad(g, (2, 3, 3, 1), mode="reflect")),
                                  np.pad(x, [(0, 0), (0, 0), (3, 1), (2, 3)], mode="reflect"))
    np.testing.assert_array_equal(values(F.pad(g, (2, 3, 3, 1), mode="replicate")),
                                  np.pad(x, [(0, 0), (0, 0), (3, 1), (2, 3)], mode="edge"))
    np.testing.assert_array_equal(values(F.pad(g, (2, 3, 1, 2), mode="circular")),
                                  np.pad(x, [(0, 0), (0, 0), (1, 2), (2, 3)], mode="wrap"))
    np.testing.assert_array_equal(values(F.pad(graphc.tensor(x[0]), (2, 1), mode="replicate")),
                                  np.pad(x[0], [(0, 0), (0, 0), (2, 1)], mode="edge"))
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 4D"):
        F.pad(g, (2, 3), mode="circular")
    check_gradients(lambda t: F.pad(t, (1, 2, 2, 0), mode="reflect"), leaf(1, 1, 3, 3))
    check_gradients(lambda t: F.pad(t, (1, 1), value=2.0), leaf(2, 3))
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(g, (1,))
    with pytest.raises(RuntimeError, match="Padding size should be less than the corresponding "
                                           "input dimension"):
        F.pad(g, (5, 0, 0, 0), mode="reflect")


def test_one_hot():
    out = F.one_hot(graphc.tensor([0, 2, 1]))
    assert out.dtype is graphc.int64
    np.testing.assert_array_equal(values(out), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(graphc.tensor([[1]]), 4).shape == (1, 1, 4)
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor"):
        F.one_hot(graphc.tensor([1.0]))
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(graphc.tensor([3]), 3)


def test_normalize_and_cosine_similarity():
    x, y = array(4, 3), array(4, 3)
    np.testing.assert_allclose(values(F.normalize(graphc.tensor(x))),
                               x / np.linalg.norm(x, axis=1, keepdims=True))
    np.testing.assert_allclose(values(F.normalize(graphc.tensor(x), p=1, dim=0)),
                               x / np.abs(x).sum(0, keepdims=True))
    expected = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    np.testing.assert_allclose(values(F.cosine_similarity(graphc.tensor(x), graphc.tensor(y))),
                               expected)
    check_gradients(F.normalize, leaf(3, 2))
    check_gradients(F.cosine_similarity, leaf(3, 2), leaf(3, 2))


def numpy_bilinear(x, out_h, out_w, align_corners):
    def coordinates(size_in, size_out):
        if align_corners:
            return np.arange(size_out) * ((size_in - 1) / (size_out - 1) if size_out > 1 else 0)
        return np.maximum((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0)
    rows, cols = coordinates(x.shape[2], out_h), coordinates(x.shape[3], out_w)
    result = np.zeros(x.shape[:2] + (out_h, out_w))
    for i, r in enumerate(rows):
        r0 = min(int(np.floor(r)), x.shape[2] - 1)
        r1, dr = min(r0 + 1, x.shape[2] - 1), r - r0
        for j, c in enumerate(cols):
            c0 = min(int(np.floor(c)), x.shape[3] - 1)
            c1, dc = min(c0 + 1, x.shape[3] - 1), c - c0
            result[:, :, i, j] = ((1 - dr) * (1 - dc) * x[:, :, r0, c0] + (1 - dr) * dc *
                                  x[:, :, r0, c1] + dr * (1 - dc) * x[:, :, r1, c0]
                                  + dr * dc * x[:, :, r1, c1])
    return result


def test_interpolate_nearest_and_bilinear():
    x = array(1, 2, 3, 4)
    g = graphc.tensor(x)
    np.testing.assert_array_equal(values(F.interpolate(g, scale_factor=2)),
                                  x.repeat(2, 2).repeat(2, 3))
    np.testing.assert_array_equal(values(F.interpolate(g, size=(2, 3))),
                                  x[:, :, [0, 1]][:, :, :, [0, 1, 2]])
    for corners in (False, True):
        np.testing.assert_allclose(
            values(F.interpolate(g, size=(5, 7), mode="bilinear", align_corners=corners)),
            numpy_bilinear(x, 5, 7, corners), atol=1e-12)
    check_gradients(lambda t: F.interpolate(t, scale_factor=2, mode="bilinear"),
                    leaf(1, 1, 2, 3))
    with pytest.raises(ValueError, match="align_corners option can only be set with the "
                                         "interpolating modes"):
        F.interpolate(g, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D"):
        F.interpolate(graphc.ones(1, 1, 3), scale_factor=2, mode="bilinear")


def test_functional_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.float32(array(2, 3, 5, 4) * 2)
    cases = [
        ("gelu", (), {}), ("gelu", (), {"approximate": "tanh"}), ("silu", (), {}),
        ("elu", (0.5,), {}), ("leaky_relu", (0.1,), {}), ("softmax", (), {"dim": 2}),
        ("log_softmax", (), {"dim": -1}), ("softplus", (), {}),
        ("pad", ((1, 2, 0, 1),), {"mode": "reflect"}),
        ("pad", ((2, 1, 1, 1),), {"mode": "replicate"}),
        ("pad", ((1, 1, 2, 0),), {"mode": "circular"}),
        ("pad", ((1, 1, -1, 2),), {"value": 3.0}),
        ("normalize", (), {"p": 3.0, "dim": 2}),
        ("interpolate", (), {"scale_factor": 1.7}),
        ("interpolate", (), {"size": (7, 3), "mode": "bilinear"}),
        ("interpolate", (), {"size": (2, 9), "mode": "bilinear", "align_corners": True}),
        ("interpolate", (), {"scale_factor": (1.5, 2.5), "mode": "bilinear"}),
    ]
    for name, args, kwargs in cases:
        expected = getattr(torch.nn.functional, name)(torch.tensor(x), *args, **kwargs)
        got = getattr(F, name)(graphc.tensor(x), *args, **kwargs)
        np.testing.assert_allclose(values(got), expected.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name} {kwargs}")
    y = np.float32(array(2, 3, 5, 4))
    np.testing.assert_allclose(
        values(F.cosine_similarity(graphc.tensor(x), graphc.tensor(y), dim=1)),
        torch.nn.functional.cosine_similarity(torch.tensor(x), torch.tensor(y), dim=1).numpy(),
        rtol=1e-5, atol=1e-6)


def test_second_derivatives_through_nn_functions():
    from graphc.autograd import gradgradcheck
    assert gradgradcheck(F.gelu, (leaf(2, 3),))
    assert gradgradcheck(lambda t: F.cross_entropy(t, graphc.tensor([0, 2])), (leaf(2, 3),))
    assert gradgradcheck(lambda t, w: F.conv2d(t, w, padding=1), (leaf(1, 1, 3, 3),
                                                                  leaf(1, 1, 2, 2)))
