"""The autograd engine: recording ops into nodes, and one reverse pass over them.

`record` is called by graphc.dispatch for every op that has an input requiring grad; it builds
the node (torch's grad_fn) with its edges and saved tensors. `run_backward` sorts the nodes
reachable from the roots topologically and runs each gradient rule once, summing gradients that
meet at a node; leaves accumulate into `.grad` (or are captured, for autograd.grad).
"""
import warnings

import numpy as np

from . import grad_mode
from .. import dispatch as _dispatch
from ..ir.primitives.reductions import _accumulate_in
from .node import AccumulateGrad, SavedTensor, node_class
from .variable import VOLATILE
from .views import refresh_view

__all__ = ["record", "backward", "grad", "run_node"]

Tensor = None  # bound on import of graphc.tensor (see bind)


def bind(tensor_class):
    global Tensor
    Tensor = tensor_class


def _creation():
    """graphc.api.creation (imported after this module, which the Tensor class needs)."""
    from ..api import creation
    return creation


# ------------------------------------------------------------------ recording


def gradient_edge(tensor):
    """Where a gradient for `tensor` goes: its grad_fn, or its (cached) AccumulateGrad."""
    if tensor._base is not None:
        refresh_view(tensor)
    node = tensor._grad_fn
    if node is not None:
        return node
    accumulator = tensor.__dict__.get("_accumulator")
    if accumulator is None:
        accumulator = tensor._accumulator = AccumulateGrad(tensor)
    return accumulator


def _operands_to_save(op, attrs, args, needs):
    """Which operands the gradient rule reads (elementwise: the symbols of the derivatives)."""
    if op.kind == "elementwise":
        from ..ir.symbolic import derivative_expressions, input_symbols, output_symbol
        if not any(needs):
            return set()
        derivatives = derivative_expressions(op, **attrs)
        symbols = input_symbols(op)
        used = set()
        for index, derivative in enumerate(derivatives):
            if needs[index]:
                used |= {i for i, s in enumerate(symbols) if s in derivative.free_symbols}
                if output_symbol() in derivative.free_symbols:
                    used.add("output")
        return used
    saves = op.vjp_saves
    return set(range(len(args))) if saves is None else set(saves)


# (op, needs, node name, elementwise attrs) -> (operand indices to save, saves output?, class)
_save_plans = {}


def _save_plan(op, args, attrs, needs):
    """What to save and which node class to use (cached by `record`: a plan depends only on the
    op, which operands need a gradient, the overload and, for elementwise ops, the attributes)."""
    plan = _operands_to_save(op, attrs, args, needs)
    saves_output = "output" in plan
    return (frozenset(i for i in plan if isinstance(i, int)), saves_output,
            node_class(_node_name(op, args, attrs)))


def record(op, args, out, attrs):
    """Attach a grad_fn for `op` to `out` (called only when some operand requires grad)."""
    if not op.differentiable or out._dtype.category != 2:
        return
    needs = []
    edges = []
    meta = []
    for a in args:
        if a.__class__ is Tensor or isinstance(a, Tensor):
            flag = a._requires_grad
            if flag is True:
                needs.append(True)
                if a._base is not None:
                    refresh_view(a)  # a view whose memory was written since: history re-derived
                node = a._grad_fn
                edges.append((node if node is not None else gradient_edge(a), a._output_nr))
            elif flag is VOLATILE:
                out._requires_grad = VOLATILE  # nothing computed from a volatile tensor is tracked
                return
            else:
                needs.append(False)
                edges.append(_NO_EDGE)
            meta.append((a._data.shape, a._dtype))
        else:
            needs.append(False)
            edges.append(_NO_EDGE)
            meta.append(None)
    needs = tuple(needs)
    name = op.name
    if name in _OVERLOADED:
        name = _node_name(op, args, attrs)
    # elementwise plans depend on the attributes (through the derivatives), others do not
    key = (op, needs, name,
           (tuple(attrs.items()) if attrs else ()) if op.kind == "elementwise" else None)
    plan = _save_plans.get(key)
    if plan is None:
        plan = _save_plans[key] = _save_plan(op, args, attrs, needs)
    indices, saves_output, cls = plan
    if indices or saves_output:
        saved = [None] * len(args)
        for index in indices:
            a = args[index]
            saved[index] = SavedTensor(a) if isinstance(a, Tensor) else a
        if saves_output:
            saved.append(SavedTensor(out, is_output=True))
        saved = tuple(saved)
    else:
        saved = (None,) * len(args)
    node = cls(op, attrs, tuple(edges), saved, tuple(meta), needs,
               (out._data.shape, out._dtype))
    out._grad_fn = node
    out._requires_grad = True


_NO_EDGE = (None, 0)
_OVERLOADED = frozenset(("pow", "sub", "sum", "mean", "round", "matmul"))  # see _node_name


def _node_name(op, args, attrs):
    """torch names some nodes by overload: x ** 2 is PowBackward0, x ** y PowBackward1, ..."""
    name = op.name
    if name == "pow":
        if not isinstance(args[1], Tensor):
            return "pow_scalar"
        if not isinstance(args[0], Tensor):
            return "rpow"
    elif name == "sub" and not isinstance(args[0], Tensor):
        return "rsub"
    elif (name == "sum" or name == "mean") and attrs.get("dim") is not None:
        return name + "_dim"
    elif name == "round" and attrs.get("decimals"):
        return "round_decimals"
    elif name == "matmul":
        return _MATMUL_NAMES.get((args[0].dim(), args[1].dim()), "matmul")
    return name


# torch's node for matmul depends on the operands' ranks
_MATMUL_NAMES = {(2, 2): "mm", (3, 3): "bmm", (1, 1): "dot", (2, 1): "mv"}


# ------------------------------------------------------------------ running one node


class GradientContext:
    """What a VJP rule sees: saved operands (version-checked), output, attrs, input metadata."""

    __slots__ = ("node", "operands", "output", "attrs", "meta", "needs")

    def __init__(self, node):
        values = node.saved_values()
        count = len(node.input_meta)
        self.node = node
        self.operands = values[:count]
        self.output = values[count] if len(values) > count else None
        self.attrs = node.attrs
        self.meta = node.input_meta
        self.needs = node.needs


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum `grad` over the dimensions that broadcasting added or stretched."""
    if grad._data.shape == shape:
        return grad
    lead = grad.dim() - len(shape)
    stretched = [lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1]
    dims = list(range(lead)) + stretched
    if _dispatch.records_nothing():  # the same sum as the ops', on the array
        data = grad._data
        return _dispatch.wrap(np.add.reduce(data, tuple(dims), _accumulate_in(grad._dtype), None,
                                            True).reshape(shape).astype(data.dtype, copy=False),
                              grad._dtype)
    if dims:
        grad = grad.sum(dims, keepdim=True)
    if lead:
        grad = grad.reshape(shape)
    return grad


def _custom_function_grads(node, grads):
    """Call a custom Function's backward with one gradient per output (zeros where none came)."""
    from ..api.creation import zeros
    outputs = node._output_meta
    filled = []
    for index, g in enumerate(grads):
        if g is None and node._materialize_grads and outputs[index] is not None:
            shape, dtype = outputs[index]
            g = zeros(shape, dtype=dtype)
        filled.append(g)
    result = node._function.backward(node, *filled)
    if not isinstance(result, tuple):
        result = (result,)
    expected = node._argument_count
    if len(result) < expected or any(g is not None for g in result[expected:]):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {expected}, got {len(result)})")
    return [result[i] for i in node._tensor_positions], node._input_meta


def run_node(node, grads):
    """The gradients of `node`'s operands given the gradients of its outputs (a list)."""
    op = node.op
    if op is None:  # a custom Function's node, or CopySlices
        results, input_meta = node._gradients(grads)
    else:
        grad = grads[0]
        input_meta = node.input_meta
        if op.vjp is not None:
            results = op.vjp(GradientContext(node), grad)
        elif op.kind == "elementwise":
            values = node.saved_values()
            count = len(input_meta)
            results = _elementwise_vjp(op, node.attrs, values[:count],
                                       values[count] if len(values) > count else None, grad,
                                       node.needs)
        else:
            raise RuntimeError(f"the derivative for '{op.name}' is not implemented")
    result = []
    for g, meta, (edge, _) in zip(results, input_meta, node._edges):
        if g is None or edge is None or meta is None:
            result.append(None)
            continue
        shape, dtype = meta
        if not isinstance(g, Tensor):
            from ..api.creation import full
            g = full(shape, g, dtype=dtype)
        if g._data.shape != shape:
            g = sum_to_shape(g, shape)
        if g._dtype is not dtype and dtype.category == 2:
            g = g.to(dtype)
        result.append(g)
    return result


def _elementwise_vjp(*args):
    global _elementwise_vjp
    from .derivatives import elementwise_vjp
    _elementwise_vjp = elementwise_vjp  # imported on first use (it needs sympy)
    return elementwise_vjp(*args)


def _output_count(node):
    return len(node._output_meta) or 1


# ------------------------------------------------------------------ the reverse pass


def _topological_dependencies(roots):
    """For each node reachable from `roots`: how many edges point into it."""
    dependencies = {}
    seen = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for child, _ in node._edges:
            if child is not None:
                dependencies[child] = dependencies.get(child, 0) + 1
                stack.append(child)
    return dependencies


def _call_pre_hooks(node, grads):
    """Tensor hooks, each on its output's gradient; retain_grad's run last (they keep the
    gradient every other hook has produced, whatever the order of registration)."""
    grads = list(grads)
    for retaining in (False, True):
        for output_nr, hook, retains in node._pre_hooks:
            if retains is retaining and grads[output_nr] is not None:
                replaced = hook(grads[output_nr])
                if replaced is not None:
                    grads[output_nr] = replaced
    return grads


_KEPT_BYTES = 16384  # smaller gradients are copied: a copy costs less than following them


def _owned_result(g, results, grads, held):
    """Whether the rule's result `g` is memory that only the pass reaches: a tensor of its own
    (not a view), sharing memory with no other result and with no incoming gradient but those the
    pass holds alone (`held`, per incoming gradient; None: none is)."""
    if g._base is not None:
        return False
    data = g._data
    for other in results:
        if other is not None and other is not g and np.may_share_memory(other._data, data):
            return False
    if sum(r is g for r in results) != 1:
        return False
    for index, incoming in enumerate(grads):
        if incoming is not None and (held is None or not held[index]) and (
                incoming is g or np.may_share_memory(incoming._data, data)):
            return False
    return True


def _accumulate(leaf_node, grad, create_graph, owned=False):
    """Add `grad` into the leaf's .grad (after the leaf's hooks, which may replace it). An
    `owned` gradient (one that only the backward pass holds) of the leaf's layout becomes .grad as
    it is; any other is copied, for it may be the user's own or a view of another gradient."""
    if _dispatch.is_tracing():
        return _traced_accumulate(leaf_node.variable, grad, create_graph)
    leaf = leaf_node.variable
    for hook in leaf._hooks or ():
        owned = False  # the hook has seen the gradient (and may keep it)
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced
    if leaf._grad is None:
        if create_graph or owned and _keeps_layout(grad, leaf):
            leaf._grad = grad
        else:
            leaf._grad = _copy_in_layout(grad, leaf)
    elif create_graph:
        leaf._grad = leaf._grad + grad
    else:
        existing = leaf._grad
        data = existing._data
        if (data.shape == grad._data.shape and existing._dtype is grad._dtype
                and data.flags.writeable):
            data += grad._data  # in place, as torch accumulates when not building a graph
            existing._bump_version()
        else:
            existing.add_(grad)
    for hook in leaf_node._hooks or ():
        hook(leaf)


def _keeps_layout(grad, leaf):
    """torch's layout contract for a gradient kept as .grad: the leaf's dtype and strides."""
    data, like = grad._data, leaf._data
    return (grad._dtype is leaf._dtype and data.strides == like.strides
            and data.shape == like.shape and data.flags.writeable)


def _copy_in_layout(grad, leaf):
    """A private copy of `grad` in the leaf's layout where the leaf is dense, else row-major
    (torch's clone_obey_contract)."""
    like = leaf._data
    dense = like.flags.c_contiguous or like.flags.f_contiguous
    copy = np.empty_like(like, dtype=grad._data.dtype) if dense else \
        np.empty(grad._data.shape, grad._data.dtype)
    copy[...] = grad._data
    return _dispatch.wrap(copy, grad._dtype)


def _traced_accumulate(leaf, grad, create_graph):
    """While graphc.compile traces: the same accumulation, through traced ops."""
    if create_graph or leaf._hooks:
        _dispatch.graph_break("backward(create_graph=True) or tensor hooks (not compiled yet)")
    if leaf._grad is None:
        leaf._grad = grad.clone()
        _dispatch.note_grad_created(leaf, leaf._grad)
    else:
        leaf._grad.add_(grad)


def _new_slots(node, output_nr, grad):
    slots = [None] * _output_count(node)
    slots[output_nr] = grad
    return slots


def _add_to_buffer(buffers, node, output_nr, grad):
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * _output_count(node)
    slots[output_nr] = grad if slots[output_nr] is None else slots[output_nr] + grad


def run_backward(roots, retain_graph, create_graph, capture=None, accumulate=True):
    """Propagate `roots` = [((node, output_nr), grad)] to the leaves.

    With `capture` (a dict node -> None), the gradients reaching those nodes are stored there;
    `accumulate=False` leaves the leaves' .grad alone (autograd.grad).
    """
    if not _dispatch.is_tracing():
        return _propagate(roots, retain_graph, create_graph, capture, accumulate)
    _dispatch.note_backward_started()
    try:
        return _propagate(roots, retain_graph, create_graph, capture, accumulate)
    finally:
        _dispatch.note_backward_finished()


def _propagate(roots, retain_graph, create_graph, capture, accumulate):
    buffers = {}
    for (node, output_nr), grad in roots:
        _add_to_buffer(buffers, node, output_nr, grad)
    dependencies = _topological_dependencies([node for (node, _), _ in roots])
    ready = [node for node in buffers if dependencies.get(node, 0) == 0]
    visited = []
    # ids of the buffered gradients whose memory only this pass can reach: a leaf's becomes its
    # .grad as it is (torch keeps a gradient whose use count is one)
    owned = set()
    mode = grad_mode.state
    previous_mode = mode.enabled  # set and restored by hand: no context manager on the hot path
    mode.enabled = bool(create_graph)
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            held = [g is not None and id(g) in owned for g in grads] if owned else None
            if held is not None:
                owned.difference_update(id(g) for g in grads)
            if capture is not None and node in capture:
                grad = grads[0]
                capture[node] = grad if capture[node] is None else capture[node] + grad
                held = None
            if isinstance(node, AccumulateGrad):
                if accumulate:
                    _accumulate(node, grads[0], create_graph, held is not None and held[0])
                continue
            if node._pre_hooks:
                grads = _call_pre_hooks(node, grads)
                held = None  # the hooks have seen the incoming gradients
            results = run_node(node, grads)
            visited.append(node)
            # a built-in rule's result that no hook sees is the pass's own unless it shares memory
            # with another result or with an incoming gradient that is not
            keeps = not create_graph and node.op is not None and not node._hooks
            for (child, output_nr), g in zip(node._edges, results):
                if child is None:
                    continue
                if g is not None:
                    slots = buffers.get(child)
                    if slots is None or slots[output_nr] is None:
                        if slots is None:
                            buffers[child] = [g] if output_nr == 0 and not child._output_meta \
                                else _new_slots(child, output_nr, g)
                        else:
                            slots[output_nr] = g
                        if keeps and g._data.nbytes >= _KEPT_BYTES and \
                                _owned_result(g, results, grads, held):
                            owned.add(id(g))
                    else:
                        owned.discard(id(slots[output_nr]))
                        slots[output_nr] = total = slots[output_nr] + g
                        if not create_graph and total._data.nbytes >= _KEPT_BYTES:
                            owned.add(id(total))
                remaining = dependencies[child] - 1
                dependencies[child] = remaining
                if remaining == 0:
                    if child in buffers:
                        ready.append(child)
                    else:
                        _skip_subgraph(child, dependencies, buffers, ready)
            for hook in node._hooks or ():
                hook(results, tuple(grads))
    finally:
        mode.enabled = previous_mode
    if not retain_graph:
        for node in visited:
            node.release()


def _skip_subgraph(node, dependencies, buffers, ready):
    """A node that received no gradient at all: release its children's dependency on it."""
    for child, _ in node._edges:
        if child is None:
            continue
        dependencies[child] -= 1
        if dependencies[child] == 0:
            if child in buffers:
                ready.append(child)
            else:
                _skip_subgraph(child, dependencies, buffers, ready)


def _as_tuple(value):
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,)


def _root_gradients(tensors, grad_tensors, create_graph):
    grad_tensors = _as_tuple(grad_tensors) or (None,) * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"got {len(grad_tensors)} tensors and {len(tensors)} gradients")
    roots = []
    for index, (tensor, grad) in enumerate(zip(tensors, grad_tensors)):
        if not tensor._requires_grad:
            raise RuntimeError(f"element {index} of tensors does not require grad and does not "
                               "have a grad_fn")
        if grad is None:
            if tensor.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not tensor._dtype.is_floating_point:
                raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                   f"but got {tensor.dtype}")
            grad = _creation().ones_like(tensor) if _dispatch.is_tracing() else \
                _dispatch.wrap(np.ones(tensor._data.shape, tensor._dtype.np), tensor._dtype)
        elif not isinstance(grad, Tensor):
            from ..api.creation import full_like
            grad = full_like(tensor, grad)
        elif grad.shape != tensor.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of "
                               f"{grad.shape} and output[{index}] has a shape of {tensor.shape}.")
        roots.append(((gradient_edge(tensor), tensor._output_nr), grad))
    return roots


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None,
             grad_variables=None):
    """torch.autograd.backward: accumulate d(tensors)/d(leaves) into the leaves' .grad."""
    if grad_variables is not None and grad_tensors is None:
        grad_tensors = grad_variables
    if create_graph:
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after use "
            "to break the cycle and avoid the leak.", UserWarning, stacklevel=3)
    tensors = _as_tuple(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_gradients(tensors, grad_tensors, create_graph)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        captured = grad(tensors, inputs, [g for _, g in roots], retain_graph=retain_graph,
                        create_graph=create_graph, allow_unused=True)
        for tensor, g in zip(inputs, captured):
            if g is None:
                continue
            if not create_graph:
                g = g.detach()
            tensor._grad = g if tensor._grad is None else tensor._grad + g
        return
    run_backward(roots, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """torch.autograd.grad: the gradients of `outputs` with respect to `inputs`, as a tuple."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    for index, tensor in enumerate(inputs):
        if not tensor._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots = _root_gradients(outputs, grad_outputs, create_graph)
    targets = [gradient_edge(t) for t in inputs]
    capture = {node: None for node in targets}
    run_backward(roots, retain_graph, create_graph, capture=capture, accumulate=False)
    result = []
    for index, (tensor, node) in enumerate(zip(inputs, targets)):
        g = capture[node]
        if g is None and not (allow_unused or materialize_grads):
            raise RuntimeError(f"The differentiated Tensor at index {index} appears to not have been "
                               "used in the graph. Set allow_unused=True if this is the desired "
                               "behavior.")
        if g is None and materialize_grads:
            from ..api.creation import zeros_like
            g = zeros_like(tensor)
        result.append(g)
    return tuple(result)
