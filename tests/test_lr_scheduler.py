"""graphc.optim.lr_scheduler: learning-rate sequences against torch, recorded and closed-form
values, step order, state_dicts and torch's errors."""
import io
import math
import warnings

import pytest

import graphc
from graphc import optim
from graphc.optim import lr_scheduler


def _optimizer(lib=graphc, name="SGD", **options):
    groups = [{"params": [lib.ones(1, requires_grad=True)]},
              {"params": [lib.ones(1, requires_grad=True)], "lr": 0.5}]
    options.setdefault("lr", 0.1)
    if name == "SGD":
        options.setdefault("momentum", 0.9)
    return getattr(lib.optim, name)(groups, **options)


def _sequence(scheduler, optimizer, steps, metrics=None):
    """get_last_lr() and the first group's momentum (or betas) after each of `steps` steps."""
    values = []
    for index in range(steps):
        optimizer.step()
        scheduler.step(*([metrics[index]] if metrics else []))
        group = optimizer.param_groups[0]
        values.append((scheduler.get_last_lr(), group.get("momentum", group.get("betas"))))
    return values


def _first_lrs(values):
    return [lrs[0] for lrs, _ in values]


PLATEAU_METRICS = [5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]

SCHEDULES = [
    ("StepLR", lambda m, o: m.StepLR(o, 3, 0.5), "SGD"),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, [2, 5, 5, 9], 0.3), "SGD"),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, 0.9), "SGD"),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, 7, 0.001), "SGD"),
    ("LambdaLR", lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.5 ** e]), "SGD"),
    ("OneCycleLR", lambda m, o: m.OneCycleLR(o, [1.0, 2.0], total_steps=20), "SGD"),
    ("OneCycleLR-adam", lambda m, o: m.OneCycleLR(o, 1.0, total_steps=20), "Adam"),
    ("OneCycleLR-linear-3", lambda m, o: m.OneCycleLR(o, 1.0, epochs=4, steps_per_epoch=5,
                                                      anneal_strategy="linear",
                                                      three_phase=True), "SGD"),
    ("ReduceLROnPlateau", lambda m, o: m.ReduceLROnPlateau(o, patience=2, cooldown=1,
                                                           threshold=0.1), "SGD"),
    ("ReduceLROnPlateau-max-abs", lambda m, o: m.ReduceLROnPlateau(
        o, mode="max", factor=0.5, patience=0, threshold=0.5, threshold_mode="abs",
        min_lr=[0.02, 0.3]), "SGD"),
]


@pytest.mark.parametrize("label,make,name", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_sequences_and_state_dict_keys_equal_torchs(label, make, name):
    torch = pytest.importorskip("torch")
    metrics = PLATEAU_METRICS if "Plateau" in label else None
    results = []
    for lib in (graphc, torch):
        optimizer = _optimizer(lib, name)
        scheduler = make(lib.optim.lr_scheduler, optimizer)
        results.append((_sequence(scheduler, optimizer, 20, metrics),
                        sorted(scheduler.state_dict())))
    assert results[0] == results[1]


def test_step_lr_and_multistep_lr_known_values():
    optimizer = _optimizer()
    values = _first_lrs(_sequence(lr_scheduler.StepLR(optimizer, 2, gamma=0.5), optimizer, 6))
    assert values == [0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]
    optimizer = _optimizer()
    scheduler = lr_scheduler.MultiStepLR(optimizer, [1, 3, 3], gamma=0.1)
    values = _first_lrs(_sequence(scheduler, optimizer, 4))
    assert values == pytest.approx([0.01, 0.01, 0.0001, 0.0001], rel=1e-12)


def test_exponential_lr_is_repeated_multiplication():
    optimizer = _optimizer()
    values = _first_lrs(_sequence(lr_scheduler.ExponentialLR(optimizer, 0.9), optimizer, 5))
    expected, lr = [], 0.1
    for _ in range(5):
        lr *= 0.9
        expected.append(lr)
    assert values == expected   # chained products, bit for bit


def test_cosine_annealing_recorded_from_torch_and_near_its_closed_form():
    optimizer = _optimizer()
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, 4, 0.001)
    values = _first_lrs(_sequence(scheduler, optimizer, 10))
    # torch 2.13's recursive values (the last digits differ from the closed form)
    assert values == [0.0855017856687341, 0.0505, 0.0154982143312659, 0.001,
                      0.015498214331265896, 0.05050000000000001, 0.08550178566873413,
                      0.10000000000000003, 0.08550178566873413, 0.05050000000000003]
    closed = [0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(1, 11)]
    assert values == pytest.approx(closed, rel=1e-12, abs=1e-15)


def test_one_cycle_recorded_from_torch():
    optimizer = _optimizer()
    scheduler = lr_scheduler.OneCycleLR(optimizer, 1.0, total_steps=10)
    values = _sequence(scheduler, optimizer, 10)
    assert optimizer.param_groups[0]["initial_lr"] == 1.0 / 25
    assert _first_lrs(values) == [0.52, 1.0, 0.9504846320134737, 0.8117456539497631,
                                  0.6112620219362893, 0.38874197806371075, 0.18825834605023697,
                                  0.049519367986526286, 4e-06, 0.04951936798652623]
    assert [m for _, m in values] == [0.8999999999999999, 0.85, 0.854951556604879,
                                      0.8688255099070633, 0.8888739533021842,
                                      0.9111260466978157, 0.9311744900929366,
                                      0.945048443395121, 0.95, 0.945048443395121]
    with pytest.raises(ValueError, match="Tried to step 11 times. The specified number of "
                                         "total steps is 10"):
        scheduler.step()


def test_one_cycle_three_phase_linear_recorded_from_torch():
    optimizer = _optimizer()
    scheduler = lr_scheduler.OneCycleLR(optimizer, 1.0, total_steps=10, three_phase=True,
                                        anneal_strategy="linear")
    values = _sequence(scheduler, optimizer, 10)
    assert _first_lrs(values) == [0.52, 1.0, 0.52, 0.040000000000000036, 0.032000799999999996,
                                  0.024001599999999998, 0.0160024, 0.008003199999999995,
                                  3.9999999999970615e-06, -0.007995200000000001]
    assert [m for _, m in values] == [0.8999999999999999, 0.85, 0.8999999999999999] + [0.95] * 7


def test_one_cycle_cycles_adams_beta1():
    optimizer = _optimizer(name="Adam", betas=(0.9, 0.99))
    scheduler = lr_scheduler.OneCycleLR(optimizer, 1.0, total_steps=10)
    assert optimizer.param_groups[0]["betas"] == (0.95, 0.99)
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["betas"] == (0.8999999999999999, 0.99)


def test_lambda_lr_scales_the_initial_lr():
    optimizer = _optimizer()
    scheduler = lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5 * epoch)
    assert scheduler.get_last_lr() == [0.0, 0.0]
    assert [lrs for lrs, _ in _sequence(scheduler, optimizer, 2)] == [[0.05, 0.25], [0.1, 0.5]]
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(optimizer, [lambda e: 1.0])


def test_reduce_lr_on_plateau_patience_cooldown_threshold_and_min_lr():
    optimizer = _optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, cooldown=2, factor=0.5,
                                               min_lr=0.03)
    lrs = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]:
        scheduler.step(metric)
        lrs.append(scheduler.get_last_lr()[0])
    # bad epochs 2 and 3 -> halve at epoch 3; cooldown covers 4 and 5; bad 6, 7 -> halve at 7,
    # clamped at min_lr; 8 and 9 are cooldown again; 10 improves
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03]
    assert scheduler.best == 0.5
    optimizer = _optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", patience=0,
                                               threshold=0.1, threshold_mode="rel")
    scheduler.step(1.0)
    scheduler.step(1.05)     # not better than 1.0 * 1.1
    assert scheduler.get_last_lr() == [0.1 * 0.1, 0.05]


def test_step_order_warning_and_get_lr_outside_step():
    optimizer = _optimizer()
    scheduler = lr_scheduler.StepLR(optimizer, 1)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before "
                                         r"`optimizer.step\(\)`"):
        scheduler.step()
    optimizer = _optimizer()
    scheduler = lr_scheduler.StepLR(optimizer, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.step()
        scheduler.step()
    with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
        scheduler.get_lr()
    with pytest.warns(UserWarning, match=r"The epoch parameter in `scheduler.step\(\)`"):
        scheduler.step(5)
    assert scheduler.get_last_lr() == pytest.approx([0.1 * 0.1 ** 5, 0.5 * 0.1 ** 5])


def test_errors_match_torch():
    optimizer = _optimizer()
    with pytest.raises(TypeError, match="^int is not an Optimizer$"):
        lr_scheduler.StepLR(3, 1)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in "
                                       r"param_groups\[0\]"):
        lr_scheduler.StepLR(optimizer, 1, last_epoch=3)
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        lr_scheduler.OneCycleLR(optimizer, 1.0)
    with pytest.raises(ValueError, match="Expected positive integer total_steps, but got 0"):
        lr_scheduler.OneCycleLR(optimizer, 1.0, total_steps=0)
    with pytest.raises(ValueError, match="Expected float between 0 and 1 pct_start, but got 1"):
        lr_scheduler.OneCycleLR(optimizer, 1.0, total_steps=5, pct_start=1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', "
                                         "instead got sin"):
        lr_scheduler.OneCycleLR(optimizer, 1.0, total_steps=5, anneal_strategy="sin")
    with pytest.raises(ValueError, match="max_lr must have the same length as "
                                         "optimizer.param_groups. max_lr has 3 values"):
        lr_scheduler.OneCycleLR(optimizer, [1.0, 2.0, 3.0], total_steps=5)
    no_momentum = optim.Adagrad([graphc.ones(1, requires_grad=True)])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(no_momentum, 1.0, total_steps=5)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown!"):
        lr_scheduler.ReduceLROnPlateau(optimizer, mode="avg")
    with pytest.raises(ValueError, match="threshold mode rel2 is unknown!"):
        lr_scheduler.ReduceLROnPlateau(optimizer, threshold_mode="rel2")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 1"):
        lr_scheduler.ReduceLROnPlateau(optimizer, min_lr=[0.1])


@pytest.mark.parametrize("label,make,name", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_state_dict_through_save_and_load_resumes_the_sequence(label, make, name):
    metrics = PLATEAU_METRICS if "Plateau" in label else None
    optimizer = _optimizer(name=name)
    scheduler = make(lr_scheduler, optimizer)
    _sequence(scheduler, optimizer, 6, metrics)
    buffer = io.BytesIO()
    graphc.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                buffer)
    expected = _sequence(scheduler, optimizer, 8, metrics and metrics[6:])
    buffer.seek(0)
    saved = graphc.load(buffer)
    resumed_optimizer = _optimizer(name=name)
    resumed = make(lr_scheduler, resumed_optimizer)
    resumed_optimizer.load_state_dict(saved["optimizer"])
    resumed.load_state_dict(saved["scheduler"])
    assert resumed.last_epoch == 6
    assert _sequence(resumed, resumed_optimizer, 8, metrics and metrics[6:]) == expected
