"""The kernel IR: what one kernel of a specialisation does, independent of the language it is
printed in. Lowerings (codegen/lower/) build it; the C-style renderer (codegen/render/cstyle.py)
prints it in the C or the CUDA dialect.

A kernel is a list of statements over named buffers: loops marked serial or parallel (OpenMP on
C, a grid-stride loop on CUDA), `Let`s of typed values, stores into buffers (plain or
accumulating), conditionals, checks that stop the call with a typed error (`ErrorKind`), and
calls of library routines (BLAS, LAPACK, qsort). Values and indices are small expression trees
(`Expr`) built with Python's operators: `Load(x, idx0 * 4 + 1) * 2`.

Index expressions are these trees, not sympy: building and printing one sympy index took 0.8 ms
(a graph of 700 kernels would spend seconds in it), and index maths needs only integer affine
forms with division and remainder, which the constructors below simplify as they are built
(`x * 1` is `x`, `x + 0` is `x`, `x * 0` is `0`, constants fold)."""
import dataclasses
from typing import Any

from .errors import ErrorKind

__all__ = ["Expr", "Var", "Const", "Load", "Member", "Call", "Select", "Cast", "Address",
           "Formula", "Let", "Assign", "Store", "Loop", "If", "Check", "Do", "Break", "Kernel",
           "Fold", "Array", "Parameter", "Scheduled", "multi_index", "strided", "as_expr", "walk",
           "sub_expressions", "SERIAL", "PARALLEL"]

SERIAL, PARALLEL = "serial", "parallel"


class Expr:
    """A value: built with + - * // % and the comparison methods, printed by a dialect."""
    __slots__ = ()

    def __add__(self, other):
        return _binary("+", self, other)

    def __radd__(self, other):
        return _binary("+", other, self)

    def __sub__(self, other):
        return _binary("-", self, other)

    def __rsub__(self, other):
        return _binary("-", other, self)

    def __mul__(self, other):
        return _binary("*", self, other)

    def __rmul__(self, other):
        return _binary("*", other, self)

    def __truediv__(self, other):
        return _binary("/", self, other)

    def __rtruediv__(self, other):
        return _binary("/", other, self)

    def __floordiv__(self, other):  # C's division: the operands are non-negative indices
        return _binary("/", self, other)

    def __mod__(self, other):
        return _binary("%", self, other)

    def __neg__(self):
        return Unary("-", self)

    def lt(self, other):
        return Binary("<", self, as_expr(other))

    def le(self, other):
        return Binary("<=", self, as_expr(other))

    def gt(self, other):
        return Binary(">", self, as_expr(other))

    def ge(self, other):
        return Binary(">=", self, as_expr(other))

    def eq(self, other):
        return Binary("==", self, as_expr(other))

    def ne(self, other):
        return Binary("!=", self, as_expr(other))

    def and_(self, other):
        return Binary("&&", self, as_expr(other))

    def or_(self, other):
        return Binary("||", self, as_expr(other))

    def not_(self):
        return Unary("!", self)


@dataclasses.dataclass(frozen=True, eq=True)
class Var(Expr):
    name: str


@dataclasses.dataclass(frozen=True, eq=True)
class Const(Expr):
    """A number: int, float (printed with the dialect's literal for `ctype`), or a named constant
    of the target (`"INFINITY"`, `"NAN"`) when `value` is a str."""
    value: Any
    ctype: str = None


@dataclasses.dataclass(frozen=True, eq=True)
class Load(Expr):
    """buffer[index]: `buffer` is a kernel parameter or a scratch array."""
    buffer: str
    index: Expr


@dataclasses.dataclass(frozen=True, eq=True)
class Member(Expr):
    """A field of a struct element (`line[i].value`)."""
    base: Expr
    field: str


@dataclasses.dataclass(frozen=True, eq=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclasses.dataclass(frozen=True, eq=True)
class Unary(Expr):
    op: str
    operand: Expr


@dataclasses.dataclass(frozen=True, eq=True)
class Call(Expr):
    """A function of the target's math library or of the runtime (`fabs`, `graphc_philox`)."""
    function: str
    arguments: tuple = ()


@dataclasses.dataclass(frozen=True, eq=True)
class Select(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclasses.dataclass(frozen=True, eq=True)
class Cast(Expr):
    ctype: str
    value: Expr


@dataclasses.dataclass(frozen=True, eq=True)
class Formula(Expr):
    """A fused elementwise formula, printed by sympy's C printer when it was lowered (valid C
    and CUDA alike: the math helpers it calls are defined for both); `reads`: the names of the
    kernel's values it may read (its loads and shared subexpressions)."""
    text: str
    reads: tuple = ()


@dataclasses.dataclass(frozen=True, eq=True)
class Address(Expr):
    """&name, or buffer + offset when `offset` is given (a pointer into a buffer)."""
    name: str
    offset: Expr = None


def as_expr(value):
    if isinstance(value, Expr):
        return value
    if isinstance(value, str):
        return Var(value)
    return Const(value)


def _binary(op, left, right):
    """left op right, simplified where the result is known (index maths stays short)."""
    left, right = as_expr(left), as_expr(right)
    known = [isinstance(side, Const) and not isinstance(side.value, str) for side in (left, right)]
    if all(known) and op in "+-*" and left.ctype is right.ctype is None:
        return Const({"+": left.value + right.value, "-": left.value - right.value,
                      "*": left.value * right.value}[op])
    if op == "+":
        if known[0] and left.value == 0 and not isinstance(left.value, float):
            return right
        if known[1] and right.value == 0 and not isinstance(right.value, float):
            return left
    if op == "-" and known[1] and right.value == 0 and not isinstance(right.value, float):
        return left
    if op == "*":
        for this, that, sure in ((left, right, known[0]), (right, left, known[1])):
            if sure and this.value == 1 and not isinstance(this.value, float):
                return that
            if sure and this.value == 0 and not isinstance(this.value, float):
                return Const(0)
    if op in "/%" and known[1] and right.value == 1 and not isinstance(right.value, float):
        return left if op == "/" else Const(0)
    return Binary(op, left, right)


# ------------------------------------------------------------------------------ statements

@dataclasses.dataclass(frozen=True)
class Let:
    """A value named for what follows (`const` unless `mutable`): `ctype name = value;`."""
    name: str
    ctype: str
    value: Expr
    mutable: bool = False


@dataclasses.dataclass(frozen=True)
class Assign:
    """name op= value (a mutable Let's variable, or a scratch element's field)."""
    target: Expr
    value: Expr
    op: str = "="


@dataclasses.dataclass(frozen=True)
class Store:
    """buffer[index] = value, or op= value when accumulating (repeated indices add up)."""
    buffer: str
    index: Expr
    value: Expr
    op: str = "="


@dataclasses.dataclass(frozen=True)
class Fold:
    """How the partial results of a reduction loop combine, so that a dialect may split its
    iterations over threads and fold the parts as a tree: `accumulators` name the mutable Lets
    (declared before the loop) that the iterations fold into; `combine` folds another part's
    accumulators, read as `other_<name>`, into them. Any grouping of the iterations gives the
    serial loop's result (up to the rounding of sums)."""
    accumulators: tuple
    combine: tuple


@dataclasses.dataclass(frozen=True)
class Loop:
    """for var in [start, stop): `kind` PARALLEL lets a dialect spread the iterations over
    threads (they must be independent), SERIAL keeps them in order; a `fold` says how parts of a
    reduction's iterations combine. A `scan` loop's iterations also store the running
    accumulators: a dialect may fold consecutive chunks of it apart, scan the chunks' results
    with the `fold` and rerun each chunk from the fold of the chunks before it."""
    var: str
    stop: Any
    body: tuple
    kind: str = SERIAL
    start: Any = 0
    comment: str = None
    work: int = None  # the iterations' total work, when more than `stop` (a reduction's)
    fold: Fold = None
    scan: bool = False


@dataclasses.dataclass(frozen=True)
class If:
    condition: Expr
    then: tuple
    otherwise: tuple = ()


@dataclasses.dataclass(frozen=True)
class Check:
    """Stop the call when `condition` holds: graphc_error gets (value, size, dim, kind) and
    the kernel returns non-zero (its scratch freed); compile.py raises eager's exception."""
    condition: Expr
    kind: ErrorKind
    value: Any = None
    size: Any = None
    dim: Any = None


@dataclasses.dataclass(frozen=True)
class Do:
    """An expression evaluated for its effect (a library call)."""
    value: Expr


@dataclasses.dataclass(frozen=True)
class Break:
    pass


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A kernel's parameter: a pointer to elements of `ctype` (const unless `written`), or a
    number of that type when not `pointer` (a draw's seed and offset)."""
    name: str
    ctype: str
    written: bool = False
    pointer: bool = True


@dataclasses.dataclass(frozen=True)
class Array:
    """`ctype name[count];`, local to the statements around it (a Philox block's words, per
    iteration of a parallel loop: scratch arrays are shared by every iteration)."""
    name: str
    ctype: str
    count: int


@dataclasses.dataclass
class Kernel:
    """One kernel: its parameters (the pointers it reads, then those it writes; their element
    types are the scheduler's), scratch arrays ((C type, name, count): allocated on entry, every one freed
    on every way out; no memory stops the call with MemoryError), and its body."""
    name: str
    reads: list
    writes: list
    body: list
    scratch: list = dataclasses.field(default_factory=list)
    draws: bool = False  # takes the (seed, offset) its call claimed from the generator
    comment: str = ""

    def checks(self):
        """Whether the kernel can stop the call (a check, or scratch memory to allocate)."""
        return bool(self.scratch) or any(isinstance(s, Check) for s in walk(self.body))


def sub_expressions(e):
    """`e` and every expression nested in it, outermost first."""
    yield e
    for field in e.__dataclass_fields__:
        value = getattr(e, field)
        for item in (value if isinstance(value, tuple) else (value,)):
            if isinstance(item, Expr):
                yield from sub_expressions(item)


def walk(statements):
    """Every statement, nested ones included, in order."""
    for statement in statements:
        yield statement
        if isinstance(statement, Loop):
            yield from walk(statement.body)
        elif isinstance(statement, If):
            yield from walk(statement.then)
            yield from walk(statement.otherwise)


# ------------------------------------------------------------------------------ index maths

def multi_index(flat, shape, prefix="idx", dims=None):
    """Lets of the row-major multi-index (idx0, idx1, ...) of the flat index `flat` over
    `shape` (dims of size 1 are 0, no variable); `dims` renames them (the dims of a larger
    shape they stand for). Returns (statements, {dim: index expression})."""
    dims = list(range(len(shape))) if dims is None else list(dims)
    statements, index, inner = [], {}, 1
    flat = as_expr(flat)
    for position in range(len(shape) - 1, -1, -1):
        size, d = shape[position], dims[position]
        if size == 1:
            index[d] = Const(0)
            continue
        value = flat // inner if position == 0 or all(s == 1 for s in shape[:position]) \
            else (flat // inner) % size
        statements.append(Let(f"{prefix}{d}", "int64_t", value))
        index[d] = Var(f"{prefix}{d}")
        inner *= size
    return list(reversed(statements)), index


def strided(index, shape, strides, base=0):
    """The element offset of multi-index `index` ({dim: expr}, the loop's dims; an operand of
    fewer dims is aligned to the right, as it broadcasts) in memory of `shape`/`strides`."""
    lead = max(index, default=-1) + 1 - len(shape)
    offset = Const(0)
    for d, (size, stride) in enumerate(zip(shape, strides)):
        if size != 1 and stride != 0:
            offset = offset + index[lead + d] * stride
    return offset + base


@dataclasses.dataclass(eq=False)
class Scheduled:
    """A kernel placed in a specialisation (what the loop passes rearrange and the dialects
    print): its IR, what it computes and from which IR nodes and user lines (the comment above
    it), its parameters and its call's arguments (`Var`s, or `Address`es into an operand). A
    fused elementwise loop or reduction (fusion.py) keeps its formulas (`loads`,
    `temporaries`, `result`) until the loop passes have merged it; its IR is built after them."""
    name: str
    output: str                # the value it computes
    summary: str
    nodes: list
    locations: list
    parameters: list           # kernel.Parameters
    arguments: list            # an expression per parameter
    output_pointer: str
    numel: int
    ir: Any = None             # a Kernel
    lines: list = None         # its body printed in the C dialect
    comment: str = ""
    fails: bool = False        # it can stop the call (Kernel.checks)
    gemm: bool = False         # it calls BLAS's GEMM (cuBLAS on CUDA)
    pointers: list = None      # what a fused loop reads, in signature order
    loads: list = dataclasses.field(default_factory=list)  # symbol, pointer, at (an index), ctype
    temporaries: list = dataclasses.field(default_factory=list)
    result: str = ""
    more_results: list = dataclasses.field(default_factory=list)  # (pointer, formula)
    output_ctype: str = None
    temporary_ctype: str = None
    loop_shape: tuple = None
    indexed: bool = False      # a load needs index arithmetic
    reduction: dict = None     # count, dims, op, attrs
    split: dict = None         # rows of its last dim (loop_passes.split_loop)
    function: str = None       # the function it calls (loop_passes.share_identical_kernels)
    also: list = dataclasses.field(default_factory=list)  # the others calling its function
    cuda: str = None           # its CUDA source (render/cuda.py)

    def reads(self):
        """The pointers it reads: a fused loop's, or its IR's."""
        return set(self.pointers) if self.pointers is not None else set(self.ir.reads)

