"""The IR Graph: a recorded computation as a list of nodes, with a text listing and DOT export.

`Graph.from_tensors(z)` reads the history autograd recorded for `z` (its grad_fn chain) into
nodes, one per op: name, op, inputs, attributes, shape, dtype. `gradients_of=[w, b]` also runs
the reverse pass with create_graph=True, whose gradient ops are themselves recorded, and adds
them to the same Graph: the gradient subgraph of the forward one.
"""
__all__ = ["Graph", "GraphNode", "Constant", "ROLES"]

# the parts of a traced step, in the order they run; DOT fills each with its own colour
ROLES = ("forward", "gradient", "update")
_FILLS = {"forward": "#ffffff", "gradient": "#dde8f7", "update": "#f7e3d0"}


class Constant(str):
    """A number operand of a node (`x * 2`): typed, it keeps the Python number it was (`value`:
    a bool, int or float), and as a str it is that number's repr, so listings, cache keys and
    the operand lists of nodes (value names otherwise) read it as before. Code generators take
    `value`; nothing parses the text back."""
    __slots__ = ("value",)

    def __new__(cls, value):
        if isinstance(value, Constant):
            return value
        text = super().__new__(cls, repr(value))
        text.value = value
        return text


class GraphNode:
    """One value of the graph: an input (leaf or constant) or the result of an op."""

    __slots__ = ("name", "op", "inputs", "attrs", "shape", "dtype", "role")

    def __init__(self, name, op, inputs, attrs, shape, dtype, role):
        self.name = name
        self.op = op            # op name; "input" for leaves, "constant" for untracked operands
        self.inputs = inputs    # names of the operand nodes, or Constants (typed numbers)
        self.attrs = attrs
        self.shape = tuple(shape) if shape is not None else None
        self.dtype = dtype
        self.role = role        # "forward" or "gradient"

    def line(self):
        arguments = ", ".join(self.inputs)
        attrs = "".join(f", {k}={v!r}" for k, v in sorted(self.attrs.items()))
        dtype = self.dtype.name if self.dtype is not None else "?"
        return f"%{self.name} = {self.op}({arguments}{attrs}) : {list(self.shape or ())} {dtype}"

    def __repr__(self):
        return f"<GraphNode {self.line()}>"


class Graph:
    """Nodes in topological order; `outputs` names the values the graph was built for."""

    def __init__(self):
        self.nodes = []
        self.outputs = []
        self.gradients = {}  # input name -> name of the node holding its gradient
        self.writes = {}     # input name -> the value a compiled call writes into it
        self._by_key = {}
        self._counts = {}

    # -------------------------------------------------------------- building
    @classmethod
    def from_tensors(cls, *tensors, names=None, gradients_of=None):
        """The graph recorded for `tensors`; `names` maps readable names to input tensors."""
        from ..autograd.engine import grad as autograd_grad
        graph = cls()
        labels = {}
        for name, t in (names or {}).items():
            labels[id(t)] = name
            if t.grad_fn is not None:
                labels[id(t.grad_fn)] = name
        for tensor in tensors:
            graph.outputs.append(graph._add_tensor(tensor, labels, "forward"))
        if gradients_of:
            wanted = list(gradients_of)
            # the incoming gradients are inputs that require grad, so that every op of the
            # reverse pass is recorded (create_graph) and lands in the graph
            seeds = []
            for tensor, output_name in zip(tensors, graph.outputs):
                seed = tensor.new_ones(tensor.shape).requires_grad_()
                labels[id(seed)] = f"grad_{output_name}"
                seeds.append(seed)
            grads = autograd_grad(tensors, wanted, seeds, retain_graph=True, create_graph=True,
                                  allow_unused=True)
            for tensor, gradient in zip(wanted, grads):
                if gradient is None:
                    continue
                target = graph._add_tensor(tensor, labels, "forward")
                graph.gradients[target] = graph._add_tensor(gradient, labels, "gradient")
        return graph

    def _fresh_name(self, base):
        count = self._counts.get(base, 0)
        self._counts[base] = count + 1
        return base if count == 0 and base not in ("const",) else f"{base}{count}"

    def _add_leaf(self, tensor, labels, op, role="forward"):
        key = ("tensor", id(tensor))
        if key not in self._by_key:
            name = labels.get(id(tensor)) or self._fresh_name("input" if op == "input" else "const")
            if name.startswith("grad_"):
                role = "gradient"
            self._by_key[key] = name
            self.nodes.append(GraphNode(name, op, [], {}, tensor.shape, tensor.dtype, role))
        return self._by_key[key]

    def _add_tensor(self, tensor, labels, role):
        node = tensor.grad_fn
        if node is None:
            return self._add_leaf(tensor, labels, "input" if tensor.requires_grad else "constant")
        return self._add_node(node, labels, role, tensor)

    def _add_node(self, node, labels, role, tensor=None):
        key = ("node", id(node))
        if key in self._by_key:
            return self._by_key[key]
        op = getattr(node, "op", None)
        op_name = op.name if op is not None else node.name()
        inputs = []
        saved = list(getattr(node, "_saved", ()) or ())
        metas = getattr(node, "input_meta", None) or getattr(node, "_input_meta", ())
        for position, (edge, _) in enumerate(node._edges):
            if edge is not None:
                if hasattr(edge, "variable"):  # AccumulateGrad: a leaf that requires grad
                    inputs.append(self._add_leaf(edge.variable, labels, "input"))
                else:
                    inputs.append(self._add_node(edge, labels, role))
                continue
            inputs.append(self._constant_operand(saved, position, metas, labels))
        name = labels.get(id(tensor)) if tensor is not None else None
        name = name or labels.get(id(node)) or self._fresh_name(op_name)
        shape, dtype = getattr(node, "output_meta", None) or (
            (tensor.shape, tensor.dtype) if tensor is not None else (None, None))
        self._by_key[key] = name
        attrs = dict(getattr(node, "attrs", {}) or {})
        self.nodes.append(GraphNode(name, op_name, inputs, attrs, shape, dtype, role))
        return name

    def _constant_operand(self, saved, position, metas, labels):
        """An operand that needs no gradient: a number, or a tensor autograd does not track."""
        value = saved[position] if position < len(saved) else None
        tensor = getattr(value, "tensor", None)
        if tensor is not None:
            return self._add_leaf(tensor, labels, "constant")
        meta = metas[position] if position < len(metas) else None
        if meta is None:
            return repr(value) if value is not None else "scalar"
        name = self._fresh_name("const")
        self.nodes.append(GraphNode(name, "constant", [], {}, meta[0], meta[1], "forward"))
        return name

    # -------------------------------------------------------------- views of the graph
    def __len__(self):
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def node(self, name):
        """The node named `name` (an index rebuilt when the node list has changed)."""
        index = self.__dict__.get("_index")
        if index is None or index[0] is not self.nodes or index[1] != len(self.nodes):
            index = self._index = (self.nodes, len(self.nodes),
                                   {node.name: node for node in self.nodes})
        return index[2][name]

    def listing(self):
        lines = []
        for role in ROLES:
            chosen = [n for n in self.nodes if n.role == role]
            if not chosen:
                continue
            lines.append(f"# {role}")
            lines.extend(n.line() for n in chosen)
        lines.append("# outputs: " + ", ".join(f"%{o}" for o in self.outputs))
        for target, gradient in self.gradients.items():
            lines.append(f"# d(outputs)/d(%{target}) = %{gradient}")
        for target, value in self.writes.items():
            lines.append(f"# %{target} <- %{value} (written in place)")
        return "\n".join(lines)

    __str__ = listing

    def __repr__(self):
        return f"<Graph with {len(self.nodes)} nodes>"

    def to_dot(self):
        """Graphviz source: inputs as ellipses, ops as boxes, forward, gradient and update
        nodes filled apart."""
        lines = ["digraph graphc {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
        for node in self.nodes:
            shape = "ellipse" if node.op in ("input", "constant") else "box"
            style = f', style=filled, fillcolor="{_FILLS[node.role]}"' if node.role != "forward" \
                else ""
            label = node.name if node.op in ("input", "constant") else f"{node.name}\\n{node.op}"
            size = "x".join(str(s) for s in node.shape or ()) or "scalar"
            lines.append(f'  "{node.name}" [shape={shape}, label="{label}\\n[{size}]"{style}];')
        known = {node.name for node in self.nodes}
        for node in self.nodes:
            for operand in node.inputs:
                if operand in known:
                    lines.append(f'  "{operand}" -> "{node.name}";')
        for target, gradient in self.gradients.items():
            lines.append(f'  "{gradient}" -> "{target}" [style=dashed, label="grad"];')
        lines.append("}")
        return "\n".join(lines) + "\n"
