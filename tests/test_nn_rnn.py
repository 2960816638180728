"""RNN, LSTM, GRU and their cells against numpy cells written from torch's equations, and
against torch with the same weights; gradchecks; torch's parameter names and init bounds."""
import math

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from nn_helpers import array, leaf, values, load_torch_weights, check_gradients


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_cell(mode, x, state, w_ih, w_hh, b_ih, b_hh):
    if mode == "LSTM":
        h, c = state
        i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, -1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c), c
    if mode == "GRU":
        ir, iz, in_ = np.split(x @ w_ih.T + b_ih, 3, -1)
        hr, hz, hn = np.split(state @ w_hh.T + b_hh, 3, -1)
        r, z = sigmoid(ir + hr), sigmoid(iz + hz)
        n = np.tanh(in_ + r * hn)
        return (1 - z) * n + z * state
    return np.tanh(x @ w_ih.T + b_ih + state @ w_hh.T + b_hh)


def numpy_rnn(mode, module, x):
    """Seq-first x (L, N, in), zero initial state, every layer and direction."""
    directions = 2 if module.bidirectional else 1
    hidden = module.hidden_size
    finals = []
    layer_input = x
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(directions):
            suffix = "_reverse" if direction else ""
            weights = [values(getattr(module, f"{kind}_l{layer}{suffix}"))
                       for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            zero = np.zeros((x.shape[1], hidden))
            state = (zero, zero) if mode == "LSTM" else zero
            collected = [None] * x.shape[0]
            order = range(x.shape[0] - 1, -1, -1) if direction else range(x.shape[0])
            for t in order:
                state = numpy_cell(mode, layer_input[t], state, *weights)
                collected[t] = state[0] if mode == "LSTM" else state
            outputs.append(np.stack(collected))
            finals.append(state)
        layer_input = np.concatenate(outputs, -1)
    return layer_input, finals


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_match_numpy_cells(mode):
    graphc.manual_seed(0)
    module = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True).double()
    x = array(5, 2, 3)
    expected, finals = numpy_rnn(mode, module, x)
    output, final = module(graphc.tensor(x))
    np.testing.assert_allclose(values(output), expected, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(values(final[0]), np.stack([s[0] for s in finals]), atol=1e-12)
        np.testing.assert_allclose(values(final[1]), np.stack([s[1] for s in finals]), atol=1e-12)
    else:
        np.testing.assert_allclose(values(final), np.stack(finals), atol=1e-12)


def test_batch_first_unbatched_and_given_state():
    module = nn.GRU(3, 4, batch_first=True).double()
    x = array(2, 5, 3)
    seq_first = nn.GRU(3, 4).double()
    seq_first.load_state_dict(module.state_dict())
    output, final = module(graphc.tensor(x))
    expected, expected_final = seq_first(graphc.tensor(x.transpose(1, 0, 2)))
    np.testing.assert_allclose(values(output), values(expected).transpose(1, 0, 2))
    single, single_final = module(graphc.tensor(x[0]))
    assert single.shape == (5, 4) and single_final.shape == (1, 4)
    np.testing.assert_allclose(values(single), values(output)[0], atol=1e-12)
    h0 = graphc.tensor(array(1, 2, 4))
    started, _ = module(graphc.tensor(x), h0)
    weights = [values(getattr(module, f"{k}_l0")) for k in
               ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    first_step = numpy_cell("GRU", x[:, 0], values(h0)[0], *weights)
    np.testing.assert_allclose(values(started)[:, 0], first_step, atol=1e-12)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        module(graphc.tensor(x), graphc.zeros(1, 3, 4, dtype=graphc.float64))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. "
                                           "Expected 3, got 2"):
        module(graphc.zeros(2, 5, 2, dtype=graphc.float64))
    with pytest.raises(ValueError, match="GRU: Expected input to be 2D or 3D, got 4D instead"):
        module(graphc.zeros(1, 2, 5, 3))


def test_parameter_names_shapes_and_init_bounds():
    graphc.manual_seed(1)
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    names = [name for name, _ in lstm.named_parameters()]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                         "bias_hh_l0_reverse"]
    assert lstm.weight_ih_l1.shape == (20, 10) and lstm.weight_hh_l0.shape == (20, 5)
    bound = 1 / math.sqrt(5)
    for p in lstm.parameters():
        assert np.abs(values(p)).max() <= bound
    assert [n for n, _ in nn.GRU(2, 3, bias=False).named_parameters()] == ["weight_ih_l0",
                                                                          "weight_hh_l0"]


def test_cells_match_numpy():
    for cell_class, mode in [(nn.RNNCell, "RNN"), (nn.LSTMCell, "LSTM"), (nn.GRUCell, "GRU")]:
        cell = cell_class(3, 4).double()
        x, h = array(2, 3), array(2, 4)
        weights = [values(getattr(cell, k)) for k in
                   ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        state = (h, h * 0.5) if mode == "LSTM" else h
        expected = numpy_cell(mode, x, state, *weights)
        given = (graphc.tensor(h), graphc.tensor(h * 0.5)) if mode == "LSTM" else graphc.tensor(h)
        out = cell(graphc.tensor(x), given)
        if mode == "LSTM":
            np.testing.assert_allclose(values(out[0]), expected[0], atol=1e-12)
            np.testing.assert_allclose(values(out[1]), expected[1], atol=1e-12)
        else:
            np.testing.assert_allclose(values(out), expected, atol=1e-12)


def test_recurrent_gradients():
    for mode in ("RNN", "LSTM", "GRU"):
        module = getattr(nn, mode)(2, 3, bidirectional=(mode == "GRU")).double()
        # the parameter is perturbed in place by gradcheck, so the module reads each value
        check_gradients(lambda x, weight: module(x)[0], leaf(3, 2, 2), module.weight_hh_l0)
        check_gradients(lambda x, bias: module(x)[0], leaf(2, 1, 2), module.bias_ih_l0)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_match_torch(mode):
    torch = pytest.importorskip("torch")
    kwargs = dict(num_layers=2, bidirectional=True, batch_first=True)
    torch_module = getattr(torch.nn, mode)(3, 4, **kwargs)
    module = getattr(nn, mode)(3, 4, **kwargs)
    assert list(module.state_dict()) == list(torch_module.state_dict())
    load_torch_weights(module, torch_module)
    x = np.float32(array(2, 5, 3))
    expected_output, expected_final = torch_module(torch.tensor(x))
    output, final = module(graphc.tensor(x))
    np.testing.assert_allclose(values(output), expected_output.detach().numpy(), atol=1e-5)
    finals = final if mode == "LSTM" else (final,)
    expected_finals = expected_final if mode == "LSTM" else (expected_final,)
    for got, want in zip(finals, expected_finals):
        np.testing.assert_allclose(values(got), want.detach().numpy(), atol=1e-5)
    expected_output.sum().backward()
    output.sum().backward()
    np.testing.assert_allclose(values(module.weight_hh_l1_reverse.grad),
                               torch_module.weight_hh_l1_reverse.grad.numpy(), atol=1e-4)
