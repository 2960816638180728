"""The op registry: every primitive is declared once, as an `Op`, and everything else looks it up.

An Op carries the separate small rules of one primitive (after JAX's `standard_primitive`):
- `formula(m, *inputs, **attrs)`: elementwise ops only, written against a math namespace `m`, so
  numpy evaluates it eagerly (`graphc.runtime.cpu.NUMPY_MATH`) and sympy sees it symbolically
  (`graphc.ir.symbolic`) to derive gradients and print C;
- `dtype_rule`: how torch's type promotion gives the computation and result dtypes;
- `eager(*arrays, **attrs)`: the reference interpreter on numpy (non-elementwise ops);
- `vjp`: the gradient rule, written with graphc ops (attached by graphc.autograd);
- `kind`: which family the code generators treat it as.
"""

__all__ = ["Op", "REGISTRY", "declare", "elementwise", "lookup"]

REGISTRY = {}
DECLARATION_LISTENERS = []  # called with each op declared (graphc.dispatch attaches its executor)

# dtype rules of elementwise ops (torch's categories)
PROMOTE = "promote"          # result = compute = torch.result_type(inputs)
INT_TO_FLOAT = "int_to_float"  # like PROMOTE, but integer/bool results become the default float
COMPARE = "compare"          # compute in the promoted type, result bool
LOGICAL = "logical"          # truth values in, bool out
INTEGRAL = "integral"        # PROMOTE, but only bool/integer inputs are allowed (bitwise ops)
FLOAT_ONLY = "float_only"    # PROMOTE, but only floating inputs are allowed

KINDS = ("elementwise", "reduction", "scan", "view", "shape", "index", "linalg", "sort",
         "creation", "random", "other")


class Op:
    """One primitive. `run` is its eager executor, which graphc.dispatch attaches from the
    builder the eager device registered (graphc.runtime.cpu)."""

    __slots__ = ("name", "kind", "arity", "formula", "dtype_rule", "eager", "vjp", "attrs",
                 "differentiable", "doc", "run", "torch_name", "no_bool", "vjp_saves",
                 "__weakref__")

    def __init__(self, name, kind, *, arity=None, formula=None, dtype_rule=None, eager=None,
                 attrs=(), differentiable=True, doc="", torch_name=None, no_bool=False):
        if kind not in KINDS:
            raise ValueError(f"unknown op kind {kind!r}")
        self.name = name
        self.kind = kind
        self.arity = arity
        self.formula = formula
        self.dtype_rule = dtype_rule
        self.eager = eager
        self.attrs = tuple(attrs)
        self.vjp = None
        self.vjp_saves = None
        self.differentiable = differentiable
        self.doc = doc
        self.run = None
        self.torch_name = torch_name or name  # the name torch uses in messages ("bitwise_and")
        self.no_bool = no_bool  # torch refuses bool tensors here (sub, neg)

    def __repr__(self):
        return f"<Op {self.name} ({self.kind})>"


def declare(op):
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} declared twice")
    REGISTRY[op.name] = op
    for listener in DECLARATION_LISTENERS:
        listener(op)
    return op


def elementwise(name, formula, dtype_rule=PROMOTE, *, arity=None, attrs=(), **options):
    """Declare an elementwise primitive by its formula; the CPU executor is derived from it."""
    if arity is None:
        arity = formula.__code__.co_argcount - 1 - len(attrs)
    return declare(Op(name, "elementwise", arity=arity, formula=formula, dtype_rule=dtype_rule,
                      attrs=attrs, **options))


def primitive(name, kind, eager, **options):
    """Declare a non-elementwise primitive with its numpy implementation."""
    return declare(Op(name, kind, eager=eager, **options))


def lookup(name):
    return REGISTRY[name]


def defvjp(name, rule, saves=None):
    """Attach the gradient rule of a non-elementwise op, written with graphc ops.

    `rule(ctx, grad)` returns one gradient (or None) per operand; `ctx.operands`, `ctx.output`,
    `ctx.attrs`, `ctx.meta` (per operand: (shape, dtype)) and `ctx.needs` describe the call.
    `saves` lists the operand indices (and "output") the rule reads; None saves every operand.
    Elementwise ops need no rule: theirs is derived from the formula.
    """
    op = REGISTRY[name]
    op.vjp = rule
    op.vjp_saves = None if saves is None else tuple(saves)
    return rule
