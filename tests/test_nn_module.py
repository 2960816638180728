"""graphc.nn.Module, Parameter and the containers: registration, traversal, state_dict and its
key report, modes, conversion, hooks and torch's printed form."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import graphc
import graphc.nn as nn


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(3, 4)
        self.second = nn.Linear(4, 2)
        self.register_buffer("steps", graphc.zeros(1))
        self.register_buffer("scratch", graphc.ones(2), persistent=False)

    def forward(self, x):
        return self.second(self.first(x).relu())


# ------------------------------------------------------------------ Parameter


def test_parameter_is_a_leaf_tensor_that_requires_grad_and_shares_data():
    data = graphc.ones(2)
    p = nn.Parameter(data)
    assert isinstance(p, graphc.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    data[0] = 5.0
    assert p[0].item() == 5.0
    assert type(p * 2) is graphc.Tensor
    assert not nn.Parameter(graphc.ones(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)


def test_parameter_repr_is_torchs():
    assert repr(nn.Parameter(graphc.ones(2))) == \
        "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    assert repr(nn.Parameter(graphc.ones(2, dtype=graphc.float64), requires_grad=False)) == \
        "Parameter containing:\ntensor([1., 1.], dtype=torch.float64)"


def test_parameter_deepcopy_stays_a_parameter_with_its_own_data():
    p = nn.Parameter(graphc.ones(2))
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad
    q.data.fill_(3)
    assert p[0].item() == 1.0


# ------------------------------------------------------------------ registration


def test_attributes_register_parameters_buffers_and_modules():
    model = TwoLayers()
    assert [n for n, _ in model.named_parameters()] == \
        ["first.weight", "first.bias", "second.weight", "second.bias"]
    assert [n for n, _ in model.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in model.named_children()] == ["first", "second"]
    assert [n for n, _ in model.named_modules()] == ["", "first", "second"]
    assert len(list(model.parameters(recurse=False))) == 0
    assert model.get_submodule("first") is model.first
    assert model.get_parameter("second.bias") is model.second.bias
    del model.first
    assert [n for n, _ in model.named_children()] == ["second"]


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, layer)
    assert len(list(model.parameters())) == 2
    assert len(list(model.named_parameters(remove_duplicate=False))) == 4


def test_registration_errors_are_torchs():
    model = TwoLayers()
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter "
                                        r"'weight' \(torch.nn.Parameter or None expected\)"):
        model.first.weight = graphc.ones(4, 3)
    with pytest.raises(TypeError, match=r"cannot assign 'int' as child module 'first'"):
        model.first = 3
    with pytest.raises(KeyError, match="attribute 'first' already exists"):
        model.register_buffer("first", graphc.ones(1))
    with pytest.raises(KeyError) as error:
        model.register_buffer("a.b", graphc.ones(1))
    assert error.value.args[0] == 'buffer name can\'t contain "."'
    with pytest.raises(TypeError, match="cannot assign 'int' object to parameter 'p'"):
        model.register_parameter("p", 3)
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'p'"):
        leaf = nn.Parameter(graphc.ones(1))
        derived = leaf * 2
        derived.__class__ = nn.Parameter
        model.register_parameter("p", derived)
    with pytest.raises(AttributeError, match="'TwoLayers' object has no attribute 'nothing'"):
        model.nothing

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(graphc.ones(1))
    with pytest.raises(AttributeError, match="cannot assign parameters before "
                                             r"Module.__init__\(\) call"):
        Early()


def test_buffer_assignment_keeps_it_a_buffer_and_none_is_allowed():
    model = TwoLayers()
    model.steps = graphc.full((1,), 7.0)
    assert model.state_dict()["steps"].item() == 7.0
    model.extra = nn.Buffer(graphc.ones(1), persistent=False)
    assert "extra" in dict(model.named_buffers()) and "extra" not in model.state_dict()
    model.second.bias = None
    assert "second.bias" not in model.state_dict()


def test_forward_missing_is_torchs_error():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(graphc.ones(1))


# ------------------------------------------------------------------ state_dict


def test_state_dict_keys_values_and_detached():
    model = TwoLayers()
    state = model.state_dict()
    # a module's own entries come before its children's, as in torch
    assert list(state) == ["steps", "first.weight", "first.bias", "second.weight", "second.bias"]
    assert not state["first.weight"].requires_grad
    assert np.shares_memory(state["first.weight"].numpy(), model.first.weight.detach().numpy())
    assert state["first.weight"] is not model.first.weight
    assert model.state_dict(keep_vars=True)["first.weight"] is model.first.weight


def test_load_state_dict_copies_in_place():
    source, target = TwoLayers(), TwoLayers()
    weight = target.first.weight
    result = target.load_state_dict(source.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.first.weight is weight
    np.testing.assert_array_equal(weight.detach().numpy(), source.first.weight.detach().numpy())


def test_load_state_dict_reports_missing_and_unexpected_keys():
    model = TwoLayers()
    state = model.state_dict()
    del state["first.bias"]
    state["first.extra"] = graphc.ones(1)
    state["unknown"] = graphc.ones(1)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    assert str(error.value) == (
        "Error(s) in loading state_dict for TwoLayers:\n"
        '\tMissing key(s) in state_dict: "first.bias". \n'
        '\tUnexpected key(s) in state_dict: "unknown", "first.extra". ')
    result = model.load_state_dict(state, strict=False)
    assert result == (["first.bias"], ["unknown", "first.extra"])
    assert type(result).__name__ == "_IncompatibleKeys"


def test_load_state_dict_size_mismatch_message():
    model = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with shape "
                                           r"torch.Size\(\[3, 3\]\) from checkpoint, the shape in "
                                           r"current model is torch.Size\(\[3, 2\]\)."):
        model.load_state_dict({"weight": graphc.ones(3, 3), "bias": graphc.ones(3)})
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        model.load_state_dict([1, 2])


def test_load_state_dict_assign_replaces_the_parameters():
    model = nn.Linear(2, 3)
    weight = graphc.ones(3, 2)
    model.load_state_dict({"weight": weight, "bias": graphc.zeros(3)}, assign=True)
    assert isinstance(model.weight, nn.Parameter) and model.weight.requires_grad
    weight[0, 0] = 4.0
    assert model.weight[0, 0].item() == 4.0


# ------------------------------------------------------------------ modes and conversion


def test_train_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout()))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train(1)


def test_to_double_converts_floats_in_place_and_keeps_integer_buffers():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    model.double()
    assert model[0].weight is weight and weight.dtype is graphc.float64
    assert model[1].running_mean.dtype is graphc.float64
    assert model[1].num_batches_tracked.dtype is graphc.int64
    model.to(graphc.float32)
    assert weight.dtype is graphc.float32
    assert model.to("cpu") is model
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        model.to(graphc.int64)


def test_zero_grad_and_requires_grad_():
    model = nn.Linear(2, 1)
    model(graphc.ones(3, 2)).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert model.weight.grad.abs().sum().item() == 0
    model.zero_grad()
    assert model.weight.grad is None
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_apply_visits_children_first():
    model = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Sequential"]


def test_forward_hooks_change_inputs_and_outputs_and_are_removable():
    layer = nn.Identity()
    pre = layer.register_forward_pre_hook(lambda module, args: (args[0] + 1,))
    post = layer.register_forward_hook(lambda module, args, output: output * 10)
    assert layer(graphc.tensor(1.0)).item() == 20.0
    pre.remove()
    assert layer(graphc.tensor(1.0)).item() == 10.0
    with post:
        pass
    assert layer(graphc.tensor(1.0)).item() == 1.0
    layer.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 3,), kwargs),
                                    with_kwargs=True)
    assert layer(graphc.tensor(1.0)).item() == 3.0


# ------------------------------------------------------------------ containers


def test_sequential_indexing_slicing_append_and_delete():
    a, b, c = nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1)
    model = nn.Sequential(a, b)
    model.append(c)
    assert len(model) == 3 and model[-1] is c and model[0] is a
    assert isinstance(model[1:], nn.Sequential) and list(model[1:]) == [b, c]
    del model[0]
    assert list(model._modules) == ["0", "1"] and model[0] is b
    with pytest.raises(IndexError, match="index 5 is out of range"):
        model[5]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert named.fc is a
    x = graphc.ones(4, 1)
    np.testing.assert_allclose(nn.Sequential(a, b, c)(x).detach().numpy(),
                               c(b(a(x))).detach().numpy())


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(2)])
    layers.append(nn.ReLU())
    layers += [nn.Tanh()]
    assert len(layers) == 4 and isinstance(layers[3], nn.Tanh)
    assert len(list(layers.parameters())) == 4
    table = nn.ModuleDict({"a": nn.ReLU()})
    table["b"] = nn.Tanh()
    assert list(table.keys()) == ["a", "b"] and "b" in table
    assert isinstance(table.pop("a"), nn.ReLU) and len(table) == 1


# ------------------------------------------------------------------ printing (torch's output)


def test_repr_of_nested_models_is_torchs():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2))
            self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4), nn.GELU()])
            self.heads = nn.ModuleDict({"cls": nn.Linear(4, 10)})
            self.empty = nn.Sequential()

    assert repr(Net()) == """Net(
  (features): Sequential(
    (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
    (1): ReLU()
    (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  )
  (blocks): ModuleList(
    (0-1): 2 x Linear(in_features=4, out_features=4, bias=True)
    (2): GELU(approximate='none')
  )
  (heads): ModuleDict(
    (cls): Linear(in_features=4, out_features=10, bias=True)
  )
  (empty): Sequential()
)"""


REPRS = [
    ("nn.ReLU()", "ReLU()"), ("nn.ReLU(inplace=True)", "ReLU(inplace=True)"),
    ("nn.LeakyReLU()", "LeakyReLU(negative_slope=0.01)"),
    ("nn.GELU('tanh')", "GELU(approximate='tanh')"), ("nn.SiLU()", "SiLU()"),
    ("nn.Sigmoid()", "Sigmoid()"), ("nn.Tanh()", "Tanh()"), ("nn.Softmax(1)", "Softmax(dim=1)"),
    ("nn.Softmax()", "Softmax(dim=None)"), ("nn.LogSoftmax(dim=-1)", "LogSoftmax(dim=-1)"),
    ("nn.ELU()", "ELU(alpha=1.0)"), ("nn.ELU(0.5, True)", "ELU(alpha=0.5, inplace=True)"),
    ("nn.MSELoss()", "MSELoss()"), ("nn.CrossEntropyLoss(label_smoothing=0.1)",
                                    "CrossEntropyLoss()"),
    ("nn.BCEWithLogitsLoss()", "BCEWithLogitsLoss()"),
    ("nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, dilation=2, bias=False)",
     "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
     "bias=False)"),
    ("nn.Conv1d(4, 8, 3, padding='same', groups=2, padding_mode='reflect')",
     "Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=same, groups=2, "
     "padding_mode=reflect)"),
    ("nn.MaxPool2d(3, 1, 1, ceil_mode=True)",
     "MaxPool2d(kernel_size=3, stride=1, padding=1, dilation=1, ceil_mode=True)"),
    ("nn.AvgPool2d(3, 2, 1, count_include_pad=False)",
     "AvgPool2d(kernel_size=3, stride=2, padding=1)"),
    ("nn.AdaptiveAvgPool2d((2, 3))", "AdaptiveAvgPool2d(output_size=(2, 3))"),
    ("nn.BatchNorm1d(3)", "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                          "track_running_stats=True)"),
    ("nn.BatchNorm2d(4, momentum=None, affine=False)",
     "BatchNorm2d(4, eps=1e-05, momentum=None, affine=False, bias=False, "
     "track_running_stats=True)"),
    ("nn.LayerNorm((2, 3), elementwise_affine=False)",
     "LayerNorm((2, 3), eps=1e-05, elementwise_affine=False, bias=False)"),
    ("nn.LayerNorm(4)", "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"),
    ("nn.Dropout(0.1, True)", "Dropout(p=0.1, inplace=True)"),
    ("nn.Embedding(10, 3, padding_idx=0, max_norm=1.0)",
     "Embedding(10, 3, padding_idx=0, max_norm=1.0)"),
    ("nn.Flatten()", "Flatten(start_dim=1, end_dim=-1)"),
    ("nn.Unflatten(1, (2, 5))", "Unflatten(dim=1, unflattened_size=(2, 5))"),
    ("nn.Identity()", "Identity()"),
    ("nn.Linear(2, 3, bias=False)", "Linear(in_features=2, out_features=3, bias=False)"),
    ("nn.Bilinear(2, 3, 4)", "Bilinear(in1_features=2, in2_features=3, out_features=4, "
                             "bias=True)"),
    ("nn.RNN(2, 3, nonlinearity='relu')", "RNN(2, 3)"),
    ("nn.GRU(2, 3, bias=False, bidirectional=True, batch_first=True, num_layers=2, dropout=0.5)",
     "GRU(2, 3, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)"),
    ("nn.LSTM(10, 20)", "LSTM(10, 20)"), ("nn.LSTMCell(3, 4)", "LSTMCell(3, 4)"),
]


@pytest.mark.parametrize("expression, expected", REPRS)
def test_layer_reprs_are_torchs(expression, expected):
    assert repr(eval(expression)) == expected


def test_layer_reprs_agree_with_torch():
    torch = pytest.importorskip("torch")
    for expression, expected in REPRS:
        assert repr(eval(expression, {"nn": torch.nn})) == expected, expression
