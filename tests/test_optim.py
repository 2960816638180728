"""graphc.optim: trajectories against numpy formulas and torch, errors, state_dicts, save/load."""
import io
import math
import warnings

import numpy as np
import pytest

import graphc
from graphc import optim


def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(4).astype(dtype),
            rng.standard_normal((5, 3)).astype(dtype))


def _trajectory(lib, name, options, dtype, steps=6):
    """Weights after `steps` steps of `name` on sum(tanh(x @ w + b) ** 2), from equal starts."""
    w0, b0, x0 = _problem(dtype)
    w = lib.tensor(w0.copy(), requires_grad=True)
    b = lib.tensor(b0.copy(), requires_grad=True)
    x = lib.tensor(x0)
    optimizer = getattr(lib.optim, name)([w, b], **options)
    for _ in range(steps):
        optimizer.zero_grad()
        ((x @ w + b).tanh() ** 2).sum().backward()
        optimizer.step()
    return [w.detach().numpy(), b.detach().numpy()]


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, betas=(0.8, 0.9))),
    ("Adam", dict(lr=0.01, maximize=True, eps=1e-3)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.5)),
    ("RMSprop", dict()),
    ("RMSprop", dict(centered=True, momentum=0.9, weight_decay=0.1, alpha=0.9)),
    ("RMSprop", dict(momentum=0.5, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr_decay=0.1, initial_accumulator_value=0.5, weight_decay=0.1)),
]


# ---------------------------------------------------------------- numpy references (torch's docs)

def _numpy_gradients(w, b, x):
    z = x @ w + b
    dz = 2 * np.tanh(z) * (1 - np.tanh(z) ** 2)
    return [x.T @ dz, dz.sum(0)]


def _numpy_update(name, o, param, grad, state, step):
    grad = -grad if o.get("maximize") else grad
    if name == "SGD":
        if o.get("weight_decay", 0):
            grad = grad + o["weight_decay"] * param
        if o.get("momentum", 0):
            if "buf" not in state:
                state["buf"] = grad.copy()
            else:
                state["buf"] = o["momentum"] * state["buf"] + (1 - o.get("dampening", 0)) * grad
            grad = grad + o["momentum"] * state["buf"] if o.get("nesterov") else state["buf"]
        return param - o["lr"] * grad
    if name in ("Adam", "AdamW"):
        lr, (beta1, beta2), eps = o["lr"], o.get("betas", (0.9, 0.999)), o.get("eps", 1e-8)
        weight_decay = o.get("weight_decay", 0 if name == "Adam" else 1e-2)
        if name == "AdamW":
            param = param * (1 - lr * weight_decay)
        elif weight_decay:
            grad = grad + weight_decay * param
        m = state["m"] = beta1 * state.get("m", 0) + (1 - beta1) * grad
        v = state["v"] = beta2 * state.get("v", 0) + (1 - beta2) * grad * grad
        if o.get("amsgrad"):
            v = state["vmax"] = np.maximum(state.get("vmax", 0), v)
        denom = np.sqrt(v) / math.sqrt(1 - beta2 ** step) + eps
        return param - lr / (1 - beta1 ** step) * m / denom
    if name == "RMSprop":
        lr, alpha, eps = o.get("lr", 1e-2), o.get("alpha", 0.99), o.get("eps", 1e-8)
        if o.get("weight_decay", 0):
            grad = grad + o["weight_decay"] * param
        square = state["square"] = alpha * state.get("square", 0) + (1 - alpha) * grad * grad
        if o.get("centered"):
            mean = state["mean"] = alpha * state.get("mean", 0) + (1 - alpha) * grad
            square = square - mean * mean
        avg = np.sqrt(square) + eps
        if o.get("momentum", 0):
            state["buf"] = o["momentum"] * state.get("buf", 0) + grad / avg
            return param - lr * state["buf"]
        return param - lr * grad / avg
    if name == "Adagrad":
        lr, eps = o.get("lr", 1e-2), 1e-10
        if o.get("weight_decay", 0):
            grad = grad + o["weight_decay"] * param
        clr = lr / (1 + (step - 1) * o.get("lr_decay", 0))
        total = state["sum"] = state.get("sum", o.get("initial_accumulator_value", 0)) + grad ** 2
        return param - clr * grad / (np.sqrt(total) + eps)
    raise AssertionError(name)


def _numpy_trajectory(name, options, steps=6):
    w, b, x = _problem("float64")
    params, states = [w, b], [{}, {}]
    for step in range(1, steps + 1):
        grads = _numpy_gradients(*params, x)
        params = [_numpy_update(name, options, p, g, s, step)
                  for p, g, s in zip(params, grads, states)]
    return params


@pytest.mark.parametrize("name,options", CASES)
def test_trajectory_matches_numpy_formulas(name, options):
    for ours, expected in zip(_trajectory(graphc, name, options, "float64"),
                              _numpy_trajectory(name, options)):
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,options", CASES)
def test_trajectory_matches_torch(name, options):
    torch = pytest.importorskip("torch")
    for dtype, tolerance in (("float64", 1e-12), ("float32", 2e-6)):
        for ours, theirs in zip(_trajectory(graphc, name, options, dtype),
                                _trajectory(torch, name, options, dtype)):
            assert ours.dtype == theirs.dtype
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=tolerance)


# ---------------------------------------------------------------- behaviour of the base class

def _leaf(values=(1.0, 2.0)):
    return graphc.tensor(list(values), requires_grad=True)


def test_parameters_without_grad_are_skipped_and_get_no_state():
    a, b = _leaf(), _leaf()
    optimizer = optim.Adam([a, b], lr=0.1)
    a.grad = graphc.tensor([1.0, -1.0])
    optimizer.step()
    assert b.tolist() == [1.0, 2.0]
    assert b not in optimizer.state and a in optimizer.state
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 2.1], rtol=1e-6)


def test_adam_step_is_a_float32_tensor_counting_steps():
    p = _leaf()
    optimizer = optim.Adam([p])
    for _ in range(3):
        p.grad = graphc.ones(2)
        optimizer.step()
    step = optimizer.state[p]["step"]
    assert isinstance(step, graphc.Tensor) and step.dtype == graphc.float32 and step.shape == ()
    assert step.tolist() == 3.0


def test_step_runs_without_recording_and_returns_the_closure_loss():
    p = _leaf()
    optimizer = optim.SGD([p], lr=0.5)

    def closure():
        optimizer.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.tolist() == 5.0
    assert p.grad_fn is None and p.is_leaf and p.requires_grad
    assert p.tolist() == [0.0, 0.0]   # p - 0.5 * 2p


def test_zero_grad_sets_to_none_or_zeroes():
    p = _leaf()
    optimizer = optim.SGD([p], lr=0.1)
    p.grad = graphc.ones(2)
    optimizer.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0]
    optimizer.zero_grad()
    assert p.grad is None


def test_param_groups_take_defaults_and_their_own_options():
    a, b = _leaf(), _leaf()
    optimizer = optim.SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 1.0]
    assert optimizer.param_groups[1]["momentum"] == 0.5
    assert optimizer.param_groups[1]["params"] == [b]
    c = _leaf()
    optimizer.add_param_group({"params": [c], "lr": 2.0})
    a.grad, b.grad, c.grad = graphc.ones(2), graphc.ones(2), graphc.ones(2)
    optimizer.step()
    np.testing.assert_allclose([a.tolist(), b.tolist(), c.tolist()],
                               [[0.9, 1.9], [0.0, 1.0], [-1.0, 0.0]])


def test_errors_match_torch():
    p = _leaf()
    with pytest.raises(ValueError, match="^Invalid learning rate: -1$"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        optim.SGD([p], momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero"):
        optim.SGD([p], nesterov=True)
    with pytest.raises(ValueError, match=r"Invalid beta parameter at index 1: 1.0"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon value: -1"):
        optim.AdamW([p], eps=-1)
    with pytest.raises(ValueError, match="betas must be either both floats or both Tensors"):
        optim.Adam([p], betas=(0, 0.9))
    with pytest.raises(ValueError, match="Invalid alpha value: -0.1"):
        optim.RMSprop([p], alpha=-0.1)
    with pytest.raises(ValueError, match="Invalid lr_decay value: -1"):
        optim.Adagrad([p], lr_decay=-1)
    with pytest.raises(ValueError, match="Invalid initial_accumulator_value value: -1"):
        optim.Adagrad([p], initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got "
                                        "torch.FloatTensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the "
                                        "params is int"):
        optim.SGD([1], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    optimizer = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter"):
        optimizer.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        optim.Optimizer([p], {"lr": optim.optimizer.required})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optim.SGD([p, p], lr=0.1)
    assert "duplicate parameters" in str(caught[0].message)


def test_repr_is_torchs():
    optimizer = optim.SGD([_leaf()], lr=0.1, momentum=0.9)
    assert repr(optimizer) == (
        "SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n"
        "    foreach: None\n    fused: None\n    lr: 0.1\n    maximize: False\n"
        "    momentum: 0.9\n    nesterov: False\n    weight_decay: 0\n)")


def test_repr_and_state_dict_match_torch():
    torch = pytest.importorskip("torch")
    for name, options in CASES:
        results = []
        for lib in (graphc, torch):
            a, b = lib.ones(2, requires_grad=True), lib.ones(3, requires_grad=True)
            optimizer = getattr(lib.optim, name)([{"params": [a]}, {"params": [b], "lr": 0.5}],
                                                 **options)
            a.grad, b.grad = lib.full((2,), 0.5), lib.full((3,), -2.0)
            optimizer.step()
            state = optimizer.state_dict()
            tensors = {(k, key): (v.detach().numpy(), str(v.dtype), tuple(v.shape))
                       for k, s in state["state"].items() for key, v in s.items()}
            results.append((repr(optimizer), state["param_groups"], tensors))
        assert results[0][:2] == results[1][:2], name
        ours, theirs = results[0][2], results[1][2]
        assert ours.keys() == theirs.keys(), name
        for key in ours:
            assert ours[key][1:] == theirs[key][1:], (name, key)
            np.testing.assert_allclose(ours[key][0], theirs[key][0], rtol=1e-6)


def _stepped(name, options, steps=2):
    a, b = _leaf(), _leaf((3.0, -1.0, 0.5))
    optimizer = getattr(optim, name)([{"params": [a]}, {"params": [b], "lr": 0.05}], **options)
    for _ in range(steps):
        a.grad, b.grad = a.detach() * 2, b.detach().sin()
        optimizer.step()
    return optimizer, (a, b)


def _continue(optimizer, params, steps=3):
    for _ in range(steps):
        for p in params:
            p.grad = p.detach().cos()
        optimizer.step()
    return [p.tolist() for p in params]


@pytest.mark.parametrize("name,options", CASES)
def test_state_dict_through_save_and_load_resumes_the_same_trajectory(name, options):
    optimizer, params = _stepped(name, options)
    state = optimizer.state_dict()
    assert state["param_groups"][0]["params"] == [0]
    assert state["param_groups"][1]["params"] == [1]
    buffer = io.BytesIO()
    graphc.save(state, buffer)
    buffer.seek(0)
    loaded = graphc.load(buffer)
    copies = [p.detach().clone().requires_grad_() for p in params]
    fresh = getattr(optim, name)([{"params": [copies[0]]}, {"params": [copies[1]]}], **options)
    fresh.load_state_dict(loaded)
    assert fresh.param_groups[1]["lr"] == 0.05
    assert fresh.param_groups[1]["params"][0] is copies[1]
    expected = _continue(optimizer, params)
    assert _continue(fresh, copies) == expected


def test_load_state_dict_casts_state_to_the_parameters_dtype_but_keeps_step():
    optimizer, _ = _stepped("Adam", {})
    state = optimizer.state_dict()
    p64 = [graphc.ones(2, dtype=graphc.float64, requires_grad=True),
           graphc.ones(3, dtype=graphc.float64, requires_grad=True)]
    other = optim.Adam([{"params": [p64[0]]}, {"params": [p64[1]]}])
    other.load_state_dict(state)
    assert other.state[p64[0]]["exp_avg"].dtype == graphc.float64
    assert other.state[p64[0]]["step"].dtype == graphc.float32
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.Adam([_leaf()]).load_state_dict(state)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.Adam([{"params": [_leaf(), _leaf()]}, {"params": [_leaf()]}]).load_state_dict(state)


def test_a_step_saved_as_a_number_becomes_a_float32_tensor():
    optimizer, _ = _stepped("RMSprop", {})
    state = optimizer.state_dict()
    for entry in state["state"].values():
        entry["step"] = 2
    p = [_leaf(), _leaf((3.0, -1.0, 0.5))]
    other = optim.RMSprop([{"params": [p[0]]}, {"params": [p[1]]}])
    other.load_state_dict(state)
    assert other.state[p[0]]["step"].dtype == graphc.float32
    assert other.state[p[0]]["step"].tolist() == 2.0


def test_sgd_keeps_a_momentum_buffer_only_with_momentum():
    optimizer, _ = _stepped("SGD", dict(lr=0.1))
    assert optimizer.state_dict()["state"] == {}
    optimizer, (a, _) = _stepped("SGD", dict(lr=0.1, momentum=0.9), steps=1)
    assert optimizer.state[a]["momentum_buffer"].tolist() == [2.0, 4.0]


def test_adagrad_creates_its_state_in_the_constructor():
    p = _leaf()
    optimizer = optim.Adagrad([p], initial_accumulator_value=0.25)
    assert optimizer.state[p]["sum"].tolist() == [0.25, 0.25]
    assert optimizer.state[p]["step"].tolist() == 0.0


def test_a_tensor_subclass_is_a_parameter():
    class Parameter(graphc.Tensor):
        pass

    p = _leaf()
    p.__class__ = Parameter
    optimizer = optim.SGD([p], lr=1.0)
    p.grad = graphc.ones(2)
    optimizer.step()
    assert p.tolist() == [0.0, 1.0]
