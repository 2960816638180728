"""RNN, LSTM, GRU (multi-layer, optionally bidirectional, batch_first) and their one-step
cells. Weights are named and laid out as torch's (weight_ih_l0, ..., `_reverse` for the
backward direction; gates stacked i,f,g,o for LSTM and r,z,n for GRU), so a torch state_dict
loads as is. The input projection of a whole sequence is one matmul; the recurrence loops."""
import math

from ...api.creation import empty, zeros
from ...api.shape import stack, cat
from ..parameter import Parameter
from .. import functional as F
from .. import init
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(nonlinearity):
    def step(projected_input, state, weight_hh, bias_hh):
        gates = projected_input + F.linear(state, weight_hh, bias_hh)
        return gates.tanh() if nonlinearity == "tanh" else gates.relu()
    return step


def _lstm_step(projected_input, state, weight_hh, bias_hh):
    h, c = state
    gates = projected_input + F.linear(h, weight_hh, bias_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(projected_input, state, weight_hh, bias_hh):
    from_input = projected_input.chunk(3, -1)
    from_state = F.linear(state, weight_hh, bias_hh).chunk(3, -1)
    reset = (from_input[0] + from_state[0]).sigmoid()
    update = (from_input[1] + from_state[1]).sigmoid()
    candidate = (from_input[2] + reset * from_state[2]).tanh()
    return (1 - update) * candidate + update * state


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
                 dtype=None):
        super().__init__()
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size != 0:
            raise NotImplementedError("graphc's LSTM has no proj_size yet")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else hidden_size * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self):
        """torch compacts cuDNN's weight buffer here; graphc's weights need nothing."""

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        per_direction = 4 if self.bias else 2
        weights = self._flat_weights
        return [weights[i:i + per_direction] for i in range(0, len(weights), per_direction)]

    def _step(self):
        if self.mode == "LSTM":
            return _lstm_step
        if self.mode == "GRU":
            return _gru_step
        return _rnn_step("tanh" if self.mode == "RNN_TANH" else "relu")

    def _check_input(self, input):
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _check_hidden(self, hx, expected, what="Expected hidden size"):
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(f"{what} {tuple(expected)}, got {list(hx.shape)}")

    def _run(self, input, states):
        """input (L, N, in); states: per layer*direction, h (N, H) or (h, c). Returns the last
        layer's outputs (L, N, H*directions) and the final states in the same order."""
        step = self._step()
        directions = 2 if self.bidirectional else 1
        finals = []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                weight_ih = getattr(self, f"weight_ih_l{layer}{suffix}")
                weight_hh = getattr(self, f"weight_hh_l{layer}{suffix}")
                bias_ih = getattr(self, f"bias_ih_l{layer}{suffix}") if self.bias else None
                bias_hh = getattr(self, f"bias_hh_l{layer}{suffix}") if self.bias else None
                projected = F.linear(layer_input, weight_ih, bias_ih)
                state = states[layer * directions + direction]
                steps = range(input.shape[0])
                collected = [None] * input.shape[0]
                for t in (reversed(steps) if direction == 1 else steps):
                    state = step(projected[t], state, weight_hh, bias_hh)
                    collected[t] = state[0] if self.mode == "LSTM" else state
                outputs.append(stack(collected, 0))
                finals.append(state)
            layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, finals

    def forward(self, input, hx=None):
        self._check_input(input)
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        batch = input.shape[1]
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, batch, self.hidden_size)
        is_lstm = self.mode == "LSTM"
        if hx is None:
            initial = zeros(shape, dtype=input.dtype)
            hx = (initial, initial) if is_lstm else initial
        else:
            parts = hx if is_lstm else (hx,)
            if not batched:
                for part in parts:
                    if part.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but "
                                           f"got {part.dim()}-D tensor")
                parts = tuple(part.unsqueeze(1) for part in parts)
            else:
                for part in parts:
                    if part.dim() != 3:
                        raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but "
                                           f"got {part.dim()}-D tensor")
            self._check_hidden(parts[0], shape)
            if is_lstm:
                self._check_hidden(parts[1], shape, "Expected hidden[1] size")
            hx = parts if is_lstm else parts[0]
        if is_lstm:
            states = [(hx[0][i], hx[1][i]) for i in range(shape[0])]
        else:
            states = [hx[i] for i in range(shape[0])]
        output, finals = self._run(input, states)
        if is_lstm:
            final = (stack([s[0] for s in finals], 0), stack([s[1] for s in finals], 0))
        else:
            final = stack(finals, 0)
        if not batched:
            output = output.squeeze(1)
            final = tuple(f.squeeze(1) for f in final) if is_lstm else final.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, final

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class LSTM(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class _CellBase(Module):
    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate_size = self._gates * hidden_size
        self.weight_ih = Parameter(empty((gate_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(empty((gate_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gate_size, dtype=dtype))
            self.bias_hh = Parameter(empty(gate_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx):
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            initial = zeros((input.shape[0], self.hidden_size), dtype=input.dtype)
            hx = (initial, initial) if self._gates == 4 else initial
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx) if self._gates == 4 else hx.unsqueeze(0)
        return input, hx, batched

    def forward(self, input, hx=None):
        input, hx, batched = self._prepare(input, hx)
        projected = F.linear(input, self.weight_ih, self.bias_ih)
        result = self._cell_step(projected, hx, self.weight_hh, self.bias_hh)
        if batched:
            return result
        return tuple(r.squeeze(0) for r in result) if self._gates == 4 else result.squeeze(0)


class RNNCell(_CellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def _cell_step(self, projected, state, weight_hh, bias_hh):
        return _rnn_step(self.nonlinearity)(projected, state, weight_hh, bias_hh)


class LSTMCell(_CellBase):
    _gates = 4

    def _cell_step(self, projected, state, weight_hh, bias_hh):
        return _lstm_step(projected, state, weight_hh, bias_hh)


class GRUCell(_CellBase):
    _gates = 3

    def _cell_step(self, projected, state, weight_hh, bias_hh):
        return _gru_step(projected, state, weight_hh, bias_hh)
