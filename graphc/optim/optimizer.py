"""graphc.optim.Optimizer: parameter groups, per-parameter state and torch's state_dict layout.

Subclasses implement `step` as in-place graphc ops under no_grad; the base class holds the groups
(`param_groups`, each a dict of hyperparameters with its 'params' list), the state keyed by
parameter tensor (`state`), and the conversion to and from torch's state_dict layout, in which
parameters are numbered in group order: {'state': {0: {...}}, 'param_groups': [{..., 'params': [0, 1]}]}.
"""
import copy
import functools
import itertools
import warnings
from collections import defaultdict

from .. import autograd
from ..autograd.reset import reset_grads
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter every parameter group must give (torch.optim.optimizer.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def use_grad_for_differentiable(step):
    """Runs `step` with grad mode off (on when the optimizer is differentiable), as torch does."""
    @functools.wraps(step)
    def step_with_grad_mode(self, *args, **kwargs):
        with autograd.set_grad_enabled(self.defaults["differentiable"]):
            return step(self, *args, **kwargs)
    return step_with_grad_mode


def evaluate_closure(closure):
    """The loss `closure()` returns, computed with grad mode on (step itself runs without)."""
    if closure is None:
        return None
    with autograd.enable_grad():
        return closure()


def step_as_float64(step_tensor):
    """The step count as a float64 0-dim tensor: bias corrections computed from it in float64
    match torch's Python-float arithmetic on `step.item()`, with no `.item()` (compile-friendly)."""
    from .. import float64
    return step_tensor.to(float64)


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + params.type())
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.defaults.setdefault("differentiable", False)

    def __repr__(self):
        text = self.__class__.__name__ + " ("
        for index, group in enumerate(self.param_groups):
            text += f"\nParameter Group {index}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        names = [p[0] for p in params if isinstance(p, tuple)]
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and not (param.is_leaf
                                                                      or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(tensors) != len({id(p) for p in tensors}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(id(p) for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        reset_grads((param for group in self.param_groups for param in group["params"]),
                    set_to_none)

    @use_grad_for_differentiable
    def step(self, closure=None):
        """One update of every parameter that has a .grad (`_update`, per optimizer)."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group)
        return loss

    def _update(self, param, group):
        raise NotImplementedError

    # ------------------------------------------------------------ state_dict
    def state_dict(self):
        index_of = {}
        start = 0

        def pack_group(group):
            nonlocal start
            packed = {key: value for key, value in group.items() if key != "params"}
            for position, param in enumerate(group["params"], start):
                index_of.setdefault(id(param), position)
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(group) for group in self.param_groups]
        packed_state = {(index_of[id(key)] if isinstance(key, Tensor) else key): value
                        for key, value in self.state.items()}
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict):
        state_dict = state_dict.copy()
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        param_of = dict(zip(itertools.chain.from_iterable(g["params"] for g in saved_groups),
                            itertools.chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                param = param_of[key]
                state[param] = _cast_state(param, value, key, state_dict["param_groups"])
            else:
                state[key] = value
        param_groups = []
        for group, new_group in zip(groups, saved_groups):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            param_groups.append(new_group)
        self.__setstate__({"state": state, "param_groups": param_groups})


def _typename(obj):
    if isinstance(obj, Tensor):
        return obj.type()
    kind = type(obj)
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", "__builtin__") else \
        f"{module}.{kind.__qualname__}"


def _cast_state(param, value, param_id, param_groups, key=None):
    """A deep copy of one parameter's saved state; tensors other than 'step' take the parameter's
    floating dtype (torch keeps 'step' as saved unless the group is fused or capturable)."""
    if isinstance(value, Tensor):
        fused_or_capturable = False
        for group in param_groups:
            if param_id in group["params"]:
                fused_or_capturable = group.get("fused", False) or group.get("capturable", False)
                break
        if key == "step":
            if fused_or_capturable:
                from .. import float32
                return value.to(dtype=float32)
            return value
        if param.is_floating_point():
            return value.to(dtype=param.dtype)
        return value
    if isinstance(value, dict):
        return {k: _cast_state(param, v, param_id, param_groups, key=k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v, param_id, param_groups) for v in value)
    return value


def step_to_tensor(optimizer):
    """Turns a saved step given as a number into torch's float32 0-dim tensor (as torch's
    Adam, RMSprop and Adagrad do on load)."""
    from .. import float32, tensor
    for group in optimizer.param_groups:
        for param in group["params"]:
            param_state = optimizer.state.get(param)
            if param_state and not isinstance(param_state.get("step", None), (Tensor, type(None))):
                param_state["step"] = tensor(float(param_state["step"]), dtype=float32)
