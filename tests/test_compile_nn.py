"""Compiled training steps: model(x), a loss, backward, optimizer.step() and zero_grad() in one
native call, against the same steps run eagerly (losses, parameters, buffers, optimizer state).
"""
import numpy as np
import pytest

import graphc
from graphc import nn, optim


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(3 * 3 * 3, 3))


def _regularised():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(8, 3))


OPTIMIZERS = {
    "sgd": lambda params: optim.SGD(params, lr=0.1),
    "momentum": lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    "adam": lambda params: optim.Adam(params, lr=0.01),
    "adamw": lambda params: optim.AdamW(params, lr=0.01, weight_decay=0.1),
}


def _batches(count, shape, seed=1):
    rng = np.random.default_rng(seed)
    return [(graphc.tensor(rng.standard_normal(shape).astype(np.float32)),
             graphc.tensor(rng.integers(0, 3, shape[0]))) for _ in range(count)]


def _training(make_model, make_optimizer, set_to_none=True, seed=0):
    """(model, optimizer, step) built from the same seed."""
    graphc.manual_seed(seed)
    model = make_model()
    optimizer = make_optimizer(model.parameters())
    loss_function = nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad(set_to_none=set_to_none)
        loss = loss_function(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return model, optimizer, step


def _state(model, optimizer):
    """Every tensor the training changes: parameters, buffers, .grad, optimizer state."""
    tensors = [*model.parameters(), *model.buffers()]
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    for param in model.parameters():
        for name in sorted(optimizer.state.get(param, {})):
            tensors.append(optimizer.state[param][name])
    return [t.detach().numpy().copy() for t in tensors]


def _run(make_model, make_optimizer, batches, compiled, mode=None, set_to_none=True,
         between=None):
    model, optimizer, step = _training(make_model, make_optimizer, set_to_none)
    function = graphc.compile(step, fullgraph=True) if compiled else step
    graphc.manual_seed(1)  # dropout's draws: the same in both runs
    losses = []
    for index, (x, y) in enumerate(batches):
        if mode is not None:
            model.train(mode(index))
        if between is not None:
            between(optimizer, index)
        losses.append(function(x, y).item())
    return np.array(losses), _state(model, optimizer), function


def _compare(make_model, make_optimizer, batches, tolerance, **options):
    eager_losses, eager_state, _ = _run(make_model, make_optimizer, batches, False, **options)
    losses, state, compiled = _run(make_model, make_optimizer, batches, True, **options)
    np.testing.assert_allclose(losses, eager_losses, rtol=0, atol=tolerance)
    assert len(state) == len(eager_state)
    for ours, theirs in zip(state, eager_state):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=tolerance)
    assert compiled._latest is not None  # it was built, not run eagerly throughout
    assert compiled.call_source() is not None  # and later calls took the rendered path
    return compiled


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_mlp_step_compiles_and_matches_eager(name):
    compiled = _compare(_mlp, OPTIMIZERS[name], _batches(200, (6, 4)), 2e-5)
    # plain SGD: a call without .grad, then the compiled one; the others: the call that
    # creates the optimizer's state runs eagerly, every later one is the compiled step
    assert len(compiled._specialisations) == 2


def test_optimizer_state_is_read_in_place_not_replayed():
    _, optimizer, step = _training(_mlp, OPTIMIZERS["adam"])
    compiled = graphc.compile(step, fullgraph=True)
    for x, y in _batches(5, (6, 4)):
        compiled(x, y)
    counts = {float(state["step"].item()) for state in optimizer.state.values()}
    assert counts == {5.0}
    labels = [source.label for source in compiled._sources]
    assert any(label.endswith("['exp_avg']") for label in labels)
    assert any("_modules" in label or "params" in label for label in labels)


def test_cnn_step_with_adam_compiles_and_matches_eager():
    _compare(_cnn, OPTIMIZERS["adam"], _batches(40, (4, 1, 8, 8)), 2e-5)


def test_train_and_eval_switch_specialisations():
    # BatchNorm's running statistics and num_batches_tracked, dropout's draws
    compiled = _compare(_regularised, OPTIMIZERS["momentum"], _batches(60, (6, 4)), 2e-5,
                        mode=lambda index: index % 3 != 2)
    assert len(compiled._specialisations) == 3  # state creation, training, evaluation


def test_a_changed_learning_rate_is_guarded():
    schedules = []

    def between(optimizer, index):
        if not schedules or schedules[-1][0] is not optimizer:
            schedules.append((optimizer, optim.lr_scheduler.StepLR(optimizer, 20, gamma=0.5)))
        if index:
            schedules[-1][1].step()
    compiled = _compare(_mlp, OPTIMIZERS["momentum"], _batches(60, (6, 4)), 2e-5,
                        between=between)
    # the state-creating call, then one specialisation per learning rate (0.1, 0.05, 0.025)
    assert len(compiled._specialisations) == 4


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_a_tensor_learning_rate_is_read_on_every_call(name):
    # torch's advice for a schedule that changes the rate every step: lr as a 0-d tensor, read
    # where it lives (the scheduler writes it in place), so one specialisation serves all rates
    make = {"momentum": lambda params: optim.SGD(params, lr=graphc.tensor(0.1), momentum=0.9),
            "adam": lambda params: optim.Adam(params, lr=graphc.tensor(0.01))}[name]
    schedules = []

    def between(optimizer, index):
        if not schedules or schedules[-1][0] is not optimizer:
            schedules.append((optimizer, optim.lr_scheduler.CosineAnnealingLR(optimizer, 30)))
        if index:
            schedules[-1][1].step()
    compiled = _compare(_mlp, make, _batches(30, (6, 4)), 2e-5, between=between)
    assert len(compiled._specialisations) == 2  # the state-creating call, then the step
    assert float(schedules[-1][0].param_groups[0]["lr"]) < {"momentum": 0.1, "adam": 0.01}[name]


def test_zero_grad_keeping_the_gradients():
    compiled = _compare(_mlp, OPTIMIZERS["adam"], _batches(100, (6, 4)), 2e-5,
                        set_to_none=False)
    assert len(compiled._specialisations) == 2


def test_parameters_without_state_get_no_entry():
    # the compiled call reads optimizer.state by identity: a parameter with no gradient gets
    # no state entry (a defaultdict lookup would create one)
    graphc.manual_seed(0)
    used, unused = nn.Linear(4, 3), nn.Linear(4, 3)
    optimizer = optim.Adam([*used.parameters(), *unused.parameters()], lr=0.01)

    def step(x):
        optimizer.zero_grad()
        used(x).sum().backward()
        optimizer.step()
    compiled = graphc.compile(step, fullgraph=True)
    for x, _ in _batches(4, (6, 4)):
        compiled(x)
    assert compiled._latest is not None
    assert set(map(id, optimizer.state)) == set(map(id, used.parameters()))


def test_gelu_compiles_into_the_graph_and_equals_eager():
    """GELU is graphc.erf's formula (no custom Function): compile traces it into one graph."""
    import numpy as np
    x = graphc.linspace(-4, 4, 41, dtype=graphc.float64).requires_grad_()
    gelu = graphc.nn.GELU()

    def step(x):
        y = gelu(x)
        (y * y).sum().backward()
        return y
    compiled = graphc.compile(step, fullgraph=True)
    for _ in range(2):
        x.grad = None
        ours, ours_grad = compiled(x), x.grad.clone()
    assert compiled._latest is not None
    x.grad = None
    theirs = step(x)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_grad.numpy(), x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape", [(6, 4), (64, 4)], ids=["loop_nests", "gemm"])
def test_sgd_dropping_the_grads_after_its_step_writes_each_weight_from_its_product(shape):
    """zero_grad() after step(): no .grad outlives the call, so each Linear's weight gradient
    (x.T @ dy, through w.t().t()) is added into the weight by its product, as eager's result."""
    def run(compiled):
        graphc.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 80), nn.ReLU(), nn.Linear(80, 3))
        optimizer = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            return loss
        function = graphc.compile(step, fullgraph=True) if compiled else step
        losses = [function(x, y).item() for x, y in _batches(20, shape)]
        assert all(p.grad is None for p in model.parameters())
        return losses, [p.detach().numpy().copy() for p in model.parameters()], function
    eager_losses, eager_parameters, _ = run(False)
    losses, parameters, compiled = run(True)
    np.testing.assert_allclose(losses, eager_losses, rtol=0, atol=2e-5)
    for ours, theirs in zip(parameters, eager_parameters):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-5)
    assert compiled.source().count("_matmul_update(") == 4  # both weights: definition, call
