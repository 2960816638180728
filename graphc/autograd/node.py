"""Graph nodes of autograd: one `Node` (a tensor's grad_fn) per recorded op, and `AccumulateGrad`
for leaves. Node classes are named as torch names them (MulBackward0, ...), so printing a
grad_fn or walking `next_functions` looks the same as in PyTorch.
"""

from .grad_mode import state as _grad_state

__all__ = ["Node", "AccumulateGrad", "node_class"]

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.")


_WRAPS_SCALARS = frozenset(("add", "sub", "mul", "div"))
_FREED = object()  # what a released node keeps in place of each saved tensor


class SavedTensor:
    """A tensor saved for backward with the version it had, checked when it is unpacked.

    A node's own output is saved without its history (which points back at the node, a cycle
    that only the garbage collector could break); unpacking gives it that history again, so
    double backward through a saved output stays connected. With pack/unpack hooks (those of
    graphc.autograd.graph.saved_tensors_hooks, or `register_hooks`) only what `pack` returned is
    kept, and `unpack` gives the tensor back; as in torch, no version is checked then (what
    `pack` kept may be a copy that later writes do not reach).
    """

    __slots__ = ("tensor", "version", "is_output", "packed", "unpack_hook")

    def __init__(self, tensor, is_output=False):
        self.tensor = _history_free_alias(tensor) if is_output else tensor
        self.version = tensor._version
        self.is_output = is_output
        self.unpack_hook = None
        hooks = _grad_state.saved_hooks
        if hooks is not None:
            self._pack(*hooks)

    def _pack(self, pack_hook, unpack_hook):
        self.packed = pack_hook(self.tensor)
        self.unpack_hook = unpack_hook
        self.tensor = None

    def register_hooks(self, pack_hook, unpack_hook):
        """torch's SavedTensor.register_hooks: pack now, unpack whenever the tensor is used."""
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError("register_hooks(): incompatible function arguments: pack_hook and "
                            "unpack_hook must be callables")
        if self.unpack_hook is not None:
            raise RuntimeError("Calling register_hooks on a saved tensor whose hooks have already "
                               "been set. Hint: only one pair of hooks is allowed at a time.")
        if self.tensor is None:
            raise RuntimeError(FREED_MESSAGE)
        self._pack(pack_hook, unpack_hook)

    def unpack(self, node, position):
        if self.unpack_hook is not None:
            return self._unpack_hooked(node, position)
        tensor = self.tensor
        if tensor._version != self.version:
            raise _modified_error(tensor, tensor._version, self.version, node, position)
        if self.is_output:
            tensor = _history_free_alias(tensor)
            tensor._grad_fn = node
            tensor._requires_grad = True
        return tensor

    def _unpack_hooked(self, node, position):
        tensor = self.unpack_hook(self.packed)
        if not isinstance(tensor, _tensor_class()):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(tensor).__name__}")
        if self.is_output:
            tensor = _history_free_alias(tensor)
            tensor._grad_fn = node
            tensor._requires_grad = True
        return tensor


def _modified_error(tensor, version, expected, node, position):
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{tensor.type()} {list(tensor.shape)}], which is output "
        f"{position} of {node.name()}, is at version {version}; expected version "
        f"{expected} instead. Hint: the backtrace further above can be used to find "
        "the operation that failed to compute its gradient. The variable in question was "
        "changed in there or anywhere later. Good luck!")


def _tensor_class():
    from ..tensor import Tensor
    return Tensor


def _history_free_alias(tensor):
    """A tensor over the same data and version counter that references nothing else (so that a
    node saving it creates no reference cycle)."""
    from ..tensor import _VersionCounter, wrap
    counter = tensor._version_counter
    if counter is None:
        counter = tensor._version_counter = _VersionCounter()
    alias = wrap(tensor._data, tensor._dtype)
    alias._version_counter = counter
    return alias


class Node:
    """The grad_fn of a tensor made by a recorded op.

    `_edges` has one (node, output_nr) pair per operand: the operand's grad_fn, its
    AccumulateGrad when it is a leaf that requires grad, or None. `next_functions` keeps the
    ones torch's node has as inputs.
    """

    # the rarely set fields are class-level defaults (set per node only when used), so that
    # recording an op stays cheap
    __slots__ = ("op", "attrs", "_edges", "_saved", "input_meta", "output_meta", "needs",
                 "__dict__", "__weakref__")
    _output_meta = ()  # one output per built-in node (custom Functions may have several)
    _released = False
    _pre_hooks = None
    _hooks = None

    def __init__(self, op, attrs, edges, saved, input_meta, needs, output_meta=None):
        self.op = op
        self.attrs = attrs
        self._edges = edges
        self._saved = saved
        self.input_meta = input_meta  # per operand: (shape, dtype) or None for non-tensors
        self.needs = needs            # per operand: does it need a gradient
        self.output_meta = output_meta  # (shape, dtype) of the result, for the IR listing

    @property
    def metadata(self):
        """A dict for the user's annotations (torch's node.metadata), made on first use."""
        metadata = self.__dict__.get("_metadata")
        if metadata is None:
            metadata = self._metadata = {}
        return metadata

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"

    @property
    def next_functions(self):
        """torch's inputs of this node: not the Python numbers of a Scalar overload (add, sub,
        mul and div wrap theirs into a tensor), not index tensors, masks or where's condition."""
        op = self.op
        return tuple(edge for index, (edge, meta) in enumerate(zip(self._edges, self.input_meta))
                     if (meta is None and index == 1 and op.name in _WRAPS_SCALARS) or (
                         meta is not None and (meta[1].category == 2 or (
                             op.kind == "elementwise" and op.name != "where"))))

    def saved_values(self):
        """The operands and output saved for backward (None where not saved), version-checked.
        Only a rule that needs a freed tensor fails: torch runs add or sum backward twice."""
        if self._released and any(s is _FREED for s in self._saved):
            raise RuntimeError(FREED_MESSAGE)
        return [saved.unpack(self, position) if saved.__class__ is SavedTensor else saved
                for position, saved in enumerate(self._saved)]

    def release(self):
        saved = self._saved
        for s in saved:
            if s.__class__ is SavedTensor:  # (most nodes of a small step save nothing)
                self._saved = tuple([_FREED if s.__class__ is SavedTensor else s for s in saved])
                break
        self._released = True

    def __getattr__(self, name):
        """torch's saved-value introspection: `_saved_self`, `_saved_other`, `_saved_result`
        (the tensor, unpacked), `_raw_saved_self`, ... (the SavedTensor, for register_hooks).
        A value the op did not save (its rule does not need it here) reads as None."""
        raw = name.startswith("_raw_saved_")
        if not (raw or name.startswith("_saved_")):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        position = _saved_position(self, name[len("_raw_saved_" if raw else "_saved_"):])
        if position is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        saved = self._saved[position] if position < len(self._saved) else None
        if saved is _FREED:
            raise RuntimeError(FREED_MESSAGE)
        if saved.__class__ is SavedTensor:
            return saved if raw else saved.unpack(self, position)
        if raw:
            return None
        if saved is not None and self.op.name in _WRAPS_SCALARS:
            from ..api.creation import tensor
            return tensor(saved)  # torch wraps the number of a Scalar overload into a tensor
        return saved

    def register_hook(self, hook):
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def register_prehook(self, hook):
        return self._register_tensor_hook(hook, 0)

    def _register_tensor_hook(self, hook, output_nr, retains=False):
        """`hook(grad)` on the gradient of output `output_nr`; retain_grad's hooks run last."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        entry = (output_nr, hook, retains)
        self._pre_hooks.append(entry)
        return _RemovableHandle(self._pre_hooks, entry)

    def __call__(self, *grads):
        return self.apply(*grads)

    def apply(self, *grads):
        from .engine import run_node
        return tuple(run_node(self, list(grads)))


# torch's names of the operands a node saves, where they are not (self, other)
_OPERAND_NAMES = {
    "PowBackward0": ("self", "exponent"), "PowBackward1": ("self", "exponent"),
    "PowBackward2": ("self", "exponent"), "WhereBackward0": ("condition", "self", "other"),
    "ClampBackward1": ("self", "min", "max"), "MmBackward0": ("self", "mat2"),
    "BmmBackward0": ("self", "mat2"), "MvBackward0": ("self", "vec"),
    "DotBackward0": ("self", "tensor"), "LerpBackward0": ("self", "end", "weight"),
    "LerpBackward1": ("self", "end", "weight"),
}
_DEFAULT_NAMES = ("self", "other")


def _saved_position(node, name):
    """Which entry of `node._saved` torch's `_saved_<name>` is (the output follows the operands)."""
    count = len(node.input_meta)
    if name == "result":
        saved = node._saved
        has_output = len(saved) > count and (saved[count].__class__ is SavedTensor or
                                             saved[count] is _FREED)
        return count if has_output else None
    names = _OPERAND_NAMES.get(type(node).__name__, _DEFAULT_NAMES)
    if name in names and names.index(name) < count:
        return names.index(name)
    return None


class AccumulateGrad:
    """The node that adds an incoming gradient into a leaf's `.grad`."""

    __slots__ = ("variable", "_pre_hooks", "_hooks", "metadata", "__weakref__")
    _output_meta = ()
    _edges = next_functions = ()
    op = None

    def __init__(self, variable):
        self.variable = variable
        self._pre_hooks = None
        self._hooks = None
        self.metadata = {}

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"

    def register_hook(self, hook):
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    register_prehook = Node.register_prehook
    _register_tensor_hook = Node._register_tensor_hook


class _RemovableHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


# torch's node names where they are not CamelCase(op name) + "Backward0"
_TORCH_NAMES = {
    "div_floor": "DivBackward2", "div_trunc": "DivBackward2", "log1p": "Log1PBackward0",
    "clamp": "ClampBackward1", "clamp_min": "ClampMinBackward0", "clamp_max": "ClampMaxBackward0",
    "cast": "ToCopyBackward0", "alias": "AliasBackward0", "slice": "SliceBackward0",
    "index": "IndexBackward0", "diag": "DiagEmbedBackward0", "det": "LinalgDetBackward0",
    "inverse": "LinalgInvExBackward0", "svd": "LinalgSvdBackward0", "cross": "LinalgCrossBackward0",
    "vector_norm": "LinalgVectorNormBackward0",
    "matrix_norm": "LinalgMatrixNormBackward0", "mm": "MmBackward0", "bmm": "BmmBackward0",
    "dot": "DotBackward0", "mv": "MvBackward0", "matmul": "UnsafeViewBackward0",
    "svd_u": "LinalgSvdBackward0", "svd_s": "LinalgSvdBackward0", "svd_vh": "LinalgSvdBackward0",
    "svd_v": "SvdBackward0", "solve": "LinalgSolveExBackward0", "value_select": "GatherBackward0", "square": "PowBackward0", "pow_scalar": "PowBackward0",
    "rpow": "PowBackward2", "pow": "PowBackward1", "max_all": "MaxBackward1",
    "min_all": "MinBackward1", "max_dim": "MaxBackward0", "min_dim": "MinBackward0",
    "sum_dim": "SumBackward1", "mean_dim": "MeanBackward1", "rsub": "RsubBackward1",
    "round_decimals": "RoundBackward1",
}
_CLASSES = {}


def node_class(op_name):
    """The Node subclass for an op, named as torch names it."""
    cls = _CLASSES.get(op_name)
    if cls is None:
        name = _TORCH_NAMES.get(op_name)
        if name is None:
            name = "".join(part.capitalize() for part in op_name.split("_")) + "Backward0"
        cls = _CLASSES[op_name] = type(name, (Node,), {"__slots__": ()})
    return cls


_NAMED = {}


def rename_node(tensor, torch_name):
    """Give `tensor`'s grad_fn the name torch gives the public function that made it, where
    several functions share one primitive (t() and transpose() are permutes, torch names them
    TBackward0 and TransposeBackward0). Returns `tensor`."""
    node = tensor._grad_fn
    if node is not None and isinstance(node, Node):
        cls = _NAMED.get(torch_name)
        if cls is None:
            cls = _NAMED[torch_name] = type(torch_name, (Node,), {"__slots__": ()})
        node.__class__ = cls
    return tensor
