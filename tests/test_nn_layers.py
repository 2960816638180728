"""Linear, Bilinear, Embedding, Conv1d/2d, pooling, BatchNorm, LayerNorm, Dropout, Flatten:
values against numpy loops (always) and torch (when importable), float64 gradchecks, default
initialisation bounds."""
import math

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.nn.functional as F
from nn_helpers import array, leaf, values, load_torch_weights, check_gradients


# ------------------------------------------------------------------ numpy references


def conv_reference(x, w, b, stride, padding, dilation, groups):
    """Direct loop: every output element is the sum over its window."""
    n_dims = x.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    out_channels, group_channels = w.shape[:2]
    kernel = w.shape[2:]
    out = [(s - d * (k - 1) - 1) // st + 1 for s, k, st, d in
           zip(x.shape[2:], kernel, stride, dilation)]
    result = np.zeros((x.shape[0], out_channels, *out))
    per_group = out_channels // groups
    for n in range(x.shape[0]):
        for o in range(out_channels):
            g = o // per_group
            for position in np.ndindex(*out):
                window = tuple(slice(i * st, i * st + d * (k - 1) + 1, d) for i, st, d, k in
                               zip(position, stride, dilation, kernel))
                patch = x[(n, slice(g * group_channels, (g + 1) * group_channels)) + window]
                result[(n, o) + position] = (patch * w[o]).sum() + (b[o] if b is not None else 0)
    assert n_dims == len(kernel)
    return result


def pool_reference(x, kernel, stride, padding, reduce, fill):
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding], constant_values=fill)
    out = [(s - k) // st + 1 for s, k, st in zip(x.shape[2:], kernel, stride)]
    result = np.zeros(x.shape[:2] + tuple(out))
    for position in np.ndindex(*out):
        window = tuple(slice(i * st, i * st + k) for i, st, k in zip(position, stride, kernel))
        result[(slice(None), slice(None)) + position] = reduce(x[(Ellipsis,) + window], (2, 3))
    return result


# ------------------------------------------------------------------ Linear, Bilinear


def test_linear_matches_numpy_and_its_init_bounds():
    graphc.manual_seed(0)
    layer = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)  # kaiming_uniform(a=sqrt(5)) gives the same bound as the bias
    weight, bias = values(layer.weight), values(layer.bias)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert np.abs(bias).max() <= bound and weight.std() == pytest.approx(bound / math.sqrt(3),
                                                                         rel=0.1)
    x = array(7, 50).astype(np.float32)
    np.testing.assert_allclose(values(layer(graphc.tensor(x))), x @ weight.T + bias, rtol=1e-5,
                               atol=1e-6)
    assert layer(graphc.ones(2, 3, 50)).shape == (2, 3, 40)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_and_bilinear_gradients():
    check_gradients(F.linear, leaf(4, 3), leaf(2, 3), leaf(2))
    check_gradients(F.bilinear, leaf(4, 3), leaf(4, 2), leaf(5, 3, 2), leaf(5))


def test_bilinear_matches_einsum():
    layer = nn.Bilinear(3, 2, 4).double()
    x1, x2 = array(5, 3), array(5, 2)
    expected = np.einsum("ni,oij,nj->no", x1, values(layer.weight), x2) + values(layer.bias)
    np.testing.assert_allclose(values(layer(graphc.tensor(x1), graphc.tensor(x2))), expected)
    assert np.abs(values(layer.weight)).max() <= 1 / math.sqrt(3)


def test_linear_and_bilinear_match_torch():
    torch = pytest.importorskip("torch")
    for torch_layer, layer, inputs in [
            (torch.nn.Linear(5, 3), nn.Linear(5, 3), [np.float32(array(4, 5))]),
            (torch.nn.Bilinear(3, 2, 4), nn.Bilinear(3, 2, 4),
             [np.float32(array(6, 3)), np.float32(array(6, 2))])]:
        load_torch_weights(layer, torch_layer)
        expected = torch_layer(*[torch.tensor(x) for x in inputs]).detach().numpy()
        np.testing.assert_allclose(values(layer(*[graphc.tensor(x) for x in inputs])), expected,
                                   rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ Embedding


def test_embedding_lookup_padding_row_and_its_zero_gradient():
    graphc.manual_seed(1)
    table = nn.Embedding(6, 3, padding_idx=2)
    assert np.all(values(table.weight)[2] == 0)
    index = graphc.tensor([[1, 2], [2, 5]])
    out = table(index)
    np.testing.assert_array_equal(values(out), values(table.weight)[np.array([[1, 2], [2, 5]])])
    out.sum().backward()
    grad = values(table.weight.grad)
    np.testing.assert_array_equal(grad[:, 0], [0, 1, 0, 0, 0, 1])
    assert nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
        table(graphc.ones(2))
    frozen = nn.Embedding.from_pretrained(graphc.ones(3, 2))
    assert not frozen.weight.requires_grad


def test_embedding_gradient_and_max_norm():
    weight = leaf(5, 3)
    index = graphc.tensor([0, 3, 3, 1])
    check_gradients(lambda w: F.embedding(index, w), weight)
    rows = graphc.tensor(array(4, 3) * 5)
    F.embedding(graphc.tensor([0, 2]), rows, max_norm=1.0)
    norms = np.linalg.norm(values(rows), axis=1)
    assert norms[0] <= 1.0 + 1e-6 and norms[2] <= 1.0 + 1e-6 and norms[1] > 1.0


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    torch_table = torch.nn.Embedding(7, 4, padding_idx=0)
    table = nn.Embedding(7, 4, padding_idx=0)
    load_torch_weights(table, torch_table)
    index = [[0, 3, 6], [2, 2, 0]]
    expected = torch_table(torch.tensor(index))
    out = table(graphc.tensor(index))
    np.testing.assert_array_equal(values(out), expected.detach().numpy())
    expected.pow(2).sum().backward()
    out.pow(2).sum().backward()
    np.testing.assert_allclose(values(table.weight.grad), torch_table.weight.grad.numpy(),
                               rtol=1e-6)


# ------------------------------------------------------------------ convolution


CONV2D_CASES = [  # (in, out, kernel, stride, padding, dilation, groups, bias)
    (3, 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),
    (2, 4, (3, 2), (2, 1), (1, 2), (1, 1), 2, False),
    (4, 2, (2, 2), (1, 2), (1, 0), (2, 1), 1, True),
]


@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_matches_a_direct_loop(case):
    in_channels, out_channels, kernel, stride, padding, dilation, groups, bias = case
    layer = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, dilation, groups,
                      bias).double()
    x = array(2, in_channels, 6, 7)
    expected = conv_reference(x, values(layer.weight),
                              values(layer.bias) if bias else None, stride, padding, dilation,
                              groups)
    np.testing.assert_allclose(values(layer(graphc.tensor(x))), expected, atol=1e-12)


def test_conv1d_matches_a_direct_loop_and_unbatched_input():
    layer = nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2).double()
    x = array(3, 4, 9)
    expected = conv_reference(x, values(layer.weight), values(layer.bias), (2,), (1,), (1,), 2)
    np.testing.assert_allclose(values(layer(graphc.tensor(x))), expected, atol=1e-12)
    np.testing.assert_allclose(values(layer(graphc.tensor(x[0]))), expected[0], atol=1e-12)


def test_conv_padding_same_valid_and_modes():
    layer = nn.Conv2d(2, 3, (3, 4), padding="same", dilation=(1, 2)).double()
    x = array(1, 2, 5, 6)
    out = layer(graphc.tensor(x))
    assert out.shape == (1, 3, 5, 6)
    # 'same': dilated kernel 3 x 7 pads (1, 1) rows and (3, 3) columns
    expected = conv_reference(x, values(layer.weight), values(layer.bias), (1, 1), (1, 3),
                              (1, 2), 1)
    np.testing.assert_allclose(values(out), expected, atol=1e-12)
    even = nn.Conv1d(1, 1, 4, padding="same", bias=False).double()
    signal = array(1, 1, 6)
    # an even kernel pads one more after than before, as torch
    padded = np.pad(signal, ((0, 0), (0, 0), (1, 2)))
    expected = conv_reference(padded, values(even.weight), None, (1,), (0,), (1,), 1)
    np.testing.assert_allclose(values(even(graphc.tensor(signal))), expected, atol=1e-12)
    assert nn.Conv2d(1, 1, 3, padding="valid")(graphc.ones(1, 1, 5, 5)).shape == (1, 1, 3, 3)
    reflect = nn.Conv1d(1, 1, 3, padding=1, padding_mode="reflect", bias=False).double()
    padded = np.pad(signal, ((0, 0), (0, 0), (1, 1)), mode="reflect")
    expected = conv_reference(padded, values(reflect.weight), None, (1,), (0,), (1,), 1)
    np.testing.assert_allclose(values(reflect(graphc.tensor(signal))), expected, atol=1e-12)


def test_conv_errors_are_torchs():
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv2d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(RuntimeError, match=r"expected input\[1, 2, 5, 5\] to have 3 channels"):
        nn.Conv2d(3, 4, 3)(graphc.ones(1, 2, 5, 5))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input"):
        nn.Conv2d(1, 1, 5)(graphc.ones(1, 1, 3, 3))


def test_conv_init_bounds():
    graphc.manual_seed(3)
    layer = nn.Conv2d(8, 16, 3)
    bound = 1 / math.sqrt(8 * 9)
    assert np.abs(values(layer.weight)).max() <= bound
    assert np.abs(values(layer.bias)).max() <= bound
    assert np.abs(values(layer.weight)).max() > 0.95 * bound


def test_conv_gradients():
    check_gradients(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2),
                                             groups=2), leaf(1, 4, 5, 5), leaf(2, 2, 2, 3),
                    leaf(2))
    check_gradients(lambda x, w: F.conv1d(x, w, padding="same"), leaf(2, 1, 5), leaf(2, 1, 3))


def test_conv_matches_torch():
    torch = pytest.importorskip("torch")
    for make in [lambda m: m.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                    dilation=(1, 2), groups=2),
                 lambda m: m.Conv2d(3, 2, 3, padding="same", padding_mode="replicate"),
                 lambda m: m.Conv1d(2, 4, 3, padding=2, padding_mode="circular")]:
        torch_layer, layer = make(torch.nn), make(nn)
        load_torch_weights(layer, torch_layer)
        shape = (2, torch_layer.in_channels) + ((7, 8) if isinstance(layer, nn.Conv2d) else (9,))
        x = np.float32(array(*shape))
        expected = torch_layer(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(values(layer(graphc.tensor(x))), expected, rtol=1e-5,
                                   atol=1e-5)


# ------------------------------------------------------------------ pooling


def test_max_and_avg_pool_match_direct_loops():
    x = array(2, 3, 7, 6)
    np.testing.assert_array_equal(values(nn.MaxPool2d(2)(graphc.tensor(x))),
                                  pool_reference(x, (2, 2), (2, 2), (0, 0), np.max, 0))
    np.testing.assert_array_equal(values(F.max_pool2d(graphc.tensor(x), 3, 2, 1)),
                                  pool_reference(x, (3, 3), (2, 2), (1, 1), np.max, -np.inf))
    np.testing.assert_allclose(values(nn.AvgPool2d((3, 2), 1)(graphc.tensor(x))),
                               pool_reference(x, (3, 2), (1, 1), (0, 0), np.mean, 0))
    # count_include_pad: padded zeros count in the divisor; without it only real elements do
    np.testing.assert_allclose(values(F.avg_pool2d(graphc.tensor(x), 3, 2, 1)),
                               pool_reference(x, (3, 3), (2, 2), (1, 1), np.mean, 0))
    ones = np.ones_like(x)
    sums = pool_reference(x, (3, 3), (2, 2), (1, 1), np.sum, 0)
    counts = pool_reference(ones, (3, 3), (2, 2), (1, 1), np.sum, 0)
    np.testing.assert_allclose(values(F.avg_pool2d(graphc.tensor(x), 3, 2, 1,
                                                   count_include_pad=False)), sums / counts)


def test_max_pool_indices_ceil_mode_and_gradient():
    x = graphc.tensor(array(1, 2, 5, 5))
    out, indices = F.max_pool2d(x, 2, return_indices=True)
    flat = values(x).reshape(1, 2, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, values(indices).reshape(1, 2, -1), 2)
                                  .reshape(out.shape), values(out))
    assert F.max_pool2d(x, 2, ceil_mode=True).shape == (1, 2, 3, 3)
    assert F.avg_pool2d(x, 2, ceil_mode=True).shape == (1, 2, 3, 3)
    np.testing.assert_allclose(values(F.avg_pool2d(x, 2, ceil_mode=True))[..., 2, 2],
                               values(x)[..., 4, 4])
    check_gradients(lambda t: F.max_pool2d(t, 3, 2, 1), leaf(1, 2, 5, 5))
    check_gradients(lambda t: F.avg_pool2d(t, 2, 1, 1, ceil_mode=True,
                                           count_include_pad=False), leaf(1, 1, 4, 3))
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel"):
        F.max_pool2d(x, 2, padding=2)


def test_adaptive_avg_pool_matches_its_windows():
    x = array(2, 3, 7, 5)
    out = values(nn.AdaptiveAvgPool2d((3, 2))(graphc.tensor(x)))
    for i in range(3):
        for j in range(2):
            rows = slice(i * 7 // 3, -(-(i + 1) * 7 // 3))
            cols = slice(j * 5 // 2, -(-(j + 1) * 5 // 2))
            np.testing.assert_allclose(out[:, :, i, j], x[:, :, rows, cols].mean((2, 3)))
    np.testing.assert_allclose(values(F.adaptive_avg_pool2d(graphc.tensor(x), 1))[..., 0, 0],
                               x.mean((2, 3)))
    check_gradients(lambda t: F.adaptive_avg_pool2d(t, (2, 3)), leaf(1, 2, 5, 4))


def test_pooling_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.float32(array(2, 3, 9, 8))
    for name, args, kwargs in [
            ("max_pool2d", (3, 2, 1), {"ceil_mode": True}),
            ("max_pool2d", ((2, 3), (1, 2), (1, 1)), {"dilation": (2, 1)}),
            ("avg_pool2d", (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}),
            ("avg_pool2d", (3, 2, 1), {"ceil_mode": True}),
            ("avg_pool2d", (2,), {"divisor_override": 3}),
            ("adaptive_avg_pool2d", ((4, 3),), {})]:
        expected = getattr(torch.nn.functional, name)(torch.tensor(x), *args, **kwargs)
        np.testing.assert_allclose(values(getattr(F, name)(graphc.tensor(x), *args, **kwargs)),
                                   expected.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    _, torch_indices = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1,
                                                      return_indices=True)
    _, indices = F.max_pool2d(graphc.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(values(indices), torch_indices.numpy())


# ------------------------------------------------------------------ normalization


def test_batch_norm_training_statistics_and_eval():
    norm = nn.BatchNorm2d(3).double()
    x = array(4, 3, 2, 5) * 3 + 1
    out = values(norm(graphc.tensor(x)))
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
    np.testing.assert_allclose(out, (x - mean[:, None, None]) /
                               np.sqrt(var[:, None, None] + 1e-5), atol=1e-12)
    count = 4 * 2 * 5
    np.testing.assert_allclose(values(norm.running_mean), 0.1 * mean)
    np.testing.assert_allclose(values(norm.running_var), 0.9 + 0.1 * var * count / (count - 1))
    assert norm.num_batches_tracked.item() == 1
    norm.eval()
    running_mean, running_var = values(norm.running_mean).copy(), values(norm.running_var).copy()
    np.testing.assert_allclose(values(norm(graphc.tensor(x))),
                               (x - running_mean[:, None, None])
                               / np.sqrt(running_var[:, None, None] + 1e-5), atol=1e-12)
    np.testing.assert_array_equal(values(norm.running_mean), running_mean)  # eval: no update


def test_batch_norm_cumulative_average_and_untracked():
    norm = nn.BatchNorm1d(2, momentum=None).double()
    first, second = array(5, 2), array(5, 2)
    norm(graphc.tensor(first))
    norm(graphc.tensor(second))
    np.testing.assert_allclose(values(norm.running_mean), (first.mean(0) + second.mean(0)) / 2)
    untracked = nn.BatchNorm1d(2, track_running_stats=False, affine=False).double().eval()
    assert untracked.running_mean is None and list(untracked.state_dict()) == []
    x = array(6, 2, 3)
    np.testing.assert_allclose(values(untracked(graphc.tensor(x))),
                               (x - x.mean((0, 2))[:, None]) / np.sqrt(x.var((0, 2))[:, None]
                                                                        + 1e-5), atol=1e-12)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(graphc.ones(1, 3))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(graphc.ones(2, 3, 4))


def test_batch_norm_state_dict_without_num_batches_tracked_loads():
    norm = nn.BatchNorm1d(2)
    state = {k: v for k, v in norm.state_dict().items() if k != "num_batches_tracked"}
    assert norm.load_state_dict(state).missing_keys == []  # no metadata: an old checkpoint
    modern = norm.state_dict()
    del modern["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "num_batches'):
        norm.load_state_dict(modern)


def test_layer_norm_matches_numpy():
    norm = nn.LayerNorm((3, 4)).double()
    with graphc.no_grad():
        norm.weight.copy_(graphc.tensor(array(3, 4)))
        norm.bias.copy_(graphc.tensor(array(3, 4)))
    x = array(2, 3, 4) * 2
    mean, var = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * values(norm.weight) + values(norm.bias)
    np.testing.assert_allclose(values(norm(graphc.tensor(x))), expected, atol=1e-12)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[3, 4\], expected input"):
        norm(graphc.ones(2, 4, 3))


def test_normalization_gradients():
    check_gradients(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                    leaf(4, 3, 2), leaf(3), leaf(3))
    check_gradients(lambda x, w, b: F.layer_norm(x, (3,), w, b), leaf(2, 3), leaf(3), leaf(3))


def test_normalization_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.float32(array(4, 3, 5, 2) * 2 + 0.5)
    torch_norm, norm = torch.nn.BatchNorm2d(3, momentum=0.3), nn.BatchNorm2d(3, momentum=0.3)
    torch_norm.weight.data.uniform_(0.5, 1.5)
    load_torch_weights(norm, torch_norm)
    for _ in range(2):
        expected = torch_norm(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(values(norm(graphc.tensor(x))), expected, rtol=1e-4,
                                   atol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(values(getattr(norm, name)),
                                   getattr(torch_norm, name).numpy(), rtol=1e-5)
    torch_norm.eval(), norm.eval()
    np.testing.assert_allclose(values(norm(graphc.tensor(x))),
                               torch_norm(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    torch_layer_norm, layer_norm = torch.nn.LayerNorm(2), nn.LayerNorm(2)
    np.testing.assert_allclose(values(layer_norm(graphc.tensor(x))),
                               torch_layer_norm(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)


# ------------------------------------------------------------------ dropout, flatten


def test_dropout_scales_kept_elements_and_is_identity_in_eval():
    graphc.manual_seed(5)
    layer = nn.Dropout(0.25)
    out = values(layer(graphc.ones(200, 50)))
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    assert 0.72 < kept.mean() < 0.78
    layer.eval()
    x = graphc.ones(3)
    assert layer(x) is x
    assert np.all(values(F.dropout(graphc.ones(4), 1.0)) == 0)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 1.5"):
        nn.Dropout(1.5)
    graphc.manual_seed(6)
    weights = leaf(3, 4)
    mask = values(F.dropout(graphc.ones(3, 4, dtype=graphc.float64), 0.5)) != 0
    graphc.manual_seed(6)
    F.dropout(weights, 0.5).sum().backward()
    np.testing.assert_array_equal(values(weights.grad), mask * 2.0)


def test_flatten_unflatten():
    x = graphc.ones(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 20))(graphc.ones(2, 60)).shape == (2, 3, 20)
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints"):
        nn.Unflatten(1, 3)


# ------------------------------------------------------------------ a whole model trains


def test_a_small_convnet_learns():
    graphc.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 2 * 2, 2))
    x = graphc.randn(16, 1, 4, 4)
    target = (x.sum((1, 2, 3)) > 0).long()
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(30):
        loss = loss_fn(model(x), target)
        first = loss.item() if first is None else first
        model.zero_grad()
        loss.backward()
        with graphc.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert loss.item() < 0.5 * first
